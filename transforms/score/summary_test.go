package score_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/schemas"
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

// TestTrainingOverlap scores the very images the tiny models were trained
// on: train recorded their content hashes in each model folder, and the
// summary counts the scored images of the train split (every generated file
// is good and distinct, so the train split's record count in the ingest
// manifest is the number expected), with a one-line warning. Images it did
// not train on give no warning.
func TestTrainingOverlap(t *testing.T) {
	models, data := trainTiny(t)
	m, err := schemas.ParseManifest(must(os.ReadFile(filepath.Join(data, schemas.ManifestFile))))
	if err != nil {
		t.Fatal(err)
	}
	train := m.Split("train").Records
	for _, task := range []string{model.TaskAge, model.TaskGender} {
		s, err := model.ReadTrainingSet(t.Context(), filepath.Join(models, task))
		if err != nil || s == nil || s.Len() != train || s.Splits != "train" {
			t.Fatalf("%s: training set %v, %v; want the %d images of train", task, s, err, train)
		}
	}
	in := filepath.Join(filepath.Dir(models), "in") // trainTiny's generated faces
	sum := runScore(t, scoreConfig(in, t.TempDir(), models))
	o := sum.TrainingOverlap
	if o == nil || o.Images != train || o.Scored != m.Counts.Inputs || sum.Scored != m.Counts.Inputs {
		t.Fatalf("overlap %+v (scored %d); want %d of %d", o, sum.Scored, train, m.Counts.Inputs)
	}
	want := fmt.Sprintf("%d of %d images scored are among the training images of %s (train)", train, m.Counts.Inputs, models)
	if w := o.Warning(); !strings.HasPrefix(w, want) || strings.Contains(w, "\n") {
		t.Errorf("warning %q, want one line starting %q", w, want)
	}

	fresh, _ := ingesttest.Generate(t, fixtures.Options{Good: 5, Size: 48, Seed: 99})
	sum = runScore(t, scoreConfig(fresh, t.TempDir(), models))
	if o := sum.TrainingOverlap; o == nil || o.Images != 0 || o.Warning() != "" {
		t.Errorf("new images: overlap %+v, warning %q", o, o.Warning())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
