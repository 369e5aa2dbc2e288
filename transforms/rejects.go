package transforms

import (
	"context"
	"io"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/schemas"
)

// RejectsFile is the rejects table's path under the output folder.
const RejectsFile = "rejects.parquet"

func init() {
	register.DoFn4x1[context.Context, int, func(*schemas.Reject) bool, func(RejectsResult), error](&writeRejectsFn{})
	register.Function2x0[Outcome, func(int, schemas.Reject)](keyRejects)
	register.Function1x1[[]byte, schemas.Reject](rejectsSentinel)
	register.Emitter2[int, schemas.Reject]()
	register.Function1x2[schemas.Reject, int, schemas.Reject](addKey)
	register.Iter1[schemas.Reject]()
	register.Emitter1[RejectsResult]()
}

// WriteRejects writes a row for every outcome that is not a write, sorted by
// path, to rejects.parquet under output (an empty table when there are none)
// and returns one RejectsResult.
//
// The rejects are gathered under one key with a GroupByKey, plus a sentinel
// so that the group exists when there are none. (A side input would read
// better, but Prism reschedules a waiting stage that reads one in a busy
// loop, costing a quarter of the CPU of an ingest run.)
func WriteRejects(s beam.Scope, output string, outcomes beam.PCollection) beam.PCollection {
	s = s.Scope("WriteRejects")
	sentinel := beam.ParDo(s, addKey, beam.ParDo(s, rejectsSentinel, beam.Impulse(s)))
	keyed := beam.Flatten(s, beam.ParDo(s, keyRejects, outcomes), sentinel)
	return beam.ParDo(s, &writeRejectsFn{Output: output}, beam.GroupByKey(s, keyed))
}

// rejectsSentinel is the element that makes the rejects group exist; it has
// no reason, which no real reject lacks.
func rejectsSentinel([]byte) schemas.Reject { return schemas.Reject{} }

// keyRejects keys the rejects of the outcomes for one group.
func keyRejects(o Outcome, emit func(int, schemas.Reject)) {
	if o.Status != StatusWritten {
		emit(0, o.reject())
	}
}

func addKey(r schemas.Reject) (int, schemas.Reject) { return 0, r }

type writeRejectsFn struct {
	Output string
}

func (f *writeRejectsFn) ProcessElement(ctx context.Context, _ int, iter func(*schemas.Reject) bool, emit func(RejectsResult)) error {
	var rows []schemas.Reject
	var r schemas.Reject
	for iter(&r) {
		if r.Reason != "" {
			rows = append(rows, r)
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Path != rows[j].Path {
			return rows[i].Path < rows[j].Path
		}
		return rows[i].Reason < rows[j].Reason
	})
	counts := map[string]int{}
	for _, r := range rows {
		counts[r.Reason]++
	}
	res := RejectsResult{Entry: schemas.FileEntry{File: RejectsFile, Records: len(rows)}}
	for reason, n := range counts {
		res.ByReason = append(res.ByReason, schemas.ReasonCount{Reason: reason, Count: n})
	}
	sort.Slice(res.ByReason, func(i, j int) bool { return res.ByReason[i].Reason < res.ByReason[j].Reason })
	err := fsio.WriteAtomic(ctx, fsio.Join(f.Output, RejectsFile), func(w io.Writer) error {
		hc := newHashCounter(w)
		if err := WriteParquet(hc, rows); err != nil {
			return err
		}
		res.Entry.Bytes, res.Entry.SHA256 = hc.n, hc.sum()
		return nil
	})
	if err != nil {
		return err
	}
	emit(res)
	return nil
}

// WriteParquet writes rows as a zstd-compressed Parquet file whose columns
// come from T's parquet tags.
func WriteParquet[T any](w io.Writer, rows []T) error {
	pw := parquet.NewGenericWriter[T](w, parquet.Compression(&parquet.Zstd), parquet.CreatedBy("facepipe", Version, ""))
	if len(rows) > 0 {
		if _, err := pw.Write(rows); err != nil {
			return err
		}
	}
	return pw.Close()
}
