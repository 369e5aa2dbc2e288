package faces

import (
	"math"
	"testing"

	"github.com/facepipe/facepipe/preprocess"
)

func TestPassesCoverEveryLevel(t *testing.T) {
	for _, sz := range [][2]int{{1920, 1080}, {4000, 3000}, {800, 600}, {200, 200}, {3000, 400}} {
		w, h := sz[0], sz[1]
		p := DefaultPlan
		passes := p.Passes(w, h)
		if passes[0].Level != 0 {
			t.Fatalf("%dx%d: first pass is level %d", w, h, passes[0].Level)
		}
		// The whole-image pass holds the image in a gray square Border
		// times its longer side, centred.
		g := passes[0]
		wantW := math.Round(float64(w) * 256 / (p.Border * float64(max(w, h))))
		if float64(g.Width) != wantW || g.OX != -(256-g.Width)/2 {
			t.Errorf("%dx%d: whole pass %+v, want width %v centred", w, h, g, wantW)
		}
		byLevel := map[int][]Pass{}
		for _, ps := range passes[1:] {
			byLevel[ps.Level] = append(byLevel[ps.Level], ps)
		}
		finest := 0.0
		for lvl, ps := range byLevel {
			lw, lh := ps[0].Width, ps[0].Height
			scale := float64(lw) / float64(w)
			finest = math.Max(finest, scale)
			covered := make([]bool, lw*lh)
			for _, q := range ps {
				for y := max(0, q.OY); y < min(lh, q.OY+256); y++ {
					for x := max(0, q.OX); x < min(lw, q.OX+256); x++ {
						covered[y*lw+x] = true
					}
				}
				// A side is cut exactly when it lies inside the level.
				if q.CutLeft != (q.OX > 0) || q.CutTop != (q.OY > 0) || q.CutRight != (q.OX+256 < lw) || q.CutBottom != (q.OY+256 < lh) {
					t.Errorf("%dx%d level %d: pass %+v: cut sides wrong", w, h, lvl, q)
				}
			}
			for i, c := range covered {
				if !c {
					t.Fatalf("%dx%d level %d (%dx%d): pixel %d,%d in no tile", w, h, lvl, lw, lh, i%lw, i/lw)
				}
			}
		}
		// The finest level shows a MinFace face at DetectMin pixels or
		// more (or the image at MaxScale).
		if len(byLevel) > 0 && finest*p.MinFace < p.DetectMin*0.99 && finest < p.MaxScale*0.99 {
			t.Errorf("%dx%d: finest scale %v shows a %v-px face at %v px", w, h, finest, p.MinFace, finest*p.MinFace)
		}
	}
}

func TestStartsOverlap(t *testing.T) {
	p := DefaultPlan
	for _, n := range []int{257, 300, 512, 960, 1000, 2000} {
		s := p.starts(n)
		if s[0] != 0 || s[len(s)-1] != n-256 {
			t.Errorf("n=%d: starts %v, want first 0 and last %d", n, s, n-256)
		}
		for i := 1; i < len(s); i++ {
			if s[i-1]+256-s[i] < p.Overlap {
				t.Errorf("n=%d: tiles %d and %d share %d pixels, want ≥ %d", n, i-1, i, s[i-1]+256-s[i], p.Overlap)
			}
		}
	}
	if s := p.starts(100); len(s) != 1 || s[0] != -78 {
		t.Errorf("starts(100) = %v, want one centred tile at -78", s)
	}
}

