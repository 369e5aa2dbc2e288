// Package training trains an age, gender or joint age and gender network on
// an ingest output: epochs over the streamed train split with a one-cycle
// AdamW schedule (optionally with mixup and a moving average of the
// weights), BatchNorm recalibration and validation after each epoch,
// Keras-style early stopping that restores the best weights, resumable
// checkpoints, and at the end an evaluation on the test split and a complete
// model folder. It also assembles ensembles of model folders.
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
	"slices"
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
	"github.com/facepipe/facepipe/internal/interrupt"
	"github.com/facepipe/facepipe/model"
)

// Config is a training run.
type Config struct {
	Data        string  // ingest output folder
	Task        string  // model.TaskAge, model.TaskGender or model.TaskBoth
	AgeHead     string  // model.AgeHeadL1 ("" too) or model.AgeHeadDLDL
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
	// GenderWeight, AgeSigma and DLDLL1 weigh and shape the loss: see
	// model.Objective (0 gives its defaults, and no L1 term).
	GenderWeight float64
	AgeSigma     float64
	DLDLL1       float64
	Mixup        float64 // mixup's α: each batch is mixed with λ ~ Beta(α, α); 0 is off
	// Augment is dataset.AugmentRecipe ("" too) or dataset.AugmentPhotos.
	Augment string
	EMA     float64 // decay of the moving average of the weights (model.WithEMA) that is validated and kept; 0 is off
	// Refit trains on train+valid for Epochs epochs and keeps the last:
	// there is no validation, so no best epoch and no early stopping.
	Refit       bool
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
	// Overwrite replaces a finished model or an interrupted run's state in
	// Out; without it (or Resume) a run into such a folder stops (see
	// checkOut).
	Overwrite bool
	// Saved, when set, is told after each epoch whose state is saved (and,
	// for a gs:// Out, mirrored): epochs done of epochs in all.
	Saved func(done, epochs int)

	outName string       // Out as the user gave it (a gs:// one is staged locally)
	mirror  func() error // copies the staged model folder to a gs:// Out
	// exportBackend writes model.onnx: the training backend when it is ONNX
	// Runtime, else an ONNX Runtime backend opened at the start; nil when
	// ONNX Runtime is missing.
	exportBackend compute.Backend
}

