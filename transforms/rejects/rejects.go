// Package rejects writes the rejects table that ingest and score leave
// beside their output: one row per input that was not written or scored,
// with its reason, so that every input ends up somewhere.
package rejects

import (
	"context"
	"io"
	"reflect"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/facepipe/facepipe/internal/beamreg"
	"github.com/facepipe/facepipe/internal/outfile"
	"github.com/facepipe/facepipe/schemas"
)

// File is the rejects table's path under the output folder.
const File = "rejects.parquet"

// Result describes the written rejects table.
type Result struct {
	Entry    schemas.FileEntry
	ByReason []schemas.ReasonCount
}

func init() {
	for _, t := range []any{Result{}, schemas.Reject{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
	beamreg.DoFn(&writeFn{})
	register.Function1x1[[]byte, schemas.Reject](sentinel)
	register.Function1x2[schemas.Reject, int, schemas.Reject](addKey)
	register.Iter1[schemas.Reject]()
	register.Emitter1[Result]()
}

// Counter counts a pipeline's rejects by reason, as a metric named
// rejected_<reason> in the pipeline's namespace.
func Counter(pipeline, reason string) beam.Counter {
	return beam.NewCounter(pipeline, "rejected_"+reason)
}

// Write writes the rejects (schemas.Reject), sorted by path, to
// rejects.parquet under output (an empty table when there are none) and
// returns one Result.
//
// The rejects are gathered under one key with a GroupByKey, plus a sentinel
// so that the group exists when there are none. (A side input would read
// better, but Prism reschedules a waiting stage that reads one in a busy
// loop, costing a quarter of the CPU of an ingest run.)
func Write(s beam.Scope, output string, rejects beam.PCollection) beam.PCollection {
	s = s.Scope("WriteRejects")
	keyed := beam.ParDo(s, addKey, beam.Flatten(s, rejects, beam.ParDo(s, sentinel, beam.Impulse(s))))
	return beam.ParDo(s, &writeFn{Output: output}, beam.GroupByKey(s, keyed))
}

// sentinel is the element that makes the rejects group exist; it has no
// reason, which no real reject lacks.
func sentinel([]byte) schemas.Reject { return schemas.Reject{} }

func addKey(r schemas.Reject) (int, schemas.Reject) { return 0, r }

type writeFn struct {
	Output string
}

func (f *writeFn) ProcessElement(ctx context.Context, _ int, iter func(*schemas.Reject) bool, emit func(Result)) error {
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
	entry, err := outfile.Write(ctx, f.Output, File, func(w io.Writer) error { return outfile.Parquet(w, rows) })
	if err != nil {
		return err
	}
	entry.Records = len(rows)
	res := Result{Entry: entry}
	for reason, n := range counts {
		res.ByReason = append(res.ByReason, schemas.ReasonCount{Reason: reason, Count: n})
	}
	sort.Slice(res.ByReason, func(i, j int) bool { return res.ByReason[i].Reason < res.ByReason[j].Reason })
	emit(res)
	return nil
}