// squareNet is a stand-in network that sees bright squares: it reports one
// detection for the bounding box of the input's pixels brighter than halfway between the gray and white
// (in [-1,1]) at the anchor nearest its centre, with keypoints at fixed
// fractions of the box. It lets the tiling be tested on pixels.
func squareNet(in []float32) ([]float32, []float32, error) {
	scores := make([]float32, NumAnchors)
	for i := range scores {
		scores[i] = -10
	}
	regs := make([]float32, NumAnchors*16)
	x0, y0, x1, y1 := 256, 256, -1, -1
	for v := 0; v < 256; v++ {
		for u := 0; u < 256; u++ {
			if in[3*(v*256+u)] > 0.235 { // halfway between the gray and the white
				x0, y0, x1, y1 = min(x0, u), min(y0, v), max(x1, u+1), max(y1, v+1)
			}
		}
	}
	if x1 < 0 || x1-x0 < 20 || y1-y0 < 20 { // like the real network, it misses tiny faces
		return scores, regs, nil
	}
	cx, cy := float64(x0+x1)/2, float64(y0+y1)/2
	best, bd := 0, math.Inf(1)
	for i, a := range anchors {
		if d := math.Hypot(a.X*256-cx, a.Y*256-cy); d < bd {
			best, bd = i, d
		}
	}
	a := anchors[best]
	r := regs[best*16 : best*16+16]
	w, h := float64(x1-x0), float64(y1-y0)
	r[0], r[1], r[2], r[3] = float32(cx-a.X*256), float32(cy-a.Y*256), float32(w), float32(h)
	fr := [6][2]float64{{0.3, 0.3}, {0.7, 0.3}, {0.5, 0.55}, {0.5, 0.75}, {0.1, 0.4}, {0.9, 0.4}}
	for k, f := range fr {
		r[4+2*k] = float32(float64(x0) + f[0]*w - a.X*256)
		r[5+2*k] = float32(float64(y0) + f[1]*h - a.Y*256)
	}
	// Pure white squares score 0.95, dimmer ones 0.55.
	score := 0.55
	for i := 0; i < len(in); i += 3 {
		if in[i] > 0.95 {
			score = 0.95
			break
		}
	}
	scores[best] = logit(score)
	return scores, regs, nil
}

func grayImage(w, h int) *preprocess.RGB {
	m := &preprocess.RGB{Width: w, Height: h, Pix: make([]uint8, 3*w*h)}
	for i := range m.Pix {
		m.Pix[i] = 60
	}
	return m
}

func fillSquare(m *preprocess.RGB, b Box) { fillSquareOf(m, b, 255) }

func fillSquareOf(m *preprocess.RGB, b Box, v uint8) {
	for y := int(b.Y); y < int(b.Y+b.H); y++ {
		for x := int(b.X); x < int(b.X+b.W); x++ {
			copy(m.Pix[3*(y*m.Width+x):], []uint8{v, v, v})
		}
	}
}

// A face (here a bright square) that straddles a tile border is reported
// once, where it is, whatever level finds it.
func TestFaceOnTileBorderReportedOnce(t *testing.T) {
	const w, h = 1920, 1080
	p := DefaultPlan
	// The finest level's tiles: find a border between two tiles and put a
	// 60-pixel square across it.
	var fine []Pass
	for _, ps := range p.Passes(w, h) {
		if len(fine) == 0 || ps.Level > fine[0].Level {
			fine = []Pass{ps}
		} else if ps.Level == fine[0].Level {
			fine = append(fine, ps)
		}
	}
	scale := float64(fine[0].Width) / w
	edge := float64(fine[0].OX+256) / scale // the first tile's right edge, in image pixels
	for _, sq := range []Box{
		{edge - 30, 500, 60, 60}, // across the first tile's right edge
		{edge - 59, 200, 60, 60}, // nearly all left of it
		{1000, 300, 300, 300},    // a large face, found at coarser levels
		{1850, 1000, 60, 60},     // in the image's corner
	} {
		img := grayImage(w, h)
		fillSquare(img, sq)
		got, err := detect(img, p, 0.75, squareNet)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Errorf("square %+v: %d faces, want 1: %+v", sq, len(got), got)
			continue
		}
		// The box is the square, to within the resampling of the level
		// it came from (a pixel or two of that level).
		tol := 2.5 / scale
		if !near(got[0].Box, sq, tol) {
			t.Errorf("square %+v: box %+v (tolerance %.1f)", sq, got[0].Box, tol)
		}
	}
}

// A face that fills the whole image is found by the whole-image pass.
func TestFaceFillingTheImage(t *testing.T) {
	img := grayImage(200, 200)
	fillSquare(img, Box{20, 20, 160, 160})
	got, err := detect(img, DefaultPlan, 0.75, squareNet)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !near(got[0].Box, Box{20, 20, 160, 160}, 2) {
		t.Fatalf("got %+v, want one face at {20 20 160 160}", got)
	}
	// Its keypoints are where the network put them, in image pixels.
	if e := got[0].Keypoints[EyeLeft]; math.Abs(e.X-(20+0.3*160)) > 2 || math.Abs(e.Y-(20+0.3*160)) > 2 {
		t.Errorf("left eye at %v, want (68, 68)", e)
	}
}

