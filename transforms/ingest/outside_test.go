package ingest_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/schemas"
)

// TestOutputInsideInput ingests a folder into a folder inside it, twice:
// the rerun must not read the first run's files back as inputs (7 of them
// came back as name_unparseable rejects before), and it says on stderr
// (fsio.ListNotes) that it skipped them. With only good inputs, the
// manifest's rejects_by_reason is [], not null.
func TestOutputInsideInput(t *testing.T) {
	in, files := ingesttest.Generate(t, fixtures.Options{Good: 12, Size: 32, Seed: 4})
	out := filepath.Join(in, "ingested")
	var notes bytes.Buffer
	fsio.ListNotes = &notes
	defer func() { fsio.ListNotes = os.Stderr }()
	cfg := ingesttest.Config(in, out)
	cfg.ImageSize = 16
	first := ingesttest.Run(t, "prism", cfg)
	if notes.Len() != 0 {
		t.Errorf("first run, the output still empty: notes %q", notes.String())
	}
	second := ingesttest.Run(t, "prism", cfg)
	for i, m := range []*schemas.Manifest{first, second} {
		if m.Counts.Inputs != len(files) || m.Counts.Written != len(files) || m.Counts.Rejected != 0 {
			t.Errorf("run %d: %d inputs, %d written, %d rejected; want the %d fixtures, all written", i+1,
				m.Counts.Inputs, m.Counts.Written, m.Counts.Rejected, len(files))
		}
	}
	if !strings.Contains(notes.String(), "files under the output folder "+out+", which is inside the input") {
		t.Errorf("rerun: notes %q, want one about the skipped output folder", notes.String())
	}
	data, err := os.ReadFile(filepath.Join(out, schemas.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Counts map[string]json.RawMessage `json:"counts"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if got := string(raw.Counts["rejects_by_reason"]); got != "[]" {
		t.Errorf(`manifest.json: "rejects_by_reason": %s, want []`, got)
	}
}
