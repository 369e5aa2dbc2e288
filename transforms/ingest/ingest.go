// Package ingest holds the Beam transforms of the ingest pipeline: list the
// images, check their names and headers, resolve duplicates, assign splits
// and shards, write the shards, the rejects, the statistics and the
// manifest. The pure logic under them lives beside it (labels,
// split, preprocess, tfrecord, example, labelstats, report) and tests
// without Beam. It links no machine-learning code: ingest workers stay small.
package ingest

import (
	"github.com/facepipe/facepipe/faces"

	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/split"
	"github.com/facepipe/facepipe/tfrecord"
	"github.com/facepipe/facepipe/transforms/rejects"
)

// Config holds the parameters of an ingest run.
type Config struct {
	schemas.IngestParams
	// Workers bounds the decode goroutines of one shard writer; 0 means GOMAXPROCS.
	Workers int
	// NoStats skips the statistics tables and the report.
	NoStats bool
	// MaxFileBytes rejects larger files as too_large before any is read
	// whole; DefaultMaxFileBytes when 0.
	MaxFileBytes int64
}

// DefaultMaxFileBytes, 256 MiB, is 6 times the largest file a
// DefaultMaxPixels image needs in any format read (an 8-bit RGBA PNG of 40
// megapixels that does not compress holds 160 MB; JPEGs of that size are
// 5-40 MB), and a quarter of the TFRecord record limit
// (tfrecord.MaxRecordSize, 1 GiB), so that --encoding=jpeg, which stores
// the file in its record, always fits.
const DefaultMaxFileBytes = 256 << 20

// maxFileBytes is MaxFileBytes with its default.
func (c *Config) maxFileBytes() int64 {
	if c.MaxFileBytes <= 0 {
		return DefaultMaxFileBytes
	}
	return c.MaxFileBytes
}

// Validate checks the parameters and returns the parsed split spec.
func (c *Config) Validate() (split.Spec, error) {
	spec, err := split.Parse(c.Split)
	if err != nil {
		return nil, err
	}
	switch c.Encoding {
	case schemas.EncodingFloat32, schemas.EncodingUint8, schemas.EncodingJPEG:
	default:
		return nil, fmt.Errorf("--encoding=%q: want float32, uint8 or jpeg", c.Encoding)
	}
	switch c.Compression {
	case "none", "gzip":
	default:
		return nil, fmt.Errorf("--compression=%q: want none or gzip", c.Compression)
	}
	switch c.Faces {
	case "", faces.ModeWhole, faces.ModeDetect:
	default:
		return nil, fmt.Errorf("--faces=%q: want whole or detect", c.Faces)
	}
	if !(c.FaceFallback >= 0 && c.FaceFallback < 1) {
		return nil, fmt.Errorf("--face_fallback=%v: want a number in (0,1), or 0 for none", c.FaceFallback)
	}
	switch {
	case c.Input == "":
		return nil, fmt.Errorf("--input is required")
	case c.Output == "":
		return nil, fmt.Errorf("--output is required")
	case c.ImageSize < 1 || c.ImageSize > 4096:
		return nil, fmt.Errorf("--image_size=%d: want 1-4096", c.ImageSize)
	case c.NumShards < 0 || c.NumShards > 99999:
		return nil, fmt.Errorf("--num_shards=%d: want 0 (automatic) to 99999", c.NumShards)
	case c.ShardMB < 1:
		return nil, fmt.Errorf("--shard_mb=%d: want at least 1", c.ShardMB)
	case c.Limit < 0:
		return nil, fmt.Errorf("--limit=%d: want 0 (no limit) or more", c.Limit)
	case c.MaxPixels < 1:
		return nil, fmt.Errorf("--max_pixels=%d: want at least 1", c.MaxPixels)
	case c.maxFileBytes() > tfrecord.MaxRecordSize-recordOverhead:
		return nil, fmt.Errorf("MaxFileBytes=%d: want at most %d, so that a file fits a TFRecord record", c.MaxFileBytes, tfrecord.MaxRecordSize-recordOverhead)
	}
	return spec, nil
}

func (c *Config) compression() tfrecord.Compression {
	if c.Compression == "gzip" {
		return tfrecord.Gzip
	}
	return tfrecord.None
}

