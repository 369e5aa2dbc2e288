// Package fsio reads and writes files on local disk or Cloud Storage (gs://)
// through Beam's filesystem layer, adding what the pipelines need on top of
// it: recursive listing of folders and globs, and atomic writes.
package fsio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs://
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
)

// TempMarker is part of the name of every file being written; a file whose
// name contains it is never an output.
const TempMarker = ".tmp-"

var (
	mu      sync.Mutex
	systems = map[string]filesystem.Interface{}
)

// Reset forgets the filesystems opened so far, so that the next use opens
// them anew, e.g. after STORAGE_EMULATOR_HOST changed in a test.
func Reset() {
	mu.Lock()
	defer mu.Unlock()
	systems = map[string]filesystem.Interface{}
}

// IsGCS reports whether p is a gs:// path.
func IsGCS(p string) bool { return strings.HasPrefix(p, "gs://") }

// FS returns the filesystem serving p. Filesystems are opened once per
// process and kept: a Cloud Storage client is costly to create.
func FS(ctx context.Context, p string) (filesystem.Interface, error) {
	scheme := "local"
	if IsGCS(p) {
		scheme = "gs"
	}
	mu.Lock()
	defer mu.Unlock()
	if f, ok := systems[scheme]; ok {
		return f, nil
	}
	f, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, err
	}
	systems[scheme] = f
	return f, nil
}

// Join joins path elements with "/" for gs:// paths and the OS separator
// otherwise.
func Join(dir string, elem ...string) string {
	if IsGCS(dir) {
		return strings.TrimSuffix(dir, "/") + "/" + path.Join(elem...)
	}
	return filepath.Join(append([]string{dir}, elem...)...)
}

// Base is the last element of a local or gs:// path.
func Base(p string) string {
	if IsGCS(p) {
		return path.Base(p)
	}
	return filepath.Base(p)
}

// ExpandHome replaces a leading "~/" with the user's home folder: shells
// don't expand it inside --flag=~/path.
func ExpandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// IsGlob reports whether p holds glob metacharacters.
func IsGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// ListNotes receives List's notes about the links it skipped (broken ones,
// loops, second ways into a folder), one per line.
var ListNotes io.Writer = os.Stderr

// List expands an input spec into a sorted list of files. The spec is a
// folder (listed recursively, hidden files and temporary files skipped), a
// glob where ** matches across folders, or a single file; local or gs://.
// Local links are followed, each folder listed once (see walk).
func List(ctx context.Context, spec string) ([]string, error) {
	spec = ExpandHome(spec)
	var files, notes []string
	var err error
	if IsGCS(spec) {
		files, err = listGCS(ctx, spec)
	} else {
		files, notes, err = listLocal(spec)
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", spec, err)
	}
	for _, n := range notes {
		fmt.Fprintf(ListNotes, "listing %s: %s\n", spec, n)
	}
	kept := files[:0]
	for _, f := range files {
		if b := Base(f); !strings.HasPrefix(b, ".") && !strings.Contains(b, TempMarker) {
			kept = append(kept, f)
		}
	}
	sort.Strings(kept)
	return kept, nil
}

func listGCS(ctx context.Context, spec string) ([]string, error) {
	f, err := FS(ctx, spec)
	if err != nil {
		return nil, err
	}
	if IsGlob(spec) {
		return f.List(ctx, spec)
	}
	// A prefix is a folder; an exact object name is a single file.
	files, err := f.List(ctx, strings.TrimSuffix(spec, "/")+"/**")
	if err != nil || len(files) > 0 {
		return files, err
	}
	if _, err := f.Size(ctx, spec); err == nil {
		return []string{spec}, nil
	}
	return nil, nil
}

// listLocal lists a local spec, returning with the files the notes of the
// links it skipped.
func listLocal(spec string) (files, notes []string, err error) {
	if !IsGlob(spec) {
		st, err := os.Stat(spec)
		if err != nil {
			return nil, nil, err
		}
		if !st.IsDir() {
			return []string{spec}, nil, nil
		}
		return walk(spec, func(string) bool { return true })
	}
	if !strings.Contains(spec, "**") {
		matches, err := filepath.Glob(spec)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				files = append(files, m)
			}
		}
		return files, nil, nil
	}
	// Walk from the folder above the first wildcard and match whole paths.
	root := spec[:strings.IndexAny(spec, "*?[")]
	root = root[:strings.LastIndex(root, string(filepath.Separator))+1]
	if root == "" {
		root = "."
	}
	re, err := globRegexp(filepath.ToSlash(spec))
	if err != nil {
		return nil, nil, err
	}
	return walk(root, func(p string) bool { return re.MatchString(filepath.ToSlash(p)) })
}

