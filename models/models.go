// Package models bundles the default age and gender models, so that scoring
// works out of the box (see README.md in this folder for the model card).
package models

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

//go:embed default
var bundled embed.FS

var (
	once sync.Once
	dir  string
	err  error
)

// Default extracts the bundled models once per process and returns the
// folder holding their model folders (age/ and gender/).
func Default() (string, error) {
	once.Do(func() {
		dir, err = os.MkdirTemp("", "facepipe-default-models-")
		if err != nil {
			return
		}
		err = fs.WalkDir(bundled, "default", func(p string, d fs.DirEntry, werr error) error {
			if werr != nil {
				return werr
			}
			rel, _ := filepath.Rel("default", p)
			dst := filepath.Join(dir, rel)
			if d.IsDir() {
				return os.MkdirAll(dst, 0o755)
			}
			data, rerr := bundled.ReadFile(p)
			if rerr != nil {
				return rerr
			}
			return os.WriteFile(dst, data, 0o644)
		})
	})
	return dir, err
}
