package ingest

import (
	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/internal/ort"

	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/facepipe/facepipe/example"
	"github.com/facepipe/facepipe/internal/beamreg"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/outfile"
	"github.com/facepipe/facepipe/internal/progress"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/split"
	"github.com/facepipe/facepipe/tfrecord"
	"github.com/facepipe/facepipe/transforms/rejects"
)

// TFRecordDir is the folder of the shards under the output folder.
const TFRecordDir = "tfrecords"

func init() {
	beamreg.DoFn(&assignSplitFn{})
	beamreg.DoFn(&estimateFn{})
	register.Function1x2[Item, string, Item](keyBySplit)
	beamreg.DoFn(&assignShardFn{})
	register.Iter1[int64]()
	register.Emitter2[string, Item]()
	beamreg.DoFn(&writeShardFn{})
	register.Emitter1[ShardResult]()
}

// AssignSplits sets each item's split from its content hash and the seed.
func AssignSplits(s beam.Scope, items beam.PCollection, spec split.Spec, seed int64) beam.PCollection {
	s = s.Scope("AssignSplits")
	return beam.ParDo(s, &assignSplitFn{Spec: spec.String(), Seed: seed}, items)
}

type assignSplitFn struct {
	Spec string
	Seed int64
	spec split.Spec
}

func (f *assignSplitFn) Setup() error {
	var err error
	f.spec, err = split.Parse(f.Spec)
	return err
}

func (f *assignSplitFn) ProcessElement(ctx context.Context, it Item) Item {
	it.Split = f.spec.Assign(split.KeyOf(it.SHA256, f.Seed))
	return it
}

// WriteShards groups the items by shard and writes each shard. Within a
// split, an item's shard comes from its content hash; the number of shards is
// --num_shards, or enough to keep shards near --shard_mb.
// Every item comes out as an Outcome: written, or rejected when it can't be
// decoded.
func WriteShards(s beam.Scope, cfg Config, items beam.PCollection) (shards, outcomes beam.PCollection) {
	s = s.Scope("WriteShards")
	// The shard count of a split depends on its size: join each split's items
	// with its size estimate. (A side input would do, but Prism keeps
	// rescheduling a finished stage that reads one, spinning a core.)
	splitBytes := stats.SumPerKey(s, beam.ParDo(s, &estimateFn{Encoding: cfg.Encoding, ImageSize: cfg.ImageSize}, items))
	bySplit := beam.CoGroupByKey(s, beam.ParDo(s, keyBySplit, items), splitBytes)
	keyed := beam.ParDo(s, &assignShardFn{NumShards: cfg.NumShards, ShardMB: cfg.ShardMB, Seed: cfg.Seed}, bySplit)
	fn := &writeShardFn{
		Seed: cfg.Seed, Output: cfg.Output, Encoding: cfg.Encoding, Compression: cfg.Compression,
		ImageSize: cfg.ImageSize, MaxPixels: cfg.MaxPixels, Workers: cfg.Workers, MaxFileBytes: cfg.maxFileBytes(),
		Labels: !cfg.NoStats, Faces: cfg.Faces, FaceFallback: cfg.FaceFallback,
	}
	return beam.ParDo2(s, fn, beam.GroupByKey(s, keyed))
}

// estimateFn estimates the bytes an item adds to its split's shards.
type estimateFn struct {
	Encoding  string
	ImageSize int
}

func (f *estimateFn) ProcessElement(it Item) (string, int64) {
	const overhead = 300 // labels, names and framing
	n := int64(f.ImageSize) * int64(f.ImageSize) * 3
	switch f.Encoding {
	case schemas.EncodingFloat32:
		n *= 4
	case schemas.EncodingJPEG:
		n = it.Size
	}
	return it.Split, n + overhead
}

func keyBySplit(it Item) (string, Item) { return it.Split, it }

type assignShardFn struct {
	NumShards int
	ShardMB   int
	Seed      int64
}

func (f *assignShardFn) ProcessElement(splitName string, items func(*Item) bool, bytes func(*int64) bool, emit func(string, Item)) error {
	n := f.NumShards
	if n == 0 {
		var total int64
		if !bytes(&total) {
			return fmt.Errorf("no size estimate for split %q", splitName)
		}
		n = max(1, min(99999, int((total+int64(f.ShardMB)<<20-1)/(int64(f.ShardMB)<<20))))
	}
	var it Item
	for items(&it) {
		emit(ShardName(splitName, split.Shard(split.KeyOf(it.SHA256, f.Seed), n), n), it)
	}
	return nil
}

