// Command score runs bulk inference of age and gender models over a folder,
// glob or bucket of photos: it finds every face, aligns it as UTKFace crops
// are aligned, and writes a queryable table of predictions, one row per face.
//
//	go run ./pipelines/score --input=~/photos --output=./scored --annotate=10
//	go run ./pipelines/score --input='gs://bucket/new/*.jpg' --output=gs://bucket/scored --model=gs://bucket/models --runner=dataflow ...
//
// Without --model the bundled default models are used.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/gomlx/compute"

	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/internal/beamrun"
	"github.com/facepipe/facepipe/internal/cli"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/outlock"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/models"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/transforms/score"
)

// runnerFlags are Beam's runner and Dataflow flags: those defined before
// ours, which -help lists apart. It must stay the first variable.
var runnerFlags = cli.DefinedFlags()

var (
	input        = flag.String("input", "", "images to score: a folder (recursive), a glob (** crosses folders) or a file; local or gs://")
	output       = flag.String("output", "", "output folder, local or gs://")
	modelFlag    = flag.String("model", "default", "comma-separated models: model folders written by train (age, gender, both, ensembles, or a folder of age/ and gender/ ones), ONNX files, or default (the bundled models)")
	faceModel    = flag.String("face_model", "auto", "comma-separated models for the faces found in photos and aligned (the --model ones score whole images and images that already are aligned crops): as --model, default-faces (the bundled models trained on faces aligned as scoring aligns them), or auto: default-faces when --model=default, else the --model ones")
	onnxTask     = flag.String("onnx_task", "", "for an ONNX file without a sidecar JSON: age, gender, or both (two columns: years, then the gender)")
	onnxSize     = flag.Int("onnx_input_size", 0, "for an ONNX file: the input height and width (default: from the model)")
	onnxRange    = flag.String("onnx_range", "unit", "for an ONNX file: the value range it expects: unit, byte, tf, caffe, torch")
	onnxLayout   = flag.String("onnx_layout", "", "for an ONNX file: nhwc or nchw (default: guessed from the input shape)")
	onnxOutput   = flag.String("onnx_output", "", "for an ONNX file: years, logit or probability (default: years for age, probability for gender, logit for both's gender column)")
	backend      = flag.String("backend", "", "GoMLX backend: onnx:cpu, onnx:cuda, xla:cuda, xla:cpu (xla needs a build with -tags xla), go; default $GOMLX_BACKEND, else onnx:cpu when ONNX Runtime is installed, else go")
	batch        = flag.Int("batch", 64, "inference batch size of model folders (fixed; the last batch is padded)")
	tta          = ttaFlag()
	labelsFlag   = flag.String("name_labels", "auto", "compute metrics against the UTKFace labels in the file names: auto (when 90% of names carry them), on, off")
	contactSheet = flag.Int("contact_sheet", 0, "write contact_sheet.png with N faces sampled across the input (across age bands when the names carry labels) as the model saw them (aligned crops), their predictions and a legend")
	facesFlag    = flag.String("faces", faces.ModeAuto, "how faces are found: auto (detect every face; an image that already is a UTKFace-style aligned crop is scored as it is), detect (detect and align every face), whole (the whole image is the face: UTKFace-style crops only)")
	faceThresh   = flag.Float64("face_threshold", faces.DefaultThreshold, "face detection score threshold, in (0,1)")
	faceFallback = flag.Float64("face_fallback", faces.DefaultFallbackThreshold, "in an image where no face scoring --face_threshold is confirmed, confirm in turn its candidates scoring at least this, in (0,1) (none when not under --face_threshold); 0: none")
	minFace      = flag.Float64("min_face", faces.DefaultPlan.MinFace, "the smallest face to find, in pixels of the photo (smaller means more tiles: slower)")
	annotate     = flag.Int("annotate", 0, "draw N photos, sampled across the input, with their faces' boxes, keypoints and predictions into annotated/")
	maxPixels    = flag.Int("max_pixels", preprocess.DefaultMaxPixels, "reject images whose header declares more pixels")
	perPart      = flag.Int("files_per_part", 50000, "images per predictions file")
	workers      = flag.Int("workers", 0, "decode goroutines per worker (0: one per core)")
	logLevel     = flag.String("log_level", "warn", "level of the Beam runner's logs: debug, info, warn or error")
	cpuProfile   = flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	allowEmpty   = flag.Bool("allow_empty", false, "exit 0 when no image is scored (every input rejected); by default such a run fails on one line giving the rejects by reason")
)

