package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/split"
)

// fixtureSources writes n fixture crops (and duplicate groups) into a
// temporary folder and lists all of them as sources (a spec whose only split
// is test).
func fixtureSources(t *testing.T, n int) (string, []Source) {
	t.Helper()
	dir := t.TempDir()
	if _, err := fixtures.Generate(dir, fixtures.Options{Good: n, Seed: 7, Duplicates: true}); err != nil {
		t.Fatal(err)
	}
	all, err := split.Parse("test=1")
	if err != nil {
		t.Fatal(err)
	}
	src, err := ListSources(dir, all, "test", 42)
	if err != nil {
		t.Fatal(err)
	}
	return dir, src
}

func TestListSources(t *testing.T) {
	dir := t.TempDir()
	files, err := fixtures.Generate(dir, fixtures.Options{Good: 120, Seed: 3, Duplicates: true})
	if err != nil {
		t.Fatal(err)
	}
	// A file that is not a crop, and one whose name carries no labels.
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "cat.jpg"), []byte("x"), 0o644)
	for _, seed := range []int64{42, 43} {
		got, err := ListSources(dir, split.Default, "test", seed)
		if err != nil {
			t.Fatal(err)
		}
		listed := map[string]bool{}
		for _, s := range got {
			listed[s.Name] = true
		}
		// What ingest writes to test: good files by their content's split,
		// the first of an agreeing duplicate group, no conflicting group.
		firstDup := ""
		want := 0
		for _, f := range files {
			data, err := os.ReadFile(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			inTest := split.Default.Assign(split.KeyOf(hex.EncodeToString(sum[:]), seed)) == "test"
			expect := false
			switch f.Kind {
			case fixtures.KindOK:
				expect = inTest
			case fixtures.KindDuplicate:
				if firstDup == "" {
					firstDup = f.Name // files are sorted by name
					expect = inTest
				}
			}
			if expect {
				want++
			}
			if listed[f.Name] != expect {
				t.Errorf("seed %d: %s (%s) listed %v, want %v", seed, f.Name, f.Kind, listed[f.Name], expect)
			}
		}
		if len(got) != want || want == 0 {
			t.Errorf("seed %d: %d sources, want %d (> 0)", seed, len(got), want)
		}
		for _, s := range got {
			if !filepath.IsAbs(s.Path) {
				t.Errorf("%s: path %s is not absolute", s.Name, s.Path)
			}
		}
	}
}

func TestMapRotatesCounterclockwise(t *testing.T) {
	f := Face{CX: 500, CY: 400, Size: 100, Angle: 90}
	// The crop's right edge midpoint goes up on screen (smaller y).
	x, y := f.Map(200, 100, 200)
	if math.Abs(x-500) > 1e-9 || math.Abs(y-350) > 1e-9 {
		t.Errorf("Map(right middle) at 90° = (%v, %v), want (500, 350)", x, y)
	}
	f.Angle = 0
	x, y = f.Map(0, 0, 200)
	if math.Abs(x-450) > 1e-9 || math.Abs(y-350) > 1e-9 {
		t.Errorf("Map(top left) at 0° = (%v, %v), want (450, 350)", x, y)
	}
}

