package ingest

import (
	"context"
	"io"
	"reflect"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/facepipe/facepipe/internal/beamreg"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/outfile"
	"github.com/facepipe/facepipe/labelstats"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/report"
	"github.com/facepipe/facepipe/schemas"
)

// StatsFact is one input of the statistics writer; Kind says which field is
// set.
type StatsFact struct {
	Kind    string // "split", "group" or "outcome"
	Split   labelstats.Accumulator
	Group   DupGroup
	Outcome Outcome
}

// StatsResult lists the files the statistics stage wrote.
type StatsResult struct {
	Files []schemas.FileEntry
}

func init() {
	beam.RegisterType(reflect.TypeOf(StatsFact{}))
	beam.RegisterType(reflect.TypeOf(StatsResult{}))
	beam.RegisterType(reflect.TypeOf(labelstats.Accumulator{}))
	register.Function1x2[Outcome, string, Outcome](keyBySplitOrStatus)
	register.Combiner3[labelstats.Accumulator, Outcome, labelstats.Accumulator](&statsFn{})
	register.Function2x2[string, labelstats.Accumulator, int, StatsFact](splitFact)
	register.Function1x2[DupGroup, int, StatsFact](groupFact)
	register.Function1x2[Outcome, int, StatsFact](outcomeFact)
	register.Iter1[StatsFact]()
	beamreg.DoFn(&writeStatsFn{})
	register.Emitter1[StatsResult]()
}

// WriteStats computes the dataset statistics from the outcomes in the same
// run, as a Beam combine per split, and writes the Parquet tables under
// stats/ and the HTML report. Everything the writer needs (the per-split
// accumulators, the duplicate groups and the unsharded outcomes, those
// rejected before they reached a shard, for their part of the labels table)
// meets in one GroupByKey, so the tables come out of a single stage at the end
// of the run. The shard writers write the other parts of the labels table:
// passing every outcome through one key would hold them all in one worker's
// memory (on Prism, 200,000 images took 300 MB). It returns a StatsResult
// listing the files written.
func WriteStats(s beam.Scope, cfg Config, splitNames []string, outcomes, unsharded, groups beam.PCollection) beam.PCollection {
	s = s.Scope("WriteStats")
	perSplit := beam.CombinePerKey(s, &statsFn{}, beam.ParDo(s, keyBySplitOrStatus, outcomes))
	facts := beam.Flatten(s,
		beam.ParDo(s, splitFact, perSplit),
		beam.ParDo(s, groupFact, groups),
		beam.ParDo(s, outcomeFact, unsharded))
	return beam.ParDo(s, &writeStatsFn{Output: cfg.Output, Splits: splitNames, Params: cfg.IngestParams}, beam.GroupByKey(s, facts))
}

// keyBySplitOrStatus keys written outcomes by split and the others by "", the
// key of the rejects' statistics.
func keyBySplitOrStatus(o Outcome) (string, Outcome) {
	if o.Status == StatusWritten {
		return o.Split, o
	}
	return "", o
}

func splitFact(_ string, a labelstats.Accumulator) (int, StatsFact) {
	return 0, StatsFact{Kind: "split", Split: a}
}
func groupFact(g DupGroup) (int, StatsFact)  { return 0, StatsFact{Kind: "group", Group: g} }
func outcomeFact(o Outcome) (int, StatsFact) { return 0, StatsFact{Kind: "outcome", Outcome: o} }

// statsFn combines outcomes into a labelstats.Accumulator.
type statsFn struct{}

func (statsFn) CreateAccumulator() labelstats.Accumulator { return *labelstats.New() }

func (statsFn) AddInput(a labelstats.Accumulator, o Outcome) labelstats.Accumulator {
	if o.Status == StatusWritten {
		a.AddWritten(o.Split, o.Age, o.Gender, o.Race, o.Grayscale, labelstats.Sample{
			SHA256: o.SHA256, Path: o.Path, File: o.File, Split: o.Split, Age: o.Age, Gender: o.Gender})
	} else {
		a.AddRejected(o.Reason)
	}
	return a
}

func (statsFn) MergeAccumulators(a, b labelstats.Accumulator) labelstats.Accumulator {
	a.Merge(&b)
	return a
}

func (statsFn) ExtractOutput(a labelstats.Accumulator) labelstats.Accumulator { return a }

// writeStatsFn writes the aggregate tables and the report.
type writeStatsFn struct {
	Output string
	Splits []string // in spec order
	Params schemas.IngestParams
}

