// Package ingesttest runs the ingest pipeline on generated fixtures, for the
// tests of ingest and of the stages that read its output.
package ingesttest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/transforms/ingest"
	"github.com/facepipe/facepipe/transforms/rejects"
)

// Config is an ingest of in into out with the binary's default flags.
func Config(in, out string) ingest.Config {
	return ingest.Config{IngestParams: schemas.IngestParams{
		Input: in, Output: out, ImageSize: 224, Encoding: schemas.EncodingFloat32, Compression: "none",
		Split: "train=0.8,valid=0.1,test=0.1", Seed: 42, ShardMB: 256, MaxPixels: preprocess.DefaultMaxPixels,
	}}
}

// Generate writes fixtures into a new temporary folder.
func Generate(t testing.TB, o fixtures.Options) (string, []fixtures.File) {
	t.Helper()
	dir := t.TempDir()
	files, err := fixtures.Generate(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return dir, files
}

// Run runs the ingest graph of cfg on a runner and returns the manifest it
// wrote (local or gs://).
func Run(t testing.TB, runner string, cfg ingest.Config) *schemas.Manifest {
	t.Helper()
	spec, err := cfg.Validate()
	if err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	ingest.Ingest(s, cfg, spec)
	if _, err := beam.Run(context.Background(), runner, p); err != nil {
		t.Fatalf("%s run: %v", runner, err)
	}
	data, err := fsio.ReadFile(context.Background(), fsio.Join(cfg.Output, schemas.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := schemas.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ReadRejects reads the rejects table of an ingest or score output.
func ReadRejects(t testing.TB, out string) []schemas.Reject {
	t.Helper()
	rows, err := parquet.ReadFile[schemas.Reject](filepath.Join(out, rejects.File))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
