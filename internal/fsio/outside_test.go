package fsio

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// An output folder inside the input is left out of the input's listing,
// with one note; a folder whose name merely starts like it stays, and so do
// gs:// paths outside it.
func TestOutside(t *testing.T) {
	in := t.TempDir()
	for _, f := range []string{"a.jpg", "out/summary.json", "out/predictions/part-0.parquet", "output2/b.jpg", "sub/c.jpg"} {
		p := filepath.Join(in, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The input reaches the output a second way, through a link.
	if err := os.Symlink(filepath.Join(in, "out"), filepath.Join(in, "sub", "linked")); err != nil {
		t.Fatal(err)
	}
	var notes bytes.Buffer
	ListNotes = &notes
	defer func() { ListNotes = os.Stderr }()
	files, err := List(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	// The output named relatively, as a user types it.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir(in); err != nil {
		t.Fatal(err)
	}
	got := Outside(in, files, "out/")
	want := []string{filepath.Join(in, "a.jpg"), filepath.Join(in, "output2/b.jpg"), filepath.Join(in, "sub/c.jpg")}
	if !slices.Equal(got, want) {
		t.Errorf("Outside = %v, want %v (listed %v)", got, want, files)
	}
	skipped := len(files) - len(want)
	if skipped < 2 || !strings.Contains(notes.String(), "skipped ") || strings.Count(notes.String(), "\n") > 1+strings.Count(notes.String(), "link") {
		t.Errorf("%d skipped; notes %q", skipped, notes.String())
	}
	if !strings.Contains(notes.String(), "under the output folder out/, which is inside the input") {
		t.Errorf("notes %q: want one naming the output folder", notes.String())
	}

	notes.Reset()
	gcs := []string{"gs://b/in/a.jpg", "gs://b/in/out/x.parquet", "gs://b/in/outer/y.jpg"}
	if got := Outside("gs://b/in", gcs, "gs://b/in/out"); !slices.Equal(got, []string{"gs://b/in/a.jpg", "gs://b/in/outer/y.jpg"}) {
		t.Errorf("gs://: %v", got)
	}
	if got := Outside(in, want, filepath.Join(t.TempDir(), "elsewhere")); !slices.Equal(got, want) || !strings.Contains(notes.String(), "skipped 1 ") {
		t.Errorf("an output elsewhere: %v, notes %q", got, notes.String())
	}
}