func TestPlanInsideAndApart(t *testing.T) {
	var src []Source
	for i := range 50 {
		src = append(src, Source{Name: fmt.Sprintf("%d_0_0_x.jpg", i+1), Path: fmt.Sprint("/x/", i)})
	}
	for _, o := range []Options{
		{Scenes: 400, Seed: 1, Size: "mixed", MinFace: 48, MaxFace: 360},
		{Scenes: 50, Seed: 2, Size: "12mp", MinFace: 48, MaxFace: 360},
		{Scenes: 100, Seed: 3, Size: "mixed", MinFace: 300, MaxFace: 400},
	} {
		scenes, err := Plan(src, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(scenes) != o.Scenes {
			t.Fatalf("%d scenes, want %d", len(scenes), o.Scenes)
		}
		counts := map[int]int{}
		used := map[string]int{}
		for _, sc := range scenes {
			if o.Size == "12mp" && (sc.Width != 4000 || sc.Height != 3000) {
				t.Errorf("%s: %dx%d, want 4000x3000", sc.Name, sc.Width, sc.Height)
			}
			if o.Size == "mixed" && (max(sc.Width, sc.Height) < 800 || max(sc.Width, sc.Height) > 1920 || min(sc.Width, sc.Height) < 600 || min(sc.Width, sc.Height) > 1080) {
				t.Errorf("%s: %dx%d outside 800x600-1920x1080", sc.Name, sc.Width, sc.Height)
			}
			if sc.Quality < MinQuality || sc.Quality > MaxQuality {
				t.Errorf("%s: quality %d", sc.Name, sc.Quality)
			}
			counts[len(sc.Faces)]++
			for i, f := range sc.Faces {
				used[f.Path]++
				if f.Size < o.MinFace || f.Size > o.MaxFace || math.Abs(f.Angle) > MaxAngle {
					t.Errorf("%s face %d: size %d angle %.1f", sc.Name, i, f.Size, f.Angle)
				}
				for _, c := range f.Corners() {
					if c[0] < 0 || c[1] < 0 || c[0] > float64(sc.Width) || c[1] > float64(sc.Height) {
						t.Errorf("%s face %d: corner %v outside %dx%d", sc.Name, i, c, sc.Width, sc.Height)
					}
				}
				for j, g := range sc.Faces[:i] {
					if squaresOverlap(f.Corners(), g.Corners()) {
						t.Errorf("%s: faces %d and %d overlap", sc.Name, j, i)
					}
				}
			}
		}
		if counts[0] > 0 || len(counts) > MaxFaces {
			t.Errorf("%v: faces per scene %v, want 1-%d", o, counts, MaxFaces)
		}
		if o.MinFace == 48 && (counts[1] == 0 || counts[MaxFaces] == 0) {
			t.Errorf("%v: faces per scene %v: want every count from 1 to %d", o, counts, MaxFaces)
		}
		// Each source once before any twice.
		lo, hi := len(scenes), 0
		for _, s := range src {
			lo, hi = min(lo, used[s.Path]), max(hi, used[s.Path])
		}
		if hi-lo > 1 {
			t.Errorf("%v: sources used %d to %d times", o, lo, hi)
		}
	}
}

// squaresOverlap tests two convex quadrilaterals for intersection by the
// separating axis theorem.
func squaresOverlap(a, b [4][2]float64) bool {
	for _, poly := range [][4][2]float64{a, b} {
		for i := range 4 {
			p, q := poly[i], poly[(i+1)%4]
			nx, ny := q[1]-p[1], p[0]-q[0]
			amin, amax := project(a, nx, ny)
			bmin, bmax := project(b, nx, ny)
			if amax < bmin || bmax < amin {
				return false
			}
		}
	}
	return true
}

func project(poly [4][2]float64, nx, ny float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range poly {
		v := p[0]*nx + p[1]*ny
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func TestPlanErrors(t *testing.T) {
	src := []Source{{Name: "1_0_0_x.jpg"}}
	for _, o := range []Options{
		{Scenes: 1, Size: "huge", MinFace: 48, MaxFace: 360},
		{Scenes: 1, Size: "mixed", MinFace: 48, MaxFace: 40},
		{Scenes: 1, Size: "mixed", MinFace: 700, MaxFace: 800},
	} {
		if _, err := Plan(src, o); err == nil {
			t.Errorf("Plan(%+v) did not fail", o)
		}
	}
	if _, err := Plan(nil, Options{Scenes: 1, Size: "mixed", MinFace: 48, MaxFace: 360}); err == nil {
		t.Error("Plan without sources did not fail")
	}
}

// generate runs the whole command into a temporary folder and returns the
// bytes of every file written, by path relative to the output.
func generate(t *testing.T, data string, o Options) map[string][]byte {
	t.Helper()
	out := t.TempDir()
	all := "test=1"
	if _, err := run(data, out, all, "test", 42, o); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	err := filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		files[rel], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestDeterministic(t *testing.T) {
	data, _ := fixtureSources(t, 20)
	o := Options{Scenes: 4, Seed: 5, Size: "mixed", MinFace: 48, MaxFace: 200}
	a, b := generate(t, data, o), generate(t, data, o)
	if len(a) != o.Scenes+2 {
		t.Fatalf("%d files written, want %d scenes, truth.csv and scenes.json", len(a), o.Scenes+2)
	}
	for name, data := range a {
		if name == "scenes.json" {
			continue // names the output folder
		}
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	o.Seed = 6
	c := generate(t, data, o)
	if bytes.Equal(a["truth.csv"], c["truth.csv"]) || bytes.Equal(a["scenes/scene-00000.jpg"], c["scenes/scene-00000.jpg"]) {
		t.Error("another seed gave the same scenes")
	}
	// Decodable JPEGs of the planned size.
	m, err := jpeg.Decode(bytes.NewReader(a["scenes/scene-00000.jpg"]))
	if err != nil {
		t.Fatal(err)
	}
	rows := readTruth(t, a["truth.csv"])
	if w, h := atoi(t, rows[0]["scene_width"]), atoi(t, rows[0]["scene_height"]); m.Bounds().Dx() != w || m.Bounds().Dy() != h {
		t.Errorf("scene-00000.jpg is %v, truth says %dx%d", m.Bounds(), w, h)
	}
}

// dotCrop is a dark 200×200 crop (gray level 40 + shade) with a bright dot
// of radius 6 at (u, v).
func dotCrop(u, v float64, shade uint8) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, 200, 200))
	for y := range 200 {
		for x := range 200 {
			c := color.RGBA{40 + shade, 40 + shade, 40 + shade, 255}
			if math.Hypot(float64(x)+0.5-u, float64(y)+0.5-v) <= 6 {
				c = color.RGBA{255, 255, 255, 255}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// TestTruthTransform pastes crops carrying a dot at one of the template
// points and finds the dot in the decoded scene where truth.csv says that
// point landed.
func TestTruthTransform(t *testing.T) {
	dir := t.TempDir()
	points := map[string][2]float64{"left_eye": TemplateLeftEye, "right_eye": TemplateRightEye, "mouth": TemplateMouth}
	which := map[string]string{}
	for i, name := range []string{"left_eye", "right_eye", "mouth"} {
		for k := range 4 {
			p := points[name]
			file := fmt.Sprintf("%d_%d_0_dot%d.png", 20+i, k%2, k)
			f, err := os.Create(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, dotCrop(p[0], p[1], uint8(4*k))); err != nil { // distinct contents
				t.Fatal(err)
			}
			f.Close()
			which[file] = name
		}
	}
	o := Options{Scenes: 6, Seed: 11, Size: "mixed", MinFace: 120, MaxFace: 360}
	files := generate(t, dir, o)
	rows := readTruth(t, files["truth.csv"])
	if len(rows) < o.Scenes {
		t.Fatalf("%d truth rows for %d scenes", len(rows), o.Scenes)
	}
	angled := 0
	for _, r := range rows {
		m, err := jpeg.Decode(bytes.NewReader(files["scenes/"+r["scene"]]))
		if err != nil {
			t.Fatal(err)
		}
		face := Face{CX: num(t, r["cx"]), CY: num(t, r["cy"]), Size: atoi(t, r["size"]), Angle: num(t, r["angle"])}
		if math.Abs(face.Angle) > 5 {
			angled++
		}
		// The centroid of the bright pixels in the middle 70% of the
		// pasted crop, where its alpha is 1 and nothing but the crop shows.
		sin, cos := math.Sincos(face.Angle * math.Pi / 180)
		var sw, sx, sy float64
		b := m.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				ex, ey := float64(x)+0.5-face.CX, float64(y)+0.5-face.CY
				u := (cos*ex - sin*ey) / float64(face.Size)
				v := (sin*ex + cos*ey) / float64(face.Size)
				if math.Abs(u) > 0.35 || math.Abs(v) > 0.35 {
					continue
				}
				rr, gg, bb, _ := m.At(x, y).RGBA()
				l := float64(rr+gg+bb)/3/257 - 150
				if l > 0 {
					sw += l
					sx += l * (float64(x) + 0.5)
					sy += l * (float64(y) + 0.5)
				}
			}
		}
		if sw == 0 {
			t.Errorf("%s face %s: no dot found", r["scene"], r["face"])
			continue
		}
		name := which[r["source"]]
		wx, wy := num(t, r[name+"_x"]), num(t, r[name+"_y"])
		if d := math.Hypot(sx/sw-wx, sy/sw-wy); d > 1 {
			t.Errorf("%s face %s (%s, size %s, angle %s): dot at (%.2f, %.2f), truth says (%.2f, %.2f): %.2f px off",
				r["scene"], r["face"], name, r["size"], r["angle"], sx/sw, sy/sw, wx, wy, d)
		}
	}
	if angled == 0 {
		t.Error("no face was rotated by more than 5°: the test does not check rotation")
	}
}

// readTruth parses truth.csv into maps by column.
func readTruth(t *testing.T, data []byte) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 {
		t.Fatal("truth.csv has no rows")
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		r := map[string]string{}
		for i, h := range recs[0] {
			r[h] = rec[i]
		}
		rows = append(rows, r)
	}
	return rows
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// BenchmarkBackground12mp measures the backdrop of one 4000×3000 scene, the
// bulk of genscenes --size=12mp's time.
func BenchmarkBackground12mp(b *testing.B) {
	for i := range b.N {
		background(rand.New(rand.NewPCG(uint64(i), 0)), 4000, 3000)
	}
}
