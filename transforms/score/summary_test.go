package score_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/transforms/score"
)

// TestSummaryAndContactSheetOnRerun: a run without rejects writes
// "rejects_by_reason": [] (not null) into summary.json; --contact_sheet=12
// draws 12 faces below a legend; a rerun into the same output without
// --contact_sheet removes the earlier run's sheet, which would otherwise
// pass for this run's.
func TestSummaryAndContactSheetOnRerun(t *testing.T) {
	models, _ := trainTiny(t)
	in, files := ingesttest.Generate(t, fixtures.Options{Good: 20, Size: 48, Seed: 12})
	out := t.TempDir()
	cfg := scoreConfig(in, out, filepath.Join(models, model.TaskAge))
	sum := runScore(t, cfg)
	if sum.Scored != len(files) || sum.Rejected != 0 {
		t.Fatalf("summary %+v, want %d scored and no reject", sum, len(files))
	}
	data, err := os.ReadFile(filepath.Join(out, score.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if got := string(raw["rejects_by_reason"]); got != "[]" {
		t.Errorf(`summary.json: "rejects_by_reason": %s, want []`, got)
	}

	f, err := os.Open(filepath.Join(out, score.ContactSheetFile))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// 12 faces: 2 rows of 128+30 px below a legend of 5 lines (labels: the
	// fixtures' names carry them) of 16 px and a margin of 8.
	if b := img.Bounds(); b.Dx() != 8*128 || b.Dy() != 5*16+8+2*(128+30) {
		t.Errorf("contact sheet %v, want 1024×%d", b, 5*16+8+2*(128+30))
	}

	cfg.ContactSheet = 0
	runScore(t, cfg)
	if _, err := os.Stat(filepath.Join(out, score.ContactSheetFile)); !os.IsNotExist(err) {
		t.Errorf("a rerun without --contact_sheet left the earlier sheet: %v", err)
	}
}

// TestScoreOutputInsideInput scores a folder into a folder inside it, twice:
// the rerun scores the same images, not the first run's files (its
// Parquet, JSON and contact sheet), and says so on stderr.
func TestScoreOutputInsideInput(t *testing.T) {
	models, _ := trainTiny(t)
	in, files := ingesttest.Generate(t, fixtures.Options{Good: 6, Size: 48, Seed: 13})
	out := filepath.Join(in, "scored")
	var notes bytes.Buffer
	fsio.ListNotes = &notes
	defer func() { fsio.ListNotes = os.Stderr }()
	cfg := scoreConfig(in, out, filepath.Join(models, model.TaskAge))
	for run := 1; run <= 2; run++ {
		sum := runScore(t, cfg)
		if sum.Inputs != len(files) || sum.Scored != len(files) {
			t.Errorf("run %d: %d inputs, %d scored; want the %d fixtures", run, sum.Inputs, sum.Scored, len(files))
		}
	}
	if !strings.Contains(notes.String(), "under the output folder "+out+", which is inside the input") {
		t.Errorf("notes %q, want one about the skipped output folder", notes.String())
	}
}
