package faces

import (
	"math"
	"testing"

	"github.com/facepipe/facepipe/preprocess"
)

// moved applies a similarity written out by hand: scale s, rotation th
// (radians), then translation (tx, ty).
func moved(p Point, s, th, tx, ty float64) Point {
	c, sn := math.Cos(th), math.Sin(th)
	return Point{s*(c*p.X-sn*p.Y) + tx, s*(sn*p.X+c*p.Y) + ty}
}

// templateMoved is a face whose keypoints are the template's moved by a
// similarity (moved), and the alignment AlignTo finds for it.
func templateMoved(t *testing.T, s, th, tx, ty float64) (Face, Similarity) {
	t.Helper()
	var f Face
	for k, p := range Template {
		f.Keypoints[k] = moved(p, s, th, tx, ty)
	}
	m, err := AlignTo(f, Template)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

func TestAlignToUndoesASimilarity(t *testing.T) {
	for _, c := range []struct{ s, th, tx, ty float64 }{
		{1, 0, 0, 0},
		{1.7, 20 * math.Pi / 180, 340, -25},
		{0.3, -25 * math.Pi / 180, 1000, 700},
		{4.5, 180 * math.Pi / 180, 50, 50},
	} {
		f, m := templateMoved(t, c.s, c.th, c.tx, c.ty)
		for k, p := range Template {
			got := m.Apply(f.Keypoints[k])
			if d := math.Hypot(got.X-p.X, got.Y-p.Y); d > 0.5 {
				t.Errorf("%+v: keypoint %d lands at %v, %.3f px from the template's %v", c, k, got, d, p)
			}
		}
		if math.Abs(m.Scale()-1/c.s) > 1e-9 {
			t.Errorf("%+v: scale %v, want %v", c, m.Scale(), 1/c.s)
		}
		back := m.Inverse().Apply(Point{10, 20})
		if want := moved(Point{10, 20}, c.s, c.th, c.tx, c.ty); math.Hypot(back.X-want.X, back.Y-want.Y) > 1e-6 {
			t.Errorf("%+v: inverse maps (10,20) to %v, want %v", c, back, want)
		}
	}
}

// The rotation is the eye line's: noisy nose and mouth points move the scale
// and position a little, never the angle.
func TestAlignToRotationFromTheEyes(t *testing.T) {
	var f Face
	th := 12 * math.Pi / 180
	for k, p := range Template {
		f.Keypoints[k] = moved(p, 2, th, 100, 100)
	}
	f.Keypoints[Nose].X += 9
	f.Keypoints[Mouth].X -= 7
	m, err := AlignTo(f, Template)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.Angle()+th) > 1e-9 {
		t.Errorf("angle %v°, want %v°", m.Angle()*180/math.Pi, -th*180/math.Pi)
	}
	f.Keypoints[EyeRight] = f.Keypoints[EyeLeft]
	if _, err := AlignTo(f, Template); err == nil {
		t.Error("eyes at one point: no error")
	}
}

// Align samples a linear ramp, which bilinear interpolation and
// symmetric supersampling reproduce exactly: each crop pixel must hold the
// ramp's value at the image position its centre maps to.
func TestAlignWarpsPixels(t *testing.T) {
	const w, h = 900, 700
	ramp := func(x, y float64) [3]float64 { return [3]float64{0.2*x + 20, 0.25*y + 10, 0.1*x + 0.1*y + 5} }
	img := &preprocess.RGB{Width: w, Height: h, Pix: make([]uint8, 3*w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := ramp(float64(x), float64(y))
			for c := 0; c < 3; c++ {
				img.Pix[3*(y*w+x)+c] = uint8(math.Round(v[c]))
			}
		}
	}
	for _, c := range []struct{ s, th, tx, ty float64 }{
		{1.5, 15 * math.Pi / 180, 300, 200},  // the face is larger than the crop: supersampled
		{0.6, -20 * math.Pi / 180, 400, 300}, // smaller: one sample a pixel
	} {
		_, m := templateMoved(t, c.s, c.th, c.tx, c.ty)
		crop := Align(img, m)
		if crop.Width != CropSize || crop.Height != CropSize {
			t.Fatalf("crop %dx%d", crop.Width, crop.Height)
		}
		worst := 0.0
		for y := 0; y < CropSize; y++ {
			for x := 0; x < CropSize; x++ {
				// The crop pixel's centre, in image pixel-centre
				// coordinates, from the hand-written map.
				p := moved(Point{float64(x) + 0.5, float64(y) + 0.5}, c.s, c.th, c.tx, c.ty)
				want := ramp(p.X-0.5, p.Y-0.5)
				for ch := 0; ch < 3; ch++ {
					worst = math.Max(worst, math.Abs(float64(crop.Pix[3*(y*CropSize+x)+ch])-want[ch]))
				}
			}
		}
		// The image holds the ramp rounded to integers (±0.5), and the
		// crop rounds again (±0.5).
		if worst > 1.01 {
			t.Errorf("%+v: a crop pixel is %.2f levels off the ramp", c, worst)
		}
	}
}

// Outside the image, the crop takes the nearest edge pixel.
func TestAlignClampsAtTheEdge(t *testing.T) {
	img := &preprocess.RGB{Width: 2, Height: 1, Pix: []uint8{10, 20, 30, 200, 210, 220}}
	m := Similarity{A: 1, TX: 100, TY: 100} // the image's pixels land at (100..102, 100..101)
	crop := Align(img, m)
	for _, c := range []struct {
		x, y int
		want uint8
	}{{0, 0, 10}, {199, 199, 200}, {0, 199, 10}, {100, 100, 10}, {101, 100, 200}} {
		if got := crop.Pix[3*(c.y*CropSize+c.x)]; math.Abs(float64(got)-float64(c.want)) > 1 {
			t.Errorf("crop (%d,%d) red %d, want %d", c.x, c.y, got, c.want)
		}
	}
}
