package beamrun

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

func init() { register.Function2x0(countLetters) }

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
