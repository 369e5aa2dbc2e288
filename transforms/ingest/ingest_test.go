package ingest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/facepipe/facepipe/example"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/htmlcheck"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/report"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/split"
	"github.com/facepipe/facepipe/tfrecord"
	"github.com/facepipe/facepipe/transforms/ingest"
)

func TestMain(m *testing.M) {
	beamlog.LogLevel = "warn"
	beam.Init()
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(runChild(cfg))
	}
	os.Exit(m.Run())
}

// record is an Example read back, with the shard it came from.
type record struct {
	*example.Record
	shard string
}

// readShards reads every record of every shard the manifest lists, checking
// the manifest's byte counts, record counts and digests against the files.
func readShards(t *testing.T, out string, m *schemas.Manifest) []record {
	t.Helper()
	var recs []record
	for _, sp := range m.Splits {
		for i, sh := range sp.Shards {
			if want := ingest.ShardFile(ingest.ShardName(sp.Name, i, len(sp.Shards)), m.Parameters.Compression); sh.File != want {
				t.Errorf("shard %d of %s is %s, want %s", i, sp.Name, sh.File, want)
			}
			data, err := os.ReadFile(filepath.Join(out, sh.File))
			if err != nil {
				t.Fatal(err)
			}
			d := sha256.Sum256(data)
			if int64(len(data)) != sh.Bytes || hex.EncodeToString(d[:]) != sh.SHA256 {
				t.Errorf("%s: %d bytes, sha256 %x; manifest says %d, %s", sh.File, len(data), d, sh.Bytes, sh.SHA256)
			}
			r := tfrecord.NewReader(bytes.NewReader(data), tfrecord.CompressionFromPath(sh.File), sh.File)
			n := 0
			for {
				b, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rec, err := example.Decode(b)
				if err != nil {
					t.Fatalf("%s record %d: %v", sh.File, n, err)
				}
				if rec.Split != sp.Name {
					t.Errorf("%s holds a record of split %q", sh.File, rec.Split)
				}
				recs = append(recs, record{rec, sh.File})
				n++
			}
			if n != sh.Records {
				t.Errorf("%s: %d records, manifest says %d", sh.File, n, sh.Records)
			}
		}
	}
	return recs
}

// checkOutput checks an ingest output against the fixtures it came from:
// every good file in exactly one shard with its labels, every bad file in the
// rejects with its reason, and nothing else. inputDir, when set, is where the
// pipeline read the files from instead of their local paths.
func checkOutput(t *testing.T, out string, m *schemas.Manifest, files []fixtures.File, inputDir string) {
	t.Helper()
	recs := readShards(t, out, m)
	rejects := ingesttest.ReadRejects(t, out)
	want := map[string]fixtures.File{}
	for _, f := range files {
		want[f.Name] = f
	}
	seen := map[string]string{}
	for _, r := range recs {
		f, ok := want[r.Filename]
		if !ok {
			t.Errorf("unknown record %q", r.Filename)
			continue
		}
		if prev, dup := seen[r.Filename]; dup {
			t.Errorf("%s written twice (%s)", r.Filename, prev)
		}
		seen[r.Filename] = "written"
		if f.Reason != "" {
			t.Errorf("%s was written, want rejected as %s", f.Name, f.Reason)
		}
		if r.Age != int64(f.Age) || r.Gender != int64(f.Gender) || r.Race != int64(f.Race) {
			t.Errorf("%s: labels %d/%d/%d, want %d/%d/%d", f.Name, r.Age, r.Gender, r.Race, f.Age, f.Gender, f.Race)
		}
		content, _ := os.ReadFile(f.Path)
		if d := sha256.Sum256(content); hex.EncodeToString(d[:]) != r.SHA256 {
			t.Errorf("%s: sha256 feature %s, want %x", f.Name, r.SHA256, d)
		}
		checkImage(t, m.Parameters, r.Record, content)
	}
	reasons := map[string]int{}
	for _, r := range rejects {
		reasons[r.Reason]++
		f, ok := want[r.File]
		if !ok {
			t.Errorf("unknown reject %q", r.File)
			continue
		}
		if prev, dup := seen[r.File]; dup {
			t.Errorf("%s rejected but also %s", r.File, prev)
		}
		seen[r.File] = "rejected"
		if r.Reason != f.Reason {
			t.Errorf("%s rejected as %s (%s), want %q", r.File, r.Reason, r.Detail, f.Reason)
		}
		wantPath := f.Path
		if inputDir != "" {
			wantPath = inputDir + "/" + f.Name
		}
		if r.Detail == "" || r.Path != wantPath {
			t.Errorf("%s: reject row %+v lacks a detail or the path", r.File, r)
		}
	}
	for _, f := range files {
		if seen[f.Name] == "" {
			t.Errorf("%s (%s) is neither written nor rejected", f.Name, f.Kind)
		}
	}
	c := m.Counts
	if c.Inputs != len(files) || c.Written != len(recs) || c.Rejected != len(rejects) || c.Inputs != c.Written+c.Rejected {
		t.Errorf("counts %+v; want %d inputs = %d written + %d rejected", c, len(files), len(recs), len(rejects))
	}
	for _, rc := range c.RejectsByReason {
		if reasons[rc.Reason] != rc.Count {
			t.Errorf("manifest: %d rejects for %s, table has %d", rc.Count, rc.Reason, reasons[rc.Reason])
		}
	}
	checkNoTemps(t, out)
}

