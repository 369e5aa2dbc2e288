package outofprocess_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMistypedFlag runs the built binaries, as a user does, with a mistyped
// or unknown flag: each must exit with status 2 on at most three lines (the
// error, the closest flag names, where the help is), not the whole -help
// (161 lines for ingest before). -help still prints it all.
func TestMistypedFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the pipeline binaries: skipped with -short")
	}
	bins := build(t, filepath.Join(t.TempDir(), "bin"), "./pipelines/ingest", "./pipelines/score", "./pipelines/train")
	run := func(bin string, args ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bins[bin], args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("%s %v: %v", bin, args, err)
		}
		return strings.TrimRight(out.String(), "\n"), cmd.ProcessState.ExitCode()
	}
	for _, tc := range []struct {
		bin     string
		arg     string
		suggest string // the second line
	}{
		{"ingest", "--ouput=x", "ingest: did you mean --output?"},
		{"ingest", "--stagin_location=gs://b/s", "ingest: did you mean --staging_location?"}, // one of Beam's flags
		{"score", "--contactsheet=8", "score: did you mean --contact_sheet?"},
		{"score", "--modle=m", "score: did you mean --model?"},
		{"train", "--epoch=3", "train: did you mean --epochs?"},
		{"train", "--zzzzzz", ""},
	} {
		first := "--input=in" // a good flag first
		if tc.bin == "train" {
			first = "--data=in"
		}
		out, code := run(tc.bin, first, tc.arg)
		lines := strings.Split(out, "\n")
		name := strings.TrimLeft(strings.SplitN(tc.arg, "=", 2)[0], "-")
		want := []string{tc.bin + ": unknown flag --" + name}
		if tc.suggest != "" {
			want = append(want, tc.suggest)
		}
		want = append(want, tc.bin+": run with --help for more")
		if code != 2 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s %s: exit %d, %d lines:\n%s\nwant exit 2 and:\n%s", tc.bin, tc.arg, code, len(lines), out, strings.Join(want, "\n"))
		}
	}
	out, code := run("ingest", "--help")
	if n := strings.Count(out, "\n"); code != 0 || n < 100 || !strings.Contains(out, "-staging_location") {
		t.Errorf("ingest --help: exit %d, %d lines, want 0 and the whole help with Beam's flags", code, n)
	}
}
