// Package beamrun runs the Beam pipelines of the ingest and score binaries.
package beamrun

import (
	"context"
	"os"
	"path/filepath"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

// loopbackPlaceholder matches the file that Beam's universal runner creates
// in the temporary folder on every run in loopback mode, the local runner's
// default, to stand for a worker binary it never builds, and never removes
// (apache/beam#27569).
const loopbackPlaceholder = "beamloopbackworker-*"

// Run runs p as beamx.RunWithMetrics does (the runner named by --runner),
// then removes the empty loopback placeholder files that appeared in the
// temporary folder during the run, which would otherwise pile up there, one
// per run.
func Run(ctx context.Context, p *beam.Pipeline) error {
	pattern := filepath.Join(os.TempDir(), loopbackPlaceholder)
	before, _ := filepath.Glob(pattern)
	_, err := beamx.RunWithMetrics(ctx, p)
	after, _ := filepath.Glob(pattern)
	seen := make(map[string]bool, len(before))
	for _, f := range before {
		seen[f] = true
	}
	for _, f := range after {
		if fi, statErr := os.Lstat(f); !seen[f] && statErr == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			os.Remove(f) // best effort: the file is unused
		}
	}
	return err
}