func checkImage(t *testing.T, p schemas.IngestParams, r *example.Record, content []byte) {
	t.Helper()
	n := p.ImageSize * p.ImageSize * 3
	switch p.Encoding {
	case schemas.EncodingFloat32:
		if len(r.Image) != n {
			t.Fatalf("%s: %d floats, want %d", r.Filename, len(r.Image), n)
		}
		want, _, err := preprocess.Preprocess(content, preprocess.Options{Size: p.ImageSize}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range r.Image {
			if v != want[i] || v < 0 || v > 1 {
				t.Fatalf("%s: value %d is %v, preprocessing gives %v", r.Filename, i, v, want[i])
			}
		}
	case schemas.EncodingUint8:
		want, _, _ := preprocess.Preprocess(content, preprocess.Options{Size: p.ImageSize}, nil)
		if !bytes.Equal(r.ImageRaw, preprocess.Quantize(nil, want)) {
			t.Errorf("%s: image_raw differs from the quantized preprocessing", r.Filename)
		}
	case schemas.EncodingJPEG:
		if !bytes.Equal(r.ImageJPEG, content) {
			t.Errorf("%s: image_jpeg differs from the file", r.Filename)
		}
	}
	if r.Channels != 3 || (p.Encoding != schemas.EncodingJPEG && (r.Height != int64(p.ImageSize) || r.Width != int64(p.ImageSize))) {
		t.Errorf("%s: shape %d×%d×%d", r.Filename, r.Height, r.Width, r.Channels)
	}
}

func checkNoTemps(t *testing.T, out string) {
	t.Helper()
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), fsio.TempMarker) {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

var allKinds = fixtures.Options{Good: 40, Bad: true, OddNames: true, Duplicates: true, Seed: 1}

func TestIngestPrism(t *testing.T) {
	in, files := ingesttest.Generate(t, allKinds)
	out := t.TempDir()
	m := ingesttest.Run(t, "prism", ingesttest.Config(in, out))
	checkOutput(t, out, m, files, "")
	if m.Counts.DuplicateGroups != 3 || m.Counts.DuplicateFiles != 7 {
		t.Errorf("duplicate groups %d (%d files), want 3 (7)", m.Counts.DuplicateGroups, m.Counts.DuplicateFiles)
	}
	html, err := os.ReadFile(filepath.Join(out, schemas.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	problems := append(htmlcheck.SelfContained(string(html)), htmlcheck.Charts(string(html), report.ChartIDs, 3)...)
	for _, p := range problems {
		t.Errorf("report.html: %s", p)
	}
	if n := strings.Count(string(html), `src="data:image/jpeg;base64,`); n != 32 {
		t.Errorf("report.html has %d thumbnails, want 32", n)
	}
	// Five tables, the report, and the labels parts: one per shard, one for
	// the unsharded inputs.
	wantStats := 5 + 1 + 1
	for _, sp := range m.Splits {
		wantStats += len(sp.Shards)
	}
	if len(m.Stats) != wantStats {
		t.Errorf("manifest lists %d statistics files, want %d: %+v", len(m.Stats), wantStats, m.Stats)
	}
	if len(m.FeatureSpec) != 10 || m.FeatureSpec[0].Name != schemas.FeatureImage {
		t.Errorf("feature spec %+v", m.FeatureSpec)
	}
	for _, sp := range m.Splits {
		if sp.Records == 0 {
			t.Errorf("split %s is empty", sp.Name)
		}
	}
}

// TestIngestDirect runs the same graph on the deprecated direct runner, which
// users still know as the DirectRunner.
func TestIngestDirect(t *testing.T) {
	in, files := ingesttest.Generate(t, allKinds)
	out := t.TempDir()
	m := ingesttest.Run(t, "direct", ingesttest.Config(in, out))
	checkOutput(t, out, m, files, "")
}

func TestIngestEncodings(t *testing.T) {
	in, files := ingesttest.Generate(t, fixtures.Options{Good: 12, Bad: true, Seed: 2})
	for _, tc := range []struct{ encoding, compression string }{
		{schemas.EncodingUint8, "none"},
		{schemas.EncodingJPEG, "gzip"},
		{schemas.EncodingFloat32, "gzip"},
	} {
		t.Run(tc.encoding+"-"+tc.compression, func(t *testing.T) {
			out := t.TempDir()
			cfg := ingesttest.Config(in, out)
			cfg.Encoding, cfg.Compression, cfg.ImageSize = tc.encoding, tc.compression, 32
			m := ingesttest.Run(t, "prism", cfg)
			checkOutput(t, out, m, files, "")
			if got := m.FeatureSpec[0].Name; (tc.encoding == schemas.EncodingUint8) != (got == schemas.FeatureImageRaw) {
				t.Errorf("image feature %s for encoding %s", got, tc.encoding)
			}
			for _, sp := range m.Splits {
				for _, sh := range sp.Shards {
					if strings.HasSuffix(sh.File, ".gz") != (tc.compression == "gzip") {
						t.Errorf("shard %s with compression %s", sh.File, tc.compression)
					}
				}
			}
		})
	}
}

// outputFiles maps every file under out to its content.
func outputFiles(t *testing.T, out string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(out, p)
		files[rel] = b
		return nil
	})
	return files
}

// TestRerunIsByteIdentical runs ingest twice into one folder and once into
// another, with several shards per split: every output file is identical.
func TestRerunIsByteIdentical(t *testing.T) {
	in, _ := ingesttest.Generate(t, allKinds)
	out1, out2 := t.TempDir(), t.TempDir()
	cfg := ingesttest.Config(in, out1)
	cfg.NumShards = 3
	ingesttest.Run(t, "prism", cfg)
	first := outputFiles(t, out1)
	ingesttest.Run(t, "prism", cfg)
	again := outputFiles(t, out1)
	cfg.Output = out2
	ingesttest.Run(t, "prism", cfg)
	other := outputFiles(t, out2)
	if len(first) < 3*3+2 {
		t.Fatalf("only %d output files", len(first))
	}
	for name, b := range first {
		if !bytes.Equal(again[name], b) {
			t.Errorf("%s differs on a re-run", name)
		}
		// The manifest and the report name the output folder.
		if name != schemas.ManifestFile && name != schemas.ReportFile && !bytes.Equal(other[name], b) {
			t.Errorf("%s differs in another output folder", name)
		}
	}
	if len(again) != len(first) || len(other) != len(first) {
		t.Errorf("%d, %d and %d files", len(first), len(again), len(other))
	}
}

// splitsBySHA maps content digests to splits.
func splitsBySHA(t *testing.T, out string, m *schemas.Manifest) map[string]string {
	got := map[string]string{}
	for _, r := range readShards(t, out, m) {
		got[r.SHA256] = r.Split
	}
	return got
}

// TestSplitStability: the same content lands in the same split under another
// file name, on a re-run and with another shard count; the seed changes it.
func TestSplitStability(t *testing.T) {
	in, files := ingesttest.Generate(t, fixtures.Options{Good: 80, Seed: 3})
	out := t.TempDir()
	base := splitsBySHA(t, out, ingesttest.Run(t, "prism", ingesttest.Config(in, out)))

	renamed := t.TempDir()
	for i, f := range files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		name := fixtures.Name(f.Age, f.Gender, f.Race, 20190000000000000+int64(len(files)-i))
		if err := os.WriteFile(filepath.Join(renamed, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out2 := t.TempDir()
	cfg := ingesttest.Config(renamed, out2)
	cfg.NumShards = 4
	again := splitsBySHA(t, out2, ingesttest.Run(t, "prism", cfg))
	if len(base) != len(files) || len(again) != len(files) {
		t.Fatalf("%d and %d records, want %d", len(base), len(again), len(files))
	}
	for sha, sp := range base {
		if again[sha] != sp {
			t.Errorf("%s moved from %s to %s", sha, sp, again[sha])
		}
	}

	out3 := t.TempDir()
	cfg = ingesttest.Config(in, out3)
	cfg.Seed = 7
	moved := 0
	for sha, sp := range splitsBySHA(t, out3, ingesttest.Run(t, "prism", cfg)) {
		if base[sha] != sp {
			moved++
		}
	}
	if moved == 0 {
		t.Error("a new seed moved no file")
	}
}

func TestKeepDuplicates(t *testing.T) {
	in, files := ingesttest.Generate(t, fixtures.Options{Good: 5, Duplicates: true, Seed: 4})
	out := t.TempDir()
	cfg := ingesttest.Config(in, out)
	cfg.KeepDuplicates = true
	m := ingesttest.Run(t, "prism", cfg)
	if m.Counts.Written != len(files) || m.Counts.Rejected != 0 || m.Counts.DuplicateGroups != 3 {
		t.Errorf("counts %+v, want all %d written and 3 groups", m.Counts, len(files))
	}
	// Copies share their content, so they share their split.
	bySHA := map[string]map[string]bool{}
	for _, r := range readShards(t, out, m) {
		if bySHA[r.SHA256] == nil {
			bySHA[r.SHA256] = map[string]bool{}
		}
		bySHA[r.SHA256][r.Split] = true
	}
	for sha, splits := range bySHA {
		if len(splits) != 1 {
			t.Errorf("copies of %s in splits %v", sha, splits)
		}
	}
}

func TestEmptyShardsAreFilledIn(t *testing.T) {
	in, files := ingesttest.Generate(t, fixtures.Options{Good: 3, Seed: 5})
	out := t.TempDir()
	cfg := ingesttest.Config(in, out)
	cfg.NumShards, cfg.Split = 8, "train=1"
	m := ingesttest.Run(t, "prism", cfg)
	sp := m.Split("train")
	if sp == nil || len(sp.Shards) != 8 || sp.Records != len(files) {
		t.Fatalf("split %+v, want 8 shards holding %d records", sp, len(files))
	}
	empty := 0
	for _, sh := range sp.Shards {
		if sh.Records == 0 {
			empty++
		}
	}
	if empty < 5 {
		t.Errorf("%d empty shards, want at least 5", empty)
	}
	readShards(t, out, m)
}

func TestNoInputIsAnError(t *testing.T) {
	cfg := ingesttest.Config(filepath.Join(t.TempDir(), "*.jpg"), t.TempDir())
	spec, _ := cfg.Validate()
	p, s := beam.NewPipelineWithRoot()
	ingest.Ingest(s, cfg, spec)
	_, err := beam.Run(context.Background(), "prism", p)
	if err == nil || !strings.Contains(err.Error(), "no files match") {
		t.Errorf("got %v, want a 'no files match' error", err)
	}
}

func TestValidate(t *testing.T) {
	good := ingesttest.Config("in", "out")
	if _, err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*ingest.Config){
		"encoding":    func(c *ingest.Config) { c.Encoding = "png" },
		"compression": func(c *ingest.Config) { c.Compression = "zip" },
		"split":       func(c *ingest.Config) { c.Split = "train=0.5" },
		"size":        func(c *ingest.Config) { c.ImageSize = 0 },
		"input":       func(c *ingest.Config) { c.Input = "" },
		"shards":      func(c *ingest.Config) { c.NumShards = -1 },
		"limit":       func(c *ingest.Config) { c.Limit = -2 },
	} {
		c := good
		mutate(&c)
		if _, err := c.Validate(); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestShardNames(t *testing.T) {
	name := ingest.ShardName("train", 3, 12)
	if name != "train-00003-of-00012" {
		t.Fatal(name)
	}
	sp, i, n, err := ingest.ParseShardName(name)
	if sp != "train" || i != 3 || n != 12 || err != nil {
		t.Errorf("ParseShardName = %s %d %d %v", sp, i, n, err)
	}
	for _, bad := range []string{"train", "train-3-of", "-of-", "x-of-00002"} {
		if _, _, _, err := ingest.ParseShardName(bad); err == nil {
			t.Errorf("ParseShardName(%q): want an error", bad)
		}
	}
	if f := ingest.ShardFile(name, "gzip"); f != "tfrecords/train-00003-of-00012.tfrecord.gz" {
		t.Error(f)
	}
}

// TestPrepareIngestOutput checks what a run clears before it starts: the
// previous manifest, temporary files, and the shards and labels parts that a
// previous run, maybe with other shard counts, left; other files stay.
func TestPrepareIngestOutput(t *testing.T) {
	out := t.TempDir()
	labels := filepath.Join(schemas.StatsDir, schemas.LabelsDir)
	for _, f := range []string{
		schemas.ManifestFile,
		filepath.Join(ingest.TFRecordDir, "train-00000-of-00001.tfrecord"),
		filepath.Join(ingest.TFRecordDir, "valid-00003-of-00004.tfrecord.gz"),
		filepath.Join(ingest.TFRecordDir, "mine.tfrecord"),
		filepath.Join(ingest.TFRecordDir, "train-00000-of-00002.tfrecord"+fsio.TempMarker+"1"),
		filepath.Join(schemas.StatsDir, schemas.GenderTable),
		filepath.Join(labels, "train-00007-of-00008.parquet"),
		filepath.Join(labels, schemas.UnshardedLabels),
		filepath.Join(labels, "train-00000-of-00002.parquet"+fsio.TempMarker+"2"),
	} {
		p := filepath.Join(out, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := ingest.PrepareOutput(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			left = append(left, rel)
		}
		return err
	})
	want := []string{filepath.Join(schemas.StatsDir, schemas.GenderTable), filepath.Join(ingest.TFRecordDir, "mine.tfrecord")}
	if removed != 2 || strings.Join(left, " ") != strings.Join(want, " ") {
		t.Errorf("removed %d temporary files, left %v; want 2, %v", removed, left, want)
	}
}

// TestShardOrderIsNotByAge: records follow the keyed content hash within a
// shard, not the file names, which begin with the age: a name-ordered shard
// runs from the youngest to the oldest, and a bounded shuffle buffer then
// feeds a trainer batches of nearly one age.
func TestShardOrderIsNotByAge(t *testing.T) {
	in, _ := ingesttest.Generate(t, fixtures.Options{Good: 120, Size: 32, Seed: 12})
	out := t.TempDir()
	cfg := ingesttest.Config(in, out)
	cfg.ImageSize, cfg.Encoding, cfg.NoStats = 16, schemas.EncodingUint8, true
	m := ingesttest.Run(t, "prism", cfg)
	byShard := map[string][]record{}
	for _, r := range readShards(t, out, m) {
		byShard[r.shard] = append(byShard[r.shard], r)
	}
	checked := 0
	for shard, recs := range byShard {
		names := 0
		for i := 1; i < len(recs); i++ {
			a, b := split.KeyOf(recs[i-1].SHA256, cfg.Seed), split.KeyOf(recs[i].SHA256, cfg.Seed)
			if bytes.Compare(a[:], b[:]) > 0 {
				t.Errorf("%s: record %d (%s) comes before %s, out of key order", shard, i-1, recs[i-1].Filename, recs[i].Filename)
			}
			if recs[i-1].Filename < recs[i].Filename {
				names++
			}
		}
		if len(recs) >= 20 && names == len(recs)-1 {
			t.Errorf("%s: its %d records are in file-name order", shard, len(recs))
		}
		checked += len(recs)
	}
	if checked < 100 {
		t.Fatalf("checked %d records, want the 120 generated", checked)
	}
}
