// Package fsio reads and writes files on local disk or Cloud Storage (gs://)
// through Beam's filesystem layer, adding what the pipelines need on top of
// it: recursive listing of folders and globs, and atomic writes.
package fsio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

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

// List expands an input spec into a sorted list of files. The spec is a
// folder (listed recursively, hidden files and temporary files skipped), a
// glob where ** matches across folders, or a single file; local or gs://.
func List(ctx context.Context, spec string) ([]string, error) {
	spec = ExpandHome(spec)
	var files []string
	var err error
	if IsGCS(spec) {
		files, err = listGCS(ctx, spec)
	} else {
		files, err = listLocal(spec)
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", spec, err)
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

func listLocal(spec string) ([]string, error) {
	if !IsGlob(spec) {
		st, err := os.Stat(spec)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return []string{spec}, nil
		}
		return walk(spec, func(string) bool { return true })
	}
	if !strings.Contains(spec, "**") {
		matches, err := filepath.Glob(spec)
		if err != nil {
			return nil, err
		}
		var files []string
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				files = append(files, m)
			}
		}
		return files, nil
	}
	// Walk from the folder above the first wildcard and match whole paths.
	root := spec[:strings.IndexAny(spec, "*?[")]
	root = root[:strings.LastIndex(root, string(filepath.Separator))+1]
	if root == "" {
		root = "."
	}
	re, err := globRegexp(filepath.ToSlash(spec))
	if err != nil {
		return nil, err
	}
	return walk(root, func(p string) bool { return re.MatchString(filepath.ToSlash(p)) })
}

func walk(root string, keep func(string) bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		regular := d.Type().IsRegular()
		if d.Type()&fs.ModeSymlink != 0 { // a link to a file counts as the file
			st, err := os.Stat(p)
			regular = err == nil && st.Mode().IsRegular()
		}
		if regular && keep(p) {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// ReadFile reads a whole file.
func ReadFile(ctx context.Context, p string) ([]byte, error) {
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
	w, err := f.OpenWrite(ctx, tmp)
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
	if err = w.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err = filesystem.Rename(ctx, f, tmp, p); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", tmp, p, err)
	}
	return nil
}

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
