// Package training trains an age or gender network on an ingest output:
// epochs over the streamed train split with a one-cycle AdamW schedule,
// BatchNorm recalibration and validation after each epoch, Keras-style early
// stopping that restores the best weights, resumable checkpoints, and at the
// end an evaluation on the test split and a complete model folder.
package training

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/facepipe/facepipe/dataset"
	"github.com/facepipe/facepipe/evaluate"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/model"
)

// Config is a training run.
type Config struct {
	Data        string  // ingest output folder
	Task        string  // model.TaskAge or model.TaskGender
	Backbone    string  // built-in name or .onnx file
	ONNXInput   string  // value range of an ONNX backbone
	Out         string  // model folder to write
	InputSize   int     // 0: the stored size
	Batch       int     // examples per step
	Epochs      int     // length of the schedule
	LR          float64 // peak learning rate
	WeightDecay float64
	Patience    int // stop after this many epochs without improvement; 0 never stops early
	Seed        int64
	Backend     string // "" chooses (see model.NewBackend)
	Resume      bool   // continue from Out's last epoch checkpoint
	Shuffle     int    // shuffle buffer, examples
	Workers     int    // decode goroutines
	SkipCorrupt bool
	Recalibrate int  // train images used to recalibrate BatchNorm before each validation
	TTA         bool // average the prediction of each test image with its mirror
	ONNXBatch   int  // batch size of the ONNX export
	MaxSteps    int  // cap on steps per epoch, for smoke runs; 0 = all
	StopAfter   int  // end this invocation after so many epochs (resume later); 0 = run to the end
	CommandLine []string
	Log         io.Writer // progress and epoch lines; stderr when nil

	outName string       // Out as the user gave it (a gs:// one is staged locally)
	mirror  func() error // copies the staged model folder to a gs:// Out
}

// Epoch is one row of the learning curve.
type Epoch struct {
	Epoch       int     `json:"epoch"`
	TrainLoss   float64 `json:"train_loss"`
	ValLoss     float64 `json:"val_loss"`
	ValMAE      float64 `json:"val_mae,omitempty"`
	ValAccuracy float64 `json:"val_accuracy,omitempty"`
	ValAUC      float64 `json:"val_auc,omitempty"`
	LR          float64 `json:"lr"`
	Seconds     float64 `json:"seconds"`
	ImagesPerS  float64 `json:"images_per_second"`
}

// state is what a resumed run needs besides the weights.
type state struct {
	Curve     []Epoch `json:"curve"`
	BestEpoch int     `json:"best_epoch"`
	Seconds   float64 `json:"seconds"`
}

const (
	stateDir  = "resume"      // full checkpoints (with optimizer state) for --resume
	stateFile = "resume.json" // curve and best epoch for --resume
)

// Result of a run.
type Result struct {
	Card  *model.Card
	Curve []Epoch
	Test  evaluate.Report
}

func (c *Config) defaults(stored int) {
	if c.InputSize == 0 {
		c.InputSize = stored
	}
	if c.Batch == 0 {
		c.Batch = 128
	}
	if c.Recalibrate == 0 {
		c.Recalibrate = 2048
	}
	if c.ONNXBatch == 0 {
		c.ONNXBatch = 32
	}
	if c.ONNXInput == "" {
		c.ONNXInput = "unit"
	}
	if c.Log == nil {
		c.Log = os.Stderr
	}
}