// ShardName is the stem of a shard's file name: split-SSSSS-of-NNNNN.
func ShardName(splitName string, index, of int) string {
	return fmt.Sprintf("%s-%05d-of-%05d", splitName, index, of)
}

// ParseShardName reads a name made by ShardName.
func ParseShardName(stem string) (splitName string, index, of int, err error) {
	i := strings.LastIndex(stem, "-of-")
	j := strings.LastIndex(stem[:max(i, 0)], "-")
	if i < 0 || j < 0 {
		return "", 0, 0, fmt.Errorf("shard name %q: want split-SSSSS-of-NNNNN", stem)
	}
	if _, err := fmt.Sscanf(stem[j+1:], "%05d-of-%05d", &index, &of); err != nil {
		return "", 0, 0, fmt.Errorf("shard name %q: %v", stem, err)
	}
	return stem[:j], index, of, nil
}

// ShardFile is a shard's path relative to the output folder.
func ShardFile(stem, compression string) string {
	name := TFRecordDir + "/" + stem + ".tfrecord"
	if compression == "gzip" {
		name += ".gz"
	}
	return name
}

// writeShardFn writes one shard: it reads and preprocesses the shard's files
// with a bounded pool of goroutines (a bundle gets one core on Prism), and
// writes their Examples in the order of their keyed content hash (the one
// that places them in splits and shards), so identical inputs give
// byte-identical shards. The shard is written to a temporary name and renamed
// when complete.
//
// The order is not the file names': UTKFace's names begin with the age, so a
// shard in name order runs from the youngest to the oldest, and a reader that
// shuffles through a bounded buffer (ours, or tf.data's shuffle) then feeds
// batches of nearly one age. Training on such a stream failed: with the 20,111
// images in one 64×64 shard, validation MAE stayed near 27 years.
type writeShardFn struct {
	Seed         int64
	Output       string
	Encoding     string
	Compression  string
	ImageSize    int
	MaxPixels    int
	Workers      int
	MaxFileBytes int64   // larger files are rejected unread (Inspect rejects them first)
	Labels       bool    // write the shard's part of the labels table
	Faces        string  // faces.ModeDetect: store each image's best face, aligned
	FaceFallback float64 // the detector's FallbackThreshold (0: none)
	detector     *faces.Detector
}

// recordOverhead bounds what an Example adds around its image: labels,
// names, the digest and the framing.
const recordOverhead = 64 << 10

// fileBudget bounds the bytes of input files that the shard writers of a
// process hold at once, read but not yet written as records: a decode
// worker waits for room before it reads a file whole.
var fileBudget = newByteBudget(1 << 30)

// failOnceDir is a test seam (see export_test.go): when set, each shard
// writer fails halfway through its first attempt, leaving a partial
// temporary file; the attempt is recorded as a marker file in this local
// folder, so that a retry goes through.
var failOnceDir string

// Setup opens the face detector when faces are aligned: ONNX Runtime on the
// CPU, one thread per session, since the decode workers call it side by
// side.
func (f *writeShardFn) Setup() error {
	if f.Faces != faces.ModeDetect {
		return nil
	}
	b, _, err := ort.OpenCPU(1)
	if err != nil {
		return fmt.Errorf("--faces=detect: %w", err)
	}
	net, err := faces.OpenORT(b)
	if err != nil {
		return err
	}
	f.detector = faces.NewDetector(net)
	f.detector.FallbackThreshold = f.FaceFallback
	return nil
}

// Teardown closes the face detector.
func (f *writeShardFn) Teardown() {
	if f.detector != nil {
		f.detector.Close()
	}
}

