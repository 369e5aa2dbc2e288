package outlock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/storage"

	"github.com/facepipe/facepipe/internal/fakegcs"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/interrupt"
)

// deadPID is the pid of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no true command: %v", err)
	}
	return cmd.Process.Pid
}

func writeHolder(t *testing.T, path string, h Holder) {
	t.Helper()
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSecondWriterStops: while a run holds an output folder, another run
// into it stops at its start on one line naming the holder and the lock;
// once released, the folder can be taken again and holds no lock.
func TestSecondWriterStops(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := Acquire(ctx, "output", dir, "ingest", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var h Holder
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil || json.Unmarshal(data, &h) != nil {
		t.Fatalf("lock file: %q, %v", data, err)
	}
	host, _ := os.Hostname()
	if h.RunID == "" || h.RunID != first.Holder().RunID || h.PID != os.Getpid() || h.Host != host || h.Tool != "ingest" {
		t.Errorf("the lock holds %+v, want this run (pid %d, host %s)", h, os.Getpid(), host)
	}
	_, err = Acquire(ctx, "output", dir, "ingest", Options{})
	want := "--output=" + dir + " is in use by another run: ingest run " + h.RunID + ", pid " + fmtInt(os.Getpid()) + " on host " + host +
		", started " + h.Started.Format(time.RFC3339) + " (lock " + filepath.Join(dir, FileName) + ": remove it if that run is gone)"
	if err == nil || err.Error() != want {
		t.Fatalf("second run: %v\nwant %s", err, want)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !os.IsNotExist(err) {
		t.Errorf("the lock is still there after its release: %v", err)
	}
	second, err := Acquire(ctx, "output", dir, "score", Options{})
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	first.Release(ctx) // released already: must not remove the second's lock
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Errorf("releasing the first run twice removed the second's lock: %v", err)
	}
	second.Release(ctx)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left in the folder: %v", entries)
	}
}

func fmtInt(i int) string { return strconv.Itoa(i) }

// TestOneOfManyWins: runs that start together into one folder: exactly one
// gets it.
func TestOneOfManyWins(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const n = 16
	var wg sync.WaitGroup
	locks := make([]*Lock, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { locks[i], errs[i] = Acquire(ctx, "output", dir, "ingest", Options{}) })
	}
	wg.Wait()
	won := 0
	for i := range n {
		if errs[i] == nil {
			won++
			defer locks[i].Release(ctx)
		} else if !strings.Contains(errs[i].Error(), "is in use by another run") {
			t.Errorf("a losing run: %v", errs[i])
		}
	}
	if won != 1 {
		t.Errorf("%d of %d runs took the folder, want 1", won, n)
	}
}

// TestStaleLocalLocks: a lock left by a run that is gone from this host (its
// pid ended, or is another process started since) is taken over with a note;
// one from another host, one held by a live process, and one that can't be
// read are not.
func TestStaleLocalLocks(t *testing.T) {
	ctx := context.Background()
	host, _ := os.Hostname()
	dead := deadPID(t)
	self := processStart(os.Getpid())
	for _, c := range []struct {
		name     string
		holder   *Holder // nil: write junk
		takeOver bool
		want     string
	}{
		{"pid gone", &Holder{RunID: "old", Tool: "ingest", Host: host, PID: dead}, true, ""},
		{"pid reused", &Holder{RunID: "old", Tool: "ingest", Host: host, PID: os.Getppid(), PIDTime: "1"}, self != "", ""},
		{"live", &Holder{RunID: "old", Tool: "train", Host: host, PID: os.Getppid(), PIDTime: processStart(os.Getppid())}, false,
			"train run old, pid " + fmtInt(os.Getppid()) + " on host " + host},
		{"another host", &Holder{RunID: "old", Tool: "score", Host: "elsewhere", PID: dead}, false, "score run old, pid " + fmtInt(dead) + " on host elsewhere"},
		{"unreadable", nil, false, "a lock file that can't be read"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if c.holder != nil {
				writeHolder(t, path, *c.holder)
			} else {
				os.WriteFile(path, []byte("{"), 0o644)
			}
			var notes bytes.Buffer
			l, err := Acquire(ctx, "out", dir, "train", Options{Notes: &notes})
			if !c.takeOver {
				if err == nil {
					l.Release(ctx)
					t.Fatal("took over a lock that is not stale")
				}
				if !strings.Contains(err.Error(), "--out="+dir+" is in use by another run: "+c.want) {
					t.Errorf("error %q does not name the holder %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Release(ctx)
			if want := "train: took over the lock " + path + " of a run that is gone (ingest run old, pid "; !strings.HasPrefix(notes.String(), want) {
				t.Errorf("note %q, want it to start with %q", notes.String(), want)
			}
			var h Holder
			data, _ := os.ReadFile(path)
			json.Unmarshal(data, &h)
			if h.RunID != l.Holder().RunID {
				t.Errorf("the lock holds %+v after the takeover", h)
			}
		})
	}
}

// TestSignalReleasesTheLock: SIGINT or SIGTERM ending the run removes its
// lock, unless asked to keep it (a Dataflow job goes on without its
// launcher).
func TestSignalReleasesTheLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Acquire(ctx, "output", dir, "ingest", Options{}); err != nil {
		t.Fatal(err)
	}
	interrupt.Run(syscall.SIGINT) // what the signal handler runs before exiting with 130
	if _, err := os.Stat(filepath.Join(dir, FileName)); !os.IsNotExist(err) {
		t.Errorf("the lock is still there after SIGINT: %v", err)
	}
	var notes bytes.Buffer
	l, err := Acquire(ctx, "output", dir, "ingest", Options{KeepOnSignal: true, Notes: &notes})
	if err != nil {
		t.Fatal(err)
	}
	interrupt.Run(syscall.SIGTERM)
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Errorf("the lock kept on a signal is gone: %v", err)
	}
	if !strings.Contains(notes.String(), "stays while the job runs") {
		t.Errorf("no note on the lock kept: %q", notes.String())
	}
	l.Release(ctx)
}