// ttaFlag defines --tta, which is auto unless set.
func ttaFlag() *cli.OnOffAuto {
	v := cli.OnOffAuto("auto")
	flag.Var(&v, "tta", "average each prediction of a model folder with that of the mirrored image (twice the network work): on, off, or auto: as the model's test figures were measured (its model.json's hyperparameters.tta; on when it does not say)")
	return &v
}

func init() {
	// Workers run this binary too: they find the bundled models the same way.
	score.DefaultModels = models.Default
	score.DefaultFaceModels = models.Faces
}

func main() {
	cli.SetUsage(cli.Help{
		Name: "score",
		About: `runs bulk inference of age and gender models over a folder, glob or bucket of photos: it finds
every face (BlazeFace), aligns it as UTKFace crops are aligned and writes one prediction per face as Parquet, a rejects table and summary.json; when the file names carry UTKFace
labels, also metrics by age band, gender and race. Without --model it uses the bundled default models.`,
		Usage: "--input=FOLDER|GLOB|FILE --output=FOLDER [--model=FOLDER|FILE.onnx,...] [flags]",
		Examples: []string{
			"go run ./pipelines/score --input=~/photos --output=./out/scored --annotate=10 --contact_sheet=32",
			"go run ./pipelines/score --input='gs://B/new/**.jpg' --output=gs://B/scored --model=gs://B/models \\\n" +
				"      --runner=dataflow --project=P --region=us-central1 --staging_location=gs://B/staging   (or scripts/dataflow.sh score ...)",
		},
		Runner: runnerFlags,
	})
	cli.SetRunnerDefault()
	cli.Parse()
	beamlog.LogLevel = *logLevel
	beam.Init()
	cli.Main("score", *cpuProfile, "", run)
}

