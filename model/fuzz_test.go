package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validCard is the model.json of a small single-network model.
const validCard = `{"format_version":1,"id":"age-cnn-xs-16","task":"age","backbone":"cnn-xs","input_size":16,` +
	`"age_scale":10,"age_shift":30,"preprocessing":{"function":"preprocess.ModelInput","stored_size":16,` +
	`"resize":"bilinear","range":"[0,1]","layout":"NHWC, RGB"},"output":"age","epochs_run":2,"best_epoch":1,"seed":1}`

// fuzzFolder writes an ensemble-shaped model folder into a fresh temporary
// folder: card as its model.json, member as members/0/model.json, and links
// inside it that lead back up (members/up -> .., members/self -> .), so that
// a member path can name the ensemble itself or a member can be an ensemble
// of its parent. No folder holds weights, so opening one never reaches a
// backend: OpenFolder runs on a nil one.
func fuzzFolder(t *testing.T, card, member []byte) string {
	dir := t.TempDir()
	m := filepath.Join(dir, "members", "0")
	if err := os.MkdirAll(m, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CardFile), card, 0o644); err != nil {
		t.Fatal(err)
	}
	if member != nil {
		if err := os.WriteFile(filepath.Join(m, CardFile), member, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("..", filepath.Join(dir, "members", "up"))
	os.Symlink(".", filepath.Join(dir, "members", "self"))
	return dir
}

// checkAccepted fails unless a card ReadCard accepted is within every bound
// of limits.go, its members inside dir.
func checkAccepted(t *testing.T, dir string, c *Card) {
	t.Helper()
	if c.InputSize < MinInputSize || c.InputSize > MaxInputSize || c.Preprocessing.StoredSize < MinInputSize ||
		c.Preprocessing.StoredSize > MaxStoredSize || len(c.Members) > MaxMembers || len(c.ID) > maxText {
		t.Fatalf("accepted a card out of bounds: input_size %d, stored_size %d, %d members, id of %d bytes",
			c.InputSize, c.Preprocessing.StoredSize, len(c.Members), len(c.ID))
	}
	if c.Task != TaskAge && c.Task != TaskGender && c.Task != TaskBoth {
		t.Fatalf("accepted task %q", c.Task)
	}
	root, _ := filepath.EvalSymlinks(dir)
	for _, m := range c.Members {
		p, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(m)))
		if err != nil {
			t.Fatalf("accepted member %q: %v", m, err)
		}
		if r, err := filepath.Rel(root, p); err != nil || !filepath.IsLocal(r) {
			t.Fatalf("accepted member %q, which leads to %s, out of %s", m, p, root)
		}
	}
}

// openFuzzed opens dir as scoring does, on no backend (no folder holds
// weights, so none is reached), and fails on a success or a multi-line error.
func openFuzzed(t *testing.T, dir string) {
	t.Helper()
	sc, err := OpenFolder(dir, nil, 1, false)
	if err == nil {
		sc.Close()
		t.Fatal("opened a model folder without weights")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error on several lines: %q", err)
	}
}

// FuzzReadCard: whatever model.json holds, ReadCard and OpenFolder never
// panic nor allocate from its fields unchecked (a 1 MiB file at most is
// read), a card accepted is within the bounds of limits.go, and an error is
// one line.
func FuzzReadCard(f *testing.F) {
	f.Add([]byte(validCard))
	f.Add([]byte(strings.Replace(validCard, `"input_size":16`, `"input_size":100000`, 1)))
	f.Add([]byte(strings.Replace(validCard, `"stored_size":16`, `"stored_size":-1`, 1)))
	f.Add([]byte(strings.Replace(validCard, `"backbone":"cnn-xs"`, `"backbone":"../../x.onnx"`, 1)))
	f.Add([]byte(strings.Replace(validCard, `"age_scale":10`, `"age_scale":1e308`, 1)))
	f.Add([]byte(strings.Replace(validCard, `"seed":1}`, `"onnx":{"batch":1000000000},"seed":1}`, 1)))
	f.Add([]byte(`{"format_version":1,"members":["members/0","members/up","members/self","."]}`))
	f.Add([]byte(`{"format_version":1,"hyperparameters":{"tta":[[[[[[[[[[1]]]]]]]]]]}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := fuzzFolder(t, data, []byte(validCard))
		c, err := ReadCard(dir)
		if err == nil {
			checkAccepted(t, dir, c)
		} else if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error on several lines: %q", err)
		}
		openFuzzed(t, dir)
	})
}

// FuzzEnsemble: an ensemble's model.json and its member's, whatever they
// hold, never make opening the ensemble panic, recurse without end or leave
// the folder, even when a member path or a link names the ensemble itself.
func FuzzEnsemble(f *testing.F) {
	ens := func(members ...string) []byte {
		var c map[string]any
		json.Unmarshal([]byte(validCard), &c)
		c["members"] = members
		c["combine"] = EnsembleCombine
		data, _ := json.Marshal(c)
		return data
	}
	f.Add(ens("members/0"), []byte(validCard))
	f.Add(ens("members/0", "members/0"), []byte(validCard))
	f.Add(ens("members/0", "members/self/0"), []byte(validCard))
	f.Add(ens("."), []byte(validCard))
	f.Add(ens("members/up"), []byte(validCard))
	f.Add(ens("members/0"), ens(".."))
	f.Add(ens("members/0"), ens("."))
	f.Add(ens("members/0"), ens("up"))
	f.Add(ens("members/0"), []byte(strings.Replace(validCard, `"task":"age"`, `"task":"gender"`, 1)))
	f.Add(ens("members/0"), []byte(strings.Replace(validCard, `"input_size":16`, `"input_size":1024`, 1)))
	f.Fuzz(func(t *testing.T, card, member []byte) {
		dir := fuzzFolder(t, card, member)
		if c, err := ReadCard(dir); err == nil {
			checkAccepted(t, dir, c)
		}
		if c, err := ReadCard(filepath.Join(dir, "members", "0")); err == nil {
			checkAccepted(t, filepath.Join(dir, "members", "0"), c)
		}
		openFuzzed(t, dir)
	})
}
