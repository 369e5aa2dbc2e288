package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/facepipe/facepipe/example"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/tfrecord"
)

// Options control a Reader. Split names a split, or splits joined by "+"
// ("train+valid"), read in that order.
type Options struct {
	Split     string
	InputSize int   // model input height and width; the stored size when 0
	BatchSize int   // examples per batch, fixed
	Shuffle   int   // shuffle buffer, in examples; 0 reads in shard order
	Seed      int64 // seeds shard order, shuffling and augmentation
	Epoch     int   // varies them from epoch to epoch
	Augment   bool  // random crop, flip, brightness and contrast
	// Augmentation is AugmentRecipe ("" too) or AugmentPhotos, when Augment.
	Augmentation string
	Workers      int  // decode goroutines; GOMAXPROCS when 0
	Prefetch     int  // batches prepared ahead; 2 when 0
	Pad          bool // pad the last partial batch (for evaluation) instead of dropping it
	SkipCorrupt  bool // skip records that fail their CRC instead of failing
}

// Batch is a fixed-shape batch. Images is BatchSize×InputSize×InputSize×3,
// HWC RGB in [0,1]. Only the first Valid examples are real: the rest of a
// padded last batch is zeros.
type Batch struct {
	Images  []float32
	Ages    []float32
	Genders []float32
	Races   []int32
	Files   []string
	Valid   int
}

// Stats counts what a Reader has read.
type Stats struct {
	Records int // records decoded
	Skipped int // corrupt records skipped (SkipCorrupt)
}

// Reader streams batches of one split.
type Reader struct {
	batches <-chan *Batch
	errc    chan error
	cancel  context.CancelFunc
	done    sync.WaitGroup
	err     error
	records atomic.Int64
	skipped atomic.Int64
}

// example is one decoded, resized and augmented record.
type decoded struct {
	image  []float32
	age    float32
	gender float32
	race   int32
	file   string
}

type job struct {
	seq  int
	data []byte
	name string
}

type result struct {
	seq int
	ex  decoded
	err error
}