func run(ctx context.Context) error {
	defer models.Cleanup()
	cfg := score.Config{
		Input: fsio.ExpandHome(*input), Output: fsio.ExpandHome(*output), Models: strings.Split(*modelFlag, ","), FaceModels: faceModels(),
		ONNX:    model.ONNXMeta{Task: *onnxTask, InputSize: *onnxSize, Range: *onnxRange, Layout: *onnxLayout, Output: *onnxOutput},
		Backend: *backend, Batch: *batch, TTA: tta.String(), Labels: *labelsFlag, ContactSheet: *contactSheet,
		MaxPixels: *maxPixels, FilesPerPart: *perPart, Workers: *workers,
		Faces: *facesFlag, FaceThreshold: *faceThresh, FaceFallback: *faceFallback, MinFace: *minFace, Annotate: *annotate,
	}
	if cfg.FaceFallback == 0 {
		cfg.FaceFallback = -1 // none; 0 in a Config is the default
	}
	switch {
	case cfg.Input == "" || cfg.Output == "":
		return fmt.Errorf("--input and --output are required")
	case cfg.Labels != "auto" && cfg.Labels != "on" && cfg.Labels != "off":
		return fmt.Errorf("--name_labels=%q: want auto, on or off", cfg.Labels)
	case jobLabelsMisused():
		return fmt.Errorf("--labels=%s: --labels is Dataflow's job labels flag (a JSON map); for metrics against the labels in the file names use --name_labels=%[1]s", flag.Lookup("labels").Value)
	case cfg.Batch < 1:
		return fmt.Errorf("--batch=%d", cfg.Batch)
	case faces.CheckMode(cfg.Faces) != nil:
		return faces.CheckMode(cfg.Faces)
	case !(cfg.FaceThreshold > 0 && cfg.FaceThreshold < 1):
		return fmt.Errorf("--face_threshold=%v: want a number in (0,1)", cfg.FaceThreshold)
	case cfg.FaceFallback != -1 && !(cfg.FaceFallback > 0 && cfg.FaceFallback < 1):
		return fmt.Errorf("--face_fallback=%v: want a number in (0,1), or 0 for none", cfg.FaceFallback)
	case !(cfg.MinFace >= 8 && cfg.MinFace <= 4096):
		return fmt.Errorf("--min_face=%v: want 8 to 4096 pixels", cfg.MinFace)
	case cfg.Annotate < 0 || cfg.Annotate > 10000:
		return fmt.Errorf("--annotate=%d: want 0 to 10000 photos", cfg.Annotate)
	}
	if err := cli.CheckPaths(cli.Runner(), map[string]string{"input": cfg.Input}, map[string]string{"output": cfg.Output}); err != nil {
		return err
	}
	if !cli.NotSubmitted() {
		if _, err := cli.CheckInputFiles(ctx, "input", cfg.Input); err != nil {
			return err
		}
	}
	// One run at a time into an output: a second stops here, naming the first.
	release, err := outlock.ForRun(ctx, "output", cfg.Output, "score")
	if err != nil {
		return err
	}
	defer release()
	for _, m := range append(slices.Clone(cfg.Models), cfg.FaceModels...) {
		if m != score.BundledModel && m != score.BundledFaceModel {
			if err := cli.CheckPaths(cli.Runner(), map[string]string{"model": m}, nil); err != nil {
				return err
			}
		}
	}
	ids, backendName, err := openModels(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "score: models %s on backend %s\n", strings.Join(ids, ", "), backendName)
	if cli.NotSubmitted() {
		// A job that is only printed or saved leaves the output alone.
	} else if err := fsio.Remove(ctx, fsio.Join(cfg.Output, score.SummaryFile)); err != nil && fsio.Exists(ctx, fsio.Join(cfg.Output, score.SummaryFile)) {
		return err
	}

	start := time.Now()
	p, s := beam.NewPipelineWithRoot()
	score.WriteSummary(s, cfg, score.Score(s, cfg), ids)
	if beamrun.IsDryRun() {
		return beamrun.DryRun(ctx, p, "score", []beamrun.Path{{Flag: "input", Value: cfg.Input, Input: true}, {Flag: "output", Value: cfg.Output}}, os.Stderr)
	}
	if err := beamrun.Run(ctx, p); err != nil {
		return err
	}
	if cli.NotSubmitted() {
		fmt.Fprintln(os.Stderr, "score: Dataflow job built but not submitted (--dry_run or --template_location)")
		return nil
	}
	return printSummary(ctx, cfg.Output, time.Since(start))
}

// openModels opens the run's models once, so that a bad --model fails
// before the pipeline starts, and names them for the summary. A Dataflow dry
// run never needs the network: there, ONNX Runtime or a gs:// model that
// can't be reached from this machine is a warning (the workers set them up
// when the job runs).
func openModels(ctx context.Context, cfg score.Config) (ids []string, backendName string, err error) {
	dry := beamrun.IsDryRun()
	all := append(slices.Clone(cfg.Models), cfg.FaceModels...)
	if dry {
		beamrun.BeginDryRun() // Beam's warnings (a bucket that can't be reached) go into its summary
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
	}
	b, backendName, err := score.Backend(cfg.Backend)
	if err != nil && dry && strings.HasPrefix(cfg.Backend, "onnx") {
		beamrun.Warn("--backend=%s can't be set up on this machine (the workers set it up when the job runs): %v", cfg.Backend, err)
		return all, cfg.Backend, nil
	} else if err != nil {
		return nil, "", err
	}
	ids, err = describeModels(ctx, cfg, b)
	if err != nil && dry && slices.ContainsFunc(all, fsio.IsGCS) {
		beamrun.Warn("the models can't be opened from this machine (the workers open them when the job runs): %v", err)
		return all, backendName, nil
	}
	return ids, backendName, err
}

