package preprocess

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
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
