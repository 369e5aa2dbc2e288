package outofprocess_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/outlock"
)

// runFor runs a built binary and returns its exit status and its stderr and
// stdout together.
func runFor(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish in %s:\n%s", filepath.Base(bin), runTimeout, out.Bytes())
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), strings.TrimRight(out.String(), "\n")
}

func lastLine(s string) string { return s[strings.LastIndexByte(s, '\n')+1:] }

// TestOneWriterAndNoEmptyRuns runs the built binaries as a user does: a run
// into an output another run holds stops at its start on one line naming
// the holder (two ingests into one folder used to both exit 0 and mix their
// shards), and leaves the holder's lock; a run that writes nothing fails on
// one line giving the rejects by reason unless --allow_empty (an ingest of
// unreadable files used to exit 0 with 0 records).
func TestOneWriterAndNoEmptyRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the pipeline binaries: skipped with -short")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	bins := build(t, filepath.Join(tmp, "bin"), "./pipelines/ingest", "./pipelines/score", "./pipelines/train")
	sample := filepath.Join(tmp, "sample")
	if _, err := fixtures.Generate(sample, fixtures.Options{Good: 6, Size: 32, Seed: 8}); err != nil {
		t.Fatal(err)
	}

	t.Run("second writer", func(t *testing.T) {
		for _, c := range []struct{ bin, flag string }{
			{"ingest", "output"}, {"score", "output"}, {"train", "out"},
		} {
			out := filepath.Join(tmp, "held-"+c.bin)
			os.MkdirAll(out, 0o755)
			held, err := outlock.Acquire(ctx, c.flag, out, "test", outlock.Options{})
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"--input=" + sample, "--output=" + out}
			if c.bin == "train" {
				args = []string{"--data=" + sample, "--out=" + out}
			}
			code, stderr := runFor(t, bins[c.bin], args...)
			h := held.Holder()
			want := c.bin + ": --" + c.flag + "=" + out + " is in use by another run: test run " + h.RunID + ", pid " + strconv.Itoa(os.Getpid()) +
				" on host " + h.Host + ", started " + h.Started.Format(time.RFC3339) + " (lock " + filepath.Join(out, outlock.FileName) + ": remove it if that run is gone)"
			if code != 1 || lastLine(stderr) != want || strings.Count(stderr, "\n") > 4 {
				t.Errorf("%s into a held output: exit %d, stderr:\n%s\nwant exit 1 and the last line\n%s", c.bin, code, stderr, want)
			}
			if _, err := os.Stat(held.Path()); err != nil {
				t.Errorf("%s removed the holder's lock: %v", c.bin, err)
			}
			held.Release(ctx)
		}
	})

	t.Run("empty runs", func(t *testing.T) {
		junk := filepath.Join(tmp, "junk")
		os.MkdirAll(junk, 0o755)
		for _, name := range []string{"30_0_0_20170109150557335.jpg.chip.jpg", "41_1_2_20170109150557336.jpg.chip.jpg", "8_0_1_20170109150557337.jpg.chip.jpg"} {
			os.WriteFile(filepath.Join(junk, name), []byte("not an image at all"), 0o644)
		}
		for _, c := range []struct{ bin, want string }{
			{"ingest", "ingest: 0 records written of 3 inputs; rejected: not_an_image 3 (--allow_empty accepts an empty output)"},
			{"score", "score: 0 images scored of 3 inputs; rejected: not_an_image 3 (--allow_empty accepts an empty output)"},
		} {
			out := filepath.Join(tmp, "empty-"+c.bin)
			code, stderr := runFor(t, bins[c.bin], "--input="+junk, "--output="+out)
			if code != 1 || lastLine(stderr) != c.want {
				t.Errorf("%s of unreadable files: exit %d, stderr:\n%s\nwant exit 1 and the last line\n%s", c.bin, code, stderr, c.want)
			}
			if code, stderr := runFor(t, bins[c.bin], "--input="+junk, "--output="+out, "--allow_empty"); code != 0 {
				t.Errorf("%s --allow_empty of unreadable files: exit %d:\n%s", c.bin, code, stderr)
			}
			if _, err := os.Stat(filepath.Join(out, outlock.FileName)); !os.IsNotExist(err) {
				t.Errorf("%s left its lock: %v", c.bin, err)
			}
		}
	})

	t.Run("train interrupted", func(t *testing.T) {
		faces := filepath.Join(tmp, "faces")
		if _, err := fixtures.Generate(faces, fixtures.Options{Good: 80, Size: 32, Seed: 9}); err != nil {
			t.Fatal(err)
		}
		data := filepath.Join(tmp, "data")
		if code, stderr := runFor(t, bins["ingest"], "--input="+faces, "--output="+data, "--image_size=32", "--encoding=uint8"); code != 0 {
			t.Fatalf("ingest: exit %d:\n%s", code, stderr)
		}
		model := filepath.Join(tmp, "model")
		args := []string{"--data=" + data, "--out=" + model, "--backbone=cnn-xs", "--input_size=24", "--batch=8",
			"--epochs=1000", "--max_steps=1", "--recalibrate=8", "--backend=go"}
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bins["train"], args...)
		pipe, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		tee := io.TeeReader(pipe, &log)
		lines := bufio.NewScanner(tee)
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "epoch 2/1000: ") {
				cmd.Process.Signal(syscall.SIGINT)
				break
			}
		}
		io.Copy(io.Discard, tee) // the rest, into log
		cmd.Wait()
		out := strings.TrimRight(log.String(), "\n")
		if code := cmd.ProcessState.ExitCode(); code != 130 && !(code == -1 && cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT) {
			// -1 would mean the default handling: killed by the signal, no cleanup.
			t.Errorf("train after SIGINT: exit %d, want 130:\n%s", code, out)
		}
		last := lastLine(out)
		prefix := "train: interrupted by SIGINT; continue after epoch "
		if !strings.HasPrefix(last, prefix) {
			t.Fatalf("last line %q, want it to start with %q; stderr:\n%s", last, prefix, out)
		}
		done, _, _ := strings.Cut(strings.TrimPrefix(last, prefix), " ")
		epochs, err := strconv.Atoi(done)
		if err != nil || epochs < 1 {
			t.Fatalf("last line %q: want at least 1 epoch saved", last)
		}
		want := prefix + done + " of 1000 with: " + bins["train"] + " " + strings.Join(args, " ") + " --resume"
		if last != want {
			t.Fatalf("last line\n%s\nwant\n%s", last, want)
		}
		if _, err := os.Stat(filepath.Join(model, outlock.FileName)); !os.IsNotExist(err) {
			t.Errorf("the interrupted run left its lock: %v", err)
		}
		// The line's command continues the run, one more epoch here.
		cont := strings.Fields(strings.TrimPrefix(want, prefix+done+" of 1000 with: "))
		code, stderr := runFor(t, cont[0], append(cont[1:], "--stop_after=1")...)
		if next := "epoch " + strconv.Itoa(epochs+1) + "/1000: "; code != 0 || !strings.Contains(stderr, "\n"+next) {
			t.Errorf("the continue line's command: exit %d, want 0 and a line starting %q:\n%s", code, next, stderr)
		}
		// The same command without --resume refuses to throw the state away.
		code, stderr = runFor(t, bins["train"], args...)
		if want := "train: --out=" + model + " holds an interrupted run (" + strconv.Itoa(epochs+1) + " epochs done, resume.json): --resume continues it, --overwrite starts afresh"; code != 1 || lastLine(stderr) != want {
			t.Errorf("rerun without --resume: exit %d, stderr:\n%s\nwant the last line\n%s", code, stderr, want)
		}
	})
}