// faceModels resolves --face_model: auto is the bundled face models with
// the bundled default, else none (the --model ones score everything).
func faceModels() []string {
	switch *faceModel {
	case "auto":
		if *modelFlag == score.BundledModel {
			return []string{score.BundledFaceModel}
		}
		return nil
	case "":
		return nil
	}
	return strings.Split(*faceModel, ",")
}

// describeModels opens the run's models once, so that a bad --model or
// --face_model fails before the pipeline starts, and names them with what
// they score, for the log and the summary.
func describeModels(ctx context.Context, cfg score.Config, b compute.Backend) ([]string, error) {
	var ids []string
	open := func(models []string, role string) ([]model.Scorer, error) {
		c := cfg
		c.Models = models
		scorers, err := score.OpenScorers(ctx, c, b)
		if err != nil {
			return nil, err
		}
		for _, s := range scorers {
			tta := "off"
			if s.FlipTTA() {
				tta = "on"
			}
			ids = append(ids, fmt.Sprintf("%s (%sflip averaging %s)", s.ID(), role, tta))
			s.Close()
		}
		return scorers, nil
	}
	if len(cfg.FaceModels) == 0 || cfg.Faces == faces.ModeWhole {
		_, err := open(cfg.Models, "")
		return ids, err
	}
	crops, err := open(cfg.Models, "whole images and aligned crops; ")
	if err != nil {
		return nil, err
	}
	found, err := open(cfg.FaceModels, "faces found in photos; ")
	if err != nil {
		return nil, fmt.Errorf("--face_model: %w", err)
	}
	return ids, score.SameTasks(crops, found)
}

// jobLabelsMisused reports whether Beam's --labels (Dataflow job labels, a
// JSON map) was given a value of --name_labels: this flag had that name
// before it was renamed to end the clash.
func jobLabelsMisused() bool {
	f := flag.Lookup("labels")
	if f == nil {
		return false
	}
	v := f.Value.String()
	return v == "auto" || v == "on" || v == "off"
}

func printSummary(ctx context.Context, out string, wall time.Duration) error {
	sum, err := score.ReadSummary(ctx, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "score: done in %s: %d images, %d scored (%d faces), %d rejected (%.0f images/s)\n",
		wall.Round(100*time.Millisecond), sum.Inputs, sum.Scored, sum.Faces, sum.Rejected, float64(sum.Inputs)/wall.Seconds())
	if sum.DetectorRuns > 0 {
		fmt.Fprintf(os.Stderr, "  face detector: %.1f passes per image\n", float64(sum.DetectorRuns)/float64(max(1, sum.Inputs)))
	}
	for _, r := range sum.RejectsByReason {
		fmt.Fprintf(os.Stderr, "  rejected %-20s %6d\n", r.Reason, r.Count)
	}
	if sum.Metrics != nil {
		fmt.Fprintf(os.Stderr, "  against the labels in the names: %s (%s)\n", sum.Metrics, score.MetricsFile)
	}
	if w := sum.TrainingOverlap.Warning(); w != "" {
		fmt.Fprintf(os.Stderr, "score: warning: %s\n", w)
	}
	fmt.Fprintf(os.Stderr, "  predictions: %s/%s/*.parquet (one row per face)\n", out, score.PredictionsDir)
	if *annotate > 0 {
		fmt.Fprintf(os.Stderr, "  annotated photos: %s/%s/\n", out, score.AnnotatedDir)
	}
	if sum.Scored == 0 && !*allowEmpty {
		return cli.EmptyRun("0 images scored", sum.Inputs, sum.RejectsByReason)
	}
	return nil
}