// TestGCSLock: on gs:// the lock is an object created on the condition that
// none exists: a second run stops naming the holder; a lock not rewritten
// for GCSStaleAfter is taken over with a note, and the run that lost it does
// not remove its successor's.
func TestGCSLock(t *testing.T) {
	fakegcs.Start(t, "faces", "in", nil)
	ctx := context.Background()
	client, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	obj := client.Bucket("faces").Object("out/" + FileName)

	first, err := Acquire(ctx, "output", "gs://faces/out", "ingest", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Attrs(ctx); err != nil {
		t.Fatalf("no lock object: %v", err)
	}
	_, err = Acquire(ctx, "output", "gs://faces/out/", "score", Options{})
	if err == nil || !strings.Contains(err.Error(), "--output=gs://faces/out/ is in use by another run: ingest run "+first.Holder().RunID) ||
		!strings.Contains(err.Error(), "(lock gs://faces/out/"+FileName+": remove it if that run is gone)") {
		t.Fatalf("second run: %v", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Attrs(ctx); !errors.Is(err, storage.ErrObjectNotExist) {
		t.Fatalf("lock object after the release: %v", err)
	}

	// A run that stopped rewriting its lock (killed with its machine).
	stale, err := Acquire(ctx, "output", "gs://faces/out", "ingest", Options{})
	if err != nil {
		t.Fatal(err)
	}
	stale.holder.Host = "gone-machine" // not this host: only its age tells
	now = func() time.Time { return time.Now().Add(GCSStaleAfter - time.Minute) }
	if _, err := Acquire(ctx, "output", "gs://faces/out", "score", Options{}); err == nil {
		t.Fatal("took over a lock rewritten 29 minutes ago")
	}
	now = func() time.Time { return time.Now().Add(GCSStaleAfter + time.Minute) }
	defer func() { now = time.Now }()
	var notes bytes.Buffer
	next, err := Acquire(ctx, "output", "gs://faces/out", "score", Options{Notes: &notes})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(notes.String(), "score: took over the lock gs://faces/out/"+FileName+", not rewritten for 31m") {
		t.Errorf("note %q", notes.String())
	}
	stale.Release(ctx) // its generation is gone: it must leave the new lock
	r, err := obj.NewReader(ctx)
	if err != nil {
		t.Fatalf("the new lock is gone: %v", err)
	}
	var h Holder
	json.NewDecoder(r).Decode(&h)
	r.Close()
	if h.RunID != next.Holder().RunID {
		t.Errorf("the lock holds %+v, want the run that took it over", h)
	}
	next.Release(ctx)
}

// TestSignalRemovesTemps: SIGINT or SIGTERM of a local run removes the files
// being written anywhere under its output folder, keeps those under their
// final names, and says on one line that the same command redoes the run
// (ingest used to exit 130 saying nothing and leaving its shards' .tmp- files).
func TestSignalRemovesTemps(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"manifest.json", "tfrecords/train-00000-of-00001.tfrecord",
		"tfrecords/valid-00000-of-00001.tfrecord" + fsio.TempMarker + "0123", "stats/labels/x.parquet" + fsio.TempMarker + "4567"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	interrupted(&out, "output", dir, "ingest", syscall.SIGTERM)
	want := "ingest: interrupted by SIGTERM (2 temporary files removed): --output=" + dir + " is incomplete; run the same command again to write it whole\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	for p, keep := range map[string]bool{"manifest.json": true, "tfrecords/train-00000-of-00001.tfrecord": true,
		"tfrecords/valid-00000-of-00001.tfrecord" + fsio.TempMarker + "0123": false} {
		if _, err := os.Stat(filepath.Join(dir, p)); (err == nil) != keep {
			t.Errorf("%s: kept %v, want %v", p, err == nil, keep)
		}
	}
	out.Reset()
	interrupted(&out, "out", dir, "train", syscall.SIGINT)
	if out.Len() != 0 {
		t.Errorf("train's line is its own, got %q", out.String())
	}
}

// TestForRunRemovesLeftovers: a run that takes the lock on a local output
// removes the temporary files a killed run left anywhere under it, with a
// note, and nothing else (score's rerun after kill -9 used to keep them).
func TestForRunRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	files := map[string]bool{"metrics.json": true, "metrics.json" + fsio.TempMarker + "af60": false,
		"predictions/part-00000-of-00001.parquet": true, "predictions/part-00000-of-00001.parquet" + fsio.TempMarker + "01": false}
	for p := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stderr := os.Stderr
	r, w, _ := os.Pipe()
	os.Stderr = w
	release, err := ForRun(context.Background(), "output", dir, "score")
	os.Stderr = stderr
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	release()
	var note bytes.Buffer
	note.ReadFrom(r)
	if want := "score: removed 2 temporary files left in " + dir + " by an interrupted run\n"; note.String() != want {
		t.Errorf("note %q, want %q", note.String(), want)
	}
	for p, keep := range files {
		if _, err := os.Stat(filepath.Join(dir, p)); (err == nil) != keep {
			t.Errorf("%s: kept %v, want %v", p, err == nil, keep)
		}
	}
}

// The tests here run the interrupt handlers in their own process, which goes
// on: temporary files stay allowed (fsio's tests cover StopTemps).
func init() { stopTemps = func() func() { return func() {} } }
