package score

import (
	"fmt"
	"hash/fnv"
	"sort"
	"testing"
)

// photoSample keeps, whatever the order the photos come in, the n photos
// whose paths hash lowest, each with all its faces, in path order.
func TestPhotoSample(t *testing.T) {
	var paths []string
	for i := 0; i < 40; i++ {
		paths = append(paths, fmt.Sprintf("gs://b/photos/%03d.jpg", i))
	}
	hash := func(p string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(p))
		return h.Sum64()
	}
	want := append([]string(nil), paths...)
	sort.Slice(want, func(i, j int) bool { return hash(want[i]) < hash(want[j]) })
	want = want[:5]
	sort.Strings(want)
	for _, order := range [][]string{paths, reversed(paths)} {
		s := newPhotoSample(5)
		for _, p := range order {
			for f := 0; f < 3; f++ { // three faces a photo, in a row
				s.add(Scored{Path: p, Face: f})
			}
		}
		got := s.groups()
		if len(got) != 5 {
			t.Fatalf("%d photos, want 5", len(got))
		}
		for i, g := range got {
			if g.path != want[i] || len(g.faces) != 3 {
				t.Errorf("photo %d: %s with %d faces, want %s with 3", i, g.path, len(g.faces), want[i])
			}
		}
	}
	if s := newPhotoSample(0); func() bool { s.add(Scored{Path: "x"}); return len(s.groups()) != 0 }() {
		t.Error("a sample of 0 photos kept one")
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func TestPredictionLabel(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }
	for _, c := range []struct {
		sc   Scored
		want string
	}{
		{Scored{PredAge: 34.4, PFemale: 0.91}, "34, F 91%"},
		{Scored{PredAge: 7.6, PFemale: 0.2}, "8, M 80%"},
		{Scored{PredAge: nan(), PFemale: 0.5}, "F 50%"},
		{Scored{PredAge: 61, PFemale: nan()}, "61"},
	} {
		if got := predictionLabel(c.sc); got != c.want {
			t.Errorf("predictionLabel(%+v) = %q, want %q", c.sc, got, c.want)
		}
	}
}