// Train runs a training and writes the model folder. A gs:// model folder
// is staged in a local temporary folder (GoMLX checkpoints are local files)
// and mirrored to the bucket after every epoch, so --resume works there too;
// a gs:// ONNX backbone is copied down first.
func Train(ctx context.Context, cfg Config) (*Result, error) {
	cfg.outName = cfg.Out
	if !fsio.IsGCS(cfg.Out) && !fsio.IsGCS(cfg.Backbone) {
		return trainLocal(ctx, cfg)
	}
	stage, err := os.MkdirTemp("", "facepipe-train-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	if fsio.IsGCS(cfg.Backbone) {
		dir := filepath.Join(stage, "backbone")
		if n, err := fsio.CopyDown(ctx, cfg.Backbone, dir); err != nil || n == 0 {
			return nil, fmt.Errorf("--backbone=%s: copying it down: %d files, %v", cfg.Backbone, n, err)
		}
		cfg.Backbone = filepath.Join(dir, fsio.Base(cfg.Backbone))
	}
	if !fsio.IsGCS(cfg.Out) {
		return trainLocal(ctx, cfg)
	}
	remote, local := cfg.Out, filepath.Join(stage, "out")
	if cfg.Resume {
		if _, err := fsio.CopyDown(ctx, remote, local); err != nil {
			return nil, fmt.Errorf("--resume: %w", err)
		}
	}
	cfg.Out = local
	cfg.mirror = func() error { return fsio.Mirror(ctx, local, remote) }
	res, err := trainLocal(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := cfg.mirror(); err != nil {
		return nil, err
	}
	return res, nil
}

// trainLocal runs a training into a local model folder.
func trainLocal(ctx context.Context, cfg Config) (*Result, error) {
	src, err := dataset.Open(ctx, cfg.Data)
	if err != nil {
		return nil, err
	}
	cfg.defaults(src.StoredSize())
	if cfg.Epochs < 1 {
		return nil, fmt.Errorf("--epochs=%d: want at least 1", cfg.Epochs)
	}
	for _, split := range []string{"train", "valid"} {
		if src.Records(split) < cfg.Batch {
			return nil, fmt.Errorf("split %s has %d records, fewer than a batch of %d", split, src.Records(split), cfg.Batch)
		}
	}
	backend, backendName, err := model.NewBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	defer backend.Finalize()
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	spec := model.Spec{Task: cfg.Task, Backbone: cfg.Backbone, InputSize: cfg.InputSize, ONNXInput: cfg.ONNXInput}
	if cfg.Task == model.TaskAge {
		spec.AgeScale, spec.AgeShift = 10, trainMedianAge(ctx, src)
	}
	net, err := model.NewNet(backend, spec, cfg.Seed)
	if err != nil {
		return nil, err
	}
	if net.Backbone != nil {
		if err := net.Backbone.CheckBatch(cfg.Batch); err != nil {
			return nil, err
		}
	}
	stepsPerEpoch := src.Records("train") / cfg.Batch
	if cfg.MaxSteps > 0 {
		stepsPerEpoch = min(stepsPerEpoch, cfg.MaxSteps)
	}
	schedule := model.OneCycle(cfg.LR, cfg.Epochs*stepsPerEpoch)

	// Resume, or start afresh: a checkpoint handler on a folder that holds
	// checkpoints loads the latest into the store.
	st := state{BestEpoch: -1}
	resumeDir := filepath.Join(cfg.Out, stateDir)
	if cfg.Resume {
		data, err := os.ReadFile(filepath.Join(cfg.Out, stateFile))
		if err != nil {
			return nil, fmt.Errorf("--resume: nothing to resume in %s: %w", cfg.Out, err)
		}
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, fmt.Errorf("--resume: %s: %w", stateFile, err)
		}
	} else if err := os.RemoveAll(resumeDir); err != nil {
		return nil, err
	}
	resume, err := checkpoint.Build(net.Store).Dir(resumeDir).Keep(1).Done()
	if err != nil {
		return nil, err
	}
	trainer := train.NewTrainer(backend, net.Store, net.TrainFn(schedule), model.Objective{Spec: spec}.Loss(), model.AdamW(cfg.WeightDecay), nil, nil)

	fmt.Fprintf(cfg.Log, "train: %s on %s, %s, %d×%d input, backend %s\n",
		cfg.Task, cfg.Backbone, cfg.Data, cfg.InputSize, cfg.InputSize, backendName)
	fmt.Fprintf(cfg.Log, "train: %d train / %d valid / %d test records, %d steps of %d per epoch, up to %d epochs\n",
		src.Records("train"), src.Records("valid"), src.Records("test"), stepsPerEpoch, cfg.Batch, cfg.Epochs)

	sinceBest := 0
	if st.BestEpoch >= 0 {
		sinceBest = len(st.Curve) - 1 - st.BestEpoch
	}
	// One predictor for every validation: it reads the current weights.
	validator, err := net.NewLivePredictor(cfg.Batch, false)
	if err != nil {
		return nil, err
	}
	defer validator.Close()
	defer net.Close()
	first := len(st.Curve)
	for epoch := first; epoch < cfg.Epochs; epoch++ {
		if cfg.StopAfter > 0 && epoch-first >= cfg.StopAfter {
			fmt.Fprintf(cfg.Log, "train: stopping after %d epochs as asked; continue with --resume\n", cfg.StopAfter)
			return &Result{Curve: st.Curve}, nil
		}
		if cfg.Patience > 0 && sinceBest >= cfg.Patience {
			fmt.Fprintf(cfg.Log, "train: early stop: no improvement for %d epochs; best epoch %d\n", cfg.Patience, st.BestEpoch+1)
			break
		}
		row, err := runEpoch(ctx, &cfg, src, net, trainer, epoch, stepsPerEpoch)
		if err != nil {
			return nil, err
		}
		if err := validate(ctx, &cfg, src, net, validator, &row); err != nil {
			return nil, err
		}
		st.Curve = append(st.Curve, row)
		st.Seconds += row.Seconds
		mark := ""
		if st.BestEpoch < 0 || better(cfg.Task, row, st.Curve[st.BestEpoch]) {
			st.BestEpoch, sinceBest, mark = epoch, 0, " *best*"
			if err := net.SaveWeights(cfg.Out); err != nil {
				return nil, fmt.Errorf("saving the best weights: %w", err)
			}
		} else {
			sinceBest++
		}
		fmt.Fprintf(cfg.Log, "epoch %d/%d: %s%s\n", epoch+1, cfg.Epochs, describe(cfg.Task, row), mark)
		if err := resume.Save(); err != nil {
			return nil, fmt.Errorf("saving the resume checkpoint: %w", err)
		}
		if err := writeJSON(filepath.Join(cfg.Out, stateFile), st); err != nil {
			return nil, err
		}
		if err := WriteCurve(cfg.Out, cfg.Task, st.Curve); err != nil {
			return nil, err
		}
		if cfg.mirror != nil {
			if err := cfg.mirror(); err != nil {
				return nil, err
			}
		}
	}
	return finish(ctx, &cfg, src, backend, backendName, spec, st)
}

