package evaluate

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	preds := []Prediction{
		{Age: 5, Gender: 0, PredAge: 7, PFemale: 0.2}, {Age: 25, Gender: 1, PredAge: 20, PFemale: 0.7},
		{Age: 72, Gender: 1, Race: -1, PredAge: 60, PFemale: 0.4}, {Age: 28, PredAge: 29, PFemale: 0.6},
	}
	r := Evaluate(preds)
	if err := WriteFiles(context.Background(), dir, r, preds, map[string]any{"split": "test"}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, JSONFile))
	if err := json.Unmarshal(b, &doc); err != nil || doc["split"] != "test" {
		t.Fatalf("eval.json: %v %v", doc, err)
	}
	rows, err := parquet.ReadFile[Row](filepath.Join(dir, ParquetFile))
	if err != nil || len(rows) != 1+len(r.Slices) || rows[0].Dimension != "all" || *rows[0].AgeMAE != 5 {
		t.Fatalf("eval.parquet: %+v %v", rows, err)
	}
	for _, f := range []string{ScatterFile, ConfusionFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() < 100 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Age-only predictions write no confusion matrix.
	dir2 := t.TempDir()
	preds[0].PFemale, preds[1].PFemale, preds[2].PFemale, preds[3].PFemale = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if err := WriteFiles(context.Background(), dir2, Evaluate(preds), preds, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, ConfusionFile)); err == nil {
		t.Error("a confusion matrix without gender predictions")
	}
}