// flipKeypoints mirrors the keypoints of the anchors that score above 0.5
// vertically about their box centres: the eyes go under the mouth.
func flipKeypoints(scores, regs []float32) {
	for i := 0; i < NumAnchors; i++ {
		if scores[i] > 0 {
			for k := 0; k < NumKeypoints; k++ {
				regs[i*16+5+2*k] = -regs[i*16+5+2*k] + 2*regs[i*16+1]
			}
		}
	}
}

// rescore gives the anchors that score above 0.5 the score p instead.
func rescore(scores []float32, p float64) {
	for i := range scores {
		if scores[i] > 0 {
			scores[i] = float32(math.Log(p / (1 - p)))
		}
	}
}

// verify keeps a face only when the network finds it again, scoring at
// least the threshold, in the face's own aligned crop, with its eyes and
// mouth on the template unless both looks are strong.
func TestVerify(t *testing.T) {
	bright, dim := grayImage(800, 600), grayImage(800, 600)
	fillSquareOf(bright, Box{300, 200, 90, 90}, 255)
	fillSquareOf(dim, Box{300, 200, 90, 90}, 230)
	for _, c := range []struct {
		name      string
		img       *preprocess.RGB
		threshold float64
		want      int
	}{
		{"bright, confirmed", bright, 0.6, 1},
		{"dim, not confirmed at 0.6", dim, 0.6, 0},
		{"dim, confirmed at 0.5", dim, 0.5, 1},
	} {
		found, err := detect(c.img, DefaultPlan, 0.5, squareNet)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 1 {
			t.Fatalf("%s: %d faces before verification, want 1", c.name, len(found))
		}
		got, err := verify(c.img, found, DefaultPlan.Border, c.threshold, squareNet)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want {
			t.Errorf("%s: %d faces, want %d", c.name, len(got), c.want)
		}
	}
	// Keypoints that land off the template in the crop (here the network's
	// eyes move to the square's bottom once the crop is upright) fail,
	// unless both looks are strong (a face turned towards profile).
	found, err := detect(bright, DefaultPlan, 0.5, squareNet)
	if err != nil || len(found) != 1 {
		t.Fatalf("%d faces (%v), want 1", len(found), err)
	}
	for _, c := range []struct {
		first, again float64 // the scores of the two looks
		want         int
	}{
		{0.95, 0.95, 1},
		{0.8, 0.61, 1},
		{0.79, 0.95, 0},
		{0.95, 0.59, 0},
		{0.7, 0.7, 0},
	} {
		offTemplate := func(in []float32) ([]float32, []float32, error) {
			s, r, err := squareNet(in)
			flipKeypoints(s, r)
			rescore(s, c.again)
			return s, r, err
		}
		f := found[0]
		f.Score = c.first
		got, err := verify(bright, []Face{f}, DefaultPlan.Border, 0.5, offTemplate)
		if err != nil || len(got) != c.want {
			t.Errorf("keypoints off the template, looks scoring %v and %v: %d faces (%v), want %d", c.first, c.again, len(got), err, c.want)
		}
	}
}

// funcNet is a Network made of a function, such as squareNet.
type funcNet func(in []float32) ([]float32, []float32, error)

func (f funcNet) Run(in []float32) ([]float32, []float32, error) { return f(in) }
func (f funcNet) Close()                                         {}

