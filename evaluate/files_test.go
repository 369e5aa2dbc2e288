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

// TestConfusionPNGCells renders the confusion matrix of 3 males predicted
// male, 1 predicted female, and 4 females predicted female (p_female 0.5
// counts as female), then finds each cell by its fill: (s, s, 255) with
// s = 255 − 180·(the cell's share of its row). Male is the top row,
// female the right column: male→male (share 3/4, s 120) top left,
// male→female (1/4, s 210) top right, female→female (1, s 75) bottom
// right; female→male (0) is white. The three shaded cells have the same
// area.
func TestConfusionPNGCells(t *testing.T) {
	var preds []Prediction
	for _, p := range []float64{0.1, 0.2, 0.49, 0.5} {
		preds = append(preds, Prediction{Gender: 0, PFemale: p, PredAge: math.NaN()})
	}
	for _, p := range []float64{0.5, 0.6, 0.9, 1} {
		preds = append(preds, Prediction{Gender: 1, PFemale: p, PredAge: math.NaN()})
	}
	b, err := ConfusionPNG(preds)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	type cell struct{ n, sx, sy int }
	cells := map[uint8]*cell{120: {}, 210: {}, 75: {}}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if c, ok := cells[uint8(r>>8)]; ok && r == g && bl>>8 == 255 {
				c.n++
				c.sx += x
				c.sy += y
			}
		}
	}
	mm, mf, ff := cells[120], cells[210], cells[75]
	for s, c := range cells {
		if c.n < 1000 {
			t.Fatalf("shade %d covers %d pixels: the cell is missing or mis-shaded (cells %+v)", s, c.n, cells)
		}
	}
	if d := math.Abs(float64(mm.n-ff.n)) + math.Abs(float64(mf.n-ff.n)); d > 0.1*float64(ff.n) {
		t.Errorf("cell areas %d, %d, %d differ", mm.n, mf.n, ff.n)
	}
	cx := func(c *cell) int { return c.sx / c.n }
	cy := func(c *cell) int { return c.sy / c.n }
	if !(cx(mm) < cx(mf) && cy(mm) == cy(mf) && cx(ff) == cx(mf) && cy(ff) > cy(mf)) {
		t.Errorf("cell centres male→male (%d,%d), male→female (%d,%d), female→female (%d,%d): want top left, top right, bottom right",
			cx(mm), cy(mm), cx(mf), cy(mf), cx(ff), cy(ff))
	}
}

// TestConfusionCells: a cell's share of its row (0 for an empty row, which
// a test of the picture cannot tell from white), its shade and its label.
func TestConfusionCells(t *testing.T) {
	for _, tc := range []struct {
		row   [2]int
		pr    int
		share float64
		shade uint8
		label string
	}{
		{[2]int{3, 1}, 0, 0.75, 120, "3\n75.0%"},
		{[2]int{3, 1}, 1, 0.25, 210, "1\n25.0%"},
		{[2]int{0, 4}, 1, 1, 75, "4\n100.0%"},
		{[2]int{0, 4}, 0, 0, 255, "0\n0.0%"},
		{[2]int{0, 0}, 0, 0, 255, "0\n0.0%"},
		{[2]int{1, 2}, 1, 2.0 / 3, 135, "2\n66.7%"},
	} {
		share := cellShare(tc.row, tc.pr)
		if share != tc.share || cellShade(share) != tc.shade || cellLabel(tc.row[tc.pr], share) != tc.label {
			t.Errorf("row %v cell %d: share %v, shade %d, label %q; want %v, %d, %q", tc.row, tc.pr, share,
				cellShade(share), cellLabel(tc.row[tc.pr], share), tc.share, tc.shade, tc.label)
		}
	}
}

// TestAgeScatterSkipsMissing: predictions without an age (NaN) are left
// out of the scatter rather than failing it.
func TestAgeScatterSkipsMissing(t *testing.T) {
	b, err := AgeScatterPNG([]Prediction{{Age: 30, PredAge: 33}, {Age: 40, PredAge: math.NaN()}, {Age: 50, PredAge: 45}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}
