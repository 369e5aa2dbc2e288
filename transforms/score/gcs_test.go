package score_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/internal/fakegcs"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/training"
	"github.com/facepipe/facepipe/transforms/score"
)

// TestGCSEndToEnd runs ingest → train (with a stop and a resume) → score
// entirely on gs:// paths against a fake Cloud Storage server: every stage
// reads and writes the bucket, and no object is left under a temporary name.
func TestGCSEndToEnd(t *testing.T) {
	ctx := context.Background()
	in := t.TempDir()
	files, err := fixtures.Generate(in, fixtures.Options{Good: 160, Size: 48, Bad: true, Seed: 31})
	if err != nil {
		t.Fatal(err)
	}
	fakegcs.Start(t, "faces", "in", files)

	cfg := ingesttest.Config("gs://faces/in", "gs://faces/data")
	cfg.ImageSize, cfg.NumShards = 32, 2
	ingesttest.Run(t, "prism", cfg)

	tc := training.Config{
		Data: "gs://faces/data", Task: model.TaskAge, Backbone: "cnn-xs", Out: "gs://faces/models/age", InputSize: 24,
		Batch: 8, Epochs: 2, LR: 1e-3, WeightDecay: 1e-4, Seed: 3, Backend: "go", Shuffle: 64,
		Recalibrate: 32, ONNXBatch: 8, StopAfter: 1, Log: io.Discard,
	}
	if _, err := training.Train(ctx, tc); err != nil {
		t.Fatalf("train, first epoch: %v", err)
	}
	if fsio.Exists(ctx, "gs://faces/models/age/"+model.CardFile) {
		t.Fatal("a stopped run wrote model.json")
	}
	tc.StopAfter, tc.Resume = 0, true
	res, err := training.Train(ctx, tc)
	if err != nil {
		t.Fatalf("train, resumed from gs://: %v", err)
	}
	if len(res.Curve) != 2 {
		t.Errorf("resumed run has %d epochs in its curve, want 2", len(res.Curve))
	}

	sc := scoreConfig("gs://faces/in", "gs://faces/scored", "gs://faces/models/age")
	tmp := t.TempDir() // where scoring copies the model down
	t.Setenv("TMPDIR", tmp)
	p, s := beam.NewPipelineWithRoot()
	score.WriteSummary(s, sc, score.Score(s, sc), []string{"test"})
	if _, err := beam.Run(ctx, "prism", p); err != nil {
		t.Fatalf("score: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "facepipe-model-*")); len(left) > 0 {
		t.Errorf("scoring left its copies of the model in the temporary folder: %v", left)
	}
	sum, err := score.ReadSummary(ctx, "gs://faces/scored")
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, f := range files {
		switch f.Reason { // score rejects only what can't be read as an image
		case schemas.ReasonEmptyFile, schemas.ReasonNotAnImage, schemas.ReasonTooLarge, schemas.ReasonTruncated, schemas.ReasonDecodeError:
			bad++
		}
	}
	if sum.Inputs != len(files) || sum.Rejected != bad || sum.Scored != len(files)-bad {
		t.Errorf("score summary: %d inputs, %d scored, %d rejected; want %d inputs, %d unreadable", sum.Inputs, sum.Scored, sum.Rejected, len(files), bad)
	}
	scored := 0
	for _, part := range sum.Predictions {
		data, err := fsio.ReadFile(ctx, fsio.Join("gs://faces/scored", part.File))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := parquet.Read[schemas.Prediction](bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		scored += len(rows)
	}
	if scored != sum.Scored {
		t.Errorf("%d prediction rows in the bucket, summary says %d", scored, sum.Scored)
	}

	all, err := fsio.List(ctx, "gs://faces/**")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"data/" + schemas.ManifestFile, "models/age/" + model.CardFile, "scored/" + score.SummaryFile}
	if model.ORTInstalled() {
		want = append(want, "models/age/"+model.ONNXFile)
	}
	for _, w := range want {
		if !slices.Contains(all, "gs://faces/"+w) {
			t.Errorf("gs://faces/%s is missing", w)
		}
	}
	for _, o := range all {
		if strings.Contains(o, fsio.TempMarker) {
			t.Errorf("temporary object left: %s", o)
		}
	}
}
