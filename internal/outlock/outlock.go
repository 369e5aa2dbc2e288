// Package outlock gives a run its output folder to itself: ingest, train and
// score take a lock on their output when they start, made atomically, and a
// second run into the same output stops at its start on one line naming the
// run that holds it.
//
// On a local path the lock is the file FileName in the folder, created with
// a hard link from a complete temporary file (so no run ever reads a
// half-written lock), holding the run's id, tool, host, pid and start time.
// A lock whose run is gone (same host, and that pid no longer runs, or runs
// another program started since) is taken over with a note on stderr; a lock
// from another host is never guessed stale: the message says to remove it
// if that run is gone.
//
// On gs:// the lock is the object FileName under the prefix, created with a
// DoesNotExist precondition (one generation-conditioned create wins) and
// rewritten every GCSRefresh, conditioned on its generation, while the run
// lasts. A lock not rewritten for GCSStaleAfter, or from a run on this host
// that is gone, is taken over (deleted on its generation, then created
// again).
//
// The launching binary takes the lock, never a Dataflow worker. The lock is
// released when the run ends, also on an error and on SIGINT or SIGTERM.
package outlock

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/facepipe/facepipe/internal/interrupt"
)

// FileName is the lock's name in the output folder. It is hidden, so no
// listing of the folder (inputs, CopyDown, Mirror) sees it.
const FileName = ".facepipe.lock"

// A gs:// lock is rewritten every GCSRefresh while its run lasts, and taken
// over by another run once it has not been for GCSStaleAfter.
const (
	GCSRefresh    = 5 * time.Minute
	GCSStaleAfter = 30 * time.Minute
)

