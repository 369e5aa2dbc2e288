package training

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/model"
)

// What a model folder holds when a run starts into it.
const (
	outEmpty       = iota // nothing of a training run
	outFinished           // a finished model: model.json
	outInterrupted        // an interrupted run's state: resume.json, no model.json yet
)

// outState says what the model folder dir (local or gs://) holds, and
// describes it for a message.
func outState(ctx context.Context, dir string) (int, string) {
	if data, err := fsio.ReadFile(ctx, fsio.Join(dir, model.CardFile)); err == nil {
		var c struct {
			ID      string   `json:"id"`
			Epochs  int      `json:"epochs_run"`
			Members []string `json:"members"`
		}
		json.Unmarshal(data, &c)
		switch {
		case c.ID == "":
			// finish writes model.json without an id before the test
			// evaluation, and with one at the very end: a run cut short
			// there is resumable.
			if fsio.Exists(ctx, fsio.Join(dir, stateFile)) {
				return outInterrupted, interruptedAt(ctx, dir)
			}
			return outFinished, model.CardFile
		case len(c.Members) > 0:
			return outFinished, fmt.Sprintf("%s: %s, an ensemble of %d", model.CardFile, c.ID, len(c.Members))
		}
		return outFinished, fmt.Sprintf("%s: %s, %d epochs", model.CardFile, c.ID, c.Epochs)
	}
	if fsio.Exists(ctx, fsio.Join(dir, stateFile)) {
		return outInterrupted, interruptedAt(ctx, dir)
	}
	return outEmpty, ""
}

// interruptedAt describes an interrupted run's state: how many epochs it
// completed.
func interruptedAt(ctx context.Context, dir string) string {
	var st state
	data, err := fsio.ReadFile(ctx, fsio.Join(dir, stateFile))
	if err != nil || json.Unmarshal(data, &st) != nil {
		return stateFile
	}
	return fmt.Sprintf("%d epochs done, %s", len(st.Curve), stateFile)
}

// checkOut refuses to write over finished work or an interrupted run's
// state unasked: a folder that holds a finished model takes --overwrite
// (or --resume, which evaluates it again, or continues it when --epochs
// grew); one that holds an interrupted run's state takes --resume, which
// continues it, or --overwrite, which starts afresh. With --overwrite the
// old model's files are removed first, so that the folder never holds a
// model.json over other weights.
func checkOut(ctx context.Context, cfg Config) error {
	if cfg.Overwrite {
		return clearModel(ctx, cfg.Out)
	}
	if cfg.Resume {
		return nil
	}
	switch st, what := outState(ctx, cfg.Out); st {
	case outFinished:
		return fmt.Errorf("--out=%s holds a finished model (%s): --overwrite replaces it", cfg.Out, what)
	case outInterrupted:
		return fmt.Errorf("--out=%s holds an interrupted run (%s): --resume continues it, --overwrite starts afresh", cfg.Out, what)
	}
	return nil
}

// clearModel removes what a training run writes into a model folder and a
// later one must not mix with: model.json first, then the weights, the
// resume state, the exports.
func clearModel(ctx context.Context, dir string) error {
	names := []string{model.CardFile, stateFile, model.ONNXFile, model.BackboneFile}
	if !fsio.IsGCS(dir) {
		for _, n := range names {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("--overwrite: %w", err)
			}
		}
		for _, d := range []string{model.CheckpointDir, stateDir, MembersDir} {
			if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
				return fmt.Errorf("--overwrite: %w", err)
			}
		}
		return nil
	}
	// gs://: the staged run's mirror removes the rest after its first epoch.
	for _, n := range names {
		p := fsio.Join(dir, n)
		if fsio.Exists(ctx, p) {
			if err := fsio.Remove(ctx, p); err != nil {
				return fmt.Errorf("--overwrite: %w", err)
			}
		}
	}
	return nil
}
