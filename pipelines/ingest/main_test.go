package main

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/facepipe/facepipe/internal/cli"
	"github.com/facepipe/facepipe/internal/fixtures"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(m.Run())
}

// TestDataflowWithoutCredentials submits to Dataflow with a prebuilt worker
// binary on a machine without Google credentials: it must fail within
// seconds, naming the cause and how to fix it. (On a Google Cloud machine,
// whose metadata server gives credentials, the submission would go ahead, so
// the test skips there.)
func TestDataflowWithoutCredentials(t *testing.T) {
	if os.Getenv("GCE_METADATA_HOST") != "" {
		t.Skip("a metadata server gives credentials here")
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	t.Setenv("HOME", t.TempDir()) // no ~/.config/gcloud/application_default_credentials.json
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	for name, value := range map[string]string{
		"runner": "dataflow", "project": "facepipe-test", "region": "us-central1",
		"staging_location": "gs://facepipe-test/staging", "worker_binary": os.Args[0],
	} {
		if err := flag.Set(name, value); err != nil {
			t.Fatalf("--%s: %v", name, err)
		}
	}
	defer flag.Set("runner", "prism")
	*input, *output = "gs://facepipe-test/in", "gs://facepipe-test/out"

	start := time.Now()
	err := run(context.Background())
	took := time.Since(start)
	if err == nil {
		t.Fatal("a Dataflow submission without credentials succeeded")
	}
	if !strings.Contains(err.Error(), "credentials") || cli.Hint(err) == "" {
		t.Errorf("error %q: want it to name the missing credentials, with a hint", err)
	}
	if took > 5*time.Second {
		t.Errorf("failing took %v, want well under 5 s", took)
	}
	t.Logf("failed in %v: %v", took, err)
}

// TestDataflowNeedsCloudPaths rejects local paths on Dataflow before
// anything starts: the workers can't see this machine's disk.
func TestDataflowNeedsCloudPaths(t *testing.T) {
	if err := flag.Set("runner", "dataflow"); err != nil {
		t.Fatal(err)
	}
	defer flag.Set("runner", "prism")
	dir := t.TempDir()
	if _, err := fixtures.Generate(dir, fixtures.Options{Good: 1, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	*input, *output = dir, "gs://facepipe-test/out"
	err := run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--input="+dir+": Dataflow workers can't") {
		t.Errorf("run with a local --input on Dataflow: %v", err)
	}
}
