// Command ingest turns a folder of UTKFace face crops into sharded TFRecord
// files of tf.train.Example, split deterministically into train, valid and
// test, with a rejects table and a manifest.
//
//	go run ./pipelines/ingest --input=~/data/UTKFace --output=./out
//
// --input and --output take local paths or gs:// paths; --runner takes prism
// (the default, in-process), direct, dataflow or universal. The binary is also
// the pipeline's worker on distributed runners.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/internal/beamrun"
	"github.com/facepipe/facepipe/internal/cli"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/outlock"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/transforms/ingest"
)

// runnerFlags are Beam's runner and Dataflow flags: those defined before
// ours, which -help lists apart. It must stay the first variable.
var runnerFlags = cli.DefinedFlags()

var (
	input          = flag.String("input", "", "images to ingest: a folder (recursive), a glob (** crosses folders) or a file; local or gs://")
	output         = flag.String("output", "", "output folder, local or gs://")
	imageSize      = flag.Int("image_size", preprocess.DefaultSize, "height and width of the stored images")
	encoding       = flag.String("encoding", schemas.EncodingFloat32, "image feature: float32 (image, [0,1]), uint8 (image_raw) or jpeg (image_jpeg, original bytes)")
	compression    = flag.String("compression", "none", "shard compression: none or gzip")
	splitSpec      = flag.String("split", "train=0.8,valid=0.1,test=0.1", "splits and their fractions")
	seed           = flag.Int64("seed", 42, "seed of the content hash that assigns splits and shards")
	numShards      = flag.Int("num_shards", 0, "shards per split; 0 picks enough to keep shards near --shard_mb")
	shardMB        = flag.Int("shard_mb", 256, "target shard size in MB when --num_shards=0")
	keepDuplicates = flag.Bool("keep_duplicates", false, "keep every copy of byte-identical files instead of one (or none when labels conflict)")
	limit          = flag.Int("limit", 0, "ingest only the first N files by path (0: all)")
	maxPixels      = flag.Int("max_pixels", preprocess.DefaultMaxPixels, "reject images whose header declares more pixels")
	workers        = flag.Int("workers", 0, "decode goroutines per shard writer (0: one per core)")
	facesFlag      = flag.String("faces", "whole", "whole: each image is the face (UTKFace crops, as they are); detect: find each image's best face with the detector score uses and store it aligned onto the UTKFace template as score aligns faces in photos (a model trained so sees its training crops as scoring makes them); images without a face are rejected as no_face. detect needs ONNX Runtime (scripts/install-onnxruntime.sh)")
	faceFallback   = flag.Float64("face_fallback", faces.DefaultFallbackThreshold, "with --faces=detect: in an image where no face scoring the detector's threshold is confirmed, confirm in turn the candidates scoring at least this, as score does; 0: none (as before the flag)")
	withStats      = flag.Bool("stats", true, "write the statistics tables under stats/ and report.html")
	memoryLimit    = flag.Int("memory_limit_mb", 700, "soft limit of the Go heap, unless GOMEMLIMIT is set; 0: none. Prism holds every collection in memory (about 2.5 KB of live heap per input at the peak), so large local runs trade a few percent of speed for a flat RSS")
	logLevel       = flag.String("log_level", "warn", "level of the Beam runner's logs: debug, info, warn or error")
	cpuProfile     = flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memProfile     = flag.String("memprofile", "", "write a heap profile taken at the peak live heap to this file")
	allowEmpty     = flag.Bool("allow_empty", false, "exit 0 when no record is written (every input rejected); by default such a run fails on one line giving the rejects by reason")
)

func main() {
	cli.SetUsage(cli.Help{
		Name: "ingest",
		About: `turns a folder of UTKFace face crops (age_gender_race_timestamp.jpg.chip.jpg) into
sharded TFRecord files of tf.train.Example, split deterministically into train, valid and test, with
a rejects table, statistics tables (Parquet), report.html and manifest.json. Every input ends up in
one shard or in the rejects table.`,
		Usage: "--input=FOLDER|GLOB|FILE --output=FOLDER [flags]",
		Examples: []string{
			"go run ./pipelines/ingest --input=~/data/UTKFace --output=./out/ingest",
			"go run ./pipelines/ingest --input='gs://B/utkface/**.jpg' --output=gs://B/ingest --runner=dataflow \\\n" +
				"      --project=P --region=us-central1 --staging_location=gs://B/staging   (or scripts/dataflow.sh ingest ...)",
		},
		Runner: runnerFlags,
	})
	cli.SetRunnerDefault()
	cli.Parse()
	beamlog.LogLevel = *logLevel
	beam.Init()
	if os.Getenv("GOMEMLIMIT") == "" && *memoryLimit > 0 {
		debug.SetMemoryLimit(int64(*memoryLimit) << 20)
	}
	cli.Main("ingest", *cpuProfile, *memProfile, run)
}

