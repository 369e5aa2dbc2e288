package faces

import "math"

// Pass is one detector input cut from an image resized to its level's
// Width×Height: the input's pixel (u, v) is the level's pixel (OX+u, OY+v),
// gray outside the level. Positions are continuous (pixel i spans [i, i+1)),
// so the input position (u, v) is the image position
// ((OX+u)·w/Width, (OY+v)·h/Height) of a w×h image.
type Pass struct {
	Level         int // 0: the whole image with a border; 1, 2, …: finer pyramid levels
	OX, OY        int // the level position of the input's top-left corner
	Width, Height int // the level's size
	// Cut tells which sides of the input fall inside the image rather than
	// on its border: a face touching such a side may be cut, and is left to
	// the neighbouring tile, which holds it whole.
	CutLeft, CutTop, CutRight, CutBottom bool
}

// Plan says how an image is searched.
type Plan struct {
	Size    int     // the detector's input side (256)
	Border  float64 // the whole-image pass shows the image in a square this many times its longer side
	MinFace float64 // the smallest face to find, in image pixels
	// DetectMin is the smallest face, in input pixels, the detector finds
	// reliably: levels are added until MinFace is at least this large.
	DetectMin float64
	Overlap   int     // input pixels shared by neighbouring tiles; faces up to this size are whole in some tile
	MaxScale  float64 // never enlarge the image more than this
	// LevelGap skips pyramid levels whose scale is under LevelGap times
	// the whole-image pass's: that pass finds their faces (at a little less
	// than DetectMin input pixels). 1 keeps every level.
	LevelGap float64
}

// DefaultPlan is the search measured for BlazeFace's full-range model. On
// 300 UTKFace dev crops with a threshold of 0.6 the whole-image pass found a
// face in 298 with a border of 1.5, 299 with 2 and 300 with 2.5. On 100
// generated scenes (800×600 to 1920×1080, 273 faces of 48–360 px), with
// confirmation: DetectMin 24 found 98.9% of the faces in 19.0 network passes
// a scene (Overlap 48; 21.5 with 64, the same faces), 20 found 98.5% in
// 15.5 (94.3% of those under 64 px), 16 found 93.0% in 11.2.
var DefaultPlan = Plan{Size: 256, Border: 2.5, MinFace: 40, DetectMin: 24, Overlap: 48, MaxScale: 1, LevelGap: 1.5}

// Passes lists the detector inputs for a w×h image: the whole image
// letterboxed into a gray square of Border times its longer side (a face that
// fills the image needs a margin around it to be found), then pyramid levels
// at twice the scale of the one before, the finest the one at which a face of
// MinFace pixels is DetectMin input pixels wide (at most MaxScale). A level
// that fits one input is one pass, centred; a larger one is cut into
// overlapping tiles.
func (p Plan) Passes(w, h int) []Pass {
	long := float64(max(w, h))
	s := float64(p.Size)
	g := s / (p.Border * long)
	gw, gh := max(1, int(math.Round(float64(w)*g))), max(1, int(math.Round(float64(h)*g)))
	passes := []Pass{{Level: 0, OX: -(p.Size - gw) / 2, OY: -(p.Size - gh) / 2, Width: gw, Height: gh}}
	finest := math.Min(p.MaxScale, p.DetectMin/p.MinFace)
	// Levels from the finest down to the first that fits one input.
	var scales []float64
	for sc := finest; ; sc /= 2 {
		if sc <= g*max(1.01, p.LevelGap) { // the whole-image pass covers this scale and coarser
			break
		}
		scales = append(scales, sc)
		if long*sc <= s {
			break
		}
	}
	for i := len(scales) - 1; i >= 0; i-- {
		passes = append(passes, p.level(len(scales)-i, scales[i], w, h)...)
	}
	return passes
}

// level cuts one pyramid level into tiles.
func (p Plan) level(lvl int, scale float64, w, h int) []Pass {
	sw, sh := max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
	xs, ys := p.starts(sw), p.starts(sh)
	var out []Pass
	for j, y := range ys {
		for i, x := range xs {
			out = append(out, Pass{
				Level: lvl, OX: x, OY: y, Width: sw, Height: sh,
				CutLeft: i > 0, CutRight: i < len(xs)-1, CutTop: j > 0, CutBottom: j < len(ys)-1,
			})
		}
	}
	return out
}

// starts returns the input-pixel offsets of the tiles along one side of n
// scaled pixels: one centred tile when it fits, else evenly spread tiles
// that share at least Overlap pixels, the first and last flush with the
// image's edges.
func (p Plan) starts(n int) []int {
	if n <= p.Size {
		return []int{-(p.Size - n) / 2}
	}
	stride := p.Size - p.Overlap
	k := (n - p.Overlap + stride - 1) / stride
	out := make([]int, k)
	for i := range out {
		out[i] = int(math.Round(float64(i) * float64(n-p.Size) / float64(k-1)))
	}
	return out
}

// cutMargin is how close, in input pixels, a box may come to a tile's inner
// side before it counts as cut.
const cutMargin = 2

// keep reports whether a detection of the pass, in the pass's input pixels,
// stays: it must not touch a side of the tile that lies inside the image.
func (ps Pass) keep(f Face, size int) bool {
	b, s := f.Box, float64(size)
	return !(ps.CutLeft && b.X < cutMargin || ps.CutTop && b.Y < cutMargin ||
		ps.CutRight && b.X+b.W > s-cutMargin || ps.CutBottom && b.Y+b.H > s-cutMargin)
}

// toImage maps a detection from the pass's input pixels to the pixels of
// the w×h image.
func (ps Pass) toImage(f Face, w, h int) Face {
	sx, sy := float64(w)/float64(ps.Width), float64(h)/float64(ps.Height)
	f.Box = Box{(f.Box.X + float64(ps.OX)) * sx, (f.Box.Y + float64(ps.OY)) * sy, f.Box.W * sx, f.Box.H * sy}
	for k, q := range f.Keypoints {
		f.Keypoints[k] = Point{(q.X + float64(ps.OX)) * sx, (q.Y + float64(ps.OY)) * sy}
	}
	return f
}
