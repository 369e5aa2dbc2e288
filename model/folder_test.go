package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// predictFolder loads a model folder and predicts images with it.
func predictFolder(t *testing.T, backend compute.Backend, dir string, images []float32, batch int) []Output {
	t.Helper()
	net, _, err := Load(dir, backend)
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	defer net.Close()
	p, err := net.NewPredictor(batch, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out, err := p.Predict(images)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSaveWeightsKeepsTheOldCheckpointUntilTheNewIsWhole: the best epoch's
// weights replace the kept ones only once they are saved in full. A save
// that fails, before writing or after (as a full disk or a crash between
// the two steps would), leaves the folder loading the weights it had, and
// a save that succeeds leaves the new weights and no temporary folder.
func TestSaveWeightsKeepsTheOldCheckpointUntilTheNewIsWhole(t *testing.T) {
	backend := goBackend(t)
	const size, batch = 16, 3
	spec := Spec{Task: TaskAge, Backbone: "cnn-xs", InputSize: size, AgeScale: 10, AgeShift: 30}
	rng := rand.New(rand.NewPCG(5, 6))
	images := make([]float32, batch*size*size*3)
	for i := range images {
		images[i] = rng.Float32()
	}
	dir := t.TempDir()
	writeFolder(t, backend, dir, spec, 1) // the kept epoch: seed 1's weights
	kept := predictFolder(t, backend, dir, images, batch)

	// The next best epoch: other weights (seed 2), predicting otherwise.
	next := filepath.Join(t.TempDir(), "next")
	writeFolder(t, backend, next, spec, 2)
	want := predictFolder(t, backend, next, images, batch)
	if math.Abs(want[0].Age-kept[0].Age) < 1e-3 {
		t.Fatalf("seeds 1 and 2 predict alike (%v, %v): the test can't tell them apart", kept[0].Age, want[0].Age)
	}
	net, _, err := Load(next, backend)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()

	diskFull := errors.New("no space left on device")
	for _, fail := range []struct {
		name string
		save func(h *checkpoint.Handler) error
	}{
		{"before writing", func(*checkpoint.Handler) error { return diskFull }},
		{"after writing", func(h *checkpoint.Handler) error {
			if err := h.Save(); err != nil {
				return err
			}
			return diskFull
		}},
	} {
		saveCheckpoint = fail.save
		err = net.SaveWeights(dir)
		saveCheckpoint = (*checkpoint.Handler).Save
		if !errors.Is(err, diskFull) {
			t.Fatalf("SaveWeights with a save failing %s: %v, want %v", fail.name, err, diskFull)
		}
		got := predictFolder(t, backend, dir, images, batch)
		for i := range got {
			if got[i].Age != kept[i].Age {
				t.Fatalf("after a save failing %s, image %d predicts %v, want the kept weights' %v", fail.name, i, got[i].Age, kept[i].Age)
			}
		}
	}

	if err := net.SaveWeights(dir); err != nil {
		t.Fatal(err)
	}
	got := predictFolder(t, backend, dir, images, batch)
	for i := range got {
		if math.Abs(got[i].Age-want[i].Age) > 1e-6 {
			t.Errorf("after a save, image %d predicts %v, want the new weights' %v", i, got[i].Age, want[i].Age)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != CardFile && e.Name() != CheckpointDir {
			t.Errorf("left in the model folder: %s", e.Name())
		}
	}
}
