package preprocess

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"reflect"
	"testing"
)

// TestFancyUpsampling pins the chroma upsampling of libjpeg's jdsample.c on
// small rows worked out by hand. Horizontally (h2v1), output 2i is
// (3·in[i] + in[i−1] + 1) >> 2 and output 2i+1 is (3·in[i] + in[i+1] + 2)
// >> 2, the ends copying the end samples; vertically and horizontally
// (h2v2), each column first sums 3·near + far, then output 2i is
// (3·s[i] + s[i−1] + 8) >> 4 and 2i+1 is (3·s[i] + s[i+1] + 7) >> 4, the
// ends weighing their own sum 4 times.
func TestFancyUpsampling(t *testing.T) {
	h2 := []struct {
		in   []uint8
		w    int
		want []uint8
	}{
		// 10, (30+50+2)/4=20, (150+10+1)/4=40, (150+200+2)/4=88,
		// (600+50+1)/4=162, (600+0+2)/4=150, (0+200+1)/4=50, 0.
		{[]uint8{10, 50, 200, 0}, 8, []uint8{10, 20, 40, 88, 162, 150, 50, 0}},
		{[]uint8{10, 50, 200, 0}, 7, []uint8{10, 20, 40, 88, 162, 150, 50}}, // odd width
		{[]uint8{7}, 2, []uint8{7, 7}},
		{[]uint8{7}, 1, []uint8{7}},
		// 255, (765+1+2)/4=192, (3+255+1)/4=64, 1.
		{[]uint8{255, 1}, 4, []uint8{255, 192, 64, 1}},
	}
	for _, tc := range h2 {
		out := make([]uint8, tc.w)
		fancyH2(out, tc.in)
		if !reflect.DeepEqual(out, tc.want) {
			t.Errorf("fancyH2(%v) to %d = %v, want %v", tc.in, tc.w, out, tc.want)
		}
	}
	v2 := []struct {
		near, far []uint8
		w         int
		want      []uint8
	}{
		// Sums 300, 120, 640: (1200+8)/16=75, (900+120+7)/16=64,
		// (360+300+8)/16=41, (360+640+7)/16=62, (1920+120+8)/16=128,
		// (2560+7)/16=160.
		{[]uint8{100, 20, 200}, []uint8{0, 60, 40}, 6, []uint8{75, 64, 41, 62, 128, 160}},
		{[]uint8{100, 20, 200}, []uint8{0, 60, 40}, 5, []uint8{75, 64, 41, 62, 128}},
		// One column of sum 150: (600+8)/16=38, (600+7)/16=37.
		{[]uint8{50}, []uint8{0}, 2, []uint8{38, 37}},
		{[]uint8{50}, []uint8{0}, 1, []uint8{38}},
		// Sums 1 and 3: (4+8)/16=0, (4+7)/16=0; (12+8)/16=1, (12+7)/16=1.
		{[]uint8{0}, []uint8{1}, 2, []uint8{0, 0}},
		{[]uint8{1}, []uint8{0}, 2, []uint8{1, 1}},
		// Sums 2, 1020: (8+8)/16=1, (6+1020+7)/16=64, (3060+2+8)/16=191,
		// (4080+7)/16=255.
		{[]uint8{0, 255}, []uint8{2, 255}, 4, []uint8{1, 64, 191, 255}},
	}
	for _, tc := range v2 {
		out := make([]uint8, tc.w)
		fancyV2H2(out, make([]int32, len(tc.near)), tc.near, tc.far)
		if !reflect.DeepEqual(out, tc.want) {
			t.Errorf("fancyV2H2(near %v, far %v) to %d = %v, want %v", tc.near, tc.far, tc.w, out, tc.want)
		}
	}
}