// Holder is what a lock says of the run that holds it.
type Holder struct {
	RunID   string    `json:"run_id"`
	Tool    string    `json:"tool"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	PIDTime string    `json:"pid_start,omitempty"` // the process's start time (Linux: clock ticks after boot)
	Started time.Time `json:"started"`
}

// String describes the holder on one line.
func (h Holder) String() string {
	return fmt.Sprintf("%s run %s, pid %d on host %s, started %s", h.Tool, h.RunID, h.PID, h.Host, h.Started.Format(time.RFC3339))
}

// Lock is a held lock on an output folder.
type Lock struct {
	path   string // the lock file or gs:// object
	holder Holder
	notes  io.Writer

	mu     sync.Mutex
	gen    int64 // gs://: the generation we wrote last
	client *storage.Client
	stop   chan struct{}
	done   chan struct{}

	unregister func()
	released   bool
}

// Options change how a lock is taken.
type Options struct {
	// Notes receives the line saying a stale lock was taken over; stderr
	// when nil.
	Notes io.Writer
	// KeepOnSignal leaves the lock in place when SIGINT or SIGTERM ends the
	// process: for a Dataflow job, which goes on running without its
	// launcher.
	KeepOnSignal bool
}

// now and processStart are variables for tests.
var (
	now          = time.Now
	hostname     = os.Hostname
	processStart = linuxProcessStart
)

// Acquire takes the lock on the output folder dir (local or gs://) for a
// run of tool. flag names the option that gave dir, for the error a second
// run gets: "--output=DIR is in use by ... (lock DIR/.facepipe.lock: remove
// it if that run is gone)". The lock is released by Release, or when SIGINT
// or SIGTERM ends the process.
func Acquire(ctx context.Context, flag, dir, tool string, opt Options) (*Lock, error) {
	host, _ := hostname()
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	l := &Lock{notes: opt.Notes, holder: Holder{
		RunID: hex.EncodeToString(id), Tool: tool, Host: host, PID: os.Getpid(),
		PIDTime: processStart(os.Getpid()), Started: now().UTC().Truncate(time.Second),
	}}
	if l.notes == nil {
		l.notes = os.Stderr
	}
	var err error
	if strings.HasPrefix(dir, "gs://") {
		l.path = strings.TrimSuffix(dir, "/") + "/" + FileName
		err = l.acquireGCS(ctx)
	} else {
		l.path = filepath.Join(dir, FileName)
		err = l.acquireLocal()
	}
	if err != nil {
		var held *heldError
		if errors.As(err, &held) {
			return nil, fmt.Errorf("--%s=%s is in use by another run: %s (lock %s: remove it if that run is gone)", flag, dir, held.by, l.path)
		}
		return nil, fmt.Errorf("--%s=%s: taking the lock %s: %w", flag, dir, l.path, err)
	}
	l.unregister = interrupt.OnSignal(func(os.Signal) {
		if opt.KeepOnSignal {
			fmt.Fprintf(l.notes, "%s: the lock %s stays while the job runs; it is taken over once stale\n", tool, l.path)
			return
		}
		l.Release(context.Background())
	})
	return l, nil
}

// Holder is the run holding the lock: this one.
func (l *Lock) Holder() Holder { return l.holder }

// Path is the lock file or object.
func (l *Lock) Path() string { return l.path }

// Release removes the lock, if it is still this run's. It may be called
// more than once.
func (l *Lock) Release(ctx context.Context) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	if l.unregister != nil {
		l.unregister()
	}
	if l.client != nil {
		close(l.stop)
		<-l.done
		defer l.client.Close()
		l.mu.Lock()
		gen := l.gen
		l.mu.Unlock()
		obj := l.client.Bucket(l.bucket()).Object(l.object())
		// The delete is conditioned on our generation; reading it first
		// also spares a successor's lock where a server ignores delete
		// preconditions (the fake-gcs-server of the tests does).
		if attrs, err := obj.Attrs(ctx); err != nil || attrs.Generation != gen {
			return nil
		}
		err := obj.If(storage.Conditions{GenerationMatch: gen}).Delete(ctx)
		if err != nil && !isPrecondition(err) && !errors.Is(err, storage.ErrObjectNotExist) {
			return fmt.Errorf("removing the lock %s: %w", l.path, err)
		}
		return nil
	}
	h, err := readLocal(l.path)
	if err != nil || h.RunID != l.holder.RunID {
		return nil // taken over, or removed: not ours to remove
	}
	if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the lock %s: %w", l.path, err)
	}
	return nil
}

// heldError says that another run holds the lock.
type heldError struct{ by string }

func (e *heldError) Error() string { return "held by " + e.by }

func (l *Lock) note(format string, args ...any) {
	fmt.Fprintf(l.notes, "%s: "+format+"\n", append([]any{l.holder.Tool}, args...)...)
}

// acquireLocal creates the lock file: a complete temporary file is linked to
// its name, which fails if the name exists.
func (l *Lock) acquireLocal() error {
	data, err := json.Marshal(l.holder)
	if err != nil {
		return err
	}
	for attempt := 0; attempt < 5; attempt++ {
		err := createLocal(l.path, append(data, '\n'))
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		h, err := readLocal(l.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released in the meantime
		}
		if err != nil {
			return &heldError{by: fmt.Sprintf("a lock file that can't be read (%v)", err)}
		}
		if !l.gone(h) {
			return &heldError{by: h.String()}
		}
		// Move the stale lock aside under a name of our own: of two runs
		// taking it over, one rename wins. Make sure what we moved is the
		// stale lock we read, not a fresh one that replaced it.
		aside := l.path + ".stale-" + l.holder.RunID
		if err := os.Rename(l.path, aside); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		moved, err := readLocal(aside)
		if err == nil && moved.RunID != h.RunID {
			_ = os.Link(aside, l.path) // a fresh lock: put it back
			os.Remove(aside)
			continue
		}
		os.Remove(aside)
		l.note("took over the lock %s of a run that is gone (%s)", l.path, h)
	}
	return errors.New("the lock changed hands too often")
}

// createLocal creates path holding data, atomically: complete or absent.
func createLocal(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.new-%d-%x", path, os.Getpid(), time.Now().UnixNano())
	if err := createExclusive(tmp, data); err != nil {
		os.Remove(tmp)
		return err
	}
	err := os.Link(tmp, path)
	os.Remove(tmp)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		// A filesystem without hard links: create the name exclusively.
		return createExclusive(path, data)
	}
	return err
}

// createExclusive creates path, which must not exist, holding data, synced.
func createExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readLocal(path string) (Holder, error) {
	var h Holder
	data, err := os.ReadFile(path)
	if err != nil {
		return h, err
	}
	return h, parseHolder(data, &h)
}

func parseHolder(data []byte, h *Holder) error {
	if len(data) > 64<<10 {
		return errors.New("too large for a lock")
	}
	if err := json.Unmarshal(data, h); err != nil {
		return err
	}
	if h.RunID == "" {
		return errors.New("no run_id")
	}
	return nil
}

// gone reports whether the run holding a lock has ended without releasing
// it: it ran on this host, and its pid is not running, or is another
// process started since.
func (l *Lock) gone(h Holder) bool {
	if h.Host == "" || h.Host != l.holder.Host || h.PID <= 0 {
		return false
	}
	if h.PID == os.Getpid() && h.RunID != l.holder.RunID {
		return false // another lock of this very process
	}
	if err := syscall.Kill(h.PID, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	start := processStart(h.PID)
	return h.PIDTime != "" && start != "" && start != h.PIDTime
}

// linuxProcessStart is a process's start time in clock ticks after boot
// (field 22 of /proc/PID/stat), "" where it can't be read.
func linuxProcessStart(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return ""
	}
	return f[19] // field 22: fields 3.. start at f[0]
}

// bucket and object split the gs:// lock path.
func (l *Lock) bucket() string {
	b, _, _ := strings.Cut(strings.TrimPrefix(l.path, "gs://"), "/")
	return b
}

func (l *Lock) object() string {
	_, o, _ := strings.Cut(strings.TrimPrefix(l.path, "gs://"), "/")
	return o
}

func isPrecondition(err error) bool {
	var e *googleapi.Error
	return errors.As(err, &e) && e.Code == 412
}

// acquireGCS creates the lock object on the condition that none exists, and
// starts rewriting it every GCSRefresh.
func (l *Lock) acquireGCS(ctx context.Context) error {
	client, err := storage.NewClient(ctx)
	if err != nil {
		return err
	}
	obj := client.Bucket(l.bucket()).Object(l.object())
	ok := false
	defer func() {
		if !ok {
			client.Close()
		}
	}()
	for attempt := 0; attempt < 5; attempt++ {
		gen, err := l.writeGCS(ctx, obj.If(storage.Conditions{DoesNotExist: true}))
		if err == nil {
			l.gen, l.client, ok = gen, client, true
			l.stop, l.done = make(chan struct{}), make(chan struct{})
			go l.refresh()
			return nil
		}
		if !isPrecondition(err) {
			return err
		}
		attrs, err := obj.Attrs(ctx)
		if errors.Is(err, storage.ErrObjectNotExist) {
			continue
		} else if err != nil {
			return err
		}
		var h Holder
		r, err := obj.Generation(attrs.Generation).NewReader(ctx)
		if errors.Is(err, storage.ErrObjectNotExist) {
			continue
		} else if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(r, 64<<10+1))
		r.Close()
		if err != nil {
			return err
		}
		age := now().Sub(attrs.Updated)
		readable := parseHolder(data, &h) == nil
		switch {
		case age >= GCSStaleAfter:
		case readable && l.gone(h):
		case readable:
			return &heldError{by: fmt.Sprintf("%s, lock rewritten %s ago", h, age.Round(time.Second))}
		default:
			return &heldError{by: fmt.Sprintf("a lock that can't be read, written %s ago", age.Round(time.Second))}
		}
		err = obj.If(storage.Conditions{GenerationMatch: attrs.Generation}).Delete(ctx)
		if err != nil && !isPrecondition(err) && !errors.Is(err, storage.ErrObjectNotExist) {
			return err
		}
		if err == nil {
			who := "a lock that can't be read"
			if readable {
				who = h.String()
			}
			l.note("took over the lock %s, not rewritten for %s (%s)", l.path, age.Round(time.Second), who)
		}
	}
	return errors.New("the lock changed hands too often")
}

// writeGCS writes the holder to obj (with its conditions) and returns the
// new generation.
func (l *Lock) writeGCS(ctx context.Context, obj *storage.ObjectHandle) (int64, error) {
	data, err := json.Marshal(l.holder)
	if err != nil {
		return 0, err
	}
	w := obj.NewWriter(ctx)
	w.ContentType = "application/json"
	w.CacheControl = "no-store"
	if _, err := w.Write(append(data, '\n')); err != nil {
		w.Close()
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return w.Attrs().Generation, nil
}

// refresh rewrites the lock object every GCSRefresh, on the condition that
// it is still the generation we wrote, until Release.
func (l *Lock) refresh() {
	defer close(l.done)
	t := time.NewTicker(GCSRefresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		gen := l.gen
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		obj := l.client.Bucket(l.bucket()).Object(l.object()).If(storage.Conditions{GenerationMatch: gen})
		next, err := l.writeGCS(ctx, obj)
		cancel()
		switch {
		case err == nil:
			l.mu.Lock()
			l.gen = next
			l.mu.Unlock()
		case isPrecondition(err):
			l.note("WARNING: the lock %s was taken over by another run: this run's output may mix with it", l.path)
			return
		default:
			l.note("WARNING: rewriting the lock %s: %v (retrying)", l.path, err)
		}
	}
}