// Item is a file that passed the name and header checks. Only paths and
// labels travel through the graph; the shard writer reads the bytes.
type Item struct {
	Path   string
	Name   string
	Size   int64
	SHA256 string
	Age    int
	Gender int
	Race   int
	Format string
	Width  int
	Height int
	Split  string
}

// Input statuses of an Outcome.
const (
	StatusWritten   = "written"
	StatusRejected  = "rejected"
	StatusDuplicate = "duplicate" // a byte-identical copy that was dropped
)

// Outcome is what became of one input: written to a shard, rejected, or
// dropped as a duplicate. Every input gets exactly one.
type Outcome struct {
	File      string // base name
	Path      string
	SHA256    string // "" when the file couldn't be read
	Labeled   bool   // the name's labels could be read
	Age       int
	Gender    int
	Race      int
	Status    string // Status*
	Reason    string // a schemas.Reason* code, "" when written
	Detail    string
	Split     string // when written
	Shard     string // the shard file, relative to the output folder, when written
	Bytes     int64  // file size, -1 when the file couldn't be read
	Width     int    // from the header, 0 when unknown
	Height    int
	Grayscale bool // decoded, and all three channels equal everywhere
}

// rejectOf emits the row of rejects.parquet of an outcome that was not
// written.
func rejectOf(o Outcome, emit func(schemas.Reject)) {
	if o.Status != StatusWritten {
		emit(schemas.Reject{File: o.File, Path: o.Path, Reason: o.Reason, Detail: o.Detail, SHA256: o.SHA256})
	}
}

// outcome starts the outcome of an item.
func (it *Item) outcome(status, reason, detail string) Outcome {
	return Outcome{File: it.Name, Path: it.Path, SHA256: it.SHA256, Labeled: true,
		Age: it.Age, Gender: it.Gender, Race: it.Race, Status: status, Reason: reason, Detail: detail,
		Bytes: it.Size, Width: it.Width, Height: it.Height}
}

// DupGroup is a group of byte-identical inputs.
type DupGroup struct {
	SHA256      string
	Files       []string // base names, sorted
	LabelsAgree bool
	Action      string // "kept_one", "dropped_all" or "kept_all"
}

// ShardResult describes one written shard.
type ShardResult struct {
	Split   string
	Index   int
	Of      int
	File    string // relative to the output folder
	Records int
	Bytes   int64
	SHA256  string
	Labels  schemas.FileEntry // the shard's labels part; File is "" with --stats=false
}

func init() {
	for _, t := range []any{Item{}, Outcome{}, DupGroup{}, ShardResult{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
	register.Function2x0[Outcome, func(schemas.Reject)](rejectOf)
	register.Emitter1[schemas.Reject]()
}

// Result holds the collections an ingest graph ends with, for stages
// that build on it.
type Result struct {
	Shards   beam.PCollection // ShardResult
	Outcomes beam.PCollection // Outcome, one per input
	Groups   beam.PCollection // DupGroup
}

// Ingest builds the ingest graph: list the inputs, check names and headers,
// resolve duplicates, assign splits and shards, write the shards, the rejects
// table, the statistics tables and the report and, last, the manifest.
func Ingest(s beam.Scope, cfg Config, spec split.Spec) Result {
	s = s.Scope("Ingest")
	paths := ListFiles(s, cfg.Input, cfg.Output, cfg.Limit)
	items, badInputs := Inspect(s, paths, cfg.MaxPixels, cfg.maxFileBytes())
	kept, dropped, groups := ResolveDuplicates(s, items, cfg.KeepDuplicates)
	placed := AssignSplits(s, kept, spec, cfg.Seed)
	shards, shardOutcomes := WriteShards(s, cfg, placed)
	unsharded := beam.Flatten(s, badInputs, dropped)
	outcomes := beam.Flatten(s, unsharded, shardOutcomes)
	rejectsResult := rejects.Write(s, cfg.Output, beam.ParDo(s, rejectOf, outcomes))
	var statsResult beam.PCollection
	if !cfg.NoStats {
		statsResult = WriteStats(s, cfg, spec.Names(), outcomes, unsharded, groups)
	}
	WriteManifest(s, cfg, spec, stats.CountElms(s, paths), shards, rejectsResult, groups, statsResult)
	return Result{Shards: shards, Outcomes: outcomes, Groups: groups}
}
