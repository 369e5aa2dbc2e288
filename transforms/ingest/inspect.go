package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/facepipe/facepipe/internal/beamreg"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/progress"
	"github.com/facepipe/facepipe/labels"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/transforms/rejects"
)

var (
	filesListed   = beam.NewCounter("ingest", "files_listed")
	filesInspect  = beam.NewCounter("ingest", "files_inspected")
	imagesWritten = beam.NewCounter("ingest", "images_written")
)

func init() {
	beamreg.DoFn(&listFn{})
	register.Emitter1[string]()
	beamreg.DoFn(&inspectFn{})
	register.Emitter1[Item]()
	register.Emitter1[Outcome]()
}

// ListFiles expands an input spec (folder, glob or single file, local or
// gs://) into the sorted paths of its files, less those under the output
// folder when it is inside the input (see fsio.Outside); limit > 0 keeps
// the first limit.
func ListFiles(s beam.Scope, spec, output string, limit int) beam.PCollection {
	s = s.Scope("ListFiles")
	return beam.ParDo(s, &listFn{Spec: spec, Output: output, Limit: limit}, beam.Impulse(s))
}

type listFn struct {
	Spec   string
	Output string
	Limit  int
}

func (f *listFn) ProcessElement(ctx context.Context, _ []byte, emit func(string)) error {
	files, err := fsio.List(ctx, f.Spec)
	if err != nil {
		return err
	}
	files = fsio.Outside(f.Spec, files, f.Output)
	if len(files) == 0 {
		return fmt.Errorf("no files match --input=%s", f.Spec)
	}
	if f.Limit > 0 && len(files) > f.Limit {
		files = files[:f.Limit]
	}
	progress.Start("ingest", len(files))
	for _, p := range files {
		emit(p)
	}
	filesListed.Inc(ctx, int64(len(files)))
	return nil
}

// Inspect reads each file once to hash its content, parses the labels from its
// name and checks its image header. Files that pass come out as Items; the
// others as rejected Outcomes with the reason of the first check they failed.
// Files over maxFileBytes are rejected as too large: their bytes are hashed
// as they stream, never held whole.
func Inspect(s beam.Scope, paths beam.PCollection, maxPixels int, maxFileBytes int64) (items, rejected beam.PCollection) {
	s = s.Scope("Inspect")
	return beam.ParDo2(s, &inspectFn{MaxPixels: maxPixels, MaxFileBytes: maxFileBytes}, beam.Reshuffle(s, paths))
}

// inspectBatch is how many files inspectFn reads concurrently: reads are I/O
// bound, and on Cloud Storage each one is a round trip.
const inspectBatch = 64

type inspectFn struct {
	MaxPixels    int
	MaxFileBytes int64
	pending      []string
}

func (f *inspectFn) ProcessElement(ctx context.Context, path string, emit func(Item), reject func(Outcome)) {
	f.pending = append(f.pending, path)
	if len(f.pending) >= inspectBatch {
		f.flush(ctx, emit, reject)
	}
}

func (f *inspectFn) FinishBundle(ctx context.Context, emit func(Item), reject func(Outcome)) {
	f.flush(ctx, emit, reject)
}

func (f *inspectFn) StartBundle(ctx context.Context, emit func(Item), reject func(Outcome)) {
	f.pending = f.pending[:0]
}

// flush inspects the pending files concurrently, then emits in order from
// this goroutine: emitters are not safe for concurrent use.
func (f *inspectFn) flush(ctx context.Context, emit func(Item), reject func(Outcome)) {
	type result struct {
		item Item
		rej  *Outcome
	}
	results := make([]result, len(f.pending))
	var wg sync.WaitGroup
	for i, p := range f.pending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			item, rej := inspectFile(ctx, p, f.MaxPixels, f.MaxFileBytes)
			results[i] = result{item, rej}
		}()
	}
	wg.Wait()
	for _, r := range results {
		filesInspect.Inc(ctx, 1)
		if r.rej != nil {
			progress.Add(1)
			rejects.Counter("ingest", r.rej.Reason).Inc(ctx, 1)
			reject(*r.rej)
		} else {
			emit(r.item)
		}
	}
	f.pending = f.pending[:0]
}

// inspectFile runs the checks that need no decoding, in the order of the
// schemas.Reason* list: name, read, empty, header; a file over maxFileBytes
// is too large before its header is looked at.
func inspectFile(ctx context.Context, path string, maxPixels int, maxFileBytes int64) (Item, *Outcome) {
	name := fsio.Base(path)
	l, nameErr := labels.ParseName(name)
	size := int64(-1)
	var info preprocess.Info
	rej := func(reason, detail, sha string) (Item, *Outcome) {
		return Item{}, &Outcome{File: name, Path: path, SHA256: sha, Labeled: nameErr == nil,
			Age: l.Age, Gender: l.Gender, Race: l.Race, Status: StatusRejected, Reason: reason, Detail: detail,
			Bytes: size, Width: info.Width, Height: info.Height}
	}
	head, size, sha, err := readHead(ctx, path)
	if err != nil {
		size = -1 // unknown, whichever check rejects the file
		if le := (*labels.Error)(nil); errors.As(nameErr, &le) {
			return rej(le.Reason, le.Detail, "")
		}
		return rej(schemas.ReasonReadError, err.Error(), "")
	}
	if le := (*labels.Error)(nil); errors.As(nameErr, &le) {
		return rej(le.Reason, le.Detail, sha)
	}
	if maxFileBytes > 0 && size > maxFileBytes {
		return rej(schemas.ReasonTooLarge, tooLargeDetail(size, maxFileBytes), sha)
	}
	info, err = preprocess.Check(head, maxPixels)
	if pe := (*preprocess.Error)(nil); errors.As(err, &pe) {
		return rej(pe.Reason, pe.Detail, sha)
	}
	return Item{
		Path: path, Name: name, Size: size, SHA256: sha,
		Age: l.Age, Gender: l.Gender, Race: l.Race,
		Format: info.Format, Width: info.Width, Height: info.Height,
	}, nil
}

// headSize is how much of a file the header check sees: enough for the
// metadata segments that may come before a JPEG's frame header.
const headSize = 4 << 20

// readHead streams a file through sha256 and keeps its first headSize bytes,
// so that a huge file costs no more memory than a small one.
func readHead(ctx context.Context, path string) (head []byte, size int64, sha string, err error) {
	f, err := fsio.FS(ctx, path)
	if err != nil {
		return nil, 0, "", err
	}
	r, err := f.OpenRead(ctx, path)
	if err != nil {
		return nil, 0, "", err
	}
	defer r.Close()
	h := sha256.New()
	head, err = io.ReadAll(io.LimitReader(io.TeeReader(r, h), headSize))
	if err != nil {
		return nil, 0, "", err
	}
	rest, err := io.Copy(h, r)
	if err != nil {
		return nil, 0, "", err
	}
	return head, int64(len(head)) + rest, hex.EncodeToString(h.Sum(nil)), nil
}

// tooLargeDetail says why a file of size bytes is rejected.
func tooLargeDetail(size, limit int64) string {
	return fmt.Sprintf("the file holds %d bytes, over the limit of %d bytes (%.0f MiB) a file", size, limit, float64(limit)/(1<<20))
}