// trainMedianAge reads the train split's median age from the ingest
// statistics; the age head is centred on it. Without statistics it uses 29,
// UTKFace's median.
func trainMedianAge(ctx context.Context, src *dataset.Source) float64 {
	if m, err := src.MedianAge(ctx, "train"); err == nil {
		return m
	}
	return 29
}

// runEpoch trains one epoch over the shuffled, augmented train split.
func runEpoch(ctx context.Context, cfg *Config, src *dataset.Source, net *model.Net, trainer *train.Trainer, epoch, steps int) (Epoch, error) {
	row := Epoch{Epoch: epoch + 1}
	r, err := src.Read(ctx, dataset.Options{Split: "train", InputSize: cfg.InputSize, BatchSize: cfg.Batch,
		Shuffle: cfg.Shuffle, Seed: cfg.Seed, Epoch: epoch, Augment: true, Workers: cfg.Workers, SkipCorrupt: cfg.SkipCorrupt})
	if err != nil {
		return row, err
	}
	defer r.Close()
	bar := newProgress(cfg.Log, fmt.Sprintf("epoch %d/%d", epoch+1, cfg.Epochs), steps, cfg.Batch)
	start := time.Now()
	var lossSum float64
	s := cfg.InputSize
	for step := 0; step < steps; step++ {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return row, err
		}
		labels := b.Ages
		if cfg.Task == model.TaskGender {
			labels = b.Genders
		}
		images, err := net.Tensor(b.Images, cfg.Batch, s, s, 3)
		if err != nil {
			return row, err
		}
		y, err := net.Tensor(labels, cfg.Batch, 1)
		if err != nil {
			return row, err
		}
		metrics, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{images}, Labels: []*tensors.Tensor{y}})
		images.MustFinalizeAll() // device buffers are not Go memory: the GC would not free them in time
		y.MustFinalizeAll()
		if err != nil {
			return row, fmt.Errorf("epoch %d step %d: %w", epoch+1, step+1, err)
		}
		loss := float64(metrics[0].Value().(float32))
		for _, m := range metrics {
			m.MustFinalizeAll()
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return row, fmt.Errorf("epoch %d step %d: the loss is %v: lower --lr", epoch+1, step+1, loss)
		}
		lossSum += loss
		row.TrainLoss = lossSum / float64(step+1)
		bar.update(step+1, row.TrainLoss, model.LearningRate(net.Store))
	}
	bar.done()
	row.Seconds = time.Since(start).Seconds()
	row.ImagesPerS = float64(steps*cfg.Batch) / row.Seconds
	row.LR = model.LearningRate(net.Store)
	if st := r.Stats(); st.Skipped > 0 {
		fmt.Fprintf(cfg.Log, "train: skipped %d corrupt records\n", st.Skipped)
	}
	return row, nil
}

