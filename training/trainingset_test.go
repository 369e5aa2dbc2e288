package training_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/training"
)

// RecordTrainingSet finds the images of train (or train+valid) from the
// labels table and, without one (--stats=false), from the shards: both give
// the train split's images, each file's SHA-256 computed here from its
// bytes, and none of the test split's.
func TestRecordTrainingSet(t *testing.T) {
	in, files := ingesttest.Generate(t, fixtures.Options{Good: 60, Size: 32, Seed: 17})
	digestOf := map[string]string{} // file name → its SHA-256
	for _, f := range files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256(b)
		digestOf[f.Name] = hex.EncodeToString(d[:])
	}
	for _, stats := range []bool{true, false} {
		out := t.TempDir()
		cfg := ingesttest.Config(in, out)
		cfg.ImageSize, cfg.NoStats = 16, !stats
		m := ingesttest.Run(t, "prism", cfg)
		for _, splits := range []string{"train", "train+valid"} {
			s, err := training.RecordTrainingSet(context.Background(), out, splits)
			if err != nil {
				t.Fatal(err)
			}
			want := m.Split("train").Records
			if splits == "train+valid" {
				want += m.Split("valid").Records
			}
			if s.Len() != want || s.Splits != splits {
				t.Errorf("stats %v, %s: %d images (%q), want %d", stats, splits, s.Len(), s.Splits, want)
			}
			in := 0
			for _, d := range digestOf {
				if s.Contains(d) {
					in++
				}
			}
			if in != want {
				t.Errorf("stats %v, %s: %d of the generated files are in it, want %d", stats, splits, in, want)
			}
		}
		if _, err := training.RecordTrainingSet(context.Background(), out, "test"); err == nil {
			t.Error("splits=test accepted")
		}
	}
}
