package faces

import (
	"fmt"
	"math"

	"github.com/facepipe/facepipe/preprocess"
)

// CropSize is the side of an aligned face crop, as UTKFace's crops are.
const CropSize = 200

// Template holds where the eyes, nose tip and mouth fall in a UTKFace crop
// (200×200 pixels), indexed as Face.Keypoints. It was measured by running the
// detector with DefaultPlan and DefaultThreshold over 2,000 UTKFace dev crops
// (every tenth file; a face was found in 1,998) and averaging
// (scripts/facetemplate), so that the detector's own biases cancel when a
// detected face is aligned onto it. The standard deviations were 3.8–6.6 px
// per coordinate.
var Template = [4]Point{
	EyeLeft:  {59.3, 59.5},
	EyeRight: {136.7, 59.1},
	Nose:     {98.5, 103.9},
	Mouth:    {98.6, 144.3},
}

// Similarity is the map p ↦ s·R(θ)·p + t, stored as A = s·cos θ, B = s·sin θ:
// x' = A·x − B·y + TX, y' = B·x + A·y + TY.
type Similarity struct{ A, B, TX, TY float64 }

// Apply maps a point.
func (m Similarity) Apply(p Point) Point {
	return Point{m.A*p.X - m.B*p.Y + m.TX, m.B*p.X + m.A*p.Y + m.TY}
}

// Scale is s, the factor distances are multiplied by.
func (m Similarity) Scale() float64 { return math.Hypot(m.A, m.B) }

// Angle is θ, in radians.
func (m Similarity) Angle() float64 { return math.Atan2(m.B, m.A) }

// Inverse is the map back.
func (m Similarity) Inverse() Similarity {
	d := m.A*m.A + m.B*m.B
	a, b := m.A/d, -m.B/d
	return Similarity{a, b, -(a*m.TX - b*m.TY), -(b*m.TX + a*m.TY)}
}

// AlignTo returns the similarity that maps a face's eyes, nose and mouth
// onto dst (Template in scoring): its rotation is that of the line through
// the eyes, so a tilted head comes out upright; its scale and translation
// are then the least-squares fit of the four points.
func AlignTo(f Face, dst [4]Point) (Similarity, error) {
	src := [4]Point{f.Keypoints[EyeLeft], f.Keypoints[EyeRight], f.Keypoints[Nose], f.Keypoints[Mouth]}
	se := Point{src[EyeRight].X - src[EyeLeft].X, src[EyeRight].Y - src[EyeLeft].Y}
	de := Point{dst[EyeRight].X - dst[EyeLeft].X, dst[EyeRight].Y - dst[EyeLeft].Y}
	if math.Hypot(se.X, se.Y) < 1e-6 {
		return Similarity{}, fmt.Errorf("the eyes coincide at (%.1f, %.1f)", src[0].X, src[0].Y)
	}
	theta := math.Atan2(de.Y, de.X) - math.Atan2(se.Y, se.X)
	c, sn := math.Cos(theta), math.Sin(theta)
	var sm, dm Point
	for i := range src {
		sm.X += src[i].X / 4
		sm.Y += src[i].Y / 4
		dm.X += dst[i].X / 4
		dm.Y += dst[i].Y / 4
	}
	// With R fixed, s minimizes Σ|s·R·p − q|² over the centred points.
	var num, den float64
	for i := range src {
		px, py := src[i].X-sm.X, src[i].Y-sm.Y
		rx, ry := c*px-sn*py, sn*px+c*py
		qx, qy := dst[i].X-dm.X, dst[i].Y-dm.Y
		num += rx*qx + ry*qy
		den += px*px + py*py
	}
	if num <= 0 || den == 0 {
		return Similarity{}, fmt.Errorf("keypoints do not fit a face")
	}
	s := num / den
	m := Similarity{A: s * c, B: s * sn}
	r := m.Apply(sm)
	m.TX, m.TY = dm.X-r.X, dm.Y-r.Y
	return m, nil
}

// Align resamples the face into a CropSize×CropSize crop laid out as
// UTKFace's: m maps image positions to crop positions (AlignTo). Each crop
// pixel averages n×n bilinear samples of the image, n = ceil(1/scale) up
// to 4, so that a large face shrinks without aliasing; positions outside the
// image take the nearest edge pixel.
func Align(img *preprocess.RGB, m Similarity) *preprocess.RGB {
	out := &preprocess.RGB{Width: CropSize, Height: CropSize, Pix: make([]uint8, 3*CropSize*CropSize)}
	inv := m.Inverse()
	n := min(4, max(1, int(math.Ceil(1/m.Scale()-1e-9))))
	var acc [3]float64
	for y := 0; y < CropSize; y++ {
		for x := 0; x < CropSize; x++ {
			acc = [3]float64{}
			for j := 0; j < n; j++ {
				for i := 0; i < n; i++ {
					p := inv.Apply(Point{float64(x) + (float64(i)+0.5)/float64(n), float64(y) + (float64(j)+0.5)/float64(n)})
					r, g, b := bilinear(img, p.X-0.5, p.Y-0.5)
					acc[0] += r
					acc[1] += g
					acc[2] += b
				}
			}
			o := out.Pix[3*(y*CropSize+x):]
			for c := 0; c < 3; c++ {
				o[c] = uint8(math.Min(255, math.Max(0, acc[c]/float64(n*n)+0.5)))
			}
		}
	}
	return out
}

// bilinear samples the image at (x, y) in pixel-centre coordinates (pixel i
// at i), clamping to the edges.
func bilinear(img *preprocess.RGB, x, y float64) (r, g, b float64) {
	w, h := img.Width, img.Height
	x = clamp(x, float64(w-1))
	y = clamp(y, float64(h-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	p00 := img.Pix[3*(y0*w+x0):][:3]
	p01 := img.Pix[3*(y0*w+x1):][:3]
	p10 := img.Pix[3*(y1*w+x0):][:3]
	p11 := img.Pix[3*(y1*w+x1):][:3]
	var v [3]float64
	for c := range v {
		a, bb := float64(p00[c]), float64(p10[c])
		top := a + fx*(float64(p01[c])-a)
		bot := bb + fx*(float64(p11[c])-bb)
		v[c] = top + fy*(bot-top)
	}
	return v[0], v[1], v[2]
}

// clamp limits v to [0, hi].
func clamp(v, hi float64) float64 {
	if v > hi {
		v = hi
	}
	if v < 0 {
		v = 0
	}
	return v
}
