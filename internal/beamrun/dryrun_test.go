package beamrun

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/facepipe/facepipe/internal/fakegcs"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
)

// dataflowDryRun sets the flags of a Dataflow dry run for the test.
func dataflowDryRun(t *testing.T, workerBinary string) {
	t.Helper()
	for name, value := range map[string]string{
		"runner": "dataflow", "dry_run": "true", "project": "facepipe-test", "region": "us-central1",
		"staging_location": "gs://facepipe-test/staging", "worker_binary": workerBinary, "max_num_workers": "4",
		// What an earlier run on the local runner left (loopback).
		"environment_type": "", "environment_config": "",
	} {
		old := flag.Lookup(name).Value.String()
		if err := flag.Set(name, value); err != nil {
			t.Fatalf("--%s: %v", name, err)
		}
		t.Cleanup(func() { flag.Set(name, old) })
	}
	// No Google credentials: a dry run needs none.
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	DryRunDir = t.TempDir()
}

// stagedPipeline is a pipeline of two named stages.
func stagedPipeline() *beam.Pipeline {
	p, s := beam.NewPipelineWithRoot()
	read := s.Scope("Read")
	words := beam.Create(read.Scope("Words"), "a", "bc")
	count := s.Scope("Count")
	beam.ParDo(count.Scope("Letters"), countLetters, words)
	return p
}

// TestDryRunSummary runs a Dataflow dry run against a fake Cloud Storage
// holding the input: a summary of a few short lines names the stages, the
// worker binary and its size, the staging path and the number of input
// files, and the job and the pipeline are written in full to files it
// names, instead of Beam's two lines of 6 and 59 KB.
func TestDryRunSummary(t *testing.T) {
	worker := filepath.Join(t.TempDir(), "ingest")
	if err := os.WriteFile(worker, make([]byte, 2_500_000), 0o755); err != nil {
		t.Fatal(err)
	}
	dataflowDryRun(t, worker)
	if !IsDryRun() {
		t.Fatal("IsDryRun is false with --runner=dataflow --dry_run")
	}
	in := t.TempDir()
	files, err := fixtures.Generate(in, fixtures.Options{Good: 7, Size: 16, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	fakegcs.Start(t, "facepipe-test", "in", files)

	var w bytes.Buffer
	err = DryRun(context.Background(), stagedPipeline(), "ingest", []Path{
		{Flag: "input", Value: "gs://facepipe-test/in", Input: true}, {Flag: "output", Value: "gs://facepipe-test/out"},
	}, &w)
	if err != nil {
		t.Fatal(err)
	}
	out := w.String()
	t.Logf("summary:\n%s", out)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > 12 {
		t.Errorf("%d lines, want a short summary", len(lines))
	}
	for _, l := range lines {
		if len(l) > 300 {
			t.Errorf("a line of %d characters: %.200s…", len(l), l)
		}
	}
	want := []string{
		"ingest: dry run: the Dataflow job was built, not submitted",
		"in project facepipe-test, region us-central1 (1 worker at the start, up to 4)",
		"stages    Read: Words", "Count: Letters",
		fmt.Sprintf("worker    %s (2.5 MB), uploaded as gs://facepipe-test/staging/go-", worker),
		"staging   gs://facepipe-test/staging/go-",
		fmt.Sprintf("--input   gs://facepipe-test/in: %d files", len(files)),
		"--output  gs://facepipe-test/out",
	}
	for _, s := range want {
		if !strings.Contains(out, s) {
			t.Errorf("the summary does not hold %q", s)
		}
	}
	if strings.Contains(out, "warning") {
		t.Errorf("warnings with a reachable input:\n%s", out)
	}
	// The files it names hold the job and the pipeline.
	m := regexp.MustCompile(`full job  (\S+) \([0-9.]+ KB\); the pipeline: (\S+) \(`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the summary names no job file")
	}
	var job struct {
		ProjectID   string `json:"projectId"`
		Environment struct {
			WorkerPools []struct {
				Packages []struct{ Location string }
			}
		}
	}
	var pipeline struct {
		Components struct {
			Transforms map[string]struct{ UniqueName string }
		}
	}
	for file, v := range map[string]any{m[1]: &job, m[2]: &pipeline} {
		if filepath.Dir(file) != DryRunDir {
			t.Errorf("%s: not in %s", file, DryRunDir)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
	if job.ProjectID != "facepipe-test" || len(job.Environment.WorkerPools) != 1 ||
		!strings.HasSuffix(job.Environment.WorkerPools[0].Packages[0].Location, "/worker") {
		t.Errorf("job file: %+v", job)
	}
	names := map[string]bool{}
	for _, tr := range pipeline.Components.Transforms {
		names[tr.UniqueName] = true
	}
	if !names["Read/Words"] || !names["Count/Letters"] {
		t.Errorf("pipeline file: transforms %v, want Read/Words and Count/Letters", names)
	}
}

// TestDryRunOffline is a dry run where Cloud Storage can't be reached (a
// closed port stands for a machine without network): it succeeds, the
// input that can't be listed is a warning, and no worker binary is named.
func TestDryRunOffline(t *testing.T) {
	dataflowDryRun(t, "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	t.Setenv("STORAGE_EMULATOR_HOST", closed)
	listTimeout = 2 * time.Second // the client retries a refused connection until then
	t.Cleanup(func() { listTimeout = 20 * time.Second })
	fsio.Reset()
	t.Cleanup(fsio.Reset)

	var w bytes.Buffer
	err = DryRun(context.Background(), stagedPipeline(), "score", []Path{
		{Flag: "input", Value: "gs://facepipe-test/new/**.jpg", Input: true}, {Flag: "output", Value: "gs://facepipe-test/scored"},
	}, &w)
	out := w.String()
	t.Logf("summary:\n%s", out)
	if err != nil {
		t.Fatalf("an offline dry run failed: %v", err)
	}
	for _, s := range []string{
		"score: dry run: the Dataflow job was built, not submitted",
		"worker    none given",
		"--input   gs://facepipe-test/new/**.jpg (can't be listed here",
		"score: warning: --input=gs://facepipe-test/new/**.jpg can't be listed from this machine",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("the summary does not hold %q", s)
		}
	}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if len(l) > 300 {
			t.Errorf("a line of %d characters: %.200s…", len(l), l)
		}
	}
}
