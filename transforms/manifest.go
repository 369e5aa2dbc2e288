package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/transforms/split"
	"github.com/facepipe/facepipe/transforms/tfrecord"
)

func init() {
	register.DoFn7x1[context.Context, []byte, int, func(*ShardResult) bool, func(*RejectsResult) bool, func(*DupGroup) bool, func(string), error](&writeManifestFn{})
	register.Iter1[ShardResult]()
	register.Iter1[RejectsResult]()
	register.Iter1[DupGroup]()
}

// WriteManifest writes manifest.json once every shard and the rejects table
// are written: it takes them as side inputs, so it runs last. It fills in
// empty shard files for shard indices that received no records, and checks
// that the counts reconcile.
func WriteManifest(s beam.Scope, cfg IngestConfig, spec split.Spec, inputs, shards, rejects, groups beam.PCollection) beam.PCollection {
	s = s.Scope("WriteManifest")
	return beam.ParDo(s, &writeManifestFn{Params: cfg.IngestParams, Splits: spec.Names()}, beam.Impulse(s),
		beam.SideInput{Input: inputs}, beam.SideInput{Input: shards}, beam.SideInput{Input: rejects}, beam.SideInput{Input: groups})
}

type writeManifestFn struct {
	Params schemas.IngestParams
	Splits []string
}

func (f *writeManifestFn) ProcessElement(ctx context.Context, _ []byte, inputs int, shardIter func(*ShardResult) bool,
	rejectsIter func(*RejectsResult) bool, groupIter func(*DupGroup) bool, emit func(string)) error {
	m := schemas.Manifest{
		FormatVersion: schemas.ManifestVersion,
		Tool:          "facepipe ingest",
		ToolVersion:   fmt.Sprintf("%s (%s, apache beam go sdk v2.77.0)", Version, runtime.Version()),
		Parameters:    f.Params,
		FeatureSpec:   schemas.Features(f.Params.Encoding, f.Params.ImageSize),
	}
	bySplit := map[string][]ShardResult{}
	var sr ShardResult
	for shardIter(&sr) {
		bySplit[sr.Split] = append(bySplit[sr.Split], sr)
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
	var rr RejectsResult
	for rejectsIter(&rr) {
		m.Rejects = rr.Entry
		m.Counts.RejectsByReason = rr.ByReason
		m.Counts.Rejected = rr.Entry.Records
	}
	if m.Counts.RejectsByReason == nil {
		m.Counts.RejectsByReason = []schemas.ReasonCount{}
	}
	var g DupGroup
	for groupIter(&g) {
		m.Counts.DuplicateGroups++
		m.Counts.DuplicateFiles += len(g.Files)
	}
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
			h := newHashCounter(w)
			tw := tfrecord.NewWriter(h, tfrecord.CompressionFromPath(rel))
			if err := tw.Close(); err != nil {
				return err
			}
			res.Bytes, res.SHA256 = h.n, h.sum()
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