func (f *writeStatsFn) ProcessElement(ctx context.Context, _ int, iter func(*StatsFact) bool, emit func(StatsResult)) error {
	bySplit := map[string]*labelstats.Accumulator{}
	rejected := labelstats.New()
	var groups []DupGroup
	var unsharded []Outcome
	var fact StatsFact
	for iter(&fact) {
		switch fact.Kind {
		case "split":
			a := fact.Split
			if a.Split == "" {
				rejected.Merge(&a)
			} else {
				bySplit[a.Split] = &a
			}
		case "group":
			groups = append(groups, fact.Group)
		case "outcome":
			unsharded = append(unsharded, fact.Outcome)
		}
	}
	// Every split of the spec has rows, empty ones included.
	var splits []*labelstats.Accumulator
	for _, name := range f.Splits {
		a, ok := bySplit[name]
		if !ok {
			a = labelstats.New()
			a.Split = name
		}
		splits = append(splits, a)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].SHA256 < groups[j].SHA256 })
	var dups []schemas.DuplicateRow
	for _, g := range groups {
		dups = append(dups, schemas.DuplicateRow{SHA256: g.SHA256, Files: g.Files, LabelsAgree: g.LabelsAgree, Action: g.Action})
	}

	var res StatsResult
	labels, err := writeLabels(ctx, f.Output, schemas.UnshardedLabels, unsharded)
	res.Files = append(res.Files, labels)
	if err != nil {
		return err
	}
	write := func(name string, content func(io.Writer) error) error {
		entry, err := outfile.Write(ctx, f.Output, name, content)
		res.Files = append(res.Files, entry)
		return err
	}
	stats := schemas.StatsDir + "/"
	for _, t := range []struct {
		name string
		fn   func(io.Writer) error
	}{
		{schemas.GenderTable, func(w io.Writer) error { return outfile.Parquet(w, labelstats.GenderRows(splits)) }},
		{schemas.AgeHistTable, func(w io.Writer) error { return outfile.Parquet(w, labelstats.AgeHistRows(splits)) }},
		{schemas.RaceTable, func(w io.Writer) error { return outfile.Parquet(w, labelstats.RaceRows(splits)) }},
		{schemas.AgeSummaryTable, func(w io.Writer) error { return outfile.Parquet(w, labelstats.AgeSummaryRows(splits)) }},
		{schemas.DuplicatesTable, func(w io.Writer) error { return outfile.Parquet(w, dups) }},
	} {
		if err := write(stats+t.name, t.fn); err != nil {
			return err
		}
	}
	data := report.Data{Params: f.Params, Splits: splits, Rejected: rejected, Groups: len(groups), Thumbnails: thumbnails(ctx, splits)}
	for _, g := range groups {
		data.DuplicateFiles += len(g.Files)
		if !g.LabelsAgree {
			data.ConflictGroups++
		}
	}
	if err := write(schemas.ReportFile, func(w io.Writer) error { return report.Render(w, &data) }); err != nil {
		return err
	}
	emit(res)
	return nil
}

// writeLabels writes the outcomes as the part name of the labels table,
// ordered by path.
func writeLabels(ctx context.Context, out, name string, outcomes []Outcome) (schemas.FileEntry, error) {
	rows := make([]schemas.LabelRow, len(outcomes))
	for i := range outcomes {
		rows[i] = labelRow(&outcomes[i])
	}
	sortLabelRows(rows)
	entry, err := outfile.Write(ctx, out, schemas.StatsDir+"/"+schemas.LabelsDir+"/"+name, func(w io.Writer) error { return outfile.Parquet(w, rows) })
	entry.Records = len(rows)
	return entry, err
}

// sortLabelRows orders a part of the labels table by path.
func sortLabelRows(rows []schemas.LabelRow) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Path != rows[j].Path {
			return rows[i].Path < rows[j].Path
		}
		return rows[i].Status < rows[j].Status
	})
}

func labelRow(o *Outcome) schemas.LabelRow {
	r := schemas.LabelRow{File: o.File, Path: o.Path, Status: o.Status, IsGrayscale: o.Grayscale}
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	i32 := func(v int) *int32 {
		x := int32(v)
		return &x
	}
	r.SHA256, r.RejectReason = str(o.SHA256), str(o.Reason)
	if o.Labeled {
		r.Age, r.Gender, r.Race = i32(o.Age), i32(o.Gender), i32(o.Race)
	}
	if o.Bytes >= 0 {
		b := o.Bytes
		r.Bytes = &b
	}
	if o.Width > 0 {
		r.Width, r.Height = i32(o.Width), i32(o.Height)
	}
	if o.Status == StatusWritten {
		r.Split, r.Shard = str(o.Split), str(o.Shard)
	}
	return r
}

// thumbnailSize is the side of the report's sample thumbnails.
const thumbnailSize = 96

// thumbnails reads and shrinks the report's samples: the written images with
// the smallest content digests over all splits. An image that can't be read
// any more is skipped: the report is not worth failing the run for.
func thumbnails(ctx context.Context, splits []*labelstats.Accumulator) []report.Thumbnail {
	all := labelstats.New()
	for _, a := range splits {
		all.Merge(a)
	}
	var out []report.Thumbnail
	for _, s := range all.Samples {
		data, err := fsio.ReadFile(ctx, s.Path)
		if err != nil {
			continue
		}
		thumb, err := preprocess.Thumbnail(data, thumbnailSize)
		if err != nil {
			continue
		}
		out = append(out, report.Thumbnail{JPEG: thumb, File: s.File, Split: s.Split, Age: s.Age, Gender: s.Gender})
	}
	return out
}