// An image in which no face scoring Threshold is confirmed gets a second
// chance: its candidates scoring FallbackThreshold are confirmed in turn,
// from the same passes. An image with a confirmed face gets none, and a
// candidate already tried is not tried again.
func TestFallback(t *testing.T) {
	const w, h = 800, 600
	passes := len(DefaultPlan.Passes(w, h))
	dim, both := grayImage(w, h), grayImage(w, h)
	fillSquareOf(dim, Box{300, 200, 90, 90}, 230) // scores 0.55
	fillSquareOf(both, Box{300, 200, 90, 90}, 230)
	fillSquareOf(both, Box{550, 300, 120, 120}, 255) // scores 0.95
	bright := grayImage(w, h)
	fillSquare(bright, Box{300, 200, 90, 90})
	// twoNet sees bright and dim squares apart (squareNet sees one box
	// around every square of an input).
	twoNet := func(in []float32) ([]float32, []float32, error) {
		var outs [2][2][]float32
		for j, keep := range []func(v float32) bool{
			func(v float32) bool { return v > 0.95 },
			func(v float32) bool { return v <= 0.95 },
		} {
			part := make([]float32, len(in))
			for i := 0; i < len(in); i += 3 {
				v := in[i : i+3]
				if !keep(v[0]) {
					v = []float32{-0.53, -0.53, -0.53} // the gray
				}
				copy(part[i:i+3], v)
			}
			outs[j][0], outs[j][1], _ = squareNet(part)
		}
		scores, regs := outs[0][0], outs[0][1]
		for i, s := range outs[1][0] {
			if s > scores[i] {
				scores[i] = s
				copy(regs[i*16:i*16+16], outs[1][1][i*16:i*16+16])
			}
		}
		return scores, regs, nil
	}
	// unconfirmed looks as squareNet does over the image, and in the faces'
	// crops (its calls after the search) finds them again less sure, with
	// the eyes under the mouth.
	calls := 0
	unconfirmed := func(in []float32) ([]float32, []float32, error) {
		calls++
		s, r, err := squareNet(in)
		if calls > passes {
			flipKeypoints(s, r)
			rescore(s, 0.55) // over VerifyThreshold, under StrongAgain
		}
		return s, r, err
	}
	for _, c := range []struct {
		name     string
		img      *preprocess.RGB
		net      network
		fallback float64
		want     []Box
		runs     int
	}{
		{"a dim face, second chance at 0.5", dim, squareNet, 0.5, []Box{{300, 200, 90, 90}}, passes + 1},
		{"a dim face, no second chance", dim, squareNet, 0, nil, passes},
		{"a dim face, second chance at the threshold", dim, squareNet, 0.6, nil, passes},
		{"a bright face, a fallback above the threshold (none)", bright, squareNet, 0.99, []Box{{300, 200, 90, 90}}, passes + 1},
		{"a bright and a dim face", both, twoNet, 0.5, []Box{{550, 300, 120, 120}}, passes + 1},
		{"the same without a second chance", both, twoNet, 0, []Box{{550, 300, 120, 120}}, passes + 1},
		{"a bright face not confirmed, not tried again", bright, unconfirmed, 0.5, nil, passes + 1},
	} {
		d := &Detector{Plan: DefaultPlan, Threshold: 0.6, VerifyThreshold: 0.5, FallbackThreshold: c.fallback, net: funcNet(c.net)}
		got, err := d.Detect(c.img)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d faces %+v, want %d", c.name, len(got), got, len(c.want))
		} else {
			for i := range got {
				if !near(got[i].Box, c.want[i], 6) { // twoNet trims the edges of bright squares
					t.Errorf("%s: face %d at %+v, want %+v", c.name, i, got[i].Box, c.want[i])
				}
			}
		}
		if d.Runs() != int64(c.runs) {
			t.Errorf("%s: %d network runs, want %d (%d passes over the image)", c.name, d.Runs(), c.runs, passes)
		}
	}
}

// A UTKFace crop is searched in one pass: the finest level it would need
// (a 40-px face at 24 px, scale 0.6) is within LevelGap of the whole-image
// pass's scale (256/(2.5·200) = 0.512), which finds those faces. Without the
// gap, a second pass at 0.6.
func TestLevelGap(t *testing.T) {
	p := DefaultPlan
	if got := p.Passes(200, 200); len(got) != 1 {
		t.Errorf("200x200: %d passes, want 1: %+v", len(got), got)
	}
	p.LevelGap = 1
	if got := p.Passes(200, 200); len(got) != 2 || got[1].Width != 120 {
		t.Errorf("200x200 without the gap: %+v, want the whole pass and one at 120x120", got)
	}
}

