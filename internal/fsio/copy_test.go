package fsio

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestMirrorAndCopyDown mirrors a folder twice (the second time with a file
// gone and one changed) and copies the mirror back down.
func TestMirrorAndCopyDown(t *testing.T) {
	ctx := context.Background()
	src, dst, back := t.TempDir(), filepath.Join(t.TempDir(), "mirror"), t.TempDir()
	touch(t, src, "model.json", "checkpoint/step-1.bin", "checkpoint/step-1.json")
	if err := Mirror(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(src, "checkpoint"))
	touch(t, src, "checkpoint/step-2.bin")
	if err := os.WriteFile(filepath.Join(src, "model.json"), []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Mirror(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	files, err := List(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rel(t, dst, files), []string{"checkpoint/step-2.bin", "model.json"}; !reflect.DeepEqual(got, want) {
		t.Errorf("mirror holds %v, want %v", got, want)
	}
	n, err := CopyDown(ctx, dst, back)
	if err != nil || n != 2 {
		t.Fatalf("CopyDown: %d files, %v", n, err)
	}
	if b, err := os.ReadFile(filepath.Join(back, "model.json")); err != nil || string(b) != "v2" {
		t.Errorf("model.json copied down as %q, %v", b, err)
	}
	if n, err := CopyDown(ctx, filepath.Join(dst, "model.json"), t.TempDir()); err != nil || n != 1 {
		t.Errorf("CopyDown of one file: %d files, %v", n, err)
	}
}
