// Package models bundles the default age and gender models, so that scoring
// works out of the box (see README.md in this folder for the model cards):
// default, trained on UTKFace's own crops, for images that already are such
// crops, and faces, trained on crops aligned as scoring aligns the faces it
// finds in photos.
package models

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

//go:embed default faces
var bundled embed.FS

var (
	once sync.Once
	dir  string
	err  error
)

// Default returns the bundled model folder for UTKFace-style crops (an
// ensemble of networks that predict age and gender, see README.md),
// extracting the bundle on first use. It goes to the user's cache folder
// under a name made of its digest (facepipe/models/<sha256>), so that every
// run of one binary shares one copy and a new binary's models never mix with
// an old one's. Where there is no usable cache folder, each process extracts
// it to a temporary folder and removes it with Cleanup.
func Default() (string, error) { return bundle("default") }

// Faces returns the bundled model folder for faces that scoring found in
// photos and aligned onto the UTKFace template (see README.md), extracting
// the bundle as Default does.
func Faces() (string, error) { return bundle("faces") }

// bundle returns the extracted folder of one bundled model.
func bundle(name string) (string, error) {
	once.Do(func() { dir, err = extract() })
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// tempDir is the temporary folder Default extracted to, if it had to.
var tempDir string

// Cleanup removes the temporary folder Default extracted the models to, when
// there was no cache folder; the cached copy stays.
func Cleanup() {
	if tempDir != "" {
		os.RemoveAll(tempDir)
	}
}

func extract() (string, error) {
	sum, err := digest()
	if err != nil {
		return "", err
	}
	if cache, err := os.UserCacheDir(); err == nil {
		final := filepath.Join(cache, "facepipe", "models", sum)
		if isDir(final) {
			return final, nil
		}
		if d, err := extractInto(filepath.Dir(final)); err == nil {
			// Another process may have won the race: its copy is as good.
			if err := os.Rename(d, final); err != nil {
				os.RemoveAll(d)
				if !isDir(final) {
					return "", fmt.Errorf("extracting the default models to %s: %w", final, err)
				}
			}
			return final, nil
		}
	}
	d, err := extractInto("")
	if err != nil {
		return "", fmt.Errorf("extracting the default models: %w", err)
	}
	tempDir = d
	return d, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// extractInto writes the bundled models into a new temporary folder under
// parent (the system's temporary folder when "").
func extractInto(parent string) (string, error) {
	if parent != "" {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return "", err
		}
	}
	d, err := os.MkdirTemp(parent, ".extract-")
	if err != nil {
		return "", err
	}
	err = fs.WalkDir(bundled, ".", func(p string, e fs.DirEntry, werr error) error {
		if werr != nil {
			return werr
		}
		dst := filepath.Join(d, filepath.FromSlash(p))
		if e.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, rerr := bundled.ReadFile(p)
		if rerr != nil {
			return rerr
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		os.RemoveAll(d)
		return "", err
	}
	return d, os.Chmod(d, 0o755)
}

// digest is the sha256 of the bundled files' paths and contents.
func digest() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(bundled, ".", func(p string, e fs.DirEntry, werr error) error {
		if werr != nil || e.IsDir() {
			return werr
		}
		f, err := bundled.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\x00", p)
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", errors.Join(errors.New("reading the bundled models"), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
