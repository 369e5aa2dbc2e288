package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/tfrecord"
	"github.com/facepipe/facepipe/transforms/ingest"
)

// childEnv, when set to a Config in JSON, makes the test binary run
// that ingest and exit: the process TestKillAndRerun kills.
const childEnv = "FACEPIPE_INGEST_CHILD"

func runChild(cfgJSON string) int {
	var cfg ingest.Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	spec, err := cfg.Validate()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	p, s := beam.NewPipelineWithRoot()
	ingest.Ingest(s, cfg, spec)
	if _, err := beam.Run(context.Background(), "prism", p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// faultConfig is a run big enough to be caught halfway: several shards of
// float32 224×224 records, one decode goroutine per shard.
func faultConfig(t *testing.T) ingest.Config {
	in, _ := ingesttest.Generate(t, fixtures.Options{Good: 150, Bad: true, Duplicates: true, Seed: 17})
	cfg := ingesttest.Config(in, filepath.Join(t.TempDir(), "out"))
	cfg.NumShards, cfg.Workers = 4, 1
	return cfg
}

// reference runs cfg uninterrupted and returns its files, then empties the
// output folder for the faulty run: the manifest names the folder, so both
// runs use the same one.
func reference(t *testing.T, cfg ingest.Config) map[string][]byte {
	t.Helper()
	ingesttest.Run(t, "prism", cfg)
	ref := outputFiles(t, cfg.Output)
	if err := os.RemoveAll(cfg.Output); err != nil {
		t.Fatal(err)
	}
	return ref
}

// rerunMatches prepares the output folder as the ingest binary does, re-runs
// cfg and compares every output file with the uninterrupted run's.
func rerunMatches(t *testing.T, cfg ingest.Config, ref map[string][]byte) {
	t.Helper()
	if _, err := ingest.PrepareOutput(context.Background(), cfg.Output); err != nil {
		t.Fatal(err)
	}
	ingesttest.Run(t, "prism", cfg)
	sameFiles(t, outputFiles(t, cfg.Output), ref)
}

// sameFiles checks that an output folder's files are those of the
// uninterrupted run, byte for byte.
func sameFiles(t *testing.T, got, ref map[string][]byte) {
	t.Helper()
	for name, b := range ref {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs from the uninterrupted run's", name)
		}
	}
	for name := range got {
		if _, ok := ref[name]; !ok {
			t.Errorf("%s: a file the uninterrupted run doesn't have", name)
		}
	}
}

// checkCompleteShards reads every file under a final shard name: each must be
// a whole TFRecord file (every CRC right, no truncated record).
func checkCompleteShards(t *testing.T, out string) (complete, temps int) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(out, ingest.TFRecordDir))
	for _, e := range entries {
		if strings.Contains(e.Name(), fsio.TempMarker) {
			temps++
			continue
		}
		f, err := os.Open(filepath.Join(out, ingest.TFRecordDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r := tfrecord.NewReader(f, tfrecord.CompressionFromPath(e.Name()), e.Name())
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Errorf("a partial file under a final name: %v", err)
				break
			}
		}
		f.Close()
		complete++
	}
	return complete, temps
}

// TestKillAndRerun kills an ingest process (SIGKILL) while it writes its
// shards, then re-runs it: the killed run leaves no manifest and only
// complete files under final names, and the re-run's outputs are
// byte-identical to an uninterrupted run's, with no temporary file left.
func TestKillAndRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ingest three times")
	}
	cfg := faultConfig(t)
	ref := reference(t, cfg)

	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfgJSON))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it halfway: once a shard is complete, while others are written.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(filepath.Join(cfg.Output, ingest.TFRecordDir))
		done := 0
		for _, e := range entries {
			if !strings.Contains(e.Name(), fsio.TempMarker) {
				done++
			}
		}
		if done > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the ingest process ended with %v before it was killed: %s", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(cfg.Output, schemas.ManifestFile)); err == nil {
		t.Error("a killed run left a manifest")
	}
	complete, temps := checkCompleteShards(t, cfg.Output)
	t.Logf("killed with %d complete shards and %d temporary files", complete, temps)
	if complete == 4*3 {
		t.Errorf("the run wrote all its shards before the kill: the test did not interrupt it")
	}
	rerunMatches(t, cfg, ref)
}

// TestRetryAfterInjectedFailure makes every shard writer fail halfway
// through its first attempt. Prism does not retry a failed bundle (Dataflow
// does, up to 4 times) and stops the job at the first failure, so the test
// re-runs the job until it succeeds: each re-run retries the shards that
// failed, in a new pipeline as on Dataflow. No failed attempt leaves a
// manifest or a partial file, and the retried outputs are byte-identical to
// an uninterrupted run's, with no record written twice.
func TestRetryAfterInjectedFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ingest several times")
	}
	cfg := faultConfig(t)
	ref := reference(t, cfg)
	failDir := t.TempDir()
	ingest.SetFailOnceDir(failDir)
	defer ingest.SetFailOnceDir("")
	spec, err := cfg.Validate()
	if err != nil {
		t.Fatal(err)
	}
	const shards = 4 * 3
	failures := 0
	for ; failures <= shards; failures++ {
		if _, err := ingest.PrepareOutput(context.Background(), cfg.Output); err != nil {
			t.Fatal(err)
		}
		p, s := beam.NewPipelineWithRoot()
		ingest.Ingest(s, cfg, spec)
		_, err = beam.Run(context.Background(), "prism", p)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("attempt %d: %v, want the injected failure", failures+1, err)
		}
		if _, err := os.Stat(filepath.Join(cfg.Output, schemas.ManifestFile)); err == nil {
			t.Errorf("failed attempt %d left a manifest", failures+1)
		}
		// Prism reports the first failed bundle while the other shard
		// writers of the job may still be writing: each ends by failing
		// at its own injected failure (removing its temporary file) or by
		// renaming a complete shard. Wait for them, then no temporary
		// file may be left.
		temps := 0
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, temps = checkCompleteShards(t, cfg.Output); temps == 0 || time.Now().After(deadline) {
				break
			}
		}
		if temps != 0 {
			t.Errorf("failed attempt %d left %d temporary files", failures+1, temps)
		}
	}
	markers, _ := os.ReadDir(failDir)
	if failures == 0 || failures > shards || len(markers) != shards {
		t.Fatalf("%d failed runs and %d shard writers that failed once; want 1 to %d and %d", failures, len(markers), shards, shards)
	}
	t.Logf("%d failed runs before success", failures)
	sameFiles(t, outputFiles(t, cfg.Output), ref)
}
