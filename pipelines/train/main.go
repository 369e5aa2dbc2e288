// Command train trains an age regressor, a gender classifier or one network
// for both on an ingest output, on CPU or GPU through GoMLX, and writes a
// model folder; or assembles model folders into an ensemble.
//
//	go run ./pipelines/train --data=./out/ingest --task=age --input_size=64 --out=./out/models/age
//	go run ./pipelines/train --data=./out/ingest --task=both --age_head=dldl --ema=0.999 --input_size=64 --out=./out/models/both
//	go run ./pipelines/train --data=./out/ingest --task=age --compare=cnn-s,cnn-m,resnet-s --epochs=5 --out=./out/compare
//	go run ./pipelines/train --data=./out/ingest --ensemble_of=./out/models/a,./out/models/b --out=./out/models/ensemble
//
// The ONNX export (model.onnx) needs ONNX Runtime (scripts/install-onnxruntime.sh);
// without it the binary says so when it starts, and trains on.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/facepipe/facepipe/internal/cli"
	"github.com/facepipe/facepipe/internal/interrupt"
	"github.com/facepipe/facepipe/internal/outlock"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/training"
)

var (
	data         = flag.String("data", "", "ingest output folder (local or gs://)")
	task         = flag.String("task", model.TaskAge, "age (regression), gender (binary classifier), or both (one network: a shared trunk, an age head and a gender head)")
	ageHead      = flag.String("age_head", model.AgeHeadL1, "age head: l1 (one output, MAE loss) or dldl (a softmax over ages 0-116 trained towards a Gaussian around the true age, KL loss; predicts the expected age)")
	ageSigma     = flag.Float64("age_sigma", model.DefaultAgeSigma, "dldl: standard deviation in years of the Gaussian target")
	dldlL1       = flag.Float64("dldl_l1", 1, "dldl: weight of the absolute error of the expected age added to the KL loss, as DLDL-v2 (0: KL alone)")
	genderWeight = flag.Float64("gender_weight", model.DefaultGenderWeight, "both: loss = age loss + gender_weight × gender BCE; the default puts the MAE in years and the BCE in nats on the scale of a constant prediction's (about 15 years, ln 2)")
	augmentFlag  = flag.String("augment", "recipe", "training augmentation: recipe (reflect-pad crop, flip, brightness, contrast) or photos (first what faces found in ordinary photos go through: alignment jitter, lower resolution, blur, JPEG, colour casts, noise; for data ingested with --faces=detect)")
	mixup        = flag.Float64("mixup", 0, "mixup α: each train batch is mixed with a shuffled copy of itself, λ ~ Beta(α, α), images and targets alike (0: off; 0.2 is usual)")
	ema          = flag.Float64("ema", 0, "decay of an exponential moving average of the weights, which is what gets validated, kept, evaluated and exported (0: off; e.g. 0.999)")
	refit        = flag.Bool("refit", false, "train on train+valid for --epochs and keep the last epoch (no validation, no best-epoch choice): for final models")
	members      = flag.Int("members", 0, "train this many networks (seeds --seed, --seed+1, ...) into --out/members/<i> and make --out their ensemble (0 or 1: one network)")
	ensembleOf   = flag.String("ensemble_of", "", "comma-separated model folders to assemble into an ensemble in --out, evaluated on --data (nothing is trained)")
	out          = flag.String("out", "", "model folder to write (with --compare: a folder of model folders)")
	backbone     = flag.String("backbone", "cnn-s", "cnn-xs, cnn-s, cnn-m, resnet-s, or an .onnx file imported as a frozen backbone")
	onnxInput    = flag.String("backbone_input", "unit", "value range an ONNX backbone expects: unit, byte, tf, caffe, torch")
	compare      = flag.String("compare", "", "comma-separated backbones to train for --epochs each and compare")
	inputSize    = flag.Int("input_size", 0, "input height and width; the shards' size when 0. 64 or 96 train in reasonable time on CPU")
	batch        = flag.Int("batch", 128, "batch size")
	epochs       = flag.Int("epochs", 30, "epochs: the length of the one-cycle schedule")
	lr           = flag.Float64("lr", 2e-3, "peak learning rate")
	weightDecay  = flag.Float64("weight_decay", 0.05, "AdamW weight decay (not applied to BatchNorm and biases)")
	patience     = flag.Int("patience", 0, "stop after this many epochs without improvement (validation MAE for age, accuracy for gender), restoring the best; 0: run the whole schedule and keep the best")
	seed         = flag.Int64("seed", 42, "seed of the weights, dropout, shuffling and augmentation: a run is reproducible on one backend")
	backend      = flag.String("backend", "", "GoMLX backend: onnx:cpu, onnx:cuda, xla:cuda, xla:cpu (xla needs a build with -tags xla), go; default $GOMLX_BACKEND, else onnx:cpu when ONNX Runtime is installed, else go")
	resume       = flag.Bool("resume", false, "continue the run in --out from its last completed epoch (a run into a folder that holds an interrupted run's state stops and says so: it never resumes, nor discards the state, unasked)")
	overwrite    = flag.Bool("overwrite", false, "replace the finished model, or discard the interrupted run's state, that --out holds (without it, a run into such a folder stops and says so)")
	shuffle      = flag.Int("shuffle", 2048, "shuffle buffer, in examples")
	workers      = flag.Int("workers", 0, "decode goroutines (0: one per core)")
	skipCorrupt  = flag.Bool("skip_corrupt", false, "skip records that fail their CRC, counting them, instead of stopping")
	tta          = flag.Bool("tta", true, "average each test prediction with that of the mirrored image")
	recal        = flag.Int("recalibrate", 2048, "train images used to recompute BatchNorm statistics before each validation")
	onnxBatch    = flag.Int("onnx_batch", 32, "batch size of the model.onnx export")
	maxSteps     = flag.Int("max_steps", 0, "cap on steps per epoch, for smoke runs (0: the whole split)")
	stopAfter    = flag.Int("stop_after", 0, "end after this many epochs of this invocation, to continue later with --resume (0: run to the end)")
	cpuProfile   = flag.String("cpuprofile", "", "write a CPU profile to this file")
)