func (f *writeShardFn) ProcessElement(ctx context.Context, stem string, iter func(*Item) bool,
	emit func(ShardResult), settle func(Outcome)) error {
	splitName, index, of, err := ParseShardName(stem)
	if err != nil {
		return err
	}
	var items []Item
	var it Item
	for iter(&it) {
		items = append(items, it)
	}
	keys := make(map[string]split.Key, len(items))
	for _, it := range items {
		keys[it.SHA256] = split.KeyOf(it.SHA256, f.Seed)
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := keys[items[i].SHA256], keys[items[j].SHA256]
		if c := bytes.Compare(a[:], b[:]); c != 0 {
			return c < 0
		}
		if items[i].Name != items[j].Name {
			return items[i].Name < items[j].Name
		}
		return items[i].Path < items[j].Path
	})

	rel := ShardFile(stem, f.Compression)
	res := ShardResult{Split: splitName, Index: index, Of: of, File: rel}
	var outcomes []Outcome
	err = fsio.WriteAtomic(ctx, fsio.Join(f.Output, rel), func(w io.Writer) error {
		hc := outfile.NewHashCounter(w)
		tw := tfrecord.NewWriter(hc, tfrecord.CompressionFromPath(rel))
		outcomes = outcomes[:0]
		err := f.encodeAll(ctx, items, func(i int, rec []byte, o *Outcome) error {
			if i == len(items)/2 && f.firstAttempt(stem) {
				return fmt.Errorf("injected failure of the first attempt (a test's failOnceDir) after %d of %d records", i, len(items))
			}
			progress.Add(1)
			if o.Status == StatusWritten {
				o.Split, o.Shard = splitName, rel
			}
			outcomes = append(outcomes, *o)
			if rec == nil {
				return nil
			}
			return tw.Write(rec)
		})
		if err != nil {
			return err
		}
		if err := tw.Close(); err != nil {
			return err
		}
		res.Records = tw.Count()
		res.Bytes, res.SHA256 = hc.Bytes(), hc.Sum()
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing shard %s: %w", rel, err)
	}
	if f.Labels {
		if res.Labels, err = writeLabels(ctx, f.Output, stem+".parquet", outcomes); err != nil {
			return err
		}
	}
	imagesWritten.Inc(ctx, int64(res.Records))
	for _, o := range outcomes {
		if o.Status != StatusWritten {
			rejects.Counter("ingest", o.Reason).Inc(ctx, 1)
		}
		settle(o)
	}
	emit(res)
	return nil
}

// firstAttempt reports whether this is the first attempt at the shard when
// failOnceDir is set, recording the attempt; it is false otherwise.
func (f *writeShardFn) firstAttempt(stem string) bool {
	if failOnceDir == "" {
		return false
	}
	m, err := os.OpenFile(filepath.Join(failOnceDir, stem), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return false // attempted before
	}
	m.Close()
	return true
}

