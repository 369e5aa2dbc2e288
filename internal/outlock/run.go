package outlock

import (
	"context"
	"fmt"
	"os"

	"github.com/facepipe/facepipe/internal/cli"
)

// ForRun takes the lock on a pipeline binary's output folder, given by the
// option flag, for a run of tool, and returns its release, to defer. A job
// that is only printed or saved (Dataflow's --dry_run, --template_location)
// writes nothing and takes no lock. On Dataflow the lock stays on SIGINT or
// SIGTERM, since the job goes on without its launcher.
func ForRun(ctx context.Context, flag, dir, tool string) (release func(), err error) {
	if cli.NotSubmitted() {
		return func() {}, nil
	}
	if !isGCS(dir) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("--%s=%s: %w", flag, dir, err)
		}
	}
	l, err := Acquire(ctx, flag, dir, tool, Options{KeepOnSignal: cli.Runner() == "dataflow"})
	if err != nil {
		return nil, err
	}
	return func() {
		if err := l.Release(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(os.Stderr, "%s: WARNING: %v\n", tool, err)
		}
	}, nil
}

func isGCS(p string) bool { return len(p) >= 5 && p[:5] == "gs://" }