func main() {
	cli.SetUsage(cli.Help{
		Name: "train",
		About: `trains an age regressor, a gender classifier or one network for both on an ingest output,
on CPU or GPU through GoMLX, and writes a model folder: model.json, checkpoint/, model.onnx, learning
curves and a test evaluation sliced by age band, gender and race; or several networks as an ensemble.
pipelines/score scores with that folder.`,
		Usage: "--data=INGEST_OUTPUT --out=MODEL_FOLDER [--task=age|gender|both] [flags]",
		Examples: []string{
			"go run ./pipelines/train --data=./out/ingest --task=age --input_size=64 --out=./out/models/age",
			"go run ./pipelines/train --data=./out/ingest --task=both --age_head=dldl --members=3 --input_size=64 --out=./out/models/both",
		},
	})
	cli.Parse()
	cli.Main("train", *cpuProfile, "", run)
}

func run(ctx context.Context) error {
	if *data == "" || *out == "" {
		return fmt.Errorf("--data and --out are required")
	}
	if *task != model.TaskAge && *task != model.TaskGender && *task != model.TaskBoth {
		return fmt.Errorf("--task=%q: want age, gender or both", *task)
	}
	// One run at a time into a model folder: a second stops here, naming
	// the first.
	release, err := outlock.ForRun(ctx, "out", *out, "train")
	if err != nil {
		return err
	}
	defer release()
	var saved atomic.Int64 // epochs done, as last saved
	defer interrupt.OnSignal(func(sig os.Signal) {
		fmt.Fprintln(os.Stderr, continueLine(sig, int(saved.Load())))
	})()
	cfg := training.Config{
		Data: *data, Task: *task, AgeHead: *ageHead, Backbone: *backbone, ONNXInput: *onnxInput, Out: *out,
		InputSize: *inputSize, Batch: *batch, Epochs: *epochs, LR: *lr, WeightDecay: *weightDecay,
		Patience: *patience, Seed: *seed, GenderWeight: *genderWeight, AgeSigma: *ageSigma, DLDLL1: *dldlL1,
		Mixup: *mixup, Augment: *augmentFlag, EMA: *ema, Refit: *refit, Backend: *backend, Resume: *resume, Shuffle: *shuffle,
		Workers: *workers, SkipCorrupt: *skipCorrupt, TTA: *tta, Recalibrate: *recal,
		ONNXBatch: *onnxBatch, MaxSteps: *maxSteps, StopAfter: *stopAfter, CommandLine: os.Args,
		Overwrite: *overwrite, Saved: func(done, _ int) { saved.Store(int64(done)) },
	}
	switch {
	case *ensembleOf != "":
		_, err = training.Assemble(ctx, cfg, strings.Split(*ensembleOf, ","))
	case *compare != "":
		_, err = training.Compare(ctx, cfg, strings.Split(*compare, ","))
	case *members > 1:
		_, err = training.TrainMembers(ctx, cfg, *members)
	default:
		_, err = training.Train(ctx, cfg)
	}
	return err
}

// continueLine says, when a signal ends the run, how to continue: the
// command line as given, with --resume (and without --overwrite, which would
// discard the state) once an epoch's state is saved, or as given before.
func continueLine(sig os.Signal, saved int) string {
	name := "SIGINT"
	if sig == syscall.SIGTERM {
		name = "SIGTERM"
	}
	switch {
	case *ensembleOf != "":
		return fmt.Sprintf("train: interrupted by %s; assemble again with: %s", name, commandLine(os.Args, "--overwrite"))
	case saved > 0 || *resume:
		what := "from its saved state"
		if saved > 0 {
			what = fmt.Sprintf("after epoch %d of %d", saved, *epochs)
		}
		return fmt.Sprintf("train: interrupted by %s; continue %s with: %s", name, what, commandLine(os.Args, "--resume"))
	}
	return fmt.Sprintf("train: interrupted by %s before an epoch was saved; start again with: %s", name, commandLine(os.Args, ""))
}

// commandLine is args as a shell command line that runs this binary again,
// with the flag extra added, and without --resume and --overwrite unless
// extra is one of them. A binary that go run built in a temporary folder
// is "go run ./pipelines/train".
func commandLine(args []string, extra string) string {
	prog := args[0]
	if strings.Contains(prog, string(filepath.Separator)+"go-build") {
		prog = "go run ./pipelines/train"
	} else {
		prog = shellQuote(prog)
	}
	parts := []string{prog}
	for _, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "resume" || name == "overwrite") {
			continue
		}
		parts = append(parts, shellQuote(a))
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell where it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
