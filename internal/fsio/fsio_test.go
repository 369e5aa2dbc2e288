package fsio

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func touch(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rel(t *testing.T, dir string, files []string) []string {
	var out []string
	for _, f := range files {
		r, err := filepath.Rel(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, filepath.ToSlash(r))
	}
	return out
}

func TestListLocal(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "b.jpg", "a.jpg", "sub/c.jpg", "sub/deeper/d.png", ".hidden.jpg", ".git/e.jpg", "x.jpg"+TempMarker+"123", "notes.txt")
	if err := os.Symlink(filepath.Join(dir, "a.jpg"), filepath.Join(dir, "sub", "link.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "sub"), filepath.Join(dir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec string
		want []string
	}{
		{dir, []string{"a.jpg", "b.jpg", "notes.txt", "sub/c.jpg", "sub/deeper/d.png", "sub/link.jpg"}},
		{filepath.Join(dir, "*.jpg"), []string{"a.jpg", "b.jpg"}},
		{filepath.Join(dir, "**/*.jpg"), []string{"a.jpg", "b.jpg", "sub/c.jpg", "sub/link.jpg"}},
		{filepath.Join(dir, "sub", "**"), []string{"sub/c.jpg", "sub/deeper/d.png", "sub/link.jpg"}},
		{filepath.Join(dir, "[ab].jpg"), []string{"a.jpg", "b.jpg"}},
		{filepath.Join(dir, "a.jpg"), []string{"a.jpg"}},
		{filepath.Join(dir, "*.none"), nil},
	}
	for _, tc := range tests {
		got, err := List(context.Background(), tc.spec)
		if err != nil {
			t.Errorf("List(%s): %v", tc.spec, err)
			continue
		}
		if g := rel(t, dir, got); !reflect.DeepEqual(g, tc.want) {
			t.Errorf("List(%s) = %v, want %v", tc.spec, g, tc.want)
		}
	}
	if _, err := List(context.Background(), filepath.Join(dir, "missing")); err == nil {
		t.Error("List of a missing folder: want an error")
	}
}

func TestWriteAtomic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "out", "f.bin")
	if err := WriteFile(ctx, p, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "hello" {
		t.Fatalf("read back %q, %v", b, err)
	}
	// A failing writer leaves neither the final name nor a temporary file.
	q := filepath.Join(dir, "out", "g.bin")
	boom := errors.New("boom")
	err := WriteAtomic(ctx, q, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	if len(entries) != 1 || entries[0].Name() != "f.bin" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want only f.bin", names)
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "a.tfrecord", "a.tfrecord"+TempMarker+"abc", "m.json"+TempMarker+"1")
	n, err := RemoveTemps(context.Background(), dir)
	if err != nil || n != 2 {
		t.Fatalf("RemoveTemps = %d, %v; want 2", n, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files left, want 1", len(entries))
	}
	if n, err := RemoveTemps(context.Background(), filepath.Join(dir, "missing")); n != 0 || err != nil {
		t.Errorf("missing folder: %d, %v", n, err)
	}
}

func TestPaths(t *testing.T) {
	if got := Join("gs://b/x/", "tfrecords", "a.tfrecord"); got != "gs://b/x/tfrecords/a.tfrecord" {
		t.Error(got)
	}
	if got := Join("/tmp/x", "a"); got != "/tmp/x/a" {
		t.Error(got)
	}
	if Base("gs://b/x/y.jpg") != "y.jpg" || Base("/a/b.jpg") != "b.jpg" {
		t.Error("Base")
	}
	home, _ := os.UserHomeDir()
	if got := ExpandHome("~/data"); got != filepath.Join(home, "data") || ExpandHome("a~/b") != "a~/b" {
		t.Error(got)
	}
	if !strings.Contains(TempName("/x/y"), TempMarker) || TempName("a") == TempName("a") {
		t.Error("TempName")
	}
}

func TestGlobRegexp(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"a/*.jpg", "a/b.jpg", true},
		{"a/*.jpg", "a/c/b.jpg", false},
		{"a/**/*.jpg", "a/b.jpg", true},
		{"a/**/*.jpg", "a/c/d/b.jpg", true},
		{"a/**", "a/c/d/b.jpg", true},
		{"a/?.jpg", "a/bb.jpg", false},
		{"a/[!x].jpg", "a/y.jpg", true},
		{"a/[!x].jpg", "a/x.jpg", false},
		{"a/b+c(1).jpg", "a/b+c(1).jpg", true},
	}
	for _, tc := range tests {
		re, err := globRegexp(tc.glob)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tc.name); got != tc.want {
			t.Errorf("%s matches %s = %v, want %v", tc.glob, tc.name, got, tc.want)
		}
	}
}

// TestListFollowsLinks lists trees with links in them: a linked folder given
// as the spec, a link to a folder outside the tree (followed), a loop back
// to a folder above (reported, not followed), a second way into a folder
// (reported, listed once) and a broken link (reported).
func TestListFollowsLinks(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	touch(t, data, "a.jpg", "sub/b.jpg")
	touch(t, root, "elsewhere/c.jpg")
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	link(data, filepath.Join(root, "datalink"))
	link(filepath.Join(root, "elsewhere"), filepath.Join(data, "ext"))
	link(data, filepath.Join(data, "sub", "loop"))
	link(filepath.Join(data, "sub"), filepath.Join(data, "sub2"))
	link(filepath.Join(root, "missing.jpg"), filepath.Join(data, "broken.jpg"))

	for _, tc := range []struct {
		spec      string
		want      []string
		wantNotes []string
	}{
		{filepath.Join(root, "datalink"), []string{"a.jpg", "ext/c.jpg", "sub/b.jpg"},
			[]string{"broken.jpg: a broken link", "loop: a link to a folder listed already (a loop back to ", "sub2: a link to a folder listed already (a second way into "}},
		{filepath.Join(root, "datalink") + "/", []string{"a.jpg", "ext/c.jpg", "sub/b.jpg"}, nil},
		{filepath.Join(data, "**", "*.jpg"), []string{"a.jpg", "ext/c.jpg", "sub/b.jpg"}, nil},
		{filepath.Join(root, "datalink", "sub"), []string{"sub/b.jpg", "sub/loop/a.jpg", "sub/loop/ext/c.jpg"},
			[]string{"loop/broken.jpg: a broken link", "loop/sub: a folder listed already, reached through a link (a loop back to ",
				"loop/sub2: a link to a folder listed already (a loop back to "}},
	} {
		var notes strings.Builder
		ListNotes = &notes
		got, err := List(context.Background(), tc.spec)
		ListNotes = os.Stderr
		if err != nil {
			t.Errorf("List(%s): %v", tc.spec, err)
			continue
		}
		base := filepath.Join(root, "datalink")
		if strings.HasPrefix(tc.spec, data+string(filepath.Separator)) {
			base = data
		}
		if g := rel(t, base, got); !reflect.DeepEqual(g, tc.want) {
			t.Errorf("List(%s) = %v, want %v", tc.spec, g, tc.want)
		}
		for _, w := range tc.wantNotes {
			if !strings.Contains(notes.String(), w) {
				t.Errorf("List(%s) notes %q, want one containing %q", tc.spec, notes.String(), w)
			}
		}
		if n := strings.Count(notes.String(), "\n"); tc.wantNotes != nil && n != len(tc.wantNotes) {
			t.Errorf("List(%s): %d notes, want %d: %q", tc.spec, n, len(tc.wantNotes), notes.String())
		}
	}
}
