package docs

import (
	"os/exec"
	"strings"
	"testing"
)

// layers gives each package of the module its layer, as docs/design.md
// draws them: a package imports only packages of its own layer or below.
// A prefix ending in "/" covers the packages under it.
var layers = []struct {
	rank     int
	name     string
	packages []string
}{
	{0, "formats", []string{"schemas", "schemas/"}},
	{1, "pure logic", []string{"preprocess", "labels", "split", "tfrecord", "example", "labelstats", "report",
		"internal/progress", "internal/ort", "internal/interrupt", "internal/profile", "internal/pjrtinstall"}},
	{2, "outputs", []string{"internal/fsio", "internal/outfile", "internal/beamreg", "internal/cli", "internal/outlock", "internal/beamrun"}},
	{3, "faces and evaluation", []string{"faces", "faces/", "evaluate"}},
	{4, "models and data", []string{"model", "dataset"}},
	{5, "training", []string{"training"}},
	{6, "Beam transforms", []string{"transforms/", "models"}},
	{7, "binaries", []string{"pipelines/"}},
	{8, "test helpers", []string{"internal/fixtures", "internal/fakegcs", "internal/ingesttest", "internal/htmlcheck"}},
	{9, "scripts and docs", []string{"scripts/", "docs"}},
}

const module = "github.com/facepipe/facepipe/"

// layerOf is the layer of a package path relative to the module, or -1.
func layerOf(rel string) (int, string) {
	best, rank, name := -1, -1, ""
	for _, l := range layers {
		for _, p := range l.packages {
			if (rel == p || strings.HasSuffix(p, "/") && strings.HasPrefix(rel, p)) && len(p) > best {
				best, rank, name = len(p), l.rank, l.name
			}
		}
	}
	return rank, name
}

// TestLayers: no import runs upward (production code, tests excluded), and
// transforms/ holds only Beam transforms: every package there imports Beam.
func TestLayers(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		rel := strings.TrimPrefix(fields[0], module)
		rank, name := layerOf(rel)
		if rank < 0 {
			t.Errorf("package %s has no layer: add it to docs/layers_test.go and docs/design.md", rel)
			continue
		}
		seen++
		beam := false
		for _, imp := range fields[1:] {
			beam = beam || strings.HasPrefix(imp, "github.com/apache/beam/")
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			if r, n := layerOf(dep); r > rank {
				t.Errorf("%s (%s) imports %s (%s): an import that runs upward", rel, name, dep, n)
			}
		}
		if strings.HasPrefix(rel, "transforms/") && !beam {
			t.Errorf("%s is under transforms/ but imports no Beam: only Beam transforms belong there", rel)
		}
	}
	if seen < 20 {
		t.Fatalf("only %d packages listed", seen)
	}
}
