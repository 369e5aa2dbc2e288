package training_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/facepipe/facepipe/evaluate"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/training"
	"github.com/facepipe/facepipe/transforms/ingest"
)

func TestMain(m *testing.M) {
	// A process loads one ONNX Runtime library, and the GPU build runs
	// onnx:cpu too: with a GPU, load that one, so that onnx:cuda can run.
	gpuLib := model.DefaultORTGPUPath()
	if _, err := os.Stat(filepath.Join(filepath.Dir(gpuLib), model.ORTCUDAProvider)); err == nil {
		if gpus, _ := filepath.Glob("/dev/nvidia*"); len(gpus) > 0 {
			os.Setenv("ONNXRUNTIME_SHARED_LIBRARY_PATH", gpuLib)
		}
	}
	os.Setenv("GOMLX_NO_AUTO_INSTALL", "1") // tests never download a PJRT plugin
	beamlog.LogLevel = "warn"
	beam.Init()
	os.Exit(m.Run())
}

// data ingests a generated dataset whose labels are learnable (brightness
// follows age, a colour patch gender) at 32×32, once per test binary.
var dataDir string

func data(t *testing.T) string {
	t.Helper()
	if dataDir != "" {
		return dataDir
	}
	root, err := os.MkdirTemp("", "facepipe-training-")
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(root, "in")
	if _, err := fixtures.Generate(in, fixtures.Options{Good: 360, Size: 48, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out")
	ingestFixtures(t, in, out, "train=0.7,valid=0.15,test=0.15", true)
	dataDir = out
	return out
}

// ingestFixtures runs the ingest pipeline over the images in in, into out at 32×32,
// uint8, with the splits given (seed 1), and with the statistics if asked.
func ingestFixtures(t *testing.T, in, out, splits string, stats bool) {
	t.Helper()
	cfg := ingest.Config{IngestParams: schemas.IngestParams{
		Input: in, Output: out, ImageSize: 32, Encoding: schemas.EncodingUint8, Compression: "none",
		Split: splits, Seed: 1, NumShards: 2, ShardMB: 256, MaxPixels: preprocess.DefaultMaxPixels,
	}, NoStats: !stats}
	spec, err := cfg.Validate()
	if err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	ingest.Ingest(s, cfg, spec)
	if _, err := beam.Run(context.Background(), "prism", p); err != nil {
		t.Fatal(err)
	}
}

func config(t *testing.T, task string) training.Config {
	return training.Config{
		Data: data(t), Task: task, Backbone: "cnn-xs", Out: t.TempDir(), InputSize: 24, Batch: 16,
		Epochs: 6, LR: 1e-3, WeightDecay: 1e-4, Seed: 7, Backend: "go", Shuffle: 64, Recalibrate: 64,
		TTA: false, ONNXBatch: 4, Log: &bytes.Buffer{},
	}
}

func TestAgeLearnsAndKeepsTheBestEpoch(t *testing.T) {
	cfg := config(t, model.TaskAge)
	res, err := training.Train(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, cfg.Log)
	}
	c := res.Curve
	if len(c) != cfg.Epochs {
		t.Fatalf("%d epochs, want %d", len(c), cfg.Epochs)
	}
	if c[len(c)-1].TrainLoss >= c[0].TrainLoss {
		t.Errorf("train loss did not fall: %v → %v", c[0].TrainLoss, c[len(c)-1].TrainLoss)
	}
	// Validation metrics move between epochs: the stale-weights trap would
	// report the first epoch's weights again and again.
	changed := 0
	for i := 1; i < len(c); i++ {
		if c[i].ValMAE != c[i-1].ValMAE {
			changed++
		}
	}
	if changed < len(c)-2 {
		t.Errorf("validation MAE changed in %d of %d epochs: %+v", changed, len(c)-1, c)
	}
	// The test MAE beats predicting the mean by a wide margin.
	mean, n := 0.0, 0
	baseline := 0.0
	preds, err := training.Predict(context.Background(), cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range preds {
		mean += float64(p.Age)
		n++
	}
	mean /= float64(n)
	for _, p := range preds {
		baseline += math.Abs(float64(p.Age) - mean)
	}
	baseline /= float64(n)
	mae := *res.Test.Overall.AgeMAE
	if mae > 0.6*baseline {
		t.Errorf("test MAE %.2f, predict-the-mean %.2f: want at most 60%%", mae, baseline)
	}
	t.Logf("test MAE %.2f vs mean baseline %.2f; curve %+v", mae, baseline, c)

	// The model folder holds the best epoch's weights: reloaded, they give
	// that epoch's validation MAE.
	best := res.Card.BestEpoch
	for i, e := range c {
		if e.ValMAE < c[best-1].ValMAE {
			t.Errorf("epoch %d (MAE %.4f) beats the kept best epoch %d (%.4f)", i+1, e.ValMAE, best, c[best-1].ValMAE)
		}
	}
	if got := validMAE(t, cfg); math.Abs(got-c[best-1].ValMAE) > 1e-4 {
		t.Errorf("reloaded model: valid MAE %.5f, best epoch had %.5f", got, c[best-1].ValMAE)
	}
	for _, f := range []string{model.CardFile, training.CurveCSV, training.CurvePNG, evaluate.JSONFile, evaluate.ParquetFile, evaluate.ScatterFile} {
		if _, err := os.Stat(filepath.Join(cfg.Out, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestGenderLearns(t *testing.T) {
	cfg := config(t, model.TaskGender)
	cfg.LR = 1e-2
	res, err := training.Train(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, cfg.Log)
	}
	if acc := *res.Test.Overall.GenderAccuracy; acc < 0.8 {
		t.Errorf("test accuracy %.3f on a colour patch: want ≥ 0.8 (curve %+v)", acc, res.Curve)
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, evaluate.ConfusionFile)); err != nil {
		t.Error(err)
	}
}

// TestResumeMatchesUninterrupted: a run stopped after 2 epochs and resumed
// ends exactly where an uninterrupted run does, also with the moving average
// of the weights and mixup.
func TestResumeMatchesUninterrupted(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*training.Config)
	}{
		{"age", func(*training.Config) {}},
		{"both, dldl, ema, mixup", func(c *training.Config) {
			c.Task, c.AgeHead, c.DLDLL1, c.EMA, c.Mixup = model.TaskBoth, model.AgeHeadDLDL, 1, 0.9, 0.4
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config(t, model.TaskAge)
			cfg.Epochs = 4
			c.set(&cfg)
			whole, err := training.Train(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			split := cfg
			split.Out = t.TempDir()
			split.StopAfter = 2
			part, err := training.Train(context.Background(), split)
			if err != nil {
				t.Fatal(err)
			}
			if len(part.Curve) != 2 {
				t.Fatalf("stopped after %d epochs, want 2", len(part.Curve))
			}
			split.StopAfter, split.Resume = 0, true
			rest, err := training.Train(context.Background(), split)
			if err != nil {
				t.Fatal(err)
			}
			strip := func(c []training.Epoch) []training.Epoch {
				out := append([]training.Epoch(nil), c...)
				for i := range out {
					out[i].Seconds, out[i].ImagesPerS = 0, 0
				}
				return out
			}
			if !reflect.DeepEqual(strip(rest.Curve), strip(whole.Curve)) {
				t.Errorf("resumed curve\n%+v\nuninterrupted\n%+v", rest.Curve, whole.Curve)
			}
			if *rest.Test.Overall.AgeMAE != *whole.Test.Overall.AgeMAE {
				t.Errorf("test MAE %v resumed, %v uninterrupted", *rest.Test.Overall.AgeMAE, *whole.Test.Overall.AgeMAE)
			}
		})
	}
}

// TestEarlyStopping builds a run that must stop early: at a learning rate
// of 1e-30 (0 is refused) the float32 weights barely move (zero biases
// become about 1e-30), and BatchNorm is recalibrated on the same first
// train images before every validation, so every epoch validates as the
// first to within float rounding. Improving is being strictly better, so
// no later epoch improves for long, and with patience 2 the run must stop
// 2 epochs after its best, far short of its 12. Without early stopping it
// runs all 12.
func TestEarlyStopping(t *testing.T) {
	cfg := config(t, model.TaskAge)
	cfg.Epochs, cfg.Patience, cfg.LR, cfg.WeightDecay, cfg.MaxSteps = 12, 2, 1e-30, 0, 2
	res, err := training.Train(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	best := res.Card.BestEpoch
	if len(res.Curve) == cfg.Epochs || len(res.Curve) != best+cfg.Patience {
		t.Fatalf("ran %d of %d epochs with best %d and patience %d; want a stop %d epochs after the best (curve %+v)",
			len(res.Curve), cfg.Epochs, best, cfg.Patience, cfg.Patience, res.Curve)
	}
	for i, e := range res.Curve {
		if math.Abs(e.ValMAE-res.Curve[0].ValMAE) > 1e-4 {
			t.Errorf("epoch %d: valid MAE %v, the first had %v: the weights moved at a learning rate of 1e-30", i+1, e.ValMAE, res.Curve[0].ValMAE)
		}
	}
	if !strings.Contains(cfg.Log.(*bytes.Buffer).String(), "early stop") {
		t.Errorf("the log does not say it stopped early:\n%s", cfg.Log)
	}
	if got := validMAE(t, cfg); math.Abs(got-res.Curve[best-1].ValMAE) > 1e-4 {
		t.Errorf("restored weights give valid MAE %.5f, the best epoch had %.5f", got, res.Curve[best-1].ValMAE)
	}
}

// validMAE reloads the model folder and scores the valid split.
func validMAE(t *testing.T, cfg training.Config) float64 {
	t.Helper()
	preds, err := training.Predict(context.Background(), cfg, "valid")
	if err != nil {
		t.Fatal(err)
	}
	return *evaluate.Score(preds).AgeMAE
}

func TestCompare(t *testing.T) {
	cfg := config(t, model.TaskAge)
	cfg.Epochs, cfg.MaxSteps = 2, 3
	cands, err := training.Compare(context.Background(), cfg, []string{"cnn-xs", "resnet-s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 2 || cands[0].Params == cands[1].Params || len(cands[1].Curve) != 2 {
		t.Fatalf("candidates %+v", cands)
	}
	table, err := os.ReadFile(filepath.Join(cfg.Out, training.CompareTable))
	if err != nil || !bytes.Contains(table, []byte("| resnet-s |")) || !bytes.Contains(table, []byte("| cnn-xs |")) {
		t.Errorf("comparison table %q, %v", table, err)
	}
	for _, f := range []string{training.ComparePNG, "cnn-xs/" + model.CardFile, "resnet-s/" + model.CardFile} {
		if _, err := os.Stat(filepath.Join(cfg.Out, f)); err != nil {
			t.Error(err)
		}
	}
}
