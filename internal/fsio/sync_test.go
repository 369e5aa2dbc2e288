package fsio

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestWriteAtomicSyncs: a local WriteAtomic flushes the temporary file to
// disk before the rename gives it its name (the final name does not exist
// yet when the file is synced), then flushes the folder, holding the
// final name, after the rename: in that order, an OS crash leaves either
// the old state or the whole new file.
func TestWriteAtomicSyncs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	var steps []string
	defer func(f func(interface{ Sync() error }) error, d func(string) error) { syncFile, syncDir = f, d }(syncFile, syncDir)
	realFile, realDir := syncFile, syncDir
	syncFile = func(s interface{ Sync() error }) error {
		_, err := os.Stat(p)
		steps = append(steps, "file, final name exists: "+boolString(err == nil))
		return realFile(s)
	}
	syncDir = func(d string) error {
		b, err := os.ReadFile(p)
		steps = append(steps, "folder "+filepath.Base(d)+" holding "+string(b)+", error: "+boolString(err != nil))
		return realDir(d)
	}
	if err := WriteFile(context.Background(), p, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	want := []string{"file, final name exists: false", "folder " + filepath.Base(dir) + " holding hello, error: false"}
	if !reflect.DeepEqual(steps, want) {
		t.Errorf("steps %q, want %q", steps, want)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestStopTemps: once temporary files are stopped, a WriteAtomic creates
// nothing until they are resumed, and then completes; a second stop while
// stopped does nothing.
func TestStopTemps(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	resume := StopTemps()
	StopTemps()() // a no-op while stopped
	done := make(chan error, 1)
	go func() { done <- WriteFile(context.Background(), p, []byte("x")) }()
	time.Sleep(200 * time.Millisecond)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a file was created while temporary files were stopped: %v", entries[0].Name())
	}
	select {
	case err := <-done:
		t.Fatalf("WriteFile returned while stopped: %v", err)
	default:
	}
	resume()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(p); err != nil || string(data) != "x" {
		t.Fatalf("after resume: %q, %v", data, err)
	}
}
