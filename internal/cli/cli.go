// Package cli holds what the pipelines' main functions share: how they
// report a failure.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"

	"cloud.google.com/go/storage"
	"golang.org/x/oauth2/google"

	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/profile"
)

// Main runs a pipeline binary: run, under the CPU and heap profiles its
// flags ask for ("" for none), exiting through Exit if either fails.
func Main(name, cpuProfile, memProfile string, run func(context.Context) error) {
	stop, err := profile.Start(cpuProfile, memProfile)
	if err != nil {
		Exit(name, err)
	}
	err = run(context.Background())
	stop()
	if err != nil {
		Exit(name, err)
	}
}

// Exit reports err on stderr as "name: err", with a hint when it has one,
// and exits with status 1. It writes to stderr itself: Beam routes the
// standard logger through slog at level info, which --log_level=warn hides,
// so log.Fatal would exit without a word.
func Exit(name string, err error) {
	Report(os.Stderr, name, err)
	os.Exit(1)
}

// Report writes what Exit prints: the failure on one line, the last one,
// after a hint when there is one and, for a failed pipeline run, a line
// naming the step that failed. At most three lines.
func Report(w io.Writer, name string, err error) {
	var run pipelineError
	if errors.As(err, &run) {
		step := ""
		if s := run.FailedStep(); s != "" {
			step = " in " + s
		}
		fmt.Fprintf(w, "%s: the pipeline failed%s (--log_level=debug shows the runner's log)\n", name, step)
	}
	if h := Hint(err); h != "" {
		fmt.Fprintf(w, "%s: hint: %s\n", name, h)
	}
	fmt.Fprintf(w, "%s: %s\n", name, OneLine(err.Error()))
}

// pipelineError is a failed pipeline run (beamrun.Error), whose message is
// the root cause.
type pipelineError interface {
	error
	FailedStep() string // the step that failed, or ""
}

// OneLine joins the lines of a message with "; ".
func OneLine(msg string) string {
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// Hint suggests a fix for the failures users commonly meet, or returns "".
func Hint(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "could not find default credentials"):
		return "Cloud Storage and Dataflow need Google credentials: run `gcloud auth application-default login`, " +
			"or set GOOGLE_APPLICATION_CREDENTIALS to a service account key (see the README's Dataflow section)"
	case strings.Contains(msg, "failed to automatically install ONNX Runtime"):
		return "run scripts/install-onnxruntime.sh, or choose --backend=go"
	}
	return ""
}

// CheckPaths checks a run's path flags (name → value) against its runner
// before anything starts: on Dataflow every path must be gs://, since the
// workers can't see the launching machine's disk; a local input that is
// not a glob must exist; a gs:// output needs Google credentials (without
// them, the Cloud Storage client falls back to anonymous access, which can
// read a public bucket but write nothing, and fails later and less clearly).
func CheckPaths(runner string, inputs, outputs map[string]string) error {
	for _, set := range []map[string]string{inputs, outputs} {
		for _, name := range slices.Sorted(maps.Keys(set)) {
			if p := set[name]; runner == "dataflow" && p != "" && !fsio.IsGCS(p) {
				return fmt.Errorf("--%s=%s: Dataflow workers can't read or write this machine's disk: use a gs:// path", name, p)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		p := inputs[name]
		if p == "" || fsio.IsGCS(p) || fsio.IsGlob(p) {
			continue
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("--%s=%s: no such file or folder", name, p)
		} else if err != nil {
			return fmt.Errorf("--%s=%s: %w", name, p, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(outputs)) {
		if p := outputs[name]; p != "" && !fsio.IsGCS(p) {
			if err := checkLocalOutput(p); err != nil {
				return fmt.Errorf("--%s=%s: %w", name, p, err)
			}
		}
		if p := outputs[name]; fsio.IsGCS(p) && !NotSubmitted() && os.Getenv("STORAGE_EMULATOR_HOST") == "" {
			if _, err := google.FindDefaultCredentials(context.Background(), storage.ScopeReadWrite); err != nil {
				return fmt.Errorf("--%s=%s: %w", name, p, err)
			}
		}
	}
	return nil
}

// checkLocalOutput checks that a local output folder can be written: it is
// a folder, not a file, and a file can be created in it. It creates the
// folder when it is missing, as the run would.
func checkLocalOutput(p string) error {
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return errors.New("a file is there: the output must be a folder")
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("can't create the folder: %s is a file", pe.Path)
		}
		return fmt.Errorf("can't create the folder: %w", err)
	}
	f, err := os.CreateTemp(p, ".facepipe-write-check-*")
	if err != nil {
		return fmt.Errorf("can't write in this folder: %w", errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// CheckInputFiles lists an input spec (folder, glob or file, local or
// gs://) before the pipeline starts, so that one that holds no file fails
// on one line instead of inside the runner. It returns how many files it
// found.
func CheckInputFiles(ctx context.Context, name, spec string) (int, error) {
	files, err := fsio.List(ctx, spec)
	if err != nil {
		return 0, fmt.Errorf("--%s=%s: %w", name, spec, err)
	}
	if len(files) == 0 {
		if fsio.IsGlob(spec) {
			return 0, fmt.Errorf("--%s=%s: no file matches", name, spec)
		}
		return 0, fmt.Errorf("--%s=%s: no files in this folder (hidden files and temporary files are skipped)", name, spec)
	}
	return len(files), nil
}

// Runner is the value of Beam's --runner flag ("" when it isn't defined).
func Runner() string {
	if f := flag.Lookup("runner"); f != nil {
		return f.Value.String()
	}
	return ""
}

// NotSubmitted reports whether the Dataflow runner only printed or saved the
// job (--dry_run, --template_location) instead of running it: then there is
// no output to summarize.
func NotSubmitted() bool {
	if Runner() != "dataflow" {
		return false
	}
	if f := flag.Lookup("dry_run"); f != nil && f.Value.String() == "true" {
		return true
	}
	f := flag.Lookup("template_location")
	return f != nil && f.Value.String() != ""
}
