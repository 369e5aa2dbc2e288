package score

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// sheetFaces makes faces whose UTKFace names sort as a folder lists them:
// 300 of children aged 1 to 9 first by name, then 10 in each older band.
func sheetFaces() []Scored {
	var out []Scored
	add := func(age, i int) {
		p := fmt.Sprintf("in/%d_%d_0_2017%013d.jpg.chip.jpg", age, i%2, i)
		out = append(out, Scored{Path: p, HasLabels: true, Age: age})
	}
	for i := 0; i < 300; i++ {
		add(1+i%9, i)
	}
	for band := 1; band <= 7; band++ {
		for i := 0; i < 10; i++ {
			add(band*10+i, 1000*band+i)
		}
	}
	return out
}

func faceHash(sc Scored) uint64 {
	h := fnv.New64a()
	h.Write([]byte(sc.Path + "\x00" + fmt.Sprint(sc.Face)))
	return h.Sum64()
}

// The contact sheet samples across age bands when the names carry labels
// (2 faces from each of the 8 bands for 16), each band's faces those of
// lowest hash, whatever the order the rows come in; the first 16 by name
// would all be children.
func TestSheetSampleAcrossAgeBands(t *testing.T) {
	faces := sheetFaces()
	band := func(age int) int { return min(age/10, 7) }
	// By hand: per band, the two faces of lowest hash.
	byBand := map[int][]Scored{}
	for _, f := range faces {
		byBand[band(f.Age)] = append(byBand[band(f.Age)], f)
	}
	want := map[string]bool{}
	for _, fs := range byBand {
		sort.Slice(fs, func(i, j int) bool { return faceHash(fs[i]) < faceHash(fs[j]) })
		want[fs[0].Path], want[fs[1].Path] = true, true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for try := 0; try < 3; try++ {
		s := newSheetSample(16)
		for _, f := range faces {
			s.add(f)
		}
		got := s.pick(true)
		if len(got) != 16 {
			t.Fatalf("%d faces, want 16", len(got))
		}
		counts := map[int]int{}
		for i, g := range got {
			counts[band(g.Age)]++
			if !want[g.Path] {
				t.Errorf("%s is not among its band's two of lowest hash", g.Path)
			}
			if i > 0 && got[i-1].Age > g.Age {
				t.Errorf("not in the order of true age: %d before %d", got[i-1].Age, g.Age)
			}
		}
		for b := 0; b < 8; b++ {
			if counts[b] != 2 {
				t.Errorf("band %d: %d faces, want 2 (counts %v)", b, counts[b], counts)
			}
		}
		rng.Shuffle(len(faces), func(i, j int) { faces[i], faces[j] = faces[j], faces[i] })
	}
	// Without labels: the 16 of lowest hash overall, in path order.
	for i := range faces {
		faces[i].HasLabels = false
	}
	s := newSheetSample(16)
	for _, f := range faces {
		s.add(f)
	}
	byHash := slices.Clone(faces)
	sort.Slice(byHash, func(i, j int) bool { return faceHash(byHash[i]) < faceHash(byHash[j]) })
	var wantPaths, gotPaths []string
	for _, f := range byHash[:16] {
		wantPaths = append(wantPaths, f.Path)
	}
	sort.Strings(wantPaths)
	for _, g := range s.pick(false) {
		gotPaths = append(gotPaths, g.Path)
	}
	if !slices.Equal(gotPaths, wantPaths) {
		t.Errorf("without labels: %v, want the 16 of lowest hash %v", gotPaths, wantPaths)
	}
	if s := newSheetSample(0); s.pick(true) != nil {
		t.Error("--contact_sheet=0 sampled faces")
	}
}

// The legend says what the sheet's figures are, the "%" above all.
func TestSheetLegend(t *testing.T) {
	for _, labels := range []bool{false, true} {
		legend := sheetLegend(16, 400, labels)
		text := strings.Join(legend, "\n")
		for _, w := range []string{"16 of 400 faces", "pred:", "probability", "p_female 0.91"} {
			if !strings.Contains(text, w) {
				t.Errorf("labels %v: the legend does not say %q:\n%s", labels, w, text)
			}
		}
		if strings.Contains(text, "true:") != labels || strings.Contains(text, "age bands") != labels {
			t.Errorf("labels %v: legend\n%s", labels, text)
		}
		for _, l := range legend {
			if len(l)*7+4 > 8*128 { // basicfont's 7-px glyphs on a sheet 8 cells of 128 px wide
				t.Errorf("legend line wider than the sheet: %q", l)
			}
		}
	}
}