// walk lists the files under root for which keep is true. It follows
// symbolic links: a link to a file counts as the file, and a link to a folder
// is listed like a folder, once. Folders reached without a link are listed
// first, so a file keeps its path without links when it has one; a link to
// a folder already listed (a loop back to a folder above it, or a second way
// into the same folder) is skipped with a note. Hidden folders are skipped.
func walk(root string, keep func(string) bool) (files, notes []string, err error) {
	w := &walker{keep: keep, seen: map[fileID]string{}}
	st, err := os.Stat(root) // follows a link: a linked folder as --input is listed
	if err != nil {
		return nil, nil, err
	}
	w.seen[idOf(root, st)] = root
	if err := w.dir(root); err != nil {
		return nil, nil, err
	}
	// Then the folders behind links, breadth first, each once.
	for len(w.links) > 0 {
		link := w.links[0]
		w.links = w.links[1:]
		st, err := os.Stat(link)
		if err != nil {
			continue // gone since it was listed
		}
		if w.listed(link, st, "a link to a folder listed already") {
			continue
		}
		if err := w.dir(link); err != nil {
			return nil, nil, err
		}
	}
	return w.files, w.notes, nil
}

type walker struct {
	keep  func(string) bool
	seen  map[fileID]string // folders listed, by identity, with the path they were listed under
	links []string          // links to folders, to list after the folders reached without links
	files []string
	notes []string
}

// listed reports whether the folder st, found at p, was listed already,
// noting why it is skipped if so (what it is, and whether it loops back to a
// folder above it); otherwise it records it as listed.
func (w *walker) listed(p string, st fs.FileInfo, what string) bool {
	id := idOf(p, st)
	first, ok := w.seen[id]
	if !ok {
		w.seen[id] = p
		return false
	}
	how := "a second way into " + first
	if loopsBack(p, st) {
		how = "a loop back to " + first
	}
	w.notes = append(w.notes, fmt.Sprintf("skipped %s: %s (%s)", p, what, how))
	return true
}

// dir lists one folder: its files, its subfolders recursively, and the
// links to folders it holds for later.
func (w *walker) dir(d string) error {
	entries, err := os.ReadDir(d)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(d, e.Name())
		switch {
		case e.IsDir():
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			if w.listed(p, st, "a folder listed already, reached through a link") {
				continue
			}
			if err := w.dir(p); err != nil {
				return err
			}
		case e.Type()&fs.ModeSymlink != 0:
			st, err := os.Stat(p)
			switch {
			case err != nil:
				w.notes = append(w.notes, fmt.Sprintf("skipped %s: a broken link (%v)", p, errors.Unwrap(err)))
			case st.IsDir() && !strings.HasPrefix(e.Name(), "."):
				w.links = append(w.links, p)
			case st.Mode().IsRegular() && w.keep(p):
				w.files = append(w.files, p)
			}
		case e.Type().IsRegular():
			if w.keep(p) {
				w.files = append(w.files, p)
			}
		}
	}
	return nil
}

// fileID identifies a folder whatever the path to it.
type fileID struct {
	dev, ino uint64
	path     string // where the system gives no inode numbers
}

// realPath is p with every link resolved, or p when that fails.
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// loopsBack reports whether the folder a link leads to (target) holds the
// link itself: the link's folder or one above it.
func loopsBack(link string, target fs.FileInfo) bool {
	for d := filepath.Dir(link); ; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && os.SameFile(st, target) {
			return true
		}
		if parent := filepath.Dir(d); parent == d {
			return false
		}
	}
}

// ReadFile reads a whole file. A local one is read in one buffer of its
// size (os.ReadFile): growing a buffer as the bytes come cost about 4% of
// scoring's CPU time.
func ReadFile(ctx context.Context, p string) ([]byte, error) {
	if !IsGCS(p) {
		return os.ReadFile(p)
	}
	f, err := FS(ctx, p)
	if err != nil {
		return nil, err
	}
	return filesystem.Read(ctx, f, p)
}