// better reports whether an epoch improves on the best: lower validation MAE
// for age, higher validation accuracy for gender (lower loss breaking ties).
func better(task string, e, best Epoch) bool {
	if task == model.TaskGender {
		if e.ValAccuracy != best.ValAccuracy {
			return e.ValAccuracy > best.ValAccuracy
		}
		return e.ValLoss < best.ValLoss
	}
	return e.ValLoss < best.ValLoss
}

func describe(task string, e Epoch) string {
	s := fmt.Sprintf("train loss %.4f", e.TrainLoss)
	if task == model.TaskGender {
		s += fmt.Sprintf(", val loss %.4f, val accuracy %.2f%%, val AUC %.4f", e.ValLoss, 100*e.ValAccuracy, e.ValAUC)
	} else {
		s += fmt.Sprintf(", val MAE %.3f", e.ValMAE)
	}
	return s + fmt.Sprintf(", lr %.2e, %.0f s, %.0f images/s, RSS %s", e.LR, e.Seconds, e.ImagesPerS, rss())
}

// rss reads the process's resident memory from /proc (Linux), for the epoch
// lines: memory must stay flat across epochs.
func rss() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return fmt.Sprintf("%.0f MB", float64(kb)/1024)
		}
	}
	return "?"
}

// recalibrate recomputes the BatchNorm averages on the first train images,
// without augmentation.
func recalibrate(ctx context.Context, cfg *Config, src *dataset.Source, net *model.Net) error {
	r, err := src.Read(ctx, dataset.Options{Split: "train", InputSize: cfg.InputSize, BatchSize: cfg.Batch, Workers: cfg.Workers, SkipCorrupt: cfg.SkipCorrupt})
	if err != nil {
		return err
	}
	defer r.Close()
	batches := max(1, cfg.Recalibrate/cfg.Batch)
	var readErr error
	n := 0
	err = net.RecalibrateBN(cfg.Batch, func() ([]float32, bool) {
		if n == batches {
			return nil, false
		}
		b, err := r.Next()
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			return nil, false
		}
		n++
		return b.Images, true
	})
	return errors.Join(err, readErr)
}

