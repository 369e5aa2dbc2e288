package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/facepipe/facepipe/internal/beamreg"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/outfile"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/split"
	"github.com/facepipe/facepipe/tfrecord"
	"github.com/facepipe/facepipe/transforms/rejects"
)

// ManifestFact is one fact the manifest records; Kind says which field is set.
type ManifestFact struct {
	Kind    string // "inputs", "shard", "rejects", "group" or "stats"
	Inputs  int
	Shard   ShardResult
	Rejects rejects.Result
	Group   DupGroup
	Stats   StatsResult
}

func init() {
	beam.RegisterType(reflect.TypeOf(ManifestFact{}))
	beamreg.DoFn(&writeManifestFn{})
	register.Function1x2[int, int, ManifestFact](inputsOutcome)
	register.Function1x2[ShardResult, int, ManifestFact](shardOutcome)
	register.Function1x2[rejects.Result, int, ManifestFact](rejectsOutcome)
	register.Function1x2[DupGroup, int, ManifestFact](groupOutcome)
	register.Function1x2[StatsResult, int, ManifestFact](statsOutcome)
	register.Iter1[ManifestFact]()
}

func inputsOutcome(n int) (int, ManifestFact)        { return 0, ManifestFact{Kind: "inputs", Inputs: n} }
func shardOutcome(r ShardResult) (int, ManifestFact) { return 0, ManifestFact{Kind: "shard", Shard: r} }
func rejectsOutcome(r rejects.Result) (int, ManifestFact) {
	return 0, ManifestFact{Kind: "rejects", Rejects: r}
}
func groupOutcome(g DupGroup) (int, ManifestFact)    { return 0, ManifestFact{Kind: "group", Group: g} }
func statsOutcome(r StatsResult) (int, ManifestFact) { return 0, ManifestFact{Kind: "stats", Stats: r} }

// WriteManifest writes manifest.json once every shard and the rejects table
// are written: it gathers their results under one key with a GroupByKey, which
// fires only when all of them are in. It fills in empty shard files for shard
// indices that received no records, and checks that the counts reconcile.
// stats may be an invalid PCollection when no statistics were written. It
// returns the manifest's path.
func WriteManifest(s beam.Scope, cfg Config, spec split.Spec, inputs, shards, rejects, groups, stats beam.PCollection) beam.PCollection {
	s = s.Scope("WriteManifest")
	parts := []beam.PCollection{
		beam.ParDo(s, inputsOutcome, inputs),
		beam.ParDo(s, shardOutcome, shards),
		beam.ParDo(s, rejectsOutcome, rejects),
		beam.ParDo(s, groupOutcome, groups),
	}
	if stats.IsValid() {
		parts = append(parts, beam.ParDo(s, statsOutcome, stats))
	}
	facts := beam.Flatten(s, parts...)
	return beam.ParDo(s, &writeManifestFn{Params: cfg.IngestParams, Splits: spec.Names()}, beam.GroupByKey(s, facts))
}

type writeManifestFn struct {
	Params schemas.IngestParams
	Splits []string
}

func (f *writeManifestFn) ProcessElement(ctx context.Context, _ int, facts func(*ManifestFact) bool, emit func(string)) error {
	m := schemas.Manifest{
		FormatVersion: schemas.ManifestVersion,
		Tool:          "facepipe ingest",
		ToolVersion:   fmt.Sprintf("%s (%s, apache beam go sdk v2.77.0)", schemas.Version, runtime.Version()),
		Parameters:    f.Params,
		FeatureSpec:   schemas.Features(f.Params.Encoding, f.Params.ImageSize),
	}
	bySplit := map[string][]ShardResult{}
	var groups []DupGroup
	var rejects []rejects.Result
	var statsFiles []schemas.FileEntry
	inputs := 0
	var o ManifestFact
	for facts(&o) {
		switch o.Kind {
		case "inputs":
			inputs += o.Inputs
		case "shard":
			bySplit[o.Shard.Split] = append(bySplit[o.Shard.Split], o.Shard)
			if o.Shard.Labels.File != "" {
				statsFiles = append(statsFiles, o.Shard.Labels)
			}
		case "rejects":
			rejects = append(rejects, o.Rejects)
		case "group":
			groups = append(groups, o.Group)
		case "stats":
			statsFiles = append(statsFiles, o.Stats.Files...)
		}
	}
	if len(rejects) != 1 {
		return fmt.Errorf("want one rejects table, got %d", len(rejects))
	}
	for _, name := range f.Splits {
		shards, err := f.complete(ctx, name, bySplit[name])
		if err != nil {
			return err
		}
		sm := schemas.SplitManifest{Name: name, Shards: []schemas.FileEntry{}}
		for _, s := range shards {
			sm.Records += s.Records
			sm.Bytes += s.Bytes
			sm.Shards = append(sm.Shards, schemas.FileEntry{File: s.File, Records: s.Records, Bytes: s.Bytes, SHA256: s.SHA256})
		}
		m.Splits = append(m.Splits, sm)
		m.Counts.Written += sm.Records
	}
	m.Rejects = rejects[0].Entry
	m.Counts.RejectsByReason = rejects[0].ByReason
	m.Counts.Rejected = rejects[0].Entry.Records
	if m.Counts.RejectsByReason == nil {
		m.Counts.RejectsByReason = []schemas.ReasonCount{}
	}
	for _, g := range groups {
		m.Counts.DuplicateGroups++
		m.Counts.DuplicateFiles += len(g.Files)
	}
	sort.Slice(statsFiles, func(i, j int) bool { return statsFiles[i].File < statsFiles[j].File })
	m.Stats = statsFiles
	m.Counts.Inputs = inputs
	if m.Counts.Written+m.Counts.Rejected != inputs {
		return fmt.Errorf("counts don't reconcile: %d inputs, %d written + %d rejected", inputs, m.Counts.Written, m.Counts.Rejected)
	}
	data, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return err
	}
	p := fsio.Join(f.Params.Output, schemas.ManifestFile)
	if err := fsio.WriteFile(ctx, p, append(data, '\n')); err != nil {
		return err
	}
	emit(p)
	return nil
}

