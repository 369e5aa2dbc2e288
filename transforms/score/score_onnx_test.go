package score_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/model"
)

// TestScoreONNXModel scores with the tiny age model's ONNX export, described
// by flags, and with its model folder: the predictions agree.
func TestScoreONNXModel(t *testing.T) {
	if !model.ORTInstalled() {
		t.Skip("ONNX Runtime is not installed: run scripts/install-onnxruntime.sh")
	}
	models, _ := trainTiny(t)
	folder := filepath.Join(models, model.TaskAge)
	card, err := model.ReadCard(folder)
	if err != nil || card.ONNX == nil {
		t.Fatalf("the tiny model has no ONNX export: %+v %v", card, err)
	}
	in, _ := ingesttest.Generate(t, fixtures.Options{Good: 20, Seed: 4})

	byFolder := scoreConfig(in, t.TempDir(), folder)
	byFolder.Backend = "onnx:cpu"
	a := readPredictions(t, byFolder.Output, runScore(t, byFolder))

	// The export takes the stored size already area-averaged to the input
	// size; described here by flags (a sidecar JSON would do the same).
	onnxPath := filepath.Join(folder, model.ONNXFile)
	byONNX := scoreConfig(in, t.TempDir(), onnxPath)
	byONNX.Backend = "onnx:cpu"
	byONNX.ONNX = model.ONNXMeta{Task: model.TaskAge, InputSize: card.InputSize, Range: "unit", Output: "years",
		StoredSize: card.Preprocessing.StoredSize}
	b := readPredictions(t, byONNX.Output, runScore(t, byONNX))

	// The same description in a sidecar JSON named after the file.
	dir := t.TempDir()
	data, err := os.ReadFile(onnxPath)
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(dir, "age.onnx")
	os.WriteFile(copied, data, 0o644)
	side, _ := json.Marshal(byONNX.ONNX)
	os.WriteFile(copied+".json", side, 0o644)
	bySidecar := scoreConfig(in, t.TempDir(), copied)
	bySidecar.Backend = "onnx:cpu"
	c := readPredictions(t, bySidecar.Output, runScore(t, bySidecar))

	if len(a) != len(b) || len(a) != 20 || len(c) != 20 {
		t.Fatalf("%d, %d and %d predictions, want 20", len(a), len(b), len(c))
	}
	for i := range a {
		if a[i].Filename != b[i].Filename || math.Abs(*a[i].PredictedAge-*b[i].PredictedAge) > 1e-3 {
			t.Errorf("%s: folder %v, ONNX %v", a[i].Filename, *a[i].PredictedAge, *b[i].PredictedAge)
		}
		if *c[i].PredictedAge != *b[i].PredictedAge {
			t.Errorf("%s: sidecar %v, flags %v", c[i].Filename, *c[i].PredictedAge, *b[i].PredictedAge)
		}
	}
}
