package beamrun

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

func init() {
	register.Function2x0(countLetters)
	register.Function2x1(failOnB)
}

// failOnB fails on the element "b", the way a step of ours fails on a file
// it can't write.
func failOnB(s string, emit func(int)) error {
	if s == "b" {
		return errors.New("writing /out/b.parquet: disk full\nsecond line of the cause")
	}
	emit(len(s))
	return nil
}

func TestMain(m *testing.M) {
	beamlog.LogLevel = "warn"
	beam.Init()
	os.Exit(m.Run())
}

// countLetters is a small DoFn, so that the pipeline runs on a worker.
func countLetters(s string, emit func(int)) { emit(len(s)) }

func pipeline() *beam.Pipeline {
	p, s := beam.NewPipelineWithRoot()
	beam.ParDo(s, countLetters, beam.Create(s, "a", "bc"))
	return p
}

// TestRunRemovesTheLoopbackPlaceholder checks that a run on the local runner
// leaves no placeholder in the temporary folder, where a plain
// beamx.RunWithMetrics leaves one, and that files already there stay.
func TestRunRemovesTheLoopbackPlaceholder(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	placeholders := func() []string {
		m, err := filepath.Glob(filepath.Join(dir, loopbackPlaceholder))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if _, err := beamx.RunWithMetrics(context.Background(), pipeline()); err != nil {
		t.Fatal(err)
	}
	left := placeholders()
	if len(left) != 1 {
		t.Fatalf("a plain run left %v in the temporary folder, want one placeholder", left)
	}
	if err := Run(context.Background(), pipeline()); err != nil {
		t.Fatal(err)
	}
	if got := placeholders(); len(got) != 1 || got[0] != left[0] {
		t.Errorf("after Run the temporary folder holds %v, want only the earlier %v", got, left)
	}
	if _, err := os.Stat(left[0]); err != nil {
		t.Error(err)
	}
}

// TestRunCondensesFailures: a step's error comes back as the root cause,
// naming the step, without the runner's plan dump; the runner's error
// records stay off stderr.
func TestRunCondensesFailures(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	beam.ParDo(s, failOnB, beam.Create(s, "a", "b"))
	var logged bytes.Buffer
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	defer beam.Init() // Beam's logging again
	err := Run(context.Background(), p)
	var run *Error
	if !errors.As(err, &run) {
		t.Fatalf("Run = %v (%T), want an *Error", err, err)
	}
	if want := "writing /out/b.parquet: disk full\nsecond line of the cause"; run.Cause != want {
		t.Errorf("cause %q, want %q", run.Cause, want)
	}
	if !strings.HasSuffix(run.Step, "beamrun.failOnB") {
		t.Errorf("step %q, want it to name beamrun.failOnB", run.Step)
	}
	if !strings.Contains(run.Full(), "caused by") || len(run.Full()) < 3*len(run.Cause) {
		t.Errorf("the full error should keep the runner's message: %q", run.Full())
	}
	if strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("the runner's error records reached the log:\n%s", logged.String())
	}
}

func TestCondense(t *testing.T) {
	for _, tc := range []struct{ msg, step, cause string }{
		{"job failed:\nbundle failed: plan...\n\tcaused by:\nsource failed\n\tcaused by:\n" +
			"DoFn[UID:8, PID:e16, Name: github.com/facepipe/facepipe/transforms/ingest.writeShardFn] failed:\n" +
			"writing shard tfrecords/x: mkdir /o: not a directory\"",
			"transforms/ingest.writeShardFn", "writing shard tfrecords/x: mkdir /o: not a directory"},
		{"job failed:\n\tcaused by:\nrpc error: connection refused", "", "rpc error: connection refused"},
		{"could not find default credentials", "", "could not find default credentials"},
		{"first line\n\nlast line\n", "", "last line"},
	} {
		var e *Error
		if !errors.As(Condense(errors.New(tc.msg)), &e) {
			t.Fatalf("Condense(%q) is no *Error", tc.msg)
		}
		if e.Step != tc.step || e.Cause != tc.cause {
			t.Errorf("Condense(%q) = step %q cause %q, want %q %q", tc.msg, e.Step, e.Cause, tc.step, tc.cause)
		}
	}
}
