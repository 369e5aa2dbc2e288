package training_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/training"
)

// readBytes reads a file, failing the test if it can't.
func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNeverOverwritesFinishedWorkUnasked: a run into a folder that holds a
// finished model stops on one line and leaves it as it was (a finished
// "both" model used to become a 1-epoch "age" one without a word); one into
// a folder that holds an interrupted run's state stops too, naming --resume,
// and leaves the state; --resume continues it and --overwrite replaces the
// model.
func TestNeverOverwritesFinishedWorkUnasked(t *testing.T) {
	ctx := context.Background()
	cfg := config(t, model.TaskBoth)
	cfg.Epochs = 1
	if _, err := training.Train(ctx, cfg); err != nil {
		t.Fatalf("%v\n%s", err, cfg.Log)
	}
	card := readBytes(t, filepath.Join(cfg.Out, model.CardFile))
	var c model.Card
	if err := json.Unmarshal(card, &c); err != nil || c.Task != model.TaskBoth || c.ID == "" {
		t.Fatalf("the first model: %+v, %v", c, err)
	}

	again := cfg
	again.Task = model.TaskAge
	_, err := training.Train(ctx, again)
	want := "--out=" + cfg.Out + " holds a finished model (model.json: " + c.ID + ", 1 epochs): --overwrite replaces it"
	if err == nil || err.Error() != want {
		t.Fatalf("training over a finished model: %v\nwant %s", err, want)
	}
	if !bytes.Equal(readBytes(t, filepath.Join(cfg.Out, model.CardFile)), card) {
		t.Error("the refused run changed model.json")
	}

	again.Overwrite = true
	res, err := training.Train(ctx, again)
	if err != nil {
		t.Fatalf("--overwrite: %v", err)
	}
	if res.Card.Task != model.TaskAge {
		t.Errorf("after --overwrite the folder holds a %s model, want age", res.Card.Task)
	}

	// An interrupted run: 1 epoch of 2 saved.
	part := config(t, model.TaskAge)
	part.Epochs, part.StopAfter = 2, 1
	if _, err := training.Train(ctx, part); err != nil {
		t.Fatal(err)
	}
	state := readBytes(t, filepath.Join(part.Out, "resume.json"))
	rerun := part
	rerun.StopAfter = 0
	_, err = training.Train(ctx, rerun)
	want = "--out=" + part.Out + " holds an interrupted run (1 epochs done, resume.json): --resume continues it, --overwrite starts afresh"
	if err == nil || err.Error() != want {
		t.Fatalf("training over an interrupted run: %v\nwant %s", err, want)
	}
	if !bytes.Equal(readBytes(t, filepath.Join(part.Out, "resume.json")), state) {
		t.Error("the refused run changed resume.json")
	}
	rerun.Resume = true
	res, err = training.Train(ctx, rerun)
	if err != nil {
		t.Fatalf("--resume: %v", err)
	}
	if len(res.Curve) != 2 {
		t.Errorf("the resumed run has %d epochs, want 2", len(res.Curve))
	}
}

// TestEnsembleFoldersAreNotOverwrittenUnasked: an ensemble's folder whose
// members an interrupted run began, or that holds a finished ensemble, is
// not trained or assembled into without --resume or --overwrite.
func TestEnsembleFoldersAreNotOverwrittenUnasked(t *testing.T) {
	ctx := context.Background()
	cfg := config(t, model.TaskAge)
	member := filepath.Join(cfg.Out, training.MembersDir, "0")
	if err := os.MkdirAll(member, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(member, "resume.json"), []byte(`{"curve":[{"epoch":1}],"best_epoch":0}`), 0o644)
	_, err := training.TrainMembers(ctx, cfg, 2)
	if want := "--out=" + cfg.Out + " holds an interrupted ensemble run (members/0 interrupted): --resume continues it, --overwrite starts afresh"; err == nil || err.Error() != want {
		t.Errorf("members over an interrupted ensemble: %v\nwant %s", err, want)
	}

	out := t.TempDir()
	os.WriteFile(filepath.Join(out, model.CardFile), []byte(`{"format_version":1,"id":"ensemble2-age-24-0123abcd","members":["members/0","members/1"]}`), 0o644)
	cfg.Out = out
	_, err = training.Assemble(ctx, cfg, []string{"a", "b"})
	if err == nil || !strings.HasSuffix(err.Error(), "holds a finished model (model.json: ensemble2-age-24-0123abcd, an ensemble of 2): --overwrite replaces it") {
		t.Errorf("assembling over a finished ensemble: %v", err)
	}
	_, err = training.TrainMembers(ctx, cfg, 2)
	if err == nil || !strings.Contains(err.Error(), "holds a finished model") {
		t.Errorf("members over a finished ensemble: %v", err)
	}
}