func run(ctx context.Context) error {
	cfg := ingest.Config{
		IngestParams: schemas.IngestParams{
			Input: fsio.ExpandHome(*input), Output: fsio.ExpandHome(*output),
			ImageSize: *imageSize, Encoding: *encoding, Compression: *compression,
			Split: *splitSpec, Seed: *seed, NumShards: *numShards, ShardMB: *shardMB,
			KeepDuplicates: *keepDuplicates, Limit: *limit, MaxPixels: *maxPixels, Faces: *facesFlag,
			FaceFallback: *faceFallback,
		},
		Workers: *workers,
		NoStats: !*withStats,
	}
	spec, err := cfg.Validate()
	if err != nil {
		return err
	}
	cfg.Split = spec.String()
	if err := cli.CheckPaths(cli.Runner(), map[string]string{"input": cfg.Input}, map[string]string{"output": cfg.Output}); err != nil {
		return err
	}
	if !cli.NotSubmitted() {
		if _, err := cli.CheckInputFiles(ctx, "input", cfg.Input); err != nil {
			return err
		}
	}
	// One run at a time into an output: a second stops here, naming the first.
	release, err := outlock.ForRun(ctx, "output", cfg.Output, "ingest")
	if err != nil {
		return err
	}
	defer release()
	if !cli.NotSubmitted() { // a job that is only printed or saved leaves the output alone
		n, err := ingest.PrepareOutput(ctx, cfg.Output)
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(os.Stderr, "ingest: removed %d temporary files left in %s by an interrupted run\n", n, cfg.Output)
		}
	}

	start := time.Now()
	p, s := beam.NewPipelineWithRoot()
	ingest.Ingest(s, cfg, spec)
	if beamrun.IsDryRun() {
		return beamrun.DryRun(ctx, p, "ingest", []beamrun.Path{{Flag: "input", Value: cfg.Input, Input: true}, {Flag: "output", Value: cfg.Output}}, os.Stderr)
	}
	if err := beamrun.Run(ctx, p); err != nil {
		return err
	}
	if cli.NotSubmitted() {
		fmt.Fprintln(os.Stderr, "ingest: Dataflow job built but not submitted (--dry_run or --template_location)")
		return nil
	}
	return printSummary(ctx, cfg.Output, time.Since(start))
}

// printSummary reads the manifest the run wrote and prints its counts.
func printSummary(ctx context.Context, out string, wall time.Duration) error {
	data, err := fsio.ReadFile(ctx, fsio.Join(out, schemas.ManifestFile))
	if err != nil {
		return fmt.Errorf("the pipeline finished without a manifest: %w", err)
	}
	m, err := schemas.ParseManifest(data)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ingest: done in %s: %d images read, %d written, %d rejected (%.0f images/s)\n",
		wall.Round(100*time.Millisecond), m.Counts.Inputs, m.Counts.Written, m.Counts.Rejected, float64(m.Counts.Inputs)/wall.Seconds())
	for _, sp := range m.Splits {
		fmt.Fprintf(&b, "  %-6s %6d records in %d shards, %.1f MB\n", sp.Name, sp.Records, len(sp.Shards), float64(sp.Bytes)/1e6)
	}
	for _, r := range m.Counts.RejectsByReason {
		fmt.Fprintf(&b, "  rejected %-20s %6d\n", r.Reason, r.Count)
	}
	fmt.Fprintf(&b, "  duplicate groups: %d (%d files)\n", m.Counts.DuplicateGroups, m.Counts.DuplicateFiles)
	fmt.Fprintf(&b, "  output: %s\n", out)
	fmt.Fprint(os.Stderr, b.String())
	if m.Counts.Written == 0 && !*allowEmpty {
		return cli.EmptyRun("0 records written", m.Counts.Inputs, m.Counts.RejectsByReason)
	}
	return nil
}