// predict runs the net over a split and pairs predictions with labels.
func predict(ctx context.Context, cfg *Config, src *dataset.Source, p *model.Predictor, split string) ([]evaluate.Prediction, error) {
	r, err := src.Read(ctx, dataset.Options{Split: split, InputSize: cfg.InputSize, BatchSize: cfg.Batch, Pad: true, Workers: cfg.Workers, SkipCorrupt: cfg.SkipCorrupt})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var preds []evaluate.Prediction
	for {
		b, err := r.Next()
		if err == io.EOF {
			return preds, nil
		}
		if err != nil {
			return nil, err
		}
		out, err := p.Predict(b.Images)
		if err != nil {
			return nil, err
		}
		for i := 0; i < b.Valid; i++ {
			preds = append(preds, evaluate.Prediction{File: b.Files[i], Age: int(b.Ages[i]), Gender: int(b.Genders[i]), Race: int(b.Races[i]),
				PredAge: out[i].Age, PFemale: out[i].PFemale})
		}
	}
}

// Predict loads the model folder cfg.Out and predicts a split of cfg.Data.
func Predict(ctx context.Context, cfg Config, split string) ([]evaluate.Prediction, error) {
	src, err := dataset.Open(ctx, cfg.Data)
	if err != nil {
		return nil, err
	}
	backend, _, err := model.NewBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	defer backend.Finalize()
	net, card, err := model.Load(cfg.Out, backend)
	if err != nil {
		return nil, err
	}
	cfg.Task, cfg.InputSize = card.Task, card.InputSize
	cfg.defaults(src.StoredSize())
	p, err := net.NewPredictor(cfg.Batch, cfg.TTA)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return predict(ctx, &cfg, src, p, split)
}

// validate recalibrates BatchNorm and scores the valid split with the run's
// predictor, which reads the weights of the moment: the metrics reflect this
// epoch's weights.
func validate(ctx context.Context, cfg *Config, src *dataset.Source, net *model.Net, p *model.Predictor, row *Epoch) error {
	if err := recalibrate(ctx, cfg, src, net); err != nil {
		return fmt.Errorf("recalibrating BatchNorm: %w", err)
	}
	preds, err := predict(ctx, cfg, src, p, "valid")
	if err != nil {
		return fmt.Errorf("validating: %w", err)
	}
	m := evaluate.Score(preds)
	if cfg.Task == model.TaskGender {
		row.ValLoss = bce(preds)
		row.ValAccuracy = *m.GenderAccuracy
		if m.GenderAUC != nil {
			row.ValAUC = *m.GenderAUC
		}
	} else {
		row.ValMAE = *m.AgeMAE
		row.ValLoss = row.ValMAE
	}
	return nil
}

// bce is the mean binary cross-entropy of predicted probabilities.
func bce(preds []evaluate.Prediction) float64 {
	var s float64
	for _, p := range preds {
		q := math.Min(math.Max(p.PFemale, 1e-7), 1-1e-7)
		if p.Gender == 1 {
			s -= math.Log(q)
		} else {
			s -= math.Log(1 - q)
		}
	}
	return s / float64(len(preds))
}