// Read starts streaming a split. Close the Reader when done with it, even
// after an error.
func (s *Source) Read(ctx context.Context, o Options) (*Reader, error) {
	shards, err := s.shards(o.Split)
	if err != nil {
		return nil, err
	}
	if o.BatchSize <= 0 {
		return nil, fmt.Errorf("dataset: batch size %d", o.BatchSize)
	}
	stored := s.StoredSize()
	if o.InputSize <= 0 {
		o.InputSize = stored
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Prefetch <= 0 {
		o.Prefetch = 2
	}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), uint64(o.Epoch)))
	if o.Shuffle > 0 {
		rng.Shuffle(len(shards), func(i, j int) { shards[i], shards[j] = shards[j], shards[i] })
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Reader{cancel: cancel, errc: make(chan error, o.Workers+2)}
	batches := make(chan *Batch, o.Prefetch)
	r.batches = batches

	window := 4 * o.Workers
	jobs := make(chan job, window)
	results := make(chan result, window)
	tokens := make(chan struct{}, window) // records read but not yet reordered
	fail := func(err error) {
		select {
		case r.errc <- err:
		default:
		}
		cancel()
	}

	// Read the shards in order, one record at a time.
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		defer close(jobs)
		seq := 0
		for _, path := range shards {
			if err := r.readShard(ctx, path, o.SkipCorrupt, func(data []byte) bool {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return false
				}
				select {
				case jobs <- job{seq: seq, data: data, name: path}:
					seq++
					return true
				case <-ctx.Done():
					return false
				}
			}); err != nil {
				fail(err)
				return
			}
		}
	}()

	// Decode on a pool.
	dec := &decoder{encoding: s.Manifest.Parameters.Encoding, stored: stored, size: o.InputSize, augment: o.Augment, photos: o.Augmentation == AugmentPhotos, seed: o.Seed, epoch: o.Epoch}
	var workers sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			var rec example.Record
			for j := range jobs {
				ex, err := dec.decode(j, &rec)
				select {
				case results <- result{seq: j.seq, ex: ex, err: err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { workers.Wait(); close(results) }()

	// Put results back in read order, shuffle, batch.
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		defer close(batches)
		b := newBatcher(o, batches, ctx)
		shuf := newShuffler(o.Shuffle, rand.New(rand.NewPCG(uint64(o.Seed)^0x5eed, uint64(o.Epoch))), b.add)
		pending := map[int]result{}
		next := 0
		for res := range results {
			pending[res.seq] = res
			for {
				p, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				<-tokens
				if p.err != nil {
					fail(p.err)
					return
				}
				r.records.Add(1)
				if !shuf.add(p.ex) {
					return
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		if shuf.flush() {
			b.flush()
		}
	}()
	return r, nil
}

// readShard streams the records of one shard to emit, which takes ownership
// of each slice.
func (r *Reader) readShard(ctx context.Context, path string, skip bool, emit func([]byte) bool) error {
	f, err := fsio.FS(ctx, path)
	if err != nil {
		return err
	}
	rc, err := f.OpenRead(ctx, path)
	if err != nil {
		return fmt.Errorf("dataset: opening %s: %w", path, err)
	}
	defer rc.Close()
	tr := tfrecord.NewReader(rc, tfrecord.CompressionFromPath(path), path)
	for {
		data, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var ce *tfrecord.CorruptError
			if skip && errors.As(err, &ce) {
				r.skipped.Add(1)
				if tr.Resume() {
					continue
				}
				return nil // the framing is lost: the rest of this shard is unreadable
			}
			return fmt.Errorf("dataset: %w", err)
		}
		if !emit(append([]byte(nil), data...)) {
			return nil
		}
	}
}

// Next returns the next batch, or io.EOF after the last.
func (r *Reader) Next() (*Batch, error) {
	if r.err != nil {
		return nil, r.err
	}
	b, ok := <-r.batches
	if ok {
		return b, nil
	}
	select {
	case r.err = <-r.errc:
	default:
		r.err = io.EOF
	}
	return nil, r.err
}

// Stats reports what has been read so far.
func (r *Reader) Stats() Stats {
	return Stats{Records: int(r.records.Load()), Skipped: int(r.skipped.Load())}
}

// Close stops the reader's goroutines.
func (r *Reader) Close() {
	r.cancel()
	for range r.batches {
	}
	r.done.Wait()
}

// decoder turns records into model inputs.
type decoder struct {
	encoding string
	stored   int
	size     int
	augment  bool
	photos   bool // the photos augmentation before the recipe's
	seed     int64
	epoch    int
}

func (d *decoder) decode(j job, rec *example.Record) (decoded, error) {
	if err := example.Parse(j.data, rec); err != nil {
		return decoded{}, fmt.Errorf("dataset: %s: record %d: %w", j.name, j.seq, err)
	}
	if rec.ImageJPEG == nil && rec.Channels != 3 { // a JPEG is decoded to RGB whatever it holds
		return decoded{}, fmt.Errorf("dataset: %s: record %d (%s): %d channels, want 3 (RGB)", j.name, j.seq, rec.Filename, rec.Channels)
	}
	var img []float32
	switch {
	case rec.Image != nil:
		img = rec.Image
	case rec.ImageRaw != nil:
		img = make([]float32, len(rec.ImageRaw))
		for i, v := range rec.ImageRaw {
			img[i] = float32(v) / 255
		}
	default:
		var err error
		img, _, err = preprocess.Preprocess(rec.ImageJPEG, preprocess.Options{Size: d.stored}, nil)
		if err != nil {
			return decoded{}, fmt.Errorf("dataset: %s: %s: %w", j.name, rec.Filename, err)
		}
		rec.Height, rec.Width = int64(d.stored), int64(d.stored)
	}
	out := preprocess.ResizeArea(img, int(rec.Height), int(rec.Width), 3, d.size, d.size, nil)
	if d.augment {
		rng := rand.New(rand.NewPCG(uint64(d.seed)+uint64(d.epoch)<<32, uint64(j.seq)))
		if d.photos {
			photoAugment(out, d.size, rng)
		}
		augment(out, d.size, rng)
	}
	return decoded{image: out, age: float32(rec.Age), gender: float32(rec.Gender), race: int32(rec.Race), file: rec.Filename}, nil
}

// shuffler is a bounded shuffle buffer: once full, each new example replaces
// a random one, which goes out.
type shuffler struct {
	size int
	buf  []decoded
	rng  *rand.Rand
	out  func(decoded) bool
}

func newShuffler(size int, rng *rand.Rand, out func(decoded) bool) *shuffler {
	return &shuffler{size: size, rng: rng, out: out}
}

func (s *shuffler) add(ex decoded) bool {
	if s.size <= 0 {
		return s.out(ex)
	}
	if len(s.buf) < s.size {
		s.buf = append(s.buf, ex)
		return true
	}
	i := s.rng.IntN(len(s.buf))
	ex, s.buf[i] = s.buf[i], ex
	return s.out(ex)
}

func (s *shuffler) flush() bool {
	s.rng.Shuffle(len(s.buf), func(i, j int) { s.buf[i], s.buf[j] = s.buf[j], s.buf[i] })
	for _, ex := range s.buf {
		if !s.out(ex) {
			return false
		}
	}
	s.buf = nil
	return true
}

// batcher fills fixed-shape batches.
type batcher struct {
	o   Options
	out chan<- *Batch
	ctx context.Context
	cur *Batch
}

func newBatcher(o Options, out chan<- *Batch, ctx context.Context) *batcher {
	return &batcher{o: o, out: out, ctx: ctx}
}

func (b *batcher) newBatch() *Batch {
	n, px := b.o.BatchSize, b.o.InputSize*b.o.InputSize*3
	return &Batch{Images: make([]float32, n*px), Ages: make([]float32, n), Genders: make([]float32, n),
		Races: make([]int32, n), Files: make([]string, n)}
}

func (b *batcher) add(ex decoded) bool {
	if b.cur == nil {
		b.cur = b.newBatch()
	}
	i, px := b.cur.Valid, b.o.InputSize*b.o.InputSize*3
	copy(b.cur.Images[i*px:(i+1)*px], ex.image)
	b.cur.Ages[i], b.cur.Genders[i], b.cur.Races[i], b.cur.Files[i] = ex.age, ex.gender, ex.race, ex.file
	b.cur.Valid++
	if b.cur.Valid == b.o.BatchSize {
		return b.send()
	}
	return true
}

func (b *batcher) send() bool {
	select {
	case b.out <- b.cur:
		b.cur = nil
		return true
	case <-b.ctx.Done():
		return false
	}
}

// flush sends the last partial batch when padding.
func (b *batcher) flush() {
	if b.cur != nil && b.cur.Valid > 0 && b.o.Pad {
		b.send()
	}
}
