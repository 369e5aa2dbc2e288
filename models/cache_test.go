package models

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestExtractOnceIntoCache: the models go to the cache folder under their
// digest once, and later runs reuse that copy without leaving anything.
func TestExtractOnceIntoCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	first, err := extract()
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := digest()
	if want := filepath.Join(cache, "facepipe", "models", sum); first != want || len(sum) != 64 {
		t.Fatalf("extracted to %s, want %s", first, want)
	}
	marker := filepath.Join(first, bundledFile(t))
	old := []byte("{}")
	if err := os.WriteFile(marker, old, 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := extract()
	if err != nil || second != first {
		t.Fatalf("second extraction: %s, %v; want the cached %s", second, err, first)
	}
	if data, _ := os.ReadFile(marker); string(data) != string(old) {
		t.Error("the second run extracted again instead of reusing the cached copy")
	}
	entries, _ := os.ReadDir(filepath.Dir(first))
	if len(entries) != 1 {
		t.Errorf("cache holds %d entries, want 1", len(entries))
	}
	if tempDir != "" {
		t.Errorf("temporary folder %s used although the cache was usable", tempDir)
	}
}

// TestExtractWithoutCache: with no usable cache folder, the models go to a
// temporary folder that Cleanup removes.
func TestExtractWithoutCache(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", notDir)
	d, err := extract()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { tempDir = "" }()
	if _, err := os.Stat(filepath.Join(d, bundledFile(t))); err != nil || tempDir != d {
		t.Fatalf("extracted to %s (temporary folder %q): %v", d, tempDir, err)
	}
	Cleanup()
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Errorf("Cleanup left %s: %v", d, err)
	}
}

// bundledFile is the path of one of the bundled files, relative to the
// bundle's folder: the last in walking order, so that it lies deep in it.
func bundledFile(t *testing.T) string {
	t.Helper()
	var last string
	err := fs.WalkDir(bundled, ".", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			last = p
		}
		return err
	})
	if err != nil || last == "" {
		t.Fatalf("no bundled file: %v", err)
	}
	return filepath.FromSlash(last)
}
