// Command train trains an age regressor or a gender classifier on an ingest
// output, on CPU or GPU through GoMLX, and writes a model folder.
//
//	go run ./pipelines/train --data=./out/ingest --task=age --input_size=64 --out=./out/models/age
//	go run ./pipelines/train --data=./out/ingest --task=age --compare=cnn-s,cnn-m,resnet-s --epochs=5 --out=./out/compare
//
// The ONNX export (model.onnx) needs ONNX Runtime (scripts/install-onnxruntime.sh);
// without it the binary says so when it starts, and trains on.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/facepipe/facepipe/internal/cli"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/training"
)

var (
	data        = flag.String("data", "", "ingest output folder (local or gs://)")
	task        = flag.String("task", model.TaskAge, "age (regression, MAE) or gender (binary classifier)")
	out         = flag.String("out", "", "model folder to write (with --compare: a folder of model folders)")
	backbone    = flag.String("backbone", "cnn-s", "cnn-xs, cnn-s, cnn-m, resnet-s, or an .onnx file imported as a frozen backbone")
	onnxInput   = flag.String("backbone_input", "unit", "value range an ONNX backbone expects: unit, byte, tf, caffe, torch")
	compare     = flag.String("compare", "", "comma-separated backbones to train for --epochs each and compare")
	inputSize   = flag.Int("input_size", 0, "input height and width; the shards' size when 0. 64 or 96 train in reasonable time on CPU")
	batch       = flag.Int("batch", 128, "batch size")
	epochs      = flag.Int("epochs", 30, "epochs: the length of the one-cycle schedule")
	lr          = flag.Float64("lr", 2e-3, "peak learning rate")
	weightDecay = flag.Float64("weight_decay", 0.05, "AdamW weight decay (not applied to BatchNorm and biases)")
	patience    = flag.Int("patience", 0, "stop after this many epochs without improvement (validation MAE for age, accuracy for gender), restoring the best; 0: run the whole schedule and keep the best")
	seed        = flag.Int64("seed", 42, "seed of the weights, dropout, shuffling and augmentation: a run is reproducible on one backend")
	backend     = flag.String("backend", "", "GoMLX backend: onnx:cpu, onnx:cuda, xla:cuda, xla:cpu (xla needs a build with -tags xla), go; default $GOMLX_BACKEND, else onnx:cpu when ONNX Runtime is installed, else go")
	resume      = flag.Bool("resume", false, "continue the run in --out from its last completed epoch")
	shuffle     = flag.Int("shuffle", 2048, "shuffle buffer, in examples")
	workers     = flag.Int("workers", 0, "decode goroutines (0: one per core)")
	skipCorrupt = flag.Bool("skip_corrupt", false, "skip records that fail their CRC, counting them, instead of stopping")
	tta         = flag.Bool("tta", true, "average each test prediction with that of the mirrored image")
	recal       = flag.Int("recalibrate", 2048, "train images used to recompute BatchNorm statistics before each validation")
	onnxBatch   = flag.Int("onnx_batch", 32, "batch size of the model.onnx export")
	maxSteps    = flag.Int("max_steps", 0, "cap on steps per epoch, for smoke runs (0: the whole split)")
	stopAfter   = flag.Int("stop_after", 0, "end after this many epochs of this invocation, to continue later with --resume (0: run to the end)")
	cpuProfile  = flag.String("cpuprofile", "", "write a CPU profile to this file")
)

func main() {
	cli.SetUsage(cli.Help{
		Name: "train",
		About: `trains an age regressor or a gender classifier on an ingest output, on CPU or GPU through
GoMLX, and writes a model folder: model.json, checkpoint/, model.onnx, learning curves and a test
evaluation sliced by age band, gender and race. pipelines/score scores with that folder.`,
		Usage: "--data=INGEST_OUTPUT --out=MODEL_FOLDER [--task=age|gender] [flags]",
		Examples: []string{
			"go run ./pipelines/train --data=./out/ingest --task=age --input_size=64 --out=./out/models/age",
			"go run ./pipelines/train --data=./out/ingest --task=gender --compare=cnn-s,cnn-m,resnet-s --epochs=5 --input_size=64 --out=./out/compare",
		},
	})
	flag.Parse()
	cli.Main("train", *cpuProfile, "", run)
}

func run(ctx context.Context) error {
	if *data == "" || *out == "" {
		return fmt.Errorf("--data and --out are required")
	}
	if *task != model.TaskAge && *task != model.TaskGender {
		return fmt.Errorf("--task=%q: want age or gender", *task)
	}
	cfg := training.Config{
		Data: *data, Task: *task, Backbone: *backbone, ONNXInput: *onnxInput, Out: *out,
		InputSize: *inputSize, Batch: *batch, Epochs: *epochs, LR: *lr, WeightDecay: *weightDecay,
		Patience: *patience, Seed: *seed, Backend: *backend, Resume: *resume, Shuffle: *shuffle,
		Workers: *workers, SkipCorrupt: *skipCorrupt, TTA: *tta, Recalibrate: *recal,
		ONNXBatch: *onnxBatch, MaxSteps: *maxSteps, StopAfter: *stopAfter, CommandLine: os.Args,
	}
	if *compare != "" {
		_, err := training.Compare(ctx, cfg, strings.Split(*compare, ","))
		return err
	}
	_, err := training.Train(ctx, cfg)
	return err
}
