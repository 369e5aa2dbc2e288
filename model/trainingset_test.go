package model

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func digest(i int) string {
	d := sha256.Sum256([]byte(fmt.Sprint("image ", i)))
	return hex.EncodeToString(d[:])
}

// A training set of 17,000 images takes 136 KB and tells them from others;
// it survives its file, and a folder without one has none.
func TestTrainingSet(t *testing.T) {
	var in []string
	for i := 0; i < 17000; i++ {
		in = append(in, digest(i))
	}
	in = append(in, in[5], "not hex at all") // a duplicate, a digest that doesn't parse
	s := NewTrainingSet("train+valid", in)
	if s.Len() != 17000 {
		t.Errorf("%d images, want 17000", s.Len())
	}
	for i := 0; i < 20000; i++ {
		if got, want := s.Contains(digest(i)), i < 17000; got != want {
			t.Fatalf("Contains(image %d) = %v, want %v", i, got, want)
		}
	}
	dir := t.TempDir()
	data := s.Marshal()
	if len(data) != len(trainingSetMagic)+len("train+valid\n")+8*17000 {
		t.Errorf("%d bytes", len(data))
	}
	t.Logf("17,000 images: %d bytes", len(data))
	if err := os.WriteFile(filepath.Join(dir, TrainingSetFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTrainingSet(t.Context(), dir)
	if err != nil || back == nil || back.Len() != 17000 || back.Splits != "train+valid" || !back.Contains(digest(16999)) || back.Contains(digest(17000)) {
		t.Fatalf("read back: %v, %v", back, err)
	}
	if none, err := ReadTrainingSet(t.Context(), t.TempDir()); none != nil || err != nil {
		t.Errorf("a folder without one: %v, %v", none, err)
	}
	if _, err := ParseTrainingSet(data[:len(data)-3]); err == nil {
		t.Error("a truncated file parsed")
	}
	u := NewTrainingSet("train", []string{digest(1), digest(20001)}).Union(s)
	if u.Len() != 17001 || !u.Contains(digest(20001)) || u.Splits != "train,train+valid" {
		t.Errorf("union: %d images, splits %q", u.Len(), u.Splits)
	}
}
