// Package beamrun runs the Beam pipelines of the ingest and score binaries.
package beamrun

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

// loopbackPlaceholder matches the file that Beam's universal runner creates
// in the temporary folder on every run in loopback mode, the local runner's
// default, to stand for a worker binary it never builds, and never removes
// (apache/beam#27569).
const loopbackPlaceholder = "beamloopbackworker-*"

// Run runs p as beamx.RunWithMetrics does (the runner named by --runner).
//
// A failure comes back as an *Error that holds its root cause: the error our
// code returned, without the runner's plan dump around it. Unless
// --log_level is debug or info, the runner's own error records, which repeat
// that dump several times, are kept off stderr; its warnings still show.
//
// Run also removes the empty loopback placeholder files that appeared in
// the temporary folder during the run, which would otherwise pile up there,
// one per run.
func Run(ctx context.Context, p *beam.Pipeline) error {
	pattern := filepath.Join(os.TempDir(), loopbackPlaceholder)
	before, _ := filepath.Glob(pattern)
	if quiet() {
		prev := slog.Default()
		slog.SetDefault(slog.New(&belowError{slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})}))
		defer slog.SetDefault(prev)
	}
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
	if err != nil {
		return Condense(err)
	}
	return nil
}

// quiet reports whether the runner's error records stay off stderr: at
// Beam's --log_level warn (our default) or error.
func quiet() bool {
	l := strings.ToLower(beamlog.LogLevel)
	return l != "debug" && l != "info"
}

// belowError passes on the records below slog.LevelError.
type belowError struct{ slog.Handler }

func (h *belowError) Enabled(ctx context.Context, l slog.Level) bool {
	return l < slog.LevelError && h.Handler.Enabled(ctx, l)
}

func (h *belowError) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &belowError{h.Handler.WithAttrs(attrs)}
}

func (h *belowError) WithGroup(name string) slog.Handler {
	return &belowError{h.Handler.WithGroup(name)}
}

// Error is a pipeline run that failed: Cause is the root cause, the error a
// step of ours returned (or, when the runner's message names none, its last
// line), and Step names that step when known.
type Error struct {
	Step  string
	Cause string
	err   error
}

// Error returns the root cause.
func (e *Error) Error() string { return e.Cause }

// FailedStep names the step that failed, or returns "".
func (e *Error) FailedStep() string { return e.Step }

// Unwrap returns the runner's whole error.
func (e *Error) Unwrap() error { return e.err }

// Full is the runner's whole error message, plan dump included.
func (e *Error) Full() string { return e.err.Error() }

// failedStep matches the line with which Beam's Go SDK introduces the error a
// DoFn returned or panicked with, and captures the DoFn's name.
var failedStep = regexp.MustCompile(`DoFn\[UID:\d+, PID:[^,]*, Name: ([^\]]+)\] failed:\n`)

// Condense extracts the root cause of a failed run from the runner's error:
// the text after the last "DoFn[...] failed:" line, which is what our code
// returned (Beam prints it once per retry and wraps it in the execution
// plan), else the last "caused by:" part, else the last non-empty line. A
// cause of several lines keeps them all.
func Condense(err error) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	msg := err.Error()
	e := &Error{err: err}
	if m := failedStep.FindAllStringSubmatchIndex(msg, -1); len(m) > 0 {
		last := m[len(m)-1]
		e.Step = shortName(msg[last[2]:last[3]])
		msg = msg[last[1]:]
	} else if i := strings.LastIndex(msg, "caused by:\n"); i >= 0 {
		msg = msg[i+len("caused by:\n"):]
	} else {
		lines := strings.Split(strings.TrimSpace(msg), "\n")
		msg = lines[len(lines)-1]
	}
	e.Cause = strings.Trim(strings.TrimSpace(msg), `"`)
	if e.Cause == "" {
		e.Cause = strings.TrimSpace(err.Error())
	}
	return e
}

// shortName drops the module path of a DoFn's name:
// github.com/facepipe/facepipe/transforms/ingest.writeShardFn becomes
// transforms/ingest.writeShardFn.
func shortName(name string) string {
	const module = "github.com/facepipe/facepipe/"
	return strings.TrimPrefix(name, module)
}