// A confirmed face's keypoints are the mean of the first look's and the
// confirmation's. Here the network puts every keypoint dx input pixels too
// far right when it looks at the aligned crop (its calls after the
// search): in the crop's 200 pixels, shown at 256/(2.5·200) input pixels
// each, that is dx/0.512 crop pixels, dx/(0.512·s) image pixels for an
// alignment of scale s, and the mean moves half that.
func TestVerifyRefinesKeypoints(t *testing.T) {
	img := grayImage(800, 600)
	fillSquare(img, Box{300, 200, 90, 90})
	found, err := detect(img, DefaultPlan, 0.5, squareNet)
	if err != nil || len(found) != 1 {
		t.Fatalf("%d faces (%v), want 1", len(found), err)
	}
	exact, err := verify(img, found, DefaultPlan.Border, 0.5, squareNet)
	if err != nil || len(exact) != 1 {
		t.Fatalf("%d faces confirmed (%v), want 1", len(exact), err)
	}
	const dx = 4.0
	shifted := func(in []float32) ([]float32, []float32, error) {
		s, r, err := squareNet(in)
		for i := 0; i < NumAnchors; i++ {
			if s[i] > 0 {
				for k := 0; k < NumKeypoints; k++ {
					r[i*16+4+2*k] += dx
				}
			}
		}
		return s, r, err
	}
	got, err := verify(img, found, DefaultPlan.Border, 0.5, shifted)
	if err != nil || len(got) != 1 {
		t.Fatalf("%d faces confirmed (%v), want 1", len(got), err)
	}
	m, err := AlignTo(found[0], Template)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.Angle()) > 0.01 { // the template's eyes are 0.4 px off level
		t.Fatalf("the square's face is tilted by %v rad", m.Angle())
	}
	want := dx / (256 / (2.5 * 200)) / m.Scale() / 2
	for k := range got[0].Keypoints {
		d := Point{got[0].Keypoints[k].X - exact[0].Keypoints[k].X, got[0].Keypoints[k].Y - exact[0].Keypoints[k].Y}
		if math.Abs(d.X-want) > 0.05 || math.Abs(d.Y) > 0.05 {
			t.Errorf("keypoint %d moved by %+v, want (%.2f, 0)", k, d, want)
		}
	}
	// Without the confirmation's bias, the mean is the first look.
	for k, p := range exact[0].Keypoints {
		if q := found[0].Keypoints[k]; math.Hypot(p.X-q.X, p.Y-q.Y) > 1 {
			t.Errorf("keypoint %d: %v confirmed, %v found", k, p, q)
		}
	}
	if got[0].Box != found[0].Box || got[0].Score != found[0].Score {
		t.Errorf("box or score changed: %+v, want %+v", got[0], found[0])
	}
}

// pyramid makes one image per level of the passes, at the level's size, each
// close to a direct resize of the photo (it is made from the next finer
// level, so a little smoother). The photo has broad shading and fine
// diagonal stripes (a period of 19 pixels).
func TestPyramid(t *testing.T) {
	const w, h = 1920, 1080
	img := &preprocess.RGB{Width: w, Height: h, Pix: make([]uint8, 3*w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := img.Pix[3*(y*w+x):]
			p[0], p[1], p[2] = uint8(x*255/w), uint8(y*255/h), uint8(128+60*math.Sin(float64(x)/40)*math.Cos(float64(y)/30)+40*math.Sin(float64(x+y)/3))
		}
	}
	passes := DefaultPlan.Passes(w, h)
	levels := pyramid(img, passes)
	seen := map[int]bool{}
	for _, ps := range passes {
		if seen[ps.Level] {
			continue
		}
		seen[ps.Level] = true
		got := levels[ps.Level]
		if len(got) != 3*ps.Width*ps.Height {
			t.Fatalf("level %d: %d values, want %d×%d×3", ps.Level, len(got), ps.Width, ps.Height)
		}
		want := img.ResizeFloat32(ps.Width, ps.Height, nil)
		var sum float64
		for i := range got {
			sum += math.Abs(float64(got[i] - want[i]))
		}
		// 0.005 at most here; a finer level made from a coarser one
		// loses the fine stripes (0.014 and more).
		if mean := sum / float64(len(got)); mean > 0.008 {
			t.Errorf("level %d (%d×%d): mean difference %.4f from a direct resize", ps.Level, ps.Width, ps.Height, mean)
		}
	}
	if len(levels) != len(seen) || len(seen) < 4 {
		t.Errorf("%d images for %d levels (want at least 4 levels)", len(levels), len(seen))
	}
}
