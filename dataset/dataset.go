// Package dataset streams an ingest output's shards into fixed-shape training
// batches: it verifies every record's CRCs, decodes records on a pool of
// goroutines, resizes them to the model's input size by area averaging,
// optionally augments them, shuffles them through a bounded buffer, batches
// and prefetches. It never holds the dataset in memory, and with a seed the
// batches are the same on every run, whatever the goroutine scheduling.
package dataset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/schemas"
)

// Source is an ingest output folder: its manifest and shards.
type Source struct {
	Dir            string
	Manifest       *schemas.Manifest
	ManifestSHA256 string // digest of manifest.json, to tie models to their data
}

// Open reads the manifest of an ingest output folder, local or gs://.
func Open(ctx context.Context, dir string) (*Source, error) {
	dir = fsio.ExpandHome(dir)
	p := fsio.Join(dir, schemas.ManifestFile)
	data, err := fsio.ReadFile(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: no manifest (is this an ingest output that finished?): %w", dir, err)
	}
	m, err := schemas.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", p, err)
	}
	switch m.Parameters.Encoding {
	case schemas.EncodingFloat32, schemas.EncodingUint8, schemas.EncodingJPEG:
	default:
		return nil, fmt.Errorf("dataset: %s: unknown encoding %q", p, m.Parameters.Encoding)
	}
	d := sha256.Sum256(data)
	return &Source{Dir: dir, Manifest: m, ManifestSHA256: hex.EncodeToString(d[:])}, nil
}

// Records is the number of records of a split, or of splits joined by "+"
// ("train+valid").
func (s *Source) Records(split string) int {
	n := 0
	for _, name := range strings.Split(split, "+") {
		if sp := s.Manifest.Split(name); sp != nil {
			n += sp.Records
		}
	}
	return n
}

// shards lists the paths of a split's shard files, or those of splits joined
// by "+", in that order.
func (s *Source) shards(split string) ([]string, error) {
	var paths []string
	for _, name := range strings.Split(split, "+") {
		sp := s.Manifest.Split(name)
		if sp == nil {
			return nil, fmt.Errorf("dataset: %s has no split %q", s.Dir, name)
		}
		for _, sh := range sp.Shards {
			paths = append(paths, fsio.Join(s.Dir, sh.File))
		}
	}
	return paths, nil
}

// StoredSize is the height and width of the stored images (their source size
// varies for the jpeg encoding, which is preprocessed to this size on read).
func (s *Source) StoredSize() int { return s.Manifest.Parameters.ImageSize }

// MedianAge reads a split's median age from the ingest statistics
// (stats/age_summary.parquet).
func (s *Source) MedianAge(ctx context.Context, split string) (float64, error) {
	data, err := fsio.ReadFile(ctx, fsio.Join(s.Dir, schemas.StatsDir, schemas.AgeSummaryTable))
	if err != nil {
		return 0, err
	}
	rows, err := parquet.Read[schemas.AgeSummaryRow](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if r.Split == split && r.Gender == "all" && r.Count > 0 {
			return r.Median, nil
		}
	}
	return 0, fmt.Errorf("dataset: no age summary for split %s", split)
}
