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
	register.DoFn4x1[context.Context, []byte, func(*schemas.Reject) bool, func(RejectsResult), error](&writeRejectsFn{})
	register.Iter1[schemas.Reject]()
	register.Emitter1[RejectsResult]()
}

// WriteRejects writes every reject, sorted by path, to rejects.parquet under
// output (an empty table when there are none) and returns one RejectsResult.
func WriteRejects(s beam.Scope, output string, rejects beam.PCollection) beam.PCollection {
	s = s.Scope("WriteRejects")
	return beam.ParDo(s, &writeRejectsFn{Output: output}, beam.Impulse(s), beam.SideInput{Input: rejects})
}

type writeRejectsFn struct {
	Output string
}

func (f *writeRejectsFn) ProcessElement(ctx context.Context, _ []byte, iter func(*schemas.Reject) bool, emit func(RejectsResult)) error {
	var rows []schemas.Reject
	var r schemas.Reject
	for iter(&r) {
		rows = append(rows, r)
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
