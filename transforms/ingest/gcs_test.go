package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/internal/fakegcs"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/schemas"
)

// TestIngestGCS runs ingest from gs:// to gs:// against a fake Cloud Storage
// server and checks the output through the same filesystem layer.
func TestIngestGCS(t *testing.T) {
	_, files := ingesttest.Generate(t, fixtures.Options{Good: 12, Bad: true, Duplicates: true, Seed: 6})
	fakegcs.Start(t, "faces", "in", files)
	cfg := ingesttest.Config("gs://faces/in", "gs://faces/out")
	cfg.NumShards = 2
	ingesttest.Run(t, "prism", cfg)

	// Copy the output down and check it like a local one.
	ctx := context.Background()
	listed, err := fsio.List(ctx, "gs://faces/out")
	if err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	for _, p := range listed {
		if strings.Contains(p, fsio.TempMarker) {
			t.Errorf("temporary object left: %s", p)
		}
		b, err := fsio.ReadFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(local, strings.TrimPrefix(p, "gs://faces/out/"))
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(local, schemas.ManifestFile))
	if err != nil {
		t.Fatalf("no manifest in gs://faces/out (listed %v): %v", listed, err)
	}
	m, err := schemas.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, local, m, files, "gs://faces/in")
}
