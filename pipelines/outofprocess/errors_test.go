package outofprocess_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/internal/fixtures"
)

// TestFailuresFitOnOneLine runs the built binaries, as a user does, on each
// common mistake and on failures that happen inside the runner. Each must
// exit non-zero within at most 5 lines of stderr, the last one naming the
// file and the cause (before the pipeline starts where that can be known).
func TestFailuresFitOnOneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the pipeline binaries: skipped with -short")
	}
	tmp := t.TempDir()
	bins := build(t, filepath.Join(tmp, "bin"), "./pipelines/ingest", "./pipelines/score", "./pipelines/train")
	sample := filepath.Join(tmp, "sample")
	if _, err := fixtures.Generate(sample, fixtures.Options{Good: 6, Size: 32, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	dir := func(name string, files ...string) string {
		d := filepath.Join(tmp, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(d, f), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	aFile := filepath.Join(dir("files", "out.txt"), "out.txt")
	empty := dir("empty")
	unwritable := filepath.Join(dir("ro"), "out")
	if os.Geteuid() == 0 {
		unwritable = "/sys/facepipe-test-out" // root writes anywhere but in sysfs
	} else if err := os.Chmod(filepath.Dir(unwritable), 0o555); err != nil {
		t.Fatal(err)
	}
	blockedIngest := dir("blocked-ingest", "tfrecords") // a file where ingest makes its shards folder
	blockedScore := dir("blocked-score", "predictions")
	model := dir("model")
	if err := os.WriteFile(filepath.Join(model, "model.json"), []byte(`{"format_version": 1, "task": "age", "backbone": "cnn-xs", "input_size": 24, "preprocessing": {"stored_size": 24}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	hostile := dir("hostile-model") // a model.json that made scoring die of out-of-memory
	if err := os.WriteFile(filepath.Join(hostile, "model.json"), []byte(`{"format_version": 1, "task": "age", "backbone": "cnn-xs", "input_size": 100000, "preprocessing": {"stored_size": 24}}`), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		bin      string
		args     []string
		wantLast string // the last line of stderr starts with it
		wantAlso string // another line holds it, when set
	}{
		{"output is a file", "ingest", []string{"--input=" + sample, "--output=" + aFile},
			"ingest: --output=" + aFile + ": a file is there: the output must be a folder", ""},
		{"output not writable", "ingest", []string{"--input=" + sample, "--output=" + unwritable},
			"ingest: --output=" + unwritable + ": can't ", ""},
		{"input empty", "ingest", []string{"--input=" + empty, "--output=" + filepath.Join(tmp, "o1")},
			"ingest: --input=" + empty + ": no files in this folder", ""},
		{"input missing", "ingest", []string{"--input=" + filepath.Join(tmp, "nothing"), "--output=" + filepath.Join(tmp, "o2")},
			"ingest: --input=" + filepath.Join(tmp, "nothing") + ": no such file or folder", ""},
		{"glob matches nothing", "score", []string{"--input=" + sample + "/*.png", "--output=" + filepath.Join(tmp, "o3")},
			"score: --input=" + sample + "/*.png: no file matches", ""},
		{"ingest fails inside the runner", "ingest", []string{"--input=" + sample, "--output=" + blockedIngest},
			"ingest: writing shard tfrecords/", "ingest: the pipeline failed in transforms/ingest.writeShardFn"},
		{"score fails inside the runner", "score", []string{"--input=" + sample, "--output=" + blockedScore},
			"score: writing " + blockedScore + "/predictions/part-00000-of-00001.parquet: ", "score: the pipeline failed in transforms/score.scoreFn"},
		{"model folder incomplete", "score", []string{"--input=" + sample, "--output=" + filepath.Join(tmp, "o4"), "--model=" + model},
			"score: model folder " + model + " is incomplete: no checkpoint/", ""},
		{"model input size 100000", "score", []string{"--input=" + sample, "--output=" + filepath.Join(tmp, "o6"), "--model=" + hostile},
			"score: " + filepath.Join(hostile, "model.json") + ": input_size 100000: want 8 to 1024", ""},
		{"Beam's --labels", "score", []string{"--input=" + sample, "--output=" + filepath.Join(tmp, "o5"), "--labels=on"},
			"score: --labels=on: --labels is Dataflow's job labels flag", ""},
		{"train without data", "train", []string{"--data=" + empty, "--out=" + filepath.Join(tmp, "m")},
			"train: ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, bins[tc.bin], tc.args...)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			err := cmd.Run()
			out := strings.TrimRight(stderr.String(), "\n")
			lines := strings.Split(out, "\n")
			if err == nil {
				t.Fatalf("%s %v succeeded:\n%s", tc.bin, tc.args, out)
			}
			if len(lines) > 5 || len(out) > 2000 {
				t.Errorf("%d lines, %d bytes of stderr, want at most 5 lines:\n%s", len(lines), len(out), out)
			}
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, tc.wantLast) {
				t.Errorf("last line %q, want it to start with %q; stderr:\n%s", last, tc.wantLast, out)
			}
			if tc.wantAlso != "" && !strings.Contains(out, tc.wantAlso) {
				t.Errorf("stderr does not hold %q:\n%s", tc.wantAlso, out)
			}
		})
	}
}