// Size returns a file's size in bytes.
func Size(ctx context.Context, p string) (int64, error) {
	f, err := FS(ctx, p)
	if err != nil {
		return 0, err
	}
	return f.Size(ctx, p)
}

// Exists reports whether a file exists.
func Exists(ctx context.Context, p string) bool {
	_, err := Size(ctx, p)
	return err == nil
}

// WriteAtomic writes a file so that it appears under its final name only
// complete: write streams into a temporary name beside p, which is renamed to
// p once write and the close have succeeded, and removed otherwise. A crash
// leaves at most a temporary file, never a partial p.
func WriteAtomic(ctx context.Context, p string, write func(w io.Writer) error) (err error) {
	f, err := FS(ctx, p)
	if err != nil {
		return err
	}
	tmp := TempName(p)
	tempsMu.RLock()
	w, err := f.OpenWrite(ctx, tmp)
	tempsMu.RUnlock()
	if err != nil {
		return fmt.Errorf("creating %s: %w", tmp, err)
	}
	w = newWriteBehind(w)
	defer func() {
		if err != nil {
			if r, ok := f.(filesystem.Remover); ok {
				_ = r.Remove(context.WithoutCancel(ctx), tmp)
			}
		}
	}()
	if err = write(w); err != nil {
		w.Close()
		return err
	}
	// A local file reaches the disk before its name does, and the name
	// after the rename: without both, an OS crash (not a process crash)
	// may leave the final name on an empty or partial file. Cloud Storage
	// makes an object durable when its upload completes.
	if s, ok := w.(interface{ Sync() error }); ok {
		if err = syncFile(s); err != nil {
			w.Close()
			return fmt.Errorf("syncing %s: %w", tmp, err)
		}
	}
	if err = w.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err = filesystem.Rename(ctx, f, tmp, p); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", tmp, p, err)
	}
	if !IsGCS(p) {
		if err = syncDir(filepath.Dir(p)); err != nil {
			return fmt.Errorf("syncing the folder of %s: %w", p, err)
		}
	}
	return nil
}

// tempsMu is held for reading while a temporary file is created, and for
// writing while temporary files are stopped (StopTemps).
var (
	tempsMu      sync.RWMutex
	tempsStopped atomic.Bool
)

// StopTemps makes every later creation of a temporary file by WriteAtomic
// wait, once those in progress are done, until resume is called. An
// interrupted run calls it before it removes its temporary files and exits
// (never resuming), so that no writer still running creates one after the
// clean-up. A second call while stopped does nothing.
func StopTemps() (resume func()) {
	if !tempsStopped.CompareAndSwap(false, true) {
		return func() {}
	}
	tempsMu.Lock()
	return func() {
		tempsStopped.Store(false)
		tempsMu.Unlock()
	}
}

// syncFile and syncDir flush a written file and a folder's entries to disk;
// tests replace them to see the order of the steps.
var (
	syncFile = func(s interface{ Sync() error }) error { return s.Sync() }
	syncDir  = func(dir string) error {
		d, err := os.Open(dir)
		if err != nil {
			return err
		}
		defer d.Close()
		return d.Sync()
	}
)

// WriteFile writes data to p atomically.
func WriteFile(ctx context.Context, p string, data []byte) error {
	return WriteAtomic(ctx, p, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// TempName is a fresh temporary name beside p: the base name with a random
// suffix after TempMarker.
func TempName(p string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return p + TempMarker + hex.EncodeToString(b[:])
}

// RemoveTemps deletes leftover temporary files directly under dir (from a
// killed run) and returns how many it removed.
func RemoveTemps(ctx context.Context, dir string) (int, error) {
	f, err := FS(ctx, dir)
	if err != nil {
		return 0, err
	}
	r, ok := f.(filesystem.Remover)
	if !ok {
		return 0, nil
	}
	pattern := Join(dir, "*"+TempMarker+"*")
	matches, err := f.List(ctx, pattern)
	if err != nil {
		return 0, nil // a missing folder has nothing to clean
	}
	n := 0
	for _, m := range matches {
		if err := r.Remove(ctx, m); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Remove deletes a file.
func Remove(ctx context.Context, p string) error {
	f, err := FS(ctx, p)
	if err != nil {
		return err
	}
	r, ok := f.(filesystem.Remover)
	if !ok {
		return fmt.Errorf("removing %s: the filesystem can't remove files", p)
	}
	return r.Remove(ctx, p)
}