// encodeAll preprocesses and encodes items on a pool of goroutines and hands
// the results to write in order, holding at most a few records in memory.
func (f *writeShardFn) encodeAll(ctx context.Context, items []Item, write func(i int, rec []byte, o *Outcome) error) error {
	workers := f.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type slot struct {
		rec  []byte
		out  Outcome
		err  error
		done chan struct{}
	}
	window := 2 * workers
	slots := make([]slot, len(items))
	for i := range slots {
		slots[i].done = make(chan struct{})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The feeder takes each file's bytes from fileBudget, in order, before
	// handing it out; the writer gives them back once the record is
	// written. Taken in order, they cannot deadlock: the oldest item not
	// yet written always holds its share.
	budget := fileBudget
	held := make([]int64, len(items))
	var heldMu sync.Mutex
	fed := make(chan struct{})
	defer func() { // after the feeder stops, give back what was not written
		cancel()
		<-fed
		for _, n := range held {
			budget.release(n)
		}
	}()
	jobs := make(chan int)
	free := make(chan []byte, window)
	for w := 0; w < workers; w++ {
		go func() {
			enc := &encoder{fn: f}
			for i := range jobs {
				var buf []byte
				select {
				case buf = <-free:
				default:
				}
				slots[i].rec, slots[i].out, slots[i].err = enc.encode(ctx, &items[i], buf)
				close(slots[i].done)
			}
		}()
	}
	// At most window records are encoded but not yet written: the feeder
	// takes a token per job and the writer returns it after the write.
	tokens := make(chan struct{}, window)
	go func() {
		defer close(fed)
		defer close(jobs)
		for i := range items {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			n := budget.share(items[i].Size)
			if budget.acquire(ctx, n) != nil {
				return
			}
			heldMu.Lock()
			held[i] = n
			heldMu.Unlock()
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for i := range slots {
		select {
		case <-slots[i].done:
		case <-ctx.Done():
			return ctx.Err()
		}
		s := &slots[i]
		if s.err != nil {
			return s.err
		}
		if err := write(i, s.rec, &s.out); err != nil {
			return err
		}
		if s.rec != nil {
			select {
			case free <- s.rec[:0]:
			default:
			}
		}
		s.rec, s.out = nil, Outcome{}
		heldMu.Lock()
		budget.release(held[i])
		held[i] = 0
		heldMu.Unlock()
		<-tokens
	}
	return nil
}

// encoder turns one item into a serialized Example, reusing its buffers.
type encoder struct {
	fn     *writeShardFn
	floats []float32
	raw    []byte
}

// encode returns the record and the written outcome, or no record and a
// rejected outcome for a content problem, or an error that should fail the
// bundle (none today: read errors are rejects).
func (e *encoder) encode(ctx context.Context, it *Item, buf []byte) ([]byte, Outcome, error) {
	rej := func(reason, detail string) ([]byte, Outcome, error) {
		return nil, it.outcome(StatusRejected, reason, detail), nil
	}
	data, err := readLimited(ctx, it.Path, e.fn.MaxFileBytes)
	if errors.Is(err, errTooLarge) {
		return rej(schemas.ReasonTooLarge, err.Error())
	}
	if err != nil {
		return rej(schemas.ReasonReadError, err.Error())
	}
	if sha := outfile.Digest(data); sha != it.SHA256 {
		return rej(schemas.ReasonReadError, fmt.Sprintf("content changed during the run: sha256 %s, was %s", sha, it.SHA256))
	}
	rec := example.Record{
		Age: int64(it.Age), Gender: int64(it.Gender), Race: int64(it.Race),
		Filename: it.Name, SHA256: it.SHA256, Split: it.Split, Channels: 3,
	}
	opts := preprocess.Options{Size: e.fn.ImageSize, MaxPixels: e.fn.MaxPixels}
	var info preprocess.Info
	if e.fn.detector != nil {
		var found *faces.Found
		found, err = faces.Prepare(data, opts.MaxPixels, e.fn.detector, faces.ModeDetect)
		if err == nil && len(found.Crops) == 0 {
			return rej(schemas.ReasonNoFace, found.NoFaceDetail(e.fn.detector))
		}
		if err == nil {
			crop := found.Crops[0].Image // the best face
			info = found.Info
			info.Grayscale = crop.Grayscale()
			if e.fn.Encoding == schemas.EncodingJPEG {
				data, err = crop.EncodeJPEG(95)
				info.Width, info.Height = crop.Width, crop.Height
			} else {
				e.floats = crop.ResizeFloat32(opts.Size, opts.Size, e.floats)
			}
		}
	} else if e.fn.Encoding == schemas.EncodingJPEG {
		_, info, err = preprocess.Decode(data, opts.MaxPixels) // validates; the bytes are stored as they are
	} else {
		e.floats, info, err = preprocess.Preprocess(data, opts, e.floats)
	}
	if pe := (*preprocess.Error)(nil); errors.As(err, &pe) {
		return rej(pe.Reason, pe.Detail)
	}
	if err != nil {
		return nil, Outcome{}, err
	}
	switch e.fn.Encoding {
	case schemas.EncodingJPEG:
		rec.ImageJPEG, rec.Height, rec.Width = data, int64(info.Height), int64(info.Width)
	case schemas.EncodingUint8:
		e.raw = preprocess.Quantize(e.raw, e.floats)
		rec.ImageRaw, rec.Height, rec.Width = e.raw, int64(e.fn.ImageSize), int64(e.fn.ImageSize)
	default:
		rec.Image, rec.Height, rec.Width = e.floats, int64(e.fn.ImageSize), int64(e.fn.ImageSize)
	}
	o := it.outcome(StatusWritten, "", "")
	o.Grayscale = info.Grayscale
	return example.AppendEncode(buf[:0], &rec), o, nil
}

// errTooLarge is wrapped by readLimited's error for a file over its limit.
var errTooLarge = errors.New("file too large")

// readLimited reads a whole file of at most limit bytes (no limit when
// limit ≤ 0), reading no more than limit+1 bytes of a larger one.
func readLimited(ctx context.Context, path string, limit int64) ([]byte, error) {
	if limit <= 0 {
		return fsio.ReadFile(ctx, path)
	}
	fs, err := fsio.FS(ctx, path)
	if err != nil {
		return nil, err
	}
	r, err := fs.OpenRead(ctx, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s", errTooLarge, tooLargeDetail(int64(len(data)), limit))
	}
	return data, nil
}

// byteBudget is a counting semaphore of bytes.
type byteBudget struct {
	mu    sync.Mutex
	total int64
	free  int64
	peak  int64         // most bytes held at once, for tests
	freed chan struct{} // closed, and replaced, when bytes are given back
}

func newByteBudget(total int64) *byteBudget {
	return &byteBudget{total: total, free: total, freed: make(chan struct{})}
}

// share is what a file of size bytes takes: its size (at least 1 byte,
// so that empty and unknown sizes count), at most the whole budget.
func (b *byteBudget) share(size int64) int64 {
	return min(max(size, 1), b.total)
}

// acquire waits until n bytes are free and takes them, or returns the
// context's error.
func (b *byteBudget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.peak = max(b.peak, b.total-b.free)
			b.mu.Unlock()
			return nil
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives n bytes back.
func (b *byteBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}