// Epoch is one row of the learning curve.
type Epoch struct {
	Epoch       int     `json:"epoch"`
	TrainLoss   float64 `json:"train_loss"`
	ValLoss     float64 `json:"val_loss"`
	ValMAE      float64 `json:"val_mae,omitempty"`
	ValAccuracy float64 `json:"val_accuracy,omitempty"`
	ValAUC      float64 `json:"val_auc,omitempty"`
	ValScore    float64 `json:"val_score,omitempty"` // both: the best-epoch criterion (see BothScore)
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
	if c.GenderWeight == 0 {
		c.GenderWeight = model.DefaultGenderWeight
	}
	if c.AgeSigma == 0 {
		c.AgeSigma = model.DefaultAgeSigma
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
	if err := checkOut(ctx, cfg); err != nil {
		return nil, err
	}
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
	if err := cfg.check(src); err != nil {
		return nil, err
	}
	backend, backendName, err := model.NewBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	defer backend.Finalize()
	// The ONNX export at the end needs ONNX Runtime: say at the start when
	// it is missing, rather than after the training.
	cfg.exportBackend = backend
	if !model.IsONNXRuntime(backend) {
		if cfg.exportBackend, _, err = model.NewBackend("onnx:cpu"); err != nil {
			fmt.Fprintf(cfg.Log, "train: WARNING: model.onnx will not be written (%v); scripts/install-onnxruntime.sh installs ONNX Runtime\n", err)
		} else {
			defer cfg.exportBackend.Finalize()
		}
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	spec := model.Spec{Task: cfg.Task, AgeHead: cfg.AgeHead, Backbone: cfg.Backbone, InputSize: cfg.InputSize, ONNXInput: cfg.ONNXInput}
	if spec.HasAge() && !spec.DLDL() {
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
	stepsPerEpoch := src.Records(cfg.trainSplit()) / cfg.Batch
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
	opt := model.AdamW(cfg.WeightDecay)
	if cfg.EMA > 0 {
		opt = model.WithEMA(opt, cfg.EMA)
	}
	obj := cfg.objective(spec)
	trainer := train.NewTrainer(backend, net.Store, net.TrainFn(schedule), obj.Loss(), opt, nil, nil)

	fmt.Fprintf(cfg.Log, "train: %s on %s, %s, %d×%d input, backend %s\n",
		describeTask(spec), cfg.Backbone, cfg.Data, cfg.InputSize, cfg.InputSize, backendName)
	fmt.Fprintf(cfg.Log, "train: %d train / %d valid / %d test records, %d steps of %d per epoch on %s, up to %d epochs\n",
		src.Records("train"), src.Records("valid"), src.Records("test"), stepsPerEpoch, cfg.Batch, cfg.trainSplit(), cfg.Epochs)

	sinceBest := 0
	if st.BestEpoch >= 0 {
		sinceBest = len(st.Curve) - 1 - st.BestEpoch
	}
	// One predictor for every validation: it reads the current weights.
	var validator *model.Predictor
	if !cfg.Refit {
		if validator, err = net.NewLivePredictor(cfg.Batch, false); err != nil {
			return nil, err
		}
		defer validator.Close()
	}
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
		row, err := runEpoch(ctx, &cfg, src, net, trainer, obj, epoch, stepsPerEpoch)
		if err != nil {
			return nil, err
		}
		best, err := endEpoch(ctx, &cfg, src, net, validator, &st, row)
		if err != nil {
			return nil, err
		}
		mark := ""
		if best {
			sinceBest = 0
			if !cfg.Refit {
				mark = " *best*"
			}
		} else {
			sinceBest++
		}
		fmt.Fprintf(cfg.Log, "epoch %d/%d: %s%s\n", epoch+1, cfg.Epochs, describe(spec, cfg.Refit, st.Curve[epoch]), mark)
		// The checkpoint, resume.json and their copy in a gs:// Out
		// describe the same epoch, and Saved is told of it: Ctrl-C waits
		// for them all, so the line saying how to continue is exact.
		err = interrupt.Critical(func() error {
			if err := resume.Save(); err != nil {
				return fmt.Errorf("saving the resume checkpoint: %w", err)
			}
			if err := writeJSON(filepath.Join(cfg.Out, stateFile), st); err != nil {
				return err
			}
			if err := WriteCurve(cfg.Out, spec, cfg.Refit, st.Curve); err != nil {
				return err
			}
			if cfg.mirror != nil {
				if err := cfg.mirror(); err != nil {
					return err
				}
			}
			if cfg.Saved != nil {
				cfg.Saved(len(st.Curve), cfg.Epochs)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return finish(ctx, &cfg, src, backend, backendName, spec, st)
}

// check validates the configuration against the data. A train split smaller
// than a batch makes the batch smaller, with a line saying so.
func (c *Config) check(src *dataset.Source) error {
	if c.Epochs < 1 {
		return fmt.Errorf("--epochs=%d: want at least 1", c.Epochs)
	}
	switch {
	case c.Task != model.TaskAge && c.Task != model.TaskGender && c.Task != model.TaskBoth:
		return fmt.Errorf("--task=%q: want age, gender or both", c.Task)
	case c.AgeHead != "" && c.AgeHead != model.AgeHeadL1 && c.AgeHead != model.AgeHeadDLDL:
		return fmt.Errorf("--age_head=%q: want l1 or dldl", c.AgeHead)
	case c.EMA < 0 || c.EMA >= 1:
		return fmt.Errorf("--ema=%g: want a decay in [0, 1), 0 for none", c.EMA)
	case c.Mixup < 0:
		return fmt.Errorf("--mixup=%g: want α ≥ 0, 0 for none", c.Mixup)
	case c.Augment != "" && c.Augment != dataset.AugmentRecipe && c.Augment != dataset.AugmentPhotos:
		return fmt.Errorf("--augment=%q: want recipe or photos", c.Augment)
	case c.AgeSigma < 0 || c.DLDLL1 < 0 || c.GenderWeight < 0:
		return fmt.Errorf("--age_sigma, --dldl_l1 and --gender_weight must not be negative")
	case c.Refit && c.Patience > 0:
		return errors.New("--patience needs a validation split to watch: not with --refit, which keeps the last epoch")
	}
	n := src.Records(c.trainSplit())
	if n == 0 {
		return fmt.Errorf("%s: split %s has no records", c.Data, c.trainSplit())
	}
	if !c.Refit && src.Records("valid") == 0 {
		return fmt.Errorf("%s: split valid has no records to choose the best epoch with: ingest with a valid split, or train with --refit", c.Data)
	}
	if n < c.Batch {
		fmt.Fprintf(c.Log, "train: split %s has %d records, fewer than a batch of %d: training with batches of %d\n", c.trainSplit(), n, c.Batch, n)
		c.Batch = n
	}
	return nil
}

// trainSplit is what the run trains on: train, or train+valid for a refit.
func (c *Config) trainSplit() string {
	if c.Refit {
		return "train+valid"
	}
	return "train"
}

// objective is the run's loss.
func (c *Config) objective(spec model.Spec) model.Objective {
	return model.Objective{Spec: spec, GenderWeight: c.GenderWeight, AgeSigma: c.AgeSigma, DLDLL1: c.DLDLL1}
}

// describeTask names a network's task and head on one line.
func describeTask(spec model.Spec) string {
	s := spec.Task
	if spec.DLDL() {
		s += " (DLDL age head)"
	}
	return s
}

// endEpoch ends an epoch: it recalibrates BatchNorm for the weights to keep
// (the moving averages, with EMA on, swapped in for the time), validates
// them unless refitting, appends the epoch to the curve, and saves the
// weights as the model folder's when they are the best so far (the last,
// when refitting). The trained weights are back in place when it returns.
func endEpoch(ctx context.Context, cfg *Config, src *dataset.Source, net *model.Net, validator *model.Predictor, st *state, row Epoch) (best bool, err error) {
	if cfg.EMA > 0 {
		if err := net.SwapEMA(); err != nil {
			return false, err
		}
		defer func() {
			if e := net.SwapEMA(); err == nil {
				err = e
			}
		}()
	}
	if err := recalibrate(ctx, cfg, src, net); err != nil {
		return false, fmt.Errorf("recalibrating BatchNorm: %w", err)
	}
	if !cfg.Refit {
		preds, err := predict(ctx, cfg, src, validator, "valid")
		if err != nil {
			return false, fmt.Errorf("validating: %w", err)
		}
		scoreValid(&row, net.Spec, cfg.objective(net.Spec), preds)
	}
	st.Curve = append(st.Curve, row)
	st.Seconds += row.Seconds
	epoch := len(st.Curve) - 1
	if cfg.Refit || st.BestEpoch < 0 || better(net.Spec.Task, row, st.Curve[st.BestEpoch]) {
		st.BestEpoch, best = epoch, true
		if err := net.SaveWeights(cfg.Out); err != nil {
			return false, fmt.Errorf("saving the weights: %w", err)
		}
	}
	return best, nil
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

// runEpoch trains one epoch over the shuffled, augmented train split (with
// --refit, train+valid), mixing each batch with mixup when asked.
func runEpoch(ctx context.Context, cfg *Config, src *dataset.Source, net *model.Net, trainer *train.Trainer, obj model.Objective, epoch, steps int) (Epoch, error) {
	row := Epoch{Epoch: epoch + 1}
	r, err := src.Read(ctx, dataset.Options{Split: cfg.trainSplit(), InputSize: cfg.InputSize, BatchSize: cfg.Batch,
		Shuffle: cfg.Shuffle, Seed: cfg.Seed, Epoch: epoch, Augment: true, Augmentation: cfg.Augment, Workers: cfg.Workers, SkipCorrupt: cfg.SkipCorrupt})
	if err != nil {
		return row, err
	}
	defer r.Close()
	bar := newProgress(cfg.Log, fmt.Sprintf("epoch %d/%d", epoch+1, cfg.Epochs), steps, cfg.Batch)
	start := time.Now()
	var lossSum float64
	s := cfg.InputSize
	width := obj.TargetWidth()
	targets := make([]float32, cfg.Batch*width)
	var mix *mixer
	if cfg.Mixup > 0 {
		mix = newMixer(cfg.Mixup, cfg.Seed, epoch)
	}
	for step := 0; step < steps; step++ {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return row, err
		}
		obj.Targets(targets, b.Ages, b.Genders)
		pixels := b.Images
		if mix != nil {
			pixels = mix.mix(b.Images, targets, cfg.Batch)
		}
		images, err := net.Tensor(pixels, cfg.Batch, s, s, 3)
		if err != nil {
			return row, err
		}
		y, err := net.Tensor(targets, cfg.Batch, width)
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
// for age, higher validation accuracy for gender, a lower BothScore for both;
// a lower validation loss breaks ties.
func better(task string, e, best Epoch) bool {
	switch task {
	case model.TaskGender:
		if e.ValAccuracy != best.ValAccuracy {
			return e.ValAccuracy > best.ValAccuracy
		}
	case model.TaskBoth:
		if e.ValScore != best.ValScore {
			return e.ValScore < best.ValScore
		}
	}
	return e.ValLoss < best.ValLoss
}

// selection says how the kept epoch is chosen, for model.json.
func selection(task string, refit bool) string {
	switch {
	case refit:
		return "refit: the last epoch of a fixed schedule on train+valid (no validation, no choice)"
	case task == model.TaskGender:
		return "highest validation accuracy (lower validation loss breaking ties)"
	case task == model.TaskBoth:
		return "lowest validation score MAE/MAE0 + (1-accuracy)/(1-accuracy0), each error over that of the best constant prediction on the valid split (lower validation loss breaking ties)"
	}
	return "lowest validation MAE"
}

func describe(spec model.Spec, refit bool, e Epoch) string {
	s := fmt.Sprintf("train loss %.4f", e.TrainLoss)
	switch {
	case refit:
	case spec.Task == model.TaskGender:
		s += fmt.Sprintf(", val loss %.4f, val accuracy %.2f%%, val AUC %.4f", e.ValLoss, 100*e.ValAccuracy, e.ValAUC)
	case spec.Task == model.TaskBoth:
		s += fmt.Sprintf(", val MAE %.3f, val accuracy %.2f%%, val AUC %.4f, val score %.4f", e.ValMAE, 100*e.ValAccuracy, e.ValAUC, e.ValScore)
	default:
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

// recalibrate recomputes the BatchNorm averages on the first train images
// (train+valid ones for a refit), without augmentation.
func recalibrate(ctx context.Context, cfg *Config, src *dataset.Source, net *model.Net) error {
	r, err := src.Read(ctx, dataset.Options{Split: cfg.trainSplit(), InputSize: cfg.InputSize, BatchSize: cfg.Batch, Workers: cfg.Workers, SkipCorrupt: cfg.SkipCorrupt})
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

// predictor predicts batches of images: a model.Predictor or model.Scorer.
type predictor interface {
	Predict(images []float32) ([]model.Output, error)
}

// predict runs a model over a split and pairs predictions with labels. The
// last batch is padded and only its real images count: every image of the
// split is predicted once.
func predict(ctx context.Context, cfg *Config, src *dataset.Source, p predictor, split string) ([]evaluate.Prediction, error) {
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

// Predict opens the model folder cfg.Out (a single model or an ensemble)
// and predicts a split of cfg.Data, in batches of cfg.Batch.
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
	card, err := model.ReadCard(cfg.Out)
	if err != nil {
		return nil, err
	}
	cfg.Task, cfg.InputSize = card.Task, card.InputSize
	cfg.defaults(src.StoredSize())
	sc, err := model.OpenFolder(cfg.Out, backend, cfg.Batch, cfg.TTA)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	return predict(ctx, &cfg, src, sc, split)
}

// scoreValid fills an epoch's validation metrics from the valid split's
// predictions: MAE for age; the binary cross-entropy, accuracy and AUC for
// gender; for both, all of them, the loss as obj weighs it (the age part as
// MAE, whatever the head), and the BothScore that picks the best epoch.
func scoreValid(row *Epoch, spec model.Spec, obj model.Objective, preds []evaluate.Prediction) {
	m := evaluate.Score(preds)
	if spec.HasAge() {
		row.ValMAE = *m.AgeMAE
		row.ValLoss = row.ValMAE
	}
	if spec.HasGender() {
		row.ValAccuracy = *m.GenderAccuracy
		if m.GenderAUC != nil {
			row.ValAUC = *m.GenderAUC
		}
		row.ValLoss = bce(preds)
	}
	if spec.Task == model.TaskBoth {
		row.ValLoss = row.ValMAE + obj.GenderWeight*row.ValLoss
		row.ValScore = BothScore(row.ValMAE, row.ValAccuracy, preds)
	}
}

// BothScore is the best-epoch criterion of a network predicting both age and
// gender, lower is better: each task's error divided by that of the best
// constant prediction on the same images,
//
//	MAE/MAE0 + (1-accuracy)/(1-accuracy0)
//
// where MAE0 is the mean absolute deviation of the true ages from their
// median and accuracy0 the share of the majority gender. Each term is the
// share of the baseline's error left, so neither task's units dominate: on
// UTKFace's valid split (MAE0 about 15 years, accuracy0 about 53%) a point
// of accuracy weighs as much as 0.32 years of MAE, and the bundled models'
// figures (5.31 years, 93.2%) give 0.35 + 0.15.
func BothScore(mae, accuracy float64, preds []evaluate.Prediction) float64 {
	n := len(preds)
	ages := make([]int, n)
	female := 0
	for i, p := range preds {
		ages[i] = p.Age
		female += p.Gender
	}
	slices.Sort(ages)
	var mae0 float64
	for _, a := range ages {
		mae0 += math.Abs(float64(a - ages[n/2]))
	}
	mae0 /= float64(n)
	err0 := float64(min(female, n-female)) / float64(n)
	// Guards for degenerate splits (one age, one gender): a constant
	// prediction is then perfect, and the score counts errors per image.
	return mae/math.Max(mae0, 1) + (1-accuracy)/math.Max(err0, 1/float64(n))
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

// finish loads the kept weights, evaluates the test split, exports ONNX and
// writes model.json.
func finish(ctx context.Context, cfg *Config, src *dataset.Source, backend compute.Backend, backendName string, spec model.Spec, st state) (*Result, error) {
	if st.BestEpoch < 0 {
		return nil, errors.New("no epoch was trained")
	}
	best := st.Curve[st.BestEpoch]
	card := &model.Card{
		Spec:               spec,
		Preprocessing:      model.NewPreprocessing(src.StoredSize(), cfg.InputSize),
		Output:             model.OutputMeaning(cfg.Task),
		Epochs:             len(st.Curve),
		BestEpoch:          st.BestEpoch + 1,
		Selection:          selection(cfg.Task, cfg.Refit),
		Refit:              cfg.Refit,
		TrainSeconds:       st.Seconds,
		Data:               dataRef(cfg, src),
		Hyper:              cfg.hyperparameters(spec),
		Backend:            backendName,
		BackendDescription: backend.Description(),
		Seed:               cfg.Seed,
		CommandLine:        cfg.CommandLine,
		Tool:               "facepipe train",
	}
	if !cfg.Refit {
		card.Valid = validMetrics(cfg.Task, best)
	}
	if ts, err := writeTrainingSet(ctx, cfg, src); err != nil {
		fmt.Fprintf(cfg.Log, "train: warning: the training images were not recorded, so score can't warn when it scores them: %v\n", err)
	} else {
		fmt.Fprintf(cfg.Log, "train: %s: the content hashes of the %d images of %s\n", model.TrainingSetFile, ts.Len(), ts.Splits)
	}
	// Load reads the card: write it before reloading the kept weights.
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
		return nil, fmt.Errorf("reloading the kept weights: %w", err)
	}
	card.Params = net.Params()
	tester, err := net.NewPredictor(cfg.Batch, cfg.TTA)
	if err != nil {
		return nil, err
	}
	defer tester.Close()
	report, err := evaluateTest(ctx, cfg, src, tester, card, map[string]any{"best_epoch": st.BestEpoch + 1})
	if err != nil {
		return nil, err
	}
	if cfg.exportBackend != nil {
		path := filepath.Join(cfg.Out, model.ONNXFile)
		if err := net.ExportONNX(path, cfg.ONNXBatch, cfg.exportBackend); err != nil {
			return nil, fmt.Errorf("exporting ONNX: %w", err)
		}
		card.ONNX = &model.ONNXRef{File: model.ONNXFile, Batch: cfg.ONNXBatch, Input: "images", Output: "output", Columns: model.OutputColumns(spec)}
	}
	card.ID = fmt.Sprintf("%s-%s-%d-%s", idTask(spec), backboneName(cfg.Backbone), cfg.InputSize, src.ManifestSHA256[:8])
	if err := model.WriteCard(cfg.Out, card); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Log, "train: %d parameters; kept epoch %d of %d (%s); test%s %s; model folder %s\n",
		card.Params, st.BestEpoch+1, len(st.Curve), card.Selection, testLabel(cfg.Refit), report.Overall, cfg.outName)
	return &Result{Card: card, Curve: st.Curve, Test: report}, nil
}

// evaluateTest predicts the test split with p, writes the evaluation files
// (eval.json with extra fields, eval.parquet, the plots) into cfg.Out and the
// test metrics into the card. A refit's figures say so (see testLabel).
func evaluateTest(ctx context.Context, cfg *Config, src *dataset.Source, p predictor, card *model.Card, extra map[string]any) (evaluate.Report, error) {
	if card.Refit && card.TestNote == "" {
		card.TestNote = "the model was refit on train+valid with a fixed number of epochs, its last kept: no epoch or model was chosen on these figures, and none on a validation split"
	}
	if src.Records("test") == 0 {
		fmt.Fprintln(cfg.Log, "train: split test has no records: no test evaluation")
		return evaluate.Report{}, nil
	}
	preds, err := predict(ctx, cfg, src, p, "test")
	if err != nil {
		return evaluate.Report{}, fmt.Errorf("evaluating the test split: %w", err)
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
	doc := map[string]any{"split": "test", "model": cfg.outName, "task": card.Task, "tta": cfg.TTA, "trained_on": cfg.trainSplit()}
	if card.TestNote != "" {
		doc["note"] = card.TestNote
	}
	for k, v := range extra {
		doc[k] = v
	}
	if err := evaluate.WriteFiles(ctx, cfg.Out, report, preds, doc); err != nil {
		return evaluate.Report{}, err
	}
	return report, nil
}

// testLabel qualifies the test figures of a refit on the summary line.
func testLabel(refit bool) string {
	if refit {
		return " (refit on train+valid, last epoch: no choice made on validation)"
	}
	return ""
}

// validMetrics are the valid_metrics of model.json, from the kept epoch.
func validMetrics(task string, e Epoch) map[string]float64 {
	switch task {
	case model.TaskGender:
		return map[string]float64{"loss": e.ValLoss, "accuracy": e.ValAccuracy, "auc": e.ValAUC}
	case model.TaskBoth:
		return map[string]float64{"loss": e.ValLoss, "mae": e.ValMAE, "accuracy": e.ValAccuracy, "auc": e.ValAUC, "score": e.ValScore}
	}
	return map[string]float64{"mae": e.ValMAE}
}

// dataRef ties a model folder to the run's data.
func dataRef(cfg *Config, src *dataset.Source) model.DataRef {
	return model.DataRef{Dir: cfg.Data, ManifestSHA256: src.ManifestSHA256, Records: map[string]int{
		"train": src.Records("train"), "valid": src.Records("valid"), "test": src.Records("test")}}
}

// augmentation describes the training augmentation for model.json.
func (c *Config) augmentation() string {
	recipe := "reflect-pad crop, horizontal flip, brightness ×U(0.8,1.2), contrast ×U(0.85,1.15)"
	if c.Augment == dataset.AugmentPhotos {
		return "photos: alignment jitter (shift s.d. 2.5% of the side, rotation s.d. 4°, log-scale s.d. 0.05), " +
			"new surroundings (p 0.5, the border band of U(3%,15%) of the side faded into a random background), " +
			"lower resolution (p 0.3, down ×U(1.5,4) and up), Gaussian blur (p 0.2, σ U(0.3,1.2) px), JPEG (p 0.3, quality U(30,90)), " +
			"channel gains ×U(0.92,1.08), saturation ×U(0.7,1.3), noise (p 0.3, σ U(0,0.03)); then " + recipe
	}
	return recipe
}

// hyperparameters are the run's settings for model.json.
func (c *Config) hyperparameters(spec model.Spec) map[string]any {
	h := map[string]any{"batch": c.Batch, "epochs": c.Epochs, "lr": c.LR, "weight_decay": c.WeightDecay,
		"patience": c.Patience, "schedule": "one-cycle: 5% linear warm-up, cosine to 0", "optimizer": "AdamW (no decay on BatchNorm and biases)",
		"augmentation": c.augmentation(),
		"tta":          c.TTA, "recalibrate_bn_images": c.Recalibrate, "mixup_alpha": c.Mixup, "ema_decay": c.EMA, "refit": c.Refit,
		"trained_on": c.trainSplit()}
	if spec.Task == model.TaskBoth {
		h["gender_weight"] = c.GenderWeight
	}
	if spec.DLDL() {
		h["age_sigma"] = c.AgeSigma
		h["dldl_l1"] = c.DLDLL1
	}
	return h
}

// idTask is the task part of a model's ID: the task, and the age head when
// it is not the default.
func idTask(spec model.Spec) string {
	if spec.DLDL() {
		return spec.Task + "-dldl"
	}
	return spec.Task
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
