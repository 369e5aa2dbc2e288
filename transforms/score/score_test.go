package score_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/dataset"
	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/labels"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/training"
	"github.com/facepipe/facepipe/transforms/ingest"
	"github.com/facepipe/facepipe/transforms/score"
)

var (
	tinyOnce   sync.Once
	tinyModels string // holds age/ and gender/ model folders
	tinyData   string // their ingest output
	tinyErr    error
)

// trainTiny ingests generated faces and trains tiny age and gender models on
// the pure-Go backend, once per test binary.
func trainTiny(t *testing.T) (models, data string) {
	t.Helper()
	tinyOnce.Do(func() {
		root, err := os.MkdirTemp("", "facepipe-tiny-")
		if err != nil {
			tinyErr = err
			return
		}
		in := filepath.Join(root, "in")
		if _, tinyErr = fixtures.Generate(in, fixtures.Options{Good: 240, Size: 48, Seed: 21}); tinyErr != nil {
			return
		}
		tinyData = filepath.Join(root, "data")
		cfg := ingesttest.Config(in, tinyData)
		cfg.ImageSize, cfg.NoStats = 32, true
		spec, _ := cfg.Validate()
		p, s := beam.NewPipelineWithRoot()
		ingest.Ingest(s, cfg, spec)
		if _, tinyErr = beam.Run(context.Background(), "prism", p); tinyErr != nil {
			return
		}
		tinyModels = filepath.Join(root, "models")
		for task, lr := range map[string]float64{model.TaskAge: 1e-3, model.TaskGender: 1e-2} {
			_, tinyErr = training.Train(context.Background(), training.Config{
				Data: tinyData, Task: task, Backbone: "cnn-xs", Out: filepath.Join(tinyModels, task), InputSize: 24,
				Batch: 16, Epochs: 4, LR: lr, WeightDecay: 1e-4, Seed: 3, Backend: "go", Shuffle: 64,
				Recalibrate: 64, ONNXBatch: 16, Log: io.Discard,
			})
			if tinyErr != nil {
				return
			}
		}
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyModels, tinyData
}

func scoreConfig(in, out string, models ...string) score.Config {
	return score.Config{Input: in, Output: out, Models: models, Backend: "go", Batch: 8, Labels: "auto", Faces: faces.ModeWhole,
		ContactSheet: 12, MaxPixels: preprocess.DefaultMaxPixels, FilesPerPart: 40}
}

func runScore(t *testing.T, cfg score.Config) *score.Summary {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	score.WriteSummary(s, cfg, score.Score(s, cfg), []string{"test"})
	if _, err := beam.Run(context.Background(), "prism", p); err != nil {
		t.Fatalf("score: %v", err)
	}
	sum, err := score.ReadSummary(context.Background(), cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func readPredictions(t *testing.T, out string, sum *score.Summary) []schemas.Prediction {
	t.Helper()
	var rows []schemas.Prediction
	for _, p := range sum.Predictions {
		r, err := parquet.ReadFile[schemas.Prediction](filepath.Join(out, p.File))
		if err != nil {
			t.Fatal(err)
		}
		if len(r) != p.Records {
			t.Errorf("%s: %d rows, summary says %d", p.File, len(r), p.Records)
		}
		rows = append(rows, r...)
	}
	return rows
}

// TestScoreEndToEnd scores good and bad generated files with tiny trained
// models: a prediction for every good file, a reject with the right reason
// for every bad one, counts that reconcile, and metrics that agree with a
// computation by hand from the predictions and the names.
func TestScoreEndToEnd(t *testing.T) {
	models, _ := trainTiny(t)
	in, files := ingesttest.Generate(t, fixtures.Options{Good: 50, Bad: true, OddNames: true, Seed: 9})
	out := t.TempDir()
	sum := runScore(t, scoreConfig(in, out, models))
	rows := readPredictions(t, out, sum)
	rejects := ingesttest.ReadRejects(t, out)

	// Score rejects only what can't be read as an image: names don't matter
	// and duplicates are scored.
	want := map[string]string{}
	byName := map[string]fixtures.File{}
	for _, f := range files {
		byName[f.Name] = f
		switch f.Reason {
		case schemas.ReasonEmptyFile, schemas.ReasonNotAnImage, schemas.ReasonTooLarge, schemas.ReasonTruncated, schemas.ReasonDecodeError:
			want[f.Name] = f.Reason
		default:
			want[f.Name] = ""
		}
	}
	if sum.Inputs != len(files) || sum.Scored+sum.Rejected != sum.Inputs || sum.Scored != len(rows) || sum.Rejected != len(rejects) {
		t.Errorf("summary %d inputs = %d scored + %d rejected; %d rows, %d rejects, %d files", sum.Inputs, sum.Scored, sum.Rejected, len(rows), len(rejects), len(files))
	}
	for _, r := range rows {
		if reason, ok := want[r.Filename]; !ok || reason != "" {
			t.Errorf("%s scored, want rejected as %q", r.Filename, reason)
		}
		if r.PredictedAge == nil || math.IsNaN(*r.PredictedAge) || r.PFemale == nil || *r.PFemale < 0 || *r.PFemale > 1 || r.PredictedGender == nil {
			t.Errorf("%s: prediction %+v", r.Filename, r)
		}
		if (*r.PFemale >= 0.5) != (*r.PredictedGender == 1) {
			t.Errorf("%s: p_female %v but predicted_gender %d", r.Filename, *r.PFemale, *r.PredictedGender)
		}
		// The true labels are those the generator wrote into the name.
		// (Race -1 when the name has none); a name ingest rejects has none.
		switch f := byName[r.Filename]; {
		case f.Reason == "":
			if r.TrueAge == nil || r.TrueGender == nil || r.TrueRace == nil ||
				int(*r.TrueAge) != f.Age || int(*r.TrueGender) != f.Gender || int(*r.TrueRace) != f.Race {
				t.Errorf("%s: true age, gender, race %v %v %v; the name says %d %d %d", r.Filename, r.TrueAge, r.TrueGender, r.TrueRace, f.Age, f.Gender, f.Race)
			}
		case r.TrueAge != nil || r.TrueGender != nil || r.TrueRace != nil:
			t.Errorf("%s (%s): true labels %v %v %v from a name without them", r.Filename, f.Reason, r.TrueAge, r.TrueGender, r.TrueRace)
		}
		if l, err := labels.ParseName(r.Filename); err == nil && (r.TrueAge == nil || int(*r.TrueAge) != l.Age) {
			t.Errorf("%s: true_age %v", r.Filename, r.TrueAge)
		}
		if r.Model == "" || r.SHA256 == "" {
			t.Errorf("%s: model %q sha256 %q", r.Filename, r.Model, r.SHA256)
		}
	}
	for _, r := range rejects {
		if want[r.File] == "" || want[r.File] != r.Reason {
			t.Errorf("%s rejected as %s, want %q", r.File, r.Reason, want[r.File])
		}
	}

	// metrics.json against a hand computation over the labelled rows.
	var absErr float64
	var n, correct int
	for _, r := range rows {
		if r.TrueAge == nil {
			continue
		}
		absErr += math.Abs(*r.PredictedAge - float64(*r.TrueAge))
		if int(*r.PredictedGender) == byName[r.Filename].Gender {
			correct++
		}
		n++
	}
	var doc struct {
		Overall struct {
			Count          int     `json:"count"`
			AgeMAE         float64 `json:"age_mae"`
			GenderAccuracy float64 `json:"gender_accuracy"`
		} `json:"overall"`
		Slices []map[string]any `json:"slices"`
	}
	data, err := os.ReadFile(filepath.Join(out, score.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Overall.Count != n || math.Abs(doc.Overall.AgeMAE-absErr/float64(n)) > 1e-9 ||
		math.Abs(doc.Overall.GenderAccuracy-float64(correct)/float64(n)) > 1e-12 || len(doc.Slices) < 5 {
		t.Errorf("metrics %+v; by hand n=%d MAE %v accuracy %v", doc.Overall, n, absErr/float64(n), float64(correct)/float64(n))
	}
	if !sum.Labels {
		t.Error("labels were not detected")
	}
	if _, err := os.Stat(filepath.Join(out, score.ContactSheetFile)); err != nil {
		t.Error(err)
	}
	// Several parts of at most 40 images.
	if len(sum.Predictions) < 2 {
		t.Errorf("%d predictions files, want several of ≤ 40 images", len(sum.Predictions))
	}
}

func TestScoreWithoutLabels(t *testing.T) {
	models, _ := trainTiny(t)
	in := t.TempDir()
	for i := 0; i < 5; i++ {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, fixtures.Image(30, 1, 0, 48, int64(i)), nil); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(in, "photo"+string(rune('a'+i))+".jpg"), b.Bytes(), 0o644)
	}
	out := t.TempDir()
	cfg := scoreConfig(in, out, filepath.Join(models, model.TaskGender))
	sum := runScore(t, cfg)
	if sum.Scored != 5 || sum.Labels {
		t.Errorf("summary %+v", sum)
	}
	if _, err := os.Stat(filepath.Join(out, score.MetricsFile)); err == nil {
		t.Error("metrics without labels")
	}
	for _, r := range readPredictions(t, out, sum) {
		if r.PredictedAge != nil || r.PFemale == nil {
			t.Errorf("gender-only row %+v", r)
		}
	}
	cfg.Labels, cfg.Output = "on", t.TempDir()
	p, s := beam.NewPipelineWithRoot()
	score.WriteSummary(s, cfg, score.Score(s, cfg), nil)
	if _, err := beam.Run(context.Background(), "prism", p); err == nil {
		t.Error("--labels=on without labels must fail")
	}
}

// TestNameLabelsAuto: with --name_labels=auto, metrics are computed when at
// least 90% of the scored images carry UTKFace labels in their names, and
// not otherwise.
func TestNameLabelsAuto(t *testing.T) {
	models, _ := trainTiny(t)
	for _, tc := range []struct {
		labelled, unlabelled int
		metrics              bool
	}{
		{9, 1, true},  // 90%
		{8, 2, false}, // 80%
		{3, 7, false}, // 30%
	} {
		in := t.TempDir()
		for i := 0; i < tc.labelled+tc.unlabelled; i++ {
			var b bytes.Buffer
			if err := jpeg.Encode(&b, fixtures.Image(30, i%2, 0, 48, int64(i)), nil); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("photo%02d.jpg", i)
			if i < tc.labelled {
				name = fixtures.Name(20+i, i%2, i%5, fixtures.BaseTimestamp+int64(i))
			}
			if err := os.WriteFile(filepath.Join(in, name), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out := t.TempDir()
		sum := runScore(t, scoreConfig(in, out, filepath.Join(models, model.TaskGender)))
		_, err := os.Stat(filepath.Join(out, score.MetricsFile))
		if sum.Scored != tc.labelled+tc.unlabelled || sum.Labels != tc.metrics || (err == nil) != tc.metrics {
			t.Errorf("%d of %d names labelled: %d scored, labels %v, metrics.json written %v; want labels and metrics %v",
				tc.labelled, tc.labelled+tc.unlabelled, sum.Scored, sum.Labels, err == nil, tc.metrics)
		}
	}
}

// TestPreprocessingIdentity: an image goes through ingest and the training
// reader, and through scoring's preprocessing; the model inputs are
// identical.
func TestPreprocessingIdentity(t *testing.T) {
	_, data := trainTiny(t)
	src, err := dataset.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := src.Read(context.Background(), dataset.Options{Split: "test", InputSize: 24, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in := src.Manifest.Parameters.Input
	checked := 0
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		file, err := os.ReadFile(filepath.Join(in, b.Files[0]))
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := preprocess.ModelInput(file, src.StoredSize(), 24, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(b.Images) {
			t.Fatalf("%d values from scoring, %d from the reader", len(got), len(b.Images))
		}
		for i := range got {
			if got[i] != b.Images[i] {
				t.Fatalf("%s: value %d: reader %v, scoring %v", b.Files[0], i, b.Images[i], got[i])
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}

// TestTTAFollowsTheModelCard: --tta=auto flip-averages a model folder when
// its card says its test figures were measured so, and not otherwise; on and
// off override the card.
func TestTTAFollowsTheModelCard(t *testing.T) {
	models, _ := trainTiny(t)
	src := filepath.Join(models, model.TaskAge)
	card, err := model.ReadCard(src)
	if err != nil {
		t.Fatal(err)
	}
	if card.FlipTTA() {
		t.Fatalf("the tiny age model was trained without --tta, its card says tta %v", card.Hyper["tta"])
	}
	// A copy whose card says its figures were measured with flip averaging.
	flipped := filepath.Join(t.TempDir(), "flipped")
	if err := os.CopyFS(flipped, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	card.Hyper["tta"] = true
	if err := model.WriteCard(flipped, card); err != nil {
		t.Fatal(err)
	}
	b, _, err := model.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	// A batch of left-right asymmetric images: flip averaging changes the predictions.
	n := card.InputSize
	images := make([]float32, 8*n*n*3)
	for i := range images {
		x := (i / 3) % n
		images[i] = float32(x) / float32(n) * float32(1+i%5) / 5
	}
	predict := func(tta, dir string) (float64, bool) {
		t.Helper()
		sc, err := score.OpenScorers(context.Background(), score.Config{Models: []string{dir}, Batch: 8, TTA: tta}, b)
		if err != nil {
			t.Fatal(err)
		}
		defer sc[0].Close()
		out, err := sc[0].Predict(images)
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Age, sc[0].FlipTTA()
	}
	on, _ := predict("on", src)
	off, _ := predict("off", src)
	if on == off {
		t.Fatalf("flip averaging changed nothing (%v): the test images do not test it", on)
	}
	for _, c := range []struct {
		tta, dir string
		want     float64
	}{
		{"auto", src, off}, {"", src, off}, {"auto", flipped, on}, {"off", flipped, off}, {"on", flipped, on},
	} {
		got, flip := predict(c.tta, c.dir)
		if got != c.want || flip != (c.want == on) {
			t.Errorf("--tta=%q on a card with tta %v: age %v, flip averaging %v; want %v (on %v, off %v)", c.tta, c.dir == flipped, got, flip, c.want, on, off)
		}
	}
	if _, err := score.OpenScorers(context.Background(), score.Config{Models: []string{src}, Batch: 8, TTA: "sometimes"}, b); err == nil || !strings.Contains(err.Error(), "want auto, on or off") {
		t.Errorf("--tta=sometimes: error %v, want one naming the values", err)
	}
}
