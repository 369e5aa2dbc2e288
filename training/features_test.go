package training_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/evaluate"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/split"
	"github.com/facepipe/facepipe/training"
	"github.com/facepipe/facepipe/transforms/score"
)

// meanBaseline is the MAE of predicting the mean age of preds.
func meanBaseline(preds []evaluate.Prediction) float64 {
	var mean, mae float64
	for _, p := range preds {
		mean += float64(p.Age) / float64(len(preds))
	}
	for _, p := range preds {
		mae += math.Abs(float64(p.Age)-mean) / float64(len(preds))
	}
	return mae
}

// TestBothLearnsBothLabels: one network with an age head and a gender head
// learns both labels of the generated faces, with either age head; its
// model folder carries every metric, file and plot of both tasks, and
// scoring fills predicted_age and p_female from it.
func TestBothLearnsBothLabels(t *testing.T) {
	for _, c := range []struct {
		head string
		lr   float64
	}{{model.AgeHeadL1, 2e-3}, {model.AgeHeadDLDL, 5e-3}} {
		head := c.head
		t.Run(head, func(t *testing.T) {
			cfg := config(t, model.TaskBoth)
			cfg.AgeHead, cfg.LR, cfg.Epochs, cfg.DLDLL1 = head, c.lr, 10, 1
			res, err := training.Train(context.Background(), cfg)
			if err != nil {
				t.Fatalf("%v\n%s", err, cfg.Log)
			}
			preds, err := training.Predict(context.Background(), cfg, "test")
			if err != nil {
				t.Fatal(err)
			}
			m := res.Test.Overall
			if m.AgeMAE == nil || m.GenderAccuracy == nil || m.GenderAUC == nil {
				t.Fatalf("test metrics %+v: want both tasks'", m)
			}
			if base := meanBaseline(preds); *m.AgeMAE > 0.6*base {
				t.Errorf("test MAE %.2f, predict-the-mean %.2f: want at most 60%%", *m.AgeMAE, base)
			}
			if *m.GenderAccuracy < 0.8 {
				t.Errorf("test accuracy %.3f on a colour patch: want ≥ 0.8", *m.GenderAccuracy)
			}
			for _, e := range res.Curve {
				t.Logf("epoch %d: train loss %.3f, valid MAE %.2f, accuracy %.3f, score %.3f", e.Epoch, e.TrainLoss, e.ValMAE, e.ValAccuracy, e.ValScore)
			}
			t.Logf("test %s", m)
			// The kept epoch has the lowest validation score, and the
			// reloaded folder reproduces its figures.
			best := res.Curve[res.Card.BestEpoch-1]
			for _, e := range res.Curve {
				if e.ValScore < best.ValScore || e.ValMAE == 0 || e.ValAccuracy == 0 {
					t.Errorf("epoch %+v against the kept %+v", e, best)
				}
			}
			valid, err := training.Predict(context.Background(), cfg, "valid")
			if err != nil {
				t.Fatal(err)
			}
			vm := evaluate.Score(valid)
			if math.Abs(*vm.AgeMAE-best.ValMAE) > 1e-4 || *vm.GenderAccuracy != best.ValAccuracy ||
				math.Abs(training.BothScore(*vm.AgeMAE, *vm.GenderAccuracy, valid)-best.ValScore) > 1e-4 {
				t.Errorf("reloaded: valid %s; the kept epoch had %+v", vm, best)
			}
			c := res.Card
			for _, k := range []string{"mae", "accuracy", "auc", "score", "loss"} {
				if _, ok := c.Valid[k]; !ok {
					t.Errorf("valid_metrics %v lack %s", c.Valid, k)
				}
			}
			if c.Task != model.TaskBoth || c.AgeHead != head || !strings.Contains(c.Output, "predicted_age") || !strings.Contains(c.Selection, "MAE0") {
				t.Errorf("card %+v", c)
			}
			for _, f := range []string{training.CurveCSV, training.CurvePNG, evaluate.JSONFile, evaluate.ParquetFile, evaluate.ScatterFile, evaluate.ConfusionFile} {
				if _, err := os.Stat(filepath.Join(cfg.Out, f)); err != nil {
					t.Error(err)
				}
			}
			if head == model.AgeHeadL1 {
				checkScoring(t, cfg.Out)
			}
		})
	}
}