// finish loads the best weights, evaluates the test split, exports ONNX and
// writes model.json.
func finish(ctx context.Context, cfg *Config, src *dataset.Source, backend compute.Backend, backendName string, spec model.Spec, st state) (*Result, error) {
	if st.BestEpoch < 0 {
		return nil, errors.New("no epoch was trained")
	}
	best := st.Curve[st.BestEpoch]
	card := &model.Card{
		Spec:          spec,
		Preprocessing: model.NewPreprocessing(src.StoredSize(), cfg.InputSize),
		Output:        model.OutputMeaning(cfg.Task),
		Epochs:        len(st.Curve),
		BestEpoch:     st.BestEpoch + 1,
		TrainSeconds:  st.Seconds,
		Data: model.DataRef{Dir: cfg.Data, ManifestSHA256: src.ManifestSHA256, Records: map[string]int{
			"train": src.Records("train"), "valid": src.Records("valid"), "test": src.Records("test")}},
		Hyper: map[string]any{"batch": cfg.Batch, "epochs": cfg.Epochs, "lr": cfg.LR, "weight_decay": cfg.WeightDecay,
			"patience": cfg.Patience, "schedule": "one-cycle: 5% linear warm-up, cosine to 0", "optimizer": "AdamW (no decay on BatchNorm and biases)",
			"augmentation": "reflect-pad crop, horizontal flip, brightness ×U(0.8,1.2), contrast ×U(0.85,1.15)",
			"tta":          cfg.TTA, "recalibrate_bn_images": cfg.Recalibrate},
		Backend:     backendName,
		Seed:        cfg.Seed,
		CommandLine: cfg.CommandLine,
		Tool:        "facepipe train",
	}
	if cfg.Task == model.TaskGender {
		card.Valid = map[string]float64{"loss": best.ValLoss, "accuracy": best.ValAccuracy, "auc": best.ValAUC}
	} else {
		card.Valid = map[string]float64{"mae": best.ValMAE}
	}
	// Load reads the card: write it before reloading the best weights.
	if model.IsONNXBackbone(cfg.Backbone) {
		if err := copyFile(cfg.Backbone, filepath.Join(cfg.Out, model.BackboneFile)); err != nil {
			return nil, err
		}
	}
	if err := model.WriteCard(cfg.Out, card); err != nil {
		return nil, err
	}
	net, _, err := model.Load(cfg.Out, backend)
	if err != nil {
		return nil, fmt.Errorf("reloading the best weights: %w", err)
	}
	card.Params = net.Params()
	tester, err := net.NewPredictor(cfg.Batch, cfg.TTA)
	if err != nil {
		return nil, err
	}
	defer tester.Close()
	preds, err := predict(ctx, cfg, src, tester, "test")
	if err != nil {
		return nil, fmt.Errorf("evaluating the test split: %w", err)
	}
	report := evaluate.Evaluate(preds)
	card.Test = map[string]float64{"count": float64(report.Overall.Count)}
	if m := report.Overall; m.AgeMAE != nil {
		card.Test["mae"] = *m.AgeMAE
	}
	if m := report.Overall; m.GenderAccuracy != nil {
		card.Test["accuracy"] = *m.GenderAccuracy
		if m.GenderAUC != nil {
			card.Test["auc"] = *m.GenderAUC
		}
	}
	extra := map[string]any{"split": "test", "model": cfg.outName, "task": cfg.Task, "tta": cfg.TTA, "best_epoch": st.BestEpoch + 1}
	if err := evaluate.WriteFiles(ctx, cfg.Out, report, preds, extra); err != nil {
		return nil, err
	}
	if model.ONNXExport {
		var exportBackend compute.Backend
		if !model.IsONNXRuntime(backend) {
			if exportBackend, _, err = model.NewBackend("onnx:cpu"); err != nil {
				fmt.Fprintf(cfg.Log, "train: no ONNX export: %v\n", err)
			}
		}
		if err == nil {
			path := filepath.Join(cfg.Out, model.ONNXFile)
			if err := net.ExportONNX(path, cfg.ONNXBatch, exportBackend); err != nil {
				return nil, fmt.Errorf("exporting ONNX: %w", err)
			}
			card.ONNX = &model.ONNXRef{File: model.ONNXFile, Batch: cfg.ONNXBatch, Input: "images", Output: "output"}
		}
	} else {
		fmt.Fprintln(cfg.Log, "train: no model.onnx: this binary was built without -tags onnx")
	}
	card.ID = fmt.Sprintf("%s-%s-%d-%s", cfg.Task, backboneName(cfg.Backbone), cfg.InputSize, src.ManifestSHA256[:8])
	if err := model.WriteCard(cfg.Out, card); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Log, "train: %d parameters; best epoch %d of %d; test %s; model folder %s\n",
		card.Params, st.BestEpoch+1, len(st.Curve), report.Overall, cfg.outName)
	return &Result{Card: card, Curve: st.Curve, Test: report}, nil
}

func backboneName(b string) string {
	if model.IsONNXBackbone(b) {
		return "onnx-" + filepath.Base(b)
	}
	return b
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}
