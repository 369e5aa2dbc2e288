package outlock

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/facepipe/facepipe/internal/cli"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/interrupt"
)

// ForRun takes the lock on a pipeline binary's output folder, given by the
// option flag, for a run of tool, and returns its release, to defer. A job
// that is only printed or saved (Dataflow's --dry_run, --template_location)
// writes nothing and takes no lock. On Dataflow the lock stays on SIGINT or
// SIGTERM, since the job goes on without its launcher.
//
// Once the lock is taken, the temporary files that a killed run left under a
// local output folder are removed, with a note on stderr (score left them
// for good: its rerun after kill -9 kept metrics.json.tmp-… beside the new
// metrics.json). On SIGINT or SIGTERM of a local run, the temporary files under a local
// output folder are removed before the lock is released, and (but for
// train, which prints the exact command that resumes it) one line on stderr
// says that the output is incomplete and that the same command redoes it.
func ForRun(ctx context.Context, flag, dir, tool string) (release func(), err error) {
	if cli.NotSubmitted() {
		return func() {}, nil
	}
	if !isGCS(dir) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("--%s=%s: %w", flag, dir, err)
		}
	}
	keep := cli.Runner() == "dataflow"
	l, err := Acquire(ctx, flag, dir, tool, Options{KeepOnSignal: keep})
	if err != nil {
		return nil, err
	}
	unregister := func() {}
	if !isGCS(dir) {
		leftovers(os.Stderr, dir, tool)
	}
	if !keep && !isGCS(dir) {
		// Registered after the lock's release, so it runs before it.
		unregister = interrupt.OnSignal(func(sig os.Signal) { interrupted(os.Stderr, flag, dir, tool, sig) })
	}
	return func() {
		unregister()
		if err := l.Release(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(os.Stderr, "%s: WARNING: %v\n", tool, err)
		}
	}, nil
}

// leftovers removes the temporary files a killed run left under the local
// output folder dir, which this run holds the lock of, with a note.
func leftovers(w io.Writer, dir, tool string) {
	if n := RemoveTempsUnder(dir); n > 0 {
		fmt.Fprintf(w, "%s: removed %d temporary files left in %s by an interrupted run\n", tool, n, dir)
	}
}

// stopTemps is fsio.StopTemps; tests that run the interrupt handlers in
// their own process leave temporary files allowed.
var stopTemps = fsio.StopTemps

// interrupted removes the temporary files under the local output folder dir
// of a run that sig ends, and says how to continue on one line.
func interrupted(w io.Writer, flag, dir, tool string, sig os.Signal) {
	stopTemps() // no writer still running creates one after the clean-up; the process then exits
	n := RemoveTempsUnder(dir)
	if tool == "train" {
		return
	}
	name := sig.String()
	switch sig {
	case os.Interrupt:
		name = "SIGINT"
	case syscall.SIGTERM:
		name = "SIGTERM"
	}
	fmt.Fprintf(w, "%s: interrupted by %s (%d temporary files removed): --%s=%s is incomplete; run the same command again to write it whole\n",
		tool, name, n, flag, dir)
}

// RemoveTempsUnder removes the files being written (their names hold
// fsio.TempMarker) anywhere under the local folder dir, and returns how many
// it removed.
func RemoveTempsUnder(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), fsio.TempMarker) && os.Remove(p) == nil {
			n++
		}
		return nil
	})
	return n
}

func isGCS(p string) bool { return len(p) >= 5 && p[:5] == "gs://" }
