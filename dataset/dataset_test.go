package dataset_test

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/facepipe/facepipe/dataset"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/tfrecord"
	"github.com/facepipe/facepipe/transforms/ingest"
)

func TestMain(m *testing.M) {
	beamlog.LogLevel = "warn"
	beam.Init()
	os.Exit(m.Run())
}

// ingestFixtures writes fixtures through the real ingest pipeline.
func ingestFixtures(t *testing.T, good int, encoding string, size int) (string, []fixtures.File) {
	t.Helper()
	in := t.TempDir()
	files, err := fixtures.Generate(in, fixtures.Options{Good: good, Seed: 11, Size: 64})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cfg := ingest.Config{IngestParams: schemas.IngestParams{
		Input: in, Output: out, ImageSize: size, Encoding: encoding, Compression: "none",
		Split: "train=0.5,valid=0.25,test=0.25", Seed: 1, NumShards: 2, ShardMB: 256, MaxPixels: preprocess.DefaultMaxPixels,
	}, NoStats: true}
	spec, err := cfg.Validate()
	if err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	ingest.Ingest(s, cfg, spec)
	if _, err := beam.Run(context.Background(), "prism", p); err != nil {
		t.Fatal(err)
	}
	return out, files
}

func readAll(t *testing.T, src *dataset.Source, o dataset.Options) []*dataset.Batch {
	t.Helper()
	r, err := src.Read(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*dataset.Batch
	for {
		b, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
}

func TestReadSplit(t *testing.T) {
	dir, files := ingestFixtures(t, 40, schemas.EncodingFloat32, 32)
	src, err := dataset.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]fixtures.File{}
	for _, f := range files {
		labels[f.Name] = f
	}
	total := 0
	for _, split := range []string{"train", "valid", "test"} {
		n := src.Records(split)
		batches := readAll(t, src, dataset.Options{Split: split, InputSize: 16, BatchSize: 4, Pad: true})
		got := 0
		for i, b := range batches {
			if len(b.Images) != 4*16*16*3 || len(b.Ages) != 4 {
				t.Fatalf("batch shape %d images, %d ages", len(b.Images), len(b.Ages))
			}
			if b.Valid < 4 && i != len(batches)-1 {
				t.Errorf("partial batch %d of %d", i, len(batches))
			}
			for k := 0; k < b.Valid; k++ {
				f := labels[b.Files[k]]
				if int(b.Ages[k]) != f.Age || int(b.Genders[k]) != f.Gender || int(b.Races[k]) != f.Race {
					t.Errorf("%s: labels %v/%v/%v, want %d/%d/%d", b.Files[k], b.Ages[k], b.Genders[k], b.Races[k], f.Age, f.Gender, f.Race)
				}
			}
			for k := b.Valid * 16 * 16 * 3; k < len(b.Images); k++ {
				if b.Images[k] != 0 {
					t.Fatal("padding is not zero")
				}
			}
			got += b.Valid
		}
		if got != n || n == 0 {
			t.Errorf("split %s: read %d records, manifest says %d", split, got, n)
		}
		total += got
		// Without padding the last partial batch is dropped.
		dropped := readAll(t, src, dataset.Options{Split: split, InputSize: 16, BatchSize: 4})
		if len(dropped) != n/4 {
			t.Errorf("split %s: %d full batches, want %d", split, len(dropped), n/4)
		}
	}
	if total != len(files) {
		t.Errorf("read %d records in all, want %d", total, len(files))
	}
	if _, err := src.Read(context.Background(), dataset.Options{Split: "nope", BatchSize: 1}); err == nil {
		t.Error("an unknown split must fail")
	}
}

func TestDeterministicShuffleAndAugment(t *testing.T) {
	dir, _ := ingestFixtures(t, 60, schemas.EncodingUint8, 32)
	src, err := dataset.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	o := dataset.Options{Split: "train", InputSize: 24, BatchSize: 5, Shuffle: 16, Seed: 3, Augment: true, Workers: 3}
	a, b := readAll(t, src, o), readAll(t, src, o)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed and epoch gave different batches")
	}
	o.Epoch = 1
	c := readAll(t, src, o)
	if reflect.DeepEqual(a, c) {
		t.Error("another epoch gave the same batches")
	}
	for _, bt := range a {
		for _, v := range bt.Images {
			if v < 0 || v > 1 || math.IsNaN(float64(v)) {
				t.Fatalf("augmented value %v outside [0,1]", v)
			}
		}
	}
	// Shuffling changes the order but not the content.
	plain := readAll(t, src, dataset.Options{Split: "train", InputSize: 24, BatchSize: 5})
	var x, y []string
	for i := range plain {
		x = append(x, plain[i].Files...)
		y = append(y, a[i].Files...)
	}
	if reflect.DeepEqual(x, y) {
		t.Error("shuffling kept the order")
	}
}

