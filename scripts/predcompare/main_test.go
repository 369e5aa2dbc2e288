package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/schemas"
)

func writePredictions(t *testing.T, rows []schemas.Prediction) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "predictions"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(dir, "predictions", "part-00000-of-00001.parquet"), rows); err != nil {
		t.Fatal(err)
	}
	return dir
}

func pred(path string, age, pf float64) schemas.Prediction {
	g := int32(0)
	if pf >= 0.5 {
		g = 1
	}
	return schemas.Prediction{Filename: filepath.Base(path), Path: path, PredictedAge: &age, PFemale: &pf, PredictedGender: &g}
}

func TestRun(t *testing.T) {
	base := []schemas.Prediction{pred("a.jpg", 30, 0.2), pred("b.jpg", 41.5, 0.9), pred("c.jpg", 7, 0.49)}
	tests := []struct {
		name  string
		other []schemas.Prediction
		want  bool
	}{
		{"same", base, true},
		{"within tolerance, order aside", []schemas.Prediction{pred("c.jpg", 7.2, 0.495), pred("a.jpg", 29.9, 0.2), pred("b.jpg", 41.5, 0.9)}, true},
		{"age over", []schemas.Prediction{pred("a.jpg", 30.3, 0.2), pred("b.jpg", 41.5, 0.9), pred("c.jpg", 7, 0.49)}, false},
		{"p_female over", []schemas.Prediction{pred("a.jpg", 30, 0.22), pred("b.jpg", 41.5, 0.9), pred("c.jpg", 7, 0.49)}, false},
		{"an image missing", base[:2], false},
		{"an extra image", append(append([]schemas.Prediction{}, base...), pred("d.jpg", 1, 0)), false},
	}
	a := writePredictions(t, base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(a, writePredictions(t, tt.other), 0.25, 0.01)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("run = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := run(a, t.TempDir(), 0.25, 0.01); err == nil {
		t.Error("a folder without predictions compared")
	}
}