// TestImageAndEncodeJPEG: Image lays the RGB samples out as opaque RGBA,
// pixel by pixel; EncodeJPEG and Thumbnail give JPEGs that decode to the
// size asked and, for a flat colour, that colour.
func TestImageAndEncodeJPEG(t *testing.T) {
	m := &RGB{Width: 3, Height: 2, Pix: []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}}
	img := m.Image()
	want := []uint8{1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255, 10, 11, 12, 255, 13, 14, 15, 255, 16, 17, 18, 255}
	if img.Bounds() != image.Rect(0, 0, 3, 2) || !bytes.Equal(img.Pix, want) {
		t.Errorf("Image() = %v %v, want %v", img.Bounds(), img.Pix, want)
	}

	flat := &RGB{Width: 40, Height: 24, Pix: bytes.Repeat([]uint8{200, 100, 50}, 40*24)}
	data, err := flat.EncodeJPEG(95)
	if err != nil {
		t.Fatal(err)
	}
	thumb, err := Thumbnail(data, 16)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"EncodeJPEG": data, "Thumbnail": thumb} {
		dec, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		size := image.Pt(40, 24)
		if name == "Thumbnail" {
			size = image.Pt(16, 16)
		}
		if dec.Bounds().Size() != size {
			t.Errorf("%s: %v, want %v", name, dec.Bounds().Size(), size)
		}
		c := color.NRGBAModel.Convert(dec.At(size.X/2, size.Y/2)).(color.NRGBA)
		if d := absDiff(c.R, 200) + absDiff(c.G, 100) + absDiff(c.B, 50); d > 6 {
			t.Errorf("%s: centre %v, want about (200,100,50)", name, c)
		}
	}
	if _, err := Thumbnail([]byte("not an image"), 16); err == nil {
		t.Error("Thumbnail of text: no error")
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestDecode16BitPNG: a 16-bit PNG (RGBA64 and Gray16 in image/png) goes
// through the generic path: each sample's high byte, alpha dropped.
func TestDecode16BitPNG(t *testing.T) {
	m := image.NewNRGBA64(image.Rect(0, 0, 3, 2))
	m.SetNRGBA64(0, 0, color.NRGBA64{R: 0xffff, G: 0x1234, B: 0x0000, A: 0xffff})
	m.SetNRGBA64(1, 0, color.NRGBA64{R: 0x8000, G: 0x80ff, B: 0x0100, A: 0xffff})
	m.SetNRGBA64(2, 0, color.NRGBA64{R: 0x0000, G: 0xfeff, B: 0x7fff, A: 0x8000}) // half transparent
	m.SetNRGBA64(0, 1, color.NRGBA64{R: 0x0100, G: 0x0200, B: 0x0300, A: 0xffff})
	m.SetNRGBA64(1, 1, color.NRGBA64{R: 0x0400, G: 0x0500, B: 0x0600, A: 0xffff})
	m.SetNRGBA64(2, 1, color.NRGBA64{R: 0x0700, G: 0x0800, B: 0x0900, A: 0xffff})
	got, info, err := Decode(encodePNG(t, m), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{0xff, 0x12, 0x00, 0x80, 0x80, 0x01, 0x00, 0xfe, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if info.Format != FormatPNG || !bytes.Equal(got.Pix, want) {
		t.Errorf("Decode = %v (%s), want %v", got.Pix, info.Format, want)
	}
}

// TestRGBARows: an opaque *image.RGBA is copied as it is; one with
// transparency is read through its non-premultiplied colour (a pixel
// (60,30,0) premultiplied at alpha 128 is (119,59,0)), alpha dropped, and
// every pixel's alpha is looked at, the last included.
func TestRGBARows(t *testing.T) {
	m := image.NewRGBA(image.Rect(0, 0, 2, 1))
	copy(m.Pix, []uint8{10, 20, 30, 255, 60, 30, 0, 255})
	out := make([]uint8, 6)
	rgbRows(m, FormatPNG)(0, out)
	if want := []uint8{10, 20, 30, 60, 30, 0}; !bytes.Equal(out, want) {
		t.Errorf("opaque: %v, want %v", out, want)
	}
	m.Pix[7] = 128 // the last pixel half transparent
	rgbRows(m, FormatPNG)(0, out)
	if want := []uint8{10, 20, 30, 119, 59, 0}; !bytes.Equal(out, want) {
		t.Errorf("half transparent: %v, want %v", out, want)
	}
}

// TestYCbCrRowsChroma converts small YCbCr images of every subsampling
// whose chroma differs from row to row and column to column, with an odd
// width and height, and checks each pixel against the JFIF conversion
// (R = Y + 1.402·(Cr−128), G = Y − 0.344136·(Cb−128) − 0.714136·(Cr−128),
// B = Y + 1.772·(Cb−128), to within 1) of the chroma the pixel should get:
// the sample itself (4:4:4), libjpeg's fancy upsampling written out per
// output pixel (4:2:2 horizontally, 4:2:0 both ways; the formulas of
// TestFancyUpsampling), or the covering sample (4:4:0 and others). Y is
// flat at 128, so a chroma sample read from the wrong row or column shows.
func TestYCbCrRowsChroma(t *testing.T) {
	const w, h = 5, 3
	// chroma value of sample (i, j) of a plane of cw×ch, a pattern
	// with no two neighbours alike, different for Cb and Cr.
	cbAt := func(i, j int) uint8 { return uint8(40 + 60*i + 25*j*j + 7*(i*j%3)) }
	crAt := func(i, j int) uint8 { return uint8(220 - 45*i - 30*j + 5*((i+j)%2)) }
	clampIdx := func(v, n int) int { return min(max(v, 0), n-1) }
	// h2 is the fancy horizontal upsampling of sample row s (cw samples)
	// at output column x.
	h2 := func(s func(int) int, cw, x int) int {
		i := x / 2
		if cw == 1 {
			return s(0)
		}
		if x%2 == 0 {
			if i == 0 {
				return s(0)
			}
			return (3*s(i) + s(i-1) + 1) >> 2
		}
		if i == cw-1 {
			return s(i)
		}
		return (3*s(i) + s(i+1) + 2) >> 2
	}
	for _, tc := range []struct {
		name   string
		ratio  image.YCbCrSubsampleRatio
		expect func(plane func(i, j int) uint8, cw, ch, x, y int) int
	}{
		{"4:4:4", image.YCbCrSubsampleRatio444, func(p func(i, j int) uint8, cw, ch, x, y int) int {
			return int(p(x, y))
		}},
		{"4:2:2", image.YCbCrSubsampleRatio422, func(p func(i, j int) uint8, cw, ch, x, y int) int {
			return h2(func(i int) int { return int(p(i, y)) }, cw, x)
		}},
		{"4:2:0", image.YCbCrSubsampleRatio420, func(p func(i, j int) uint8, cw, ch, x, y int) int {
			near, far := y/2, y/2-1
			if y%2 == 1 {
				far = y/2 + 1
			}
			far = clampIdx(far, ch)
			sum := func(i int) int { return 3*int(p(i, near)) + int(p(i, far)) }
			i := x / 2
			if x%2 == 0 {
				return (3*sum(i) + sum(clampIdx(i-1, cw)) + 8) >> 4
			}
			return (3*sum(i) + sum(clampIdx(i+1, cw)) + 7) >> 4
		}},
		{"4:4:0", image.YCbCrSubsampleRatio440, func(p func(i, j int) uint8, cw, ch, x, y int) int {
			return int(p(x, y/2))
		}},
	} {
		m := image.NewYCbCr(image.Rect(0, 0, w, h), tc.ratio)
		for i := range m.Y {
			m.Y[i] = 128
		}
		cw, ch := m.CStride, len(m.Cb)/m.CStride
		for j := 0; j < ch; j++ {
			for i := 0; i < cw; i++ {
				m.Cb[j*m.CStride+i], m.Cr[j*m.CStride+i] = cbAt(i, j), crAt(i, j)
			}
		}
		dst := &RGB{Width: w, Height: h, Pix: make([]uint8, 3*w*h)}
		ycbcrToRGB(dst, m)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				cb := float64(tc.expect(cbAt, cw, ch, x, y)) - 128
				cr := float64(tc.expect(crAt, cw, ch, x, y)) - 128
				want := [3]float64{128 + 1.402*cr, 128 - 0.344136*cb - 0.714136*cr, 128 + 1.772*cb}
				for c := 0; c < 3; c++ {
					wc := math.Min(math.Max(want[c], 0), 255)
					if got := float64(dst.Pix[3*(y*w+x)+c]); math.Abs(got-wc) > 1 {
						t.Errorf("%s: pixel (%d,%d) channel %d = %v, want %.1f", tc.name, x, y, c, got, wc)
					}
				}
			}
		}
	}
}

// TestPalettedRows: indices map through the palette's non-premultiplied
// colours (a premultiplied (60,30,0) at alpha 128 is (119,59,0)); an index
// past a short palette reads as black; a palette longer than 256 colours
// (legal for an image.Paletted built in memory) maps index 255 to its
// 256th colour.
func TestPalettedRows(t *testing.T) {
	short := image.NewPaletted(image.Rect(0, 0, 3, 1), color.Palette{color.RGBA{10, 20, 30, 255}, color.RGBA{60, 30, 0, 128}})
	copy(short.Pix, []uint8{1, 0, 7})
	out := make([]uint8, 9)
	palettedRows(short, 3)(0, out)
	if want := []uint8{119, 59, 0, 10, 20, 30, 0, 0, 0}; !bytes.Equal(out, want) {
		t.Errorf("short palette: %v, want %v", out, want)
	}
	long := make(color.Palette, 300)
	for i := range long {
		long[i] = color.RGBA{uint8(i), uint8(i / 2), 7, 255}
	}
	m := image.NewPaletted(image.Rect(0, 0, 2, 1), long)
	copy(m.Pix, []uint8{255, 3})
	out = out[:6]
	palettedRows(m, 2)(0, out)
	if want := []uint8{255, 127, 7, 3, 1, 7}; !bytes.Equal(out, want) {
		t.Errorf("long palette: %v, want %v", out, want)
	}
}
