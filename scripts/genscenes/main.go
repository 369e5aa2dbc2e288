// Command genscenes makes synthetic "in the wild" scenes from UTKFace crops
// of our test split, with the truth of every pasted face, to measure face
// detection plus age and gender end to end (scripts/bench-wild.sh).
//
//	genscenes --data=DIR --out=OUT [--scenes=300] [--seed=1] [--split_seed=42]
//	          [--size=mixed|12mp] [--min_face=48] [--max_face=360]
//
// Sources: the crops under --data whose UTKFace name parses and whose content
// falls in the test split, computed as pipelines/ingest does
// (split.Default.Assign(split.KeyOf(sha256 of the bytes, --split_seed)),
// ingest's default seed being 42; byte-identical copies as ingest handles
// them). Each is used once before any is used twice.
//
// Scenes (see Plan, Render and background in scenes.go): a procedural,
// blurred background with no face in it (gradient, rectangles, ellipses,
// value noise), 800×600 to 1920×1080 (--size=mixed; a fifth portrait) or
// 4000×3000 (--size=12mp), with 1-5 faces: each crop scaled so that its
// width is --min_face to --max_face pixels (log-uniform), rotated up to ±25°,
// its edge feathered, wholly inside the frame and not overlapping another;
// then mild noise, and JPEG at quality 60-95. Everything is a deterministic
// function of the flags and the source files.
//
// Output: OUT/scenes/scene-NNNNN.jpg, OUT/truth.csv (one row per pasted face,
// see TruthRows: the scene, the source crop's name, path and labels, the
// face's centre, size and angle, and where the template's eyes and mouth
// land), and OUT/scenes.json (the flags and counts).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/facepipe/facepipe/split"
)

func main() {
	data := flag.String("data", "../shared/datasets/utkface-dev", "folder of UTKFace crops (recursive)")
	out := flag.String("out", "", "output folder (required)")
	n := flag.Int("scenes", 300, "number of scenes")
	seed := flag.Int64("seed", 1, "seed of the scenes")
	splitSeed := flag.Int64("split_seed", 42, "seed of the content hash that assigns splits (pipelines/ingest --seed)")
	splitSpec := flag.String("split", split.Default.String(), "splits and their fractions (pipelines/ingest --split)")
	splitName := flag.String("split_name", "test", "the split to take faces from")
	size := flag.String("size", "mixed", "scene sizes: mixed (800x600 to 1920x1080) or 12mp (4000x3000)")
	minFace := flag.Int("min_face", 48, "smallest pasted crop width, pixels")
	maxFace := flag.Int("max_face", 360, "largest pasted crop width, pixels")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: genscenes --data=DIR --out=OUT [--scenes=300] [--seed=1] [--split_seed=42] [--size=mixed|12mp] [--min_face=48] [--max_face=360]")
		os.Exit(2)
	}
	o := Options{Scenes: *n, Seed: *seed, Size: *size, MinFace: *minFace, MaxFace: *maxFace}
	m, err := run(*data, *out, *splitSpec, *splitName, *splitSeed, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genscenes:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "genscenes: %d scenes (%s) with %d faces from %d of the %d crops of split %s, in %s\n",
		o.Scenes, o.Size, m.Faces, m.Distinct, m.Sources, m.SplitName, *out)
}

// Manifest is scenes.json.
type Manifest struct {
	Options
	Data      string `json:"data"`
	Split     string `json:"split"`
	SplitName string `json:"split_name"`
	SplitSeed int64  `json:"split_seed"`
	Sources   int    `json:"sources"` // crops of the split
	Faces     int    `json:"faces"`   // pasted
	Distinct  int    `json:"distinct_sources"`
}

// run writes the scenes, truth.csv and scenes.json, and returns the
// latter.
func run(data, out, splitSpec, splitName string, splitSeed int64, o Options) (Manifest, error) {
	spec, err := split.Parse(splitSpec)
	if err != nil {
		return Manifest{}, err
	}
	sources, err := ListSources(data, spec, splitName, splitSeed)
	if err != nil {
		return Manifest{}, err
	}
	if len(sources) == 0 {
		return Manifest{}, fmt.Errorf("no labelled crop of split %s under %s", splitName, data)
	}
	scenes, err := Plan(sources, o)
	if err != nil {
		return Manifest{}, err
	}
	dir := filepath.Join(out, "scenes")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Manifest{}, err
	}
	// Scenes of an earlier, larger run would be scored with these.
	old, err := filepath.Glob(filepath.Join(dir, "scene-*.jpg"))
	if err != nil {
		return Manifest{}, err
	}
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			return Manifest{}, err
		}
	}
	err = RenderAll(scenes, LoadCrop, func(sc Scene, jpg []byte) error {
		return os.WriteFile(filepath.Join(dir, sc.Name), jpg, 0o644)
	})
	if err != nil {
		return Manifest{}, err
	}
	f, err := os.Create(filepath.Join(out, "truth.csv"))
	if err != nil {
		return Manifest{}, err
	}
	if err := WriteTruth(f, scenes); err != nil {
		f.Close()
		return Manifest{}, err
	}
	if err := f.Close(); err != nil {
		return Manifest{}, err
	}
	m := Manifest{Options: o, Data: data, Split: spec.String(), SplitName: splitName, SplitSeed: splitSeed, Sources: len(sources)}
	used := map[string]bool{}
	for _, sc := range scenes {
		m.Faces += len(sc.Faces)
		for _, f := range sc.Faces {
			used[f.Path] = true
		}
	}
	m.Distinct = len(used)
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if err := os.WriteFile(filepath.Join(out, "scenes.json"), append(js, '\n'), 0o644); err != nil {
		return Manifest{}, err
	}
	return m, nil
}
