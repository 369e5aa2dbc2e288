package dataset

import (
	"math"
	"math/rand/v2"
	"testing"
)

func ramp(size int) []float32 {
	img := make([]float32, size*size*3)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			img[3*(y*size+x)] = float32(x) / float32(size)
			img[3*(y*size+x)+1] = float32(y) / float32(size)
			img[3*(y*size+x)+2] = 0.5
		}
	}
	return img
}

func TestReflectIndex(t *testing.T) {
	// Mirrored at the edge pixels: ... 2 1 | 0 1 2 3 4 | 3 2 ...
	for _, c := range []struct{ v, want int }{{0, 0}, {4, 4}, {-1, 1}, {-2, 2}, {5, 3}, {6, 2}, {8, 0}, {9, 1}, {-8, 0}} {
		if got := reflectIndex(c.v, 5); got != c.want {
			t.Errorf("reflectIndex(%d, 5) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestWarp(t *testing.T) {
	const size = 16
	img := ramp(size)
	same := append([]float32(nil), img...)
	warp(same, size, 0, 1, 0, 0)
	for i := range img {
		if math.Abs(float64(same[i]-img[i])) > 1e-6 {
			t.Fatalf("identity warp changed value %d: %v -> %v", i, img[i], same[i])
		}
	}
	// A shift of (2, 1) pixels: the output at (x, y) is the input at
	// (x-2, y-1), reflected at the border.
	moved := append([]float32(nil), img...)
	warp(moved, size, 0, 1, 2, 1)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			sx, sy := reflectIndex(x-2, size), reflectIndex(y-1, size)
			for c := 0; c < 3; c++ {
				if got, want := moved[3*(y*size+x)+c], img[3*(sy*size+sx)+c]; math.Abs(float64(got-want)) > 1e-6 {
					t.Fatalf("shifted (%d,%d,%d) = %v, want %v", x, y, c, got, want)
				}
			}
		}
	}
	// A half turn maps (x, y) to (size-1-x, size-1-y).
	turned := append([]float32(nil), img...)
	warp(turned, size, math.Pi, 1, 0, 0)
	if got, want := turned[0], img[3*((size-1)*size+size-1)]; math.Abs(float64(got-want)) > 1e-5 {
		t.Errorf("half turn: pixel 0 = %v, want %v", got, want)
	}
}

func TestGaussianBlurKeepsFlatAndMean(t *testing.T) {
	const size = 12
	flat := make([]float32, size*size*3)
	for i := range flat {
		flat[i] = 0.37
	}
	gaussianBlur(flat, size, 1.1)
	for i, v := range flat {
		if math.Abs(float64(v)-0.37) > 1e-6 {
			t.Fatalf("blur of a flat image: value %d is %v", i, v)
		}
	}
	// A single bright pixel spreads: its neighbour gains, it loses.
	dot := make([]float32, size*size*3)
	dot[3*(6*size+6)] = 1
	gaussianBlur(dot, size, 1)
	if c, n := dot[3*(6*size+6)], dot[3*(6*size+7)]; !(c < 1 && n > 0 && c > n) {
		t.Errorf("blurred dot: centre %v, neighbour %v", c, n)
	}
}

func TestPhotoAugment(t *testing.T) {
	const size = 32
	img := ramp(size)
	a, b := append([]float32(nil), img...), append([]float32(nil), img...)
	photoAugment(a, size, rand.New(rand.NewPCG(1, 2)))
	photoAugment(b, size, rand.New(rand.NewPCG(1, 2)))
	changed := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("the same seed gave different images")
		}
		if a[i] < 0 || a[i] > 1 {
			t.Fatalf("value %v outside [0,1]", a[i])
		}
		if math.Abs(float64(a[i]-img[i])) > 1e-3 {
			changed++
		}
	}
	if changed < len(img)/4 {
		t.Errorf("only %d of %d values changed", changed, len(img))
	}
}

// surround keeps the centre and replaces the outermost pixels by the
// background.
func TestSurround(t *testing.T) {
	const size = 40
	img := make([]float32, size*size*3)
	for i := range img {
		img[i] = 0.5
	}
	orig := append([]float32(nil), img...)
	surround(img, size, 6, rand.New(rand.NewPCG(3, 4)))
	c := 3 * (20*size + 20)
	if img[c] != orig[c] || img[c+1] != orig[c+1] {
		t.Errorf("the centre changed: %v", img[c:c+3])
	}
	changed := false
	for ch := 0; ch < 3; ch++ {
		if math.Abs(float64(img[ch]-orig[ch])) > 1e-3 {
			changed = true
		}
	}
	if !changed {
		t.Errorf("the corner kept its value %v", img[0:3])
	}
}