// TestEncodingsAgree: the float32, uint8 and jpeg encodings of the same images
// give the same model inputs (uint8 within its quantization).
func TestEncodingsAgree(t *testing.T) {
	byEnc := map[string]map[string][]float32{}
	for _, enc := range []string{schemas.EncodingFloat32, schemas.EncodingUint8, schemas.EncodingJPEG} {
		dir, _ := ingestFixtures(t, 12, enc, 32)
		src, err := dataset.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		byEnc[enc] = map[string][]float32{}
		for _, b := range readAll(t, src, dataset.Options{Split: "train", InputSize: 20, BatchSize: 1}) {
			byEnc[enc][b.Files[0]] = b.Images
		}
	}
	for name, f := range byEnc[schemas.EncodingFloat32] {
		j, u := byEnc[schemas.EncodingJPEG][name], byEnc[schemas.EncodingUint8][name]
		if !reflect.DeepEqual(f, j) {
			t.Errorf("%s: jpeg encoding reads differently from float32", name)
		}
		for i := range f {
			if math.Abs(float64(f[i]-u[i])) > 0.51/255 {
				t.Fatalf("%s: uint8 value %v vs float32 %v", name, u[i], f[i])
			}
		}
	}
	if len(byEnc[schemas.EncodingFloat32]) == 0 {
		t.Fatal("nothing read")
	}
}

// firstTrainShard ingests 30 fixtures at 32×32 uint8 and returns the
// output folder, opened, its first train shard's entry, path and bytes.
func firstTrainShard(t *testing.T) (*dataset.Source, schemas.FileEntry, string, []byte) {
	t.Helper()
	dir, _ := ingestFixtures(t, 30, schemas.EncodingUint8, 32)
	src, err := dataset.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	shard := src.Manifest.Split("train").Shards[0]
	path := filepath.Join(dir, shard.File)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return src, shard, path, data
}

func TestCorruptShard(t *testing.T) {
	src, shard, path, data := firstTrainShard(t)
	if shard.Records < 3 {
		t.Fatalf("shard holds %d records", shard.Records)
	}
	recLen := int(data[0]) | int(data[1])<<8 | int(data[2])<<16
	second := 12 + recLen + 4 // the second record's offset
	data[second+12+100] ^= 0x40
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := src.Read(context.Background(), dataset.Options{Split: "train", BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var rerr error
	for rerr == nil {
		_, rerr = r.Next()
	}
	r.Close()
	var ce *tfrecord.CorruptError
	if !errors.As(rerr, &ce) || ce.Offset != int64(second) || !strings.Contains(rerr.Error(), shard.File) {
		t.Fatalf("got %v, want a corruption error naming %s at offset %d", rerr, shard.File, second)
	}
	// Skipping reads every other record and counts the skipped one.
	r, err = src.Read(context.Background(), dataset.Options{Split: "train", BatchSize: 1, SkipCorrupt: true, Pad: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	r.Close()
	if want := src.Records("train") - 1; n != want || r.Stats().Skipped != 1 {
		t.Errorf("read %d, skipped %d; want %d and 1", n, r.Stats().Skipped, want)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := dataset.Open(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "manifest") {
		t.Errorf("got %v, want a missing-manifest error", err)
	}
}

// BenchmarkReadSplit reads a real ingest output's train split at 64×64 with
// augmentation: FACEPIPE_DATA=out go test -bench ReadSplit ./dataset.
func BenchmarkReadSplit(b *testing.B) {
	dir := os.Getenv("FACEPIPE_DATA")
	if dir == "" {
		b.Skip("FACEPIPE_DATA is not set")
	}
	src, err := dataset.Open(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		r, err := src.Read(context.Background(), dataset.Options{Split: "train", InputSize: 64, BatchSize: 128, Shuffle: 2048, Augment: true, Epoch: i})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			bt, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += bt.Valid
		}
		r.Close()
		b.ReportMetric(float64(n)/b.Elapsed().Seconds()*float64(i+1)/float64(i+1), "images/s")
	}
}

// TestJoinedSplits: splits joined by "+" read every record of each, once,
// and count as their sum.
func TestJoinedSplits(t *testing.T) {
	dir, _ := ingestFixtures(t, 40, schemas.EncodingUint8, 16)
	src, err := dataset.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	files := func(split string) []string {
		var out []string
		for _, b := range readAll(t, src, dataset.Options{Split: split, BatchSize: 4, Pad: true}) {
			out = append(out, b.Files[:b.Valid]...)
		}
		sort.Strings(out)
		return out
	}
	want := append(files("train"), files("valid")...)
	sort.Strings(want)
	got := files("train+valid")
	if len(files("train")) == 0 || len(files("valid")) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("train+valid read %v, want train's and valid's records %v", got, want)
	}
	if n := src.Records("train+valid"); n != len(want) || n != src.Records("train")+src.Records("valid") {
		t.Errorf("train+valid has %d records, want %d", n, len(want))
	}
	if _, err := src.Read(context.Background(), dataset.Options{Split: "train+nosuch", BatchSize: 4}); err == nil {
		t.Error("a split that does not exist was read")
	}
}
