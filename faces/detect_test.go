package faces

import (
	"math"
	"testing"
)

func TestAnchors(t *testing.T) {
	a := Anchors()
	if len(a) != NumAnchors {
		t.Fatalf("%d anchors, want %d", len(a), NumAnchors)
	}
	// Written out from the layout: 16×16 cells of 2, then 8×8 cells of 6,
	// row by row.
	cases := []struct {
		i    int
		want Point
	}{
		{0, Point{0.5 / 16, 0.5 / 16}},
		{1, Point{0.5 / 16, 0.5 / 16}},
		{2, Point{1.5 / 16, 0.5 / 16}},
		{32, Point{0.5 / 16, 1.5 / 16}},
		{(5*16+3)*2 + 1, Point{3.5 / 16, 5.5 / 16}},
		{511, Point{15.5 / 16, 15.5 / 16}},
		{512, Point{0.5 / 8, 0.5 / 8}},
		{512 + 6, Point{1.5 / 8, 0.5 / 8}},
		{512 + 8*6, Point{0.5 / 8, 1.5 / 8}},
		{895, Point{7.5 / 8, 7.5 / 8}},
	}
	for _, c := range cases {
		if a[c.i] != c.want {
			t.Errorf("anchor %d = %v, want %v", c.i, a[c.i], c.want)
		}
	}
}

func logit(p float64) float32 { return float32(math.Log(p / (1 - p))) }

func TestDecodeRaw(t *testing.T) {
	scores := make([]float32, NumAnchors)
	for i := range scores {
		scores[i] = -10
	}
	regs := make([]float32, NumAnchors*16)
	// A face at anchor 167: grid 16, cell x 3, y 5, its second anchor, whose
	// centre in a 256 input is (3.5·16, 5.5·16) = (56, 88).
	const i = 167
	scores[i] = logit(0.9)
	copy(regs[i*16:], []float32{4, -2, 40, 50, -10, -8, 10, -8, 0, 2, 0, 12, -18, -4, 18, -4})
	// One in the coarse grid (cell 7, 7: centre (240, 240)) under the
	// threshold, and one at the threshold's edge above it.
	scores[895] = logit(0.7)
	scores[512] = logit(0.76) // cell 0, 0 of the 8×8 grid: centre (16, 16)
	copy(regs[512*16:], []float32{0, 0, 20, 20})
	got := DecodeRaw(scores, regs, 256, 0.75)
	if len(got) != 2 {
		t.Fatalf("%d detections, want 2: %+v", len(got), got)
	}
	f := got[0]
	want := Box{56 + 4 - 20, 88 - 2 - 25, 40, 50}
	if !near(f.Box, want, 1e-9) {
		t.Errorf("box %+v, want %+v", f.Box, want)
	}
	wantKP := [6]Point{{46, 80}, {66, 80}, {56, 90}, {56, 100}, {38, 84}, {74, 84}}
	for k, p := range wantKP {
		if math.Abs(f.Keypoints[k].X-p.X) > 1e-9 || math.Abs(f.Keypoints[k].Y-p.Y) > 1e-9 {
			t.Errorf("keypoint %d = %v, want %v", k, f.Keypoints[k], p)
		}
	}
	if math.Abs(f.Score-0.9) > 1e-6 {
		t.Errorf("score %v, want 0.9", f.Score)
	}
	if b := got[1].Box; !near(b, Box{6, 6, 20, 20}, 1e-9) {
		t.Errorf("second box %+v, want {6 6 20 20}", b)
	}
}

func near(a, b Box, tol float64) bool {
	return math.Abs(a.X-b.X) <= tol && math.Abs(a.Y-b.Y) <= tol && math.Abs(a.W-b.W) <= tol && math.Abs(a.H-b.H) <= tol
}

func TestIoU(t *testing.T) {
	a := Box{0, 0, 10, 10}
	cases := []struct {
		b    Box
		want float64
	}{
		{Box{0, 0, 10, 10}, 1},
		{Box{5, 0, 10, 10}, 50.0 / 150},
		{Box{10, 0, 10, 10}, 0},
		{Box{2, 2, 5, 5}, 25.0 / 100},
		{Box{20, 20, 1, 1}, 0},
	}
	for _, c := range cases {
		if got := a.IoU(c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("IoU(%v, %v) = %v, want %v", a, c.b, got, c.want)
		}
	}
}

func TestMerge(t *testing.T) {
	kp := func(x float64) [6]Point {
		var p [6]Point
		for k := range p {
			p[k] = Point{x + float64(k), 2 * x}
		}
		return p
	}
	dets := []Face{
		{Box: Box{10, 10, 20, 20}, Keypoints: kp(10), Score: 0.6},
		{Box: Box{100, 100, 30, 30}, Keypoints: kp(100), Score: 0.8}, // alone
		{Box: Box{12, 10, 20, 20}, Keypoints: kp(16), Score: 0.9},    // IoU with the first 0.82
		{Box: Box{28, 10, 20, 20}, Keypoints: kp(40), Score: 0.7},    // IoU with the third 0.11: another face
	}
	got := Merge(dets)
	if len(got) != 3 {
		t.Fatalf("%d faces, want 3: %+v", len(got), got)
	}
	// Highest score first; the first face is the 0.9/0.6 weighted mean.
	if got[0].Score != 0.9 || got[1].Score != 0.8 || got[2].Score != 0.7 {
		t.Errorf("scores %v %v %v, want 0.9 0.8 0.7", got[0].Score, got[1].Score, got[2].Score)
	}
	wx := (0.9*12 + 0.6*10) / 1.5 // 11.2
	if !near(got[0].Box, Box{wx, 10, 20, 20}, 1e-9) {
		t.Errorf("merged box %+v, want x %v", got[0].Box, wx)
	}
	if k := got[0].Keypoints[2]; math.Abs(k.X-((0.9*18+0.6*12)/1.5)) > 1e-9 || math.Abs(k.Y-((0.9*32+0.6*20)/1.5)) > 1e-9 {
		t.Errorf("merged nose %v", k)
	}
	if !near(got[2].Box, Box{28, 10, 20, 20}, 0) {
		t.Errorf("the neighbour moved: %+v", got[2].Box)
	}
}

// A lower-scored box mostly inside a face's box is a part of that face; one
// that sticks out by half is another face.
func TestMergeDropsPartsOfFaces(t *testing.T) {
	got := Merge([]Face{
		{Box: Box{0, 0, 100, 100}, Score: 0.9},
		{Box: Box{10, 10, 40, 40}, Score: 0.8},  // wholly inside: IoU 0.16, dropped
		{Box: Box{70, 20, 40, 40}, Score: 0.85}, // 75% inside: dropped
		{Box: Box{80, 60, 40, 40}, Score: 0.7},  // 50% inside: kept
	})
	if len(got) != 2 || got[0].Score != 0.9 || got[1].Score != 0.7 {
		t.Errorf("got %+v, want the 0.9 and 0.7 faces", got)
	}
}
