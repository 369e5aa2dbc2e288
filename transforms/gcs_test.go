package transforms_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/schemas"
)

// startGCS serves an in-process fake Cloud Storage on 127.0.0.1 holding the
// given local files under gs://bucket/prefix/, and points the storage client
// at it.
func startGCS(t *testing.T, bucket, prefix string, files []fixtures.File) {
	t.Helper()
	var objects []fakestorage.Object
	for _, f := range files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		objects = append(objects, fakestorage.Object{
			ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: prefix + "/" + f.Name},
			Content:     b,
		})
	}
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", PublicHost: "127.0.0.1", InitialObjects: objects,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
	fsio.Reset()
}

// TestIngestGCS runs ingest from gs:// to gs:// against a fake Cloud Storage
// server and checks the output through the same filesystem layer.
func TestIngestGCS(t *testing.T) {
	_, files := generate(t, fixtures.Options{Good: 12, Bad: true, Duplicates: true, Seed: 6})
	startGCS(t, "faces", "in", files)
	cfg := config("gs://faces/in", "gs://faces/out")
	cfg.NumShards = 2
	spec, err := cfg.Validate()
	if err != nil {
		t.Fatal(err)
	}
	runPipeline(t, "prism", cfg, spec)

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
