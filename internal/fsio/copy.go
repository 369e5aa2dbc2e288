package fsio

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// CopyDown copies every file under the folder remote (local or gs://) into
// the local folder dir, keeping their paths relative to remote, and returns
// how many it copied.
func CopyDown(ctx context.Context, remote, dir string) (int, error) {
	files, err := List(ctx, remote)
	if err != nil {
		return 0, err
	}
	root := strings.TrimSuffix(remote, "/")
	for _, f := range files {
		data, err := ReadFile(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("copying %s: %w", f, err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(f, root), "/")
		if rel == "" { // remote is a single file
			rel = Base(f)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}

// Mirror makes the folder remote (local or gs://) hold exactly the files
// under the local folder dir: each is written atomically, so a reader never
// sees a partial file under its final name, and files under remote that dir
// no longer has (such as superseded checkpoints) are removed afterwards.
func Mirror(ctx context.Context, dir, remote string) error {
	var rels []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		rels = append(rels, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, rel := range rels {
		dst := Join(remote, rel)
		keep[dst] = true
		err := WriteAtomic(ctx, dst, func(w io.Writer) error {
			f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		})
		if err != nil {
			return fmt.Errorf("mirroring %s to %s: %w", rel, dst, err)
		}
	}
	old, err := List(ctx, remote)
	if err != nil {
		return err
	}
	for _, p := range old {
		if !keep[p] {
			if err := Remove(ctx, p); err != nil {
				return fmt.Errorf("mirroring %s: removing %s: %w", dir, p, err)
			}
		}
	}
	return nil
}