// checkScoring scores generated faces with a model folder predicting both
// tasks: every row gets both predictions, from the one model.
func checkScoring(t *testing.T, modelDir string) {
	t.Helper()
	in := t.TempDir()
	if _, err := fixtures.Generate(in, fixtures.Options{Good: 20, Size: 48, Seed: 77}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cfg := score.Config{Input: in, Output: out, Models: []string{modelDir}, Backend: "go", Batch: 8, Labels: "auto", Faces: "whole",
		MaxPixels: preprocess.DefaultMaxPixels, FilesPerPart: 40}
	p, s := beam.NewPipelineWithRoot()
	score.WriteSummary(s, cfg, score.Score(s, cfg), []string{"both"})
	if _, err := beam.Run(context.Background(), "prism", p); err != nil {
		t.Fatalf("score: %v", err)
	}
	sum, err := score.ReadSummary(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, part := range sum.Predictions {
		rows, err := parquet.ReadFile[schemas.Prediction](filepath.Join(out, part.File))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.PredictedAge == nil || r.PFemale == nil || r.PredictedGender == nil || math.IsNaN(*r.PredictedAge) || !(*r.PFemale >= 0 && *r.PFemale <= 1) {
				t.Errorf("row %s: predicted_age %v, p_female %v", r.Filename, r.PredictedAge, r.PFemale)
			}
			if !strings.HasPrefix(r.Model, "both-") || strings.Contains(r.Model, "+") {
				t.Errorf("row %s: model %q, want the one both model", r.Filename, r.Model)
			}
			n++
		}
	}
	if n != 20 {
		t.Errorf("%d rows scored, want 20", n)
	}
}

// TestEMAWeightsAreKept: with --ema, the model folder's weights are the
// moving averages, not the trained weights: equal to the averages that the
// last epoch's resume checkpoint holds (a refit keeps the last epoch) and
// different from its trained weights. Without refit, validation scores the
// averages with BatchNorm recalibrated for them: the kept epoch's figures
// are the reloaded folder's.
func TestEMAWeightsAreKept(t *testing.T) {
	t.Run("refit", func(t *testing.T) {
		cfg := config(t, model.TaskAge)
		cfg.Epochs, cfg.EMA, cfg.Refit = 2, 0.99, true
		res, err := training.Train(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%v\n%s", err, cfg.Log)
		}
		if res.Card.BestEpoch != 2 {
			t.Fatalf("kept epoch %d of a refit of 2", res.Card.BestEpoch)
		}
		backend, _, err := model.NewBackend("go")
		if err != nil {
			t.Fatal(err)
		}
		defer backend.Finalize()
		kept, _, err := model.Load(cfg.Out, backend)
		if err != nil {
			t.Fatal(err)
		}
		state := mlmodel.NewStore()
		if _, err := checkpoint.Load(state).Dir(filepath.Join(cfg.Out, "resume")).Immediate().Done(); err != nil {
			t.Fatal(err)
		}
		compared, differ := map[string]bool{}, 0
		for avg := range state.IterVariables() {
			path, ok := strings.CutPrefix(avg.Path(), "/"+model.EMAScope)
			if !ok || path == "/updates" {
				continue
			}
			v, raw := kept.Store.GetVariable(path), state.GetVariable(path)
			if v == nil || raw == nil {
				t.Fatalf("the model folder or the resume checkpoint lacks %s", path)
			}
			got := tensors.MustCopyFlatData[float32](v.MustValue())
			if fmt.Sprint(got) != fmt.Sprint(tensors.MustCopyFlatData[float32](avg.MustValue())) {
				t.Errorf("%s: the model folder's weights are not the moving average", path)
			}
			if fmt.Sprint(got) != fmt.Sprint(tensors.MustCopyFlatData[float32](raw.MustValue())) {
				differ++
			}
			compared[path] = true
		}
		if !compared["/stem/conv/weights"] || !compared["/fc2/dense/weights"] || differ < len(compared)/2 {
			t.Errorf("%d of the %d averaged weights (%v) differ from the trained ones", differ, len(compared), compared)
		}
		if kept.Store.GetVariable("/"+model.EMAScope+"/updates") != nil {
			t.Error("the model folder holds the averages' state")
		}
	})
	t.Run("validated", func(t *testing.T) {
		cfg := config(t, model.TaskAge)
		cfg.Epochs, cfg.EMA = 4, 0.99
		res, err := training.Train(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%v\n%s", err, cfg.Log)
		}
		best := res.Curve[res.Card.BestEpoch-1]
		if got := validMAE(t, cfg); math.Abs(got-best.ValMAE) > 1e-4 {
			t.Errorf("reloaded model: valid MAE %.5f, the kept epoch had %.5f", got, best.ValMAE)
		}
		plain := config(t, model.TaskAge)
		plain.Epochs = 4
		other, err := training.Train(context.Background(), plain)
		if err != nil {
			t.Fatal(err)
		}
		if other.Curve[3].ValMAE == res.Curve[3].ValMAE {
			t.Errorf("validation with and without EMA agree (%v): the averages were not validated", res.Curve[3].ValMAE)
		}
	})
}

// TestRefitTrainsOnTrainAndValid: --refit trains on train+valid, keeps the
// last epoch, has no validation figures, and says so with its test figures.
func TestRefitTrainsOnTrainAndValid(t *testing.T) {
	cfg := config(t, model.TaskGender)
	cfg.Epochs, cfg.Refit, cfg.LR = 3, true, 1e-2
	log := &bytes.Buffer{}
	cfg.Log = log
	res, err := training.Train(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	c := res.Card
	n := c.Data.Records["train"] + c.Data.Records["valid"]
	if want := fmt.Sprintf("%d steps of %d per epoch on train+valid", n/cfg.Batch, cfg.Batch); !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
	if !c.Refit || c.BestEpoch != 3 || c.Valid != nil || c.TestNote == "" || !strings.Contains(c.Selection, "refit") {
		t.Errorf("card %+v", c)
	}
	for _, e := range res.Curve {
		if e.ValLoss != 0 || e.ValAccuracy != 0 {
			t.Errorf("a refit validated: %+v", e)
		}
	}
	data, err := os.ReadFile(filepath.Join(cfg.Out, evaluate.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Note      string `json:"note"`
		TrainedOn string `json:"trained_on"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Note == "" || doc.TrainedOn != "train+valid" {
		t.Errorf("eval.json %s: %v", data, err)
	}
	cfg.Patience = 2
	if _, err := training.Train(context.Background(), cfg); err == nil {
		t.Error("--refit with --patience trained")
	}
}

// TestEnsemble: an ensemble folder assembled from two trained networks
// predicts, image by image, the mean of its members, and its test figures
// are those of that mean.
func TestEnsemble(t *testing.T) {
	ctx := context.Background()
	var members []string
	var memberPreds [][]evaluate.Prediction
	for i := range 2 {
		cfg := config(t, model.TaskBoth)
		cfg.Epochs, cfg.Seed, cfg.LR = 2, int64(20+i), 5e-3
		if _, err := training.Train(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		preds, err := training.Predict(ctx, cfg, "test")
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, cfg.Out)
		memberPreds = append(memberPreds, preds)
	}
	cfg := config(t, model.TaskBoth)
	res, err := training.Assemble(ctx, cfg, members)
	if err != nil {
		t.Fatalf("%v\n%s", err, cfg.Log)
	}
	c := res.Card
	if len(c.Members) != 2 || c.Members[1] != "members/1" || c.Combine == "" || c.Task != model.TaskBoth || c.Valid["mae"] == 0 || c.Valid["accuracy"] == 0 {
		t.Errorf("card %+v", c)
	}
	preds, err := training.Predict(ctx, cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	mean := make([]evaluate.Prediction, len(preds))
	for i, p := range preds {
		a, b := memberPreds[0][i], memberPreds[1][i]
		if a.File != p.File || b.File != p.File {
			t.Fatalf("image %d: %s, %s and %s", i, p.File, a.File, b.File)
		}
		mean[i] = a
		mean[i].PredAge, mean[i].PFemale = (a.PredAge+b.PredAge)/2, (a.PFemale+b.PFemale)/2
		if math.Abs(p.PredAge-mean[i].PredAge) > 1e-4 || math.Abs(p.PFemale-mean[i].PFemale) > 1e-5 {
			t.Errorf("%s: ensemble %v/%v, mean of the members %v/%v", p.File, p.PredAge, p.PFemale, mean[i].PredAge, mean[i].PFemale)
		}
	}
	want := evaluate.Score(mean)
	if got := res.Test.Overall; math.Abs(*got.AgeMAE-*want.AgeMAE) > 1e-4 || *got.GenderAccuracy != *want.GenderAccuracy {
		t.Errorf("ensemble test %s, mean of the members %s", got, want)
	}
	for _, f := range []string{evaluate.JSONFile, evaluate.ParquetFile, evaluate.ScatterFile, evaluate.ConfusionFile, "members/0/" + model.CardFile} {
		if _, err := os.Stat(filepath.Join(cfg.Out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := training.Assemble(ctx, config(t, model.TaskBoth), members[:1]); err == nil {
		t.Error("an ensemble of one was assembled")
	}

	// A member refit on train+valid beside one that kept its best epoch on
	// valid: the ensemble has no valid figures, and its test note says how
	// its members were made.
	refit := config(t, model.TaskBoth)
	refit.Epochs, refit.Seed, refit.LR, refit.Refit = 2, 22, 5e-3, true
	if _, err := training.Train(ctx, refit); err != nil {
		t.Fatal(err)
	}
	mixed := config(t, model.TaskBoth)
	res, err = training.Assemble(ctx, mixed, []string{members[0], refit.Out})
	if err != nil {
		t.Fatalf("%v\n%s", err, mixed.Log)
	}
	if c := res.Card; !c.Refit || c.Valid != nil || !strings.Contains(c.TestNote, "1 of the 2 members were refit") {
		t.Errorf("mixed ensemble: refit %v, valid %v, note %q", c.Refit, c.Valid, c.TestNote)
	}
}

// smallData ingests a dataset with exactly train, valid and test records in
// its splits: generated faces are placed by the content hash the ingest
// splits by, and the extras left out. Splits of 17 images don't fill a batch
// of 8 (nor of 16), and a train split of 20 is smaller than a batch of 64.
func smallData(t *testing.T, train, valid, test int) string {
	t.Helper()
	root := t.TempDir()
	in := filepath.Join(root, "in")
	files, err := fixtures.Generate(in, fixtures.Options{Good: 3 * (train + valid + test), Size: 48, Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	const splits, seed = "train=0.34,valid=0.33,test=0.33", 1 // the seed ingest uses
	spec, err := split.Parse(splits)
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]int{"train": train, "valid": valid, "test": test}
	for _, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		name := spec.Assign(split.KeyOf(hex.EncodeToString(sum[:]), seed))
		if left[name] > 0 {
			left[name]--
		} else if err := os.Remove(f.Path); err != nil {
			t.Fatal(err)
		}
	}
	if left["train"]+left["valid"]+left["test"] > 0 {
		t.Fatalf("not enough generated faces: %v left to place", left)
	}
	out := filepath.Join(root, "out")
	ingestFixtures(t, in, out, splits, false)
	return out
}

// TestSmallSplits: splits of any size train and evaluate. Validation and
// test metrics on 17 images, in padded batches, equal the same metrics
// computed one image at a time; a train split smaller than the batch trains
// with a smaller batch and says so.
func TestSmallSplits(t *testing.T) {
	ctx := context.Background()
	dir := smallData(t, 20, 17, 17)
	t.Run("17 images in batches of 8", func(t *testing.T) {
		cfg := config(t, model.TaskBoth)
		cfg.Data, cfg.Batch, cfg.Epochs, cfg.Recalibrate = dir, 8, 2, 16
		res, err := training.Train(ctx, cfg)
		if err != nil {
			t.Fatalf("%v\n%s", err, cfg.Log)
		}
		one := cfg
		one.Batch = 1
		for _, c := range []struct {
			split string
			want  evaluate.Metrics
		}{
			{"test", res.Test.Overall},
			{"valid", func() evaluate.Metrics {
				e := res.Curve[res.Card.BestEpoch-1]
				return evaluate.Metrics{Count: 17, AgeMAE: &e.ValMAE, GenderAccuracy: &e.ValAccuracy, GenderAUC: &e.ValAUC}
			}()},
		} {
			preds, err := training.Predict(ctx, one, c.split)
			if err != nil {
				t.Fatal(err)
			}
			got := evaluate.Score(preds)
			seen := map[string]bool{}
			for _, p := range preds {
				seen[p.File] = true
			}
			if got.Count != 17 || len(seen) != 17 || c.want.Count != 17 {
				t.Errorf("%s: %d predictions of %d images one at a time, %d in batches; want 17", c.split, got.Count, len(seen), c.want.Count)
			}
			if math.Abs(*got.AgeMAE-*c.want.AgeMAE) > 1e-4 || *got.GenderAccuracy != *c.want.GenderAccuracy || math.Abs(*got.GenderAUC-*c.want.GenderAUC) > 1e-9 {
				t.Errorf("%s: one at a time %s, in padded batches %s", c.split, got, c.want)
			}
		}
	})
	t.Run("train split smaller than the batch", func(t *testing.T) {
		cfg := config(t, model.TaskAge)
		log := &bytes.Buffer{}
		cfg.Data, cfg.Batch, cfg.Epochs, cfg.Log = dir, 64, 2, log
		res, err := training.Train(ctx, cfg)
		if err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		if want := "split train has 20 records, fewer than a batch of 64: training with batches of 20\n"; strings.Count(log.String(), want) != 1 {
			t.Errorf("log lacks %q once:\n%s", want, log)
		}
		if len(res.Curve) != 2 || res.Curve[1].TrainLoss == 0 || res.Test.Overall.Count != 17 || res.Card.Hyper["batch"] != 20 {
			t.Errorf("curve %+v, test %s, hyperparameters %v", res.Curve, res.Test.Overall, res.Card.Hyper)
		}
	})
}
