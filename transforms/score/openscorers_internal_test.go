package score

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/compute"

	"github.com/facepipe/facepipe/model"
)

// fakeScorer records whether it was closed.
type fakeScorer struct {
	model.Scorer
	task   string
	closed bool
}

func (f *fakeScorer) Task() string { return f.task }
func (f *fakeScorer) Close()       { f.closed = true }

// TestOpenScorersClosesOnError: when a later model fails to open, the
// models OpenScorers opened before it are closed, not leaked; when all
// open, none is closed.
func TestOpenScorersClosesOnError(t *testing.T) {
	root := t.TempDir()
	for _, task := range []string{model.TaskAge, model.TaskGender} {
		if err := os.MkdirAll(filepath.Join(root, task), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, task, model.CardFile), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var opened []*fakeScorer
	failGender := true
	defer func(orig func(string, compute.Backend, int, bool) (model.Scorer, error)) { openFolder = orig }(openFolder)
	openFolder = func(dir string, _ compute.Backend, _ int, _ bool) (model.Scorer, error) {
		task := filepath.Base(dir)
		if task == model.TaskGender && failGender {
			return nil, errors.New("injected failure")
		}
		sc := &fakeScorer{task: task}
		opened = append(opened, sc)
		return sc, nil
	}
	for _, tc := range []struct {
		name   string
		models []string
		fail   bool
	}{
		{"the second folder of a pair fails", []string{root}, true},
		{"a later model is missing", []string{filepath.Join(root, model.TaskAge), filepath.Join(root, "missing")}, false},
	} {
		opened, failGender = nil, tc.fail
		scs, err := OpenScorers(context.Background(), Config{Models: tc.models, TTA: "off", Batch: 1}, nil)
		if err == nil {
			t.Fatalf("%s: OpenScorers = %v, want an error", tc.name, scs)
		}
		if len(opened) == 0 {
			t.Fatalf("%s: nothing was opened before the error (%v): the case tests nothing", tc.name, err)
		}
		for _, sc := range opened {
			if !sc.closed {
				t.Errorf("%s: the %s model opened before the error (%v) was not closed", tc.name, sc.task, err)
			}
		}
	}
	opened, failGender = nil, false
	scs, err := OpenScorers(context.Background(), Config{Models: []string{root}, TTA: "off", Batch: 1}, nil)
	if err != nil || len(scs) != 2 {
		t.Fatalf("OpenScorers = %v, %v; want the age and gender models", scs, err)
	}
	for _, sc := range opened {
		if sc.closed {
			t.Errorf("the %s model was closed after a successful open", sc.task)
		}
	}
}
