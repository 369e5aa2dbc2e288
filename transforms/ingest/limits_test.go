package ingest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/transforms/ingest"
)

// TestOversizedFileIsRejected: a file over MaxFileBytes, here a valid JPEG
// padded after its end marker, is rejected as too_large with its size in
// the detail, under every encoding (with --encoding=jpeg its bytes would
// go into a record, and one over the TFRecord record limit failed the whole
// job), and the other files are written. The shard writers meanwhile hold
// no more file bytes at once than their budget, here set to two files.
func TestOversizedFileIsRejected(t *testing.T) {
	for _, encoding := range []string{schemas.EncodingFloat32, schemas.EncodingJPEG} {
		t.Run(encoding, func(t *testing.T) {
			in, files := ingesttest.Generate(t, fixtures.Options{Good: 12, Size: 48, Seed: 3})
			var largest int64
			for _, f := range files {
				st, err := os.Stat(f.Path)
				if err != nil {
					t.Fatal(err)
				}
				largest = max(largest, st.Size())
			}
			data, err := os.ReadFile(files[0].Path)
			if err != nil {
				t.Fatal(err)
			}
			big := fixtures.Name(40, 1, 2, fixtures.BaseTimestamp+1000)
			padded := append(data, make([]byte, 4*largest)...)
			if err := os.WriteFile(filepath.Join(in, big), padded, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := ingesttest.Config(in, t.TempDir())
			cfg.ImageSize, cfg.Encoding, cfg.NoStats, cfg.Workers = 32, encoding, true, 4
			cfg.MaxFileBytes = 2 * largest
			peak := ingest.SetFileBudget(2 * largest)
			m := ingesttest.Run(t, "prism", cfg)
			if held := peak(); held > 2*largest || held == 0 {
				t.Errorf("the shard writers held %d bytes of files at once, want 1 to %d", held, 2*largest)
			}
			rejects := ingesttest.ReadRejects(t, cfg.Output)
			want := fmt.Sprintf("holds %d bytes", len(padded))
			if len(rejects) != 1 || rejects[0].File != big || rejects[0].Reason != schemas.ReasonTooLarge || !strings.Contains(rejects[0].Detail, want) {
				t.Errorf("rejects %+v; want only %s as too_large, its detail saying it %s", rejects, big, want)
			}
			if m.Counts.Written != len(files) {
				t.Errorf("%d written, want the %d files under the limit", m.Counts.Written, len(files))
			}
		})
	}
}