// complete sorts a split's shards and writes an empty shard file for every
// index that received no records, so the split's files are numbered 0..N-1.
func (f *writeManifestFn) complete(ctx context.Context, name string, shards []ShardResult) ([]ShardResult, error) {
	if len(shards) == 0 {
		return nil, nil
	}
	of := shards[0].Of
	have := map[int]bool{}
	for _, s := range shards {
		have[s.Index] = true
	}
	for i := 0; i < of; i++ {
		if have[i] {
			continue
		}
		rel := ShardFile(ShardName(name, i, of), f.Params.Compression)
		res := ShardResult{Split: name, Index: i, Of: of, File: rel}
		err := fsio.WriteAtomic(ctx, fsio.Join(f.Params.Output, rel), func(w io.Writer) error {
			h := outfile.NewHashCounter(w)
			tw := tfrecord.NewWriter(h, tfrecord.CompressionFromPath(rel))
			if err := tw.Close(); err != nil {
				return err
			}
			res.Bytes, res.SHA256 = h.Bytes(), h.Sum()
			return nil
		})
		if err != nil {
			return nil, err
		}
		shards = append(shards, res)
	}
	sort.Slice(shards, func(i, j int) bool { return shards[i].Index < shards[j].Index })
	return shards, nil
}

// PrepareOutput readies an output folder for an ingest run: it removes
// the previous run's manifest, so that a manifest only ever describes a
// finished run, the temporary files a killed run left, and the previous
// run's shards and labels parts, which this run writes again (other files
// stay). It returns how many temporary files it removed.
func PrepareOutput(ctx context.Context, out string) (int, error) {
	manifest := fsio.Join(out, schemas.ManifestFile)
	if fsio.Exists(ctx, manifest) {
		if err := fsio.Remove(ctx, manifest); err != nil {
			return 0, fmt.Errorf("removing the previous manifest: %w", err)
		}
	}
	removed := 0
	labels := fsio.Join(out, schemas.StatsDir, schemas.LabelsDir)
	for _, dir := range []string{out, fsio.Join(out, TFRecordDir), fsio.Join(out, schemas.StatsDir), labels} {
		n, err := fsio.RemoveTemps(ctx, dir)
		removed += n
		if err != nil {
			return removed, err
		}
	}
	// The shards and the labels parts (named after the shards) of a previous
	// run: with other shard counts, a glob such as tfrecords/train-* would
	// mix two runs.
	for _, pattern := range []string{fsio.Join(out, TFRecordDir, "*.tfrecord*"), fsio.Join(labels, "*.parquet")} {
		files, err := fsio.List(ctx, pattern)
		if err != nil {
			return removed, err
		}
		for _, p := range files {
			stem, _, _ := strings.Cut(fsio.Base(p), ".")
			if _, _, _, err := ParseShardName(stem); err != nil && fsio.Base(p) != schemas.UnshardedLabels {
				continue // not ours
			}
			if err := fsio.Remove(ctx, p); err != nil {
				return removed, fmt.Errorf("removing %s of the previous run: %w", p, err)
			}
		}
	}
	return removed, nil
}
