package preprocess

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestReduction(t *testing.T) {
	tests := []struct{ long, minLong, want int }{
		{4000, 2000, 2},
		{4000, 1000, 4},
		{4000, 500, 8},
		{4000, 501, 4},
		{4000, 2001, 1},
		{4000, 0, 8},
		{4001, 501, 8}, // ⌈4001/8⌉ = 501
		{7, 1, 8},
		{7, 2, 4},
		{200, 224, 1},
	}
	for _, tc := range tests {
		if got := reduction(tc.long, tc.minLong); got != tc.want {
			t.Errorf("reduction(%d, %d) = %d, want %d", tc.long, tc.minLong, got, tc.want)
		}
	}
}

// referenceBox averages d×d blocks of m plainly: each output pixel is the
// mean of the source pixels of its block inside the image, rounded half up.
func referenceBox(m *RGB, d int) *RGB {
	ow, oh := (m.Width+d-1)/d, (m.Height+d-1)/d
	out := &RGB{Width: ow, Height: oh, Pix: make([]uint8, 3*ow*oh)}
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			for c := 0; c < 3; c++ {
				var sum, n float64
				for y := oy * d; y < oy*d+d && y < m.Height; y++ {
					for x := ox * d; x < ox*d+d && x < m.Width; x++ {
						sum += float64(m.Pix[3*(y*m.Width+x)+c])
						n++
					}
				}
				out.Pix[3*(oy*ow+ox)+c] = uint8(math.Floor(sum/n + 0.5))
			}
		}
	}
	return out
}

func rgbOf(img *image.RGBA) *RGB {
	b := img.Bounds()
	m := &RGB{Width: b.Dx(), Height: b.Dy(), Pix: make([]uint8, 3*b.Dx()*b.Dy())}
	copyRGB(m, img.Pix, img.Stride, 4)
	return m
}

func TestBoxReduce(t *testing.T) {
	for _, tc := range [][3]int{{16, 16, 2}, {17, 9, 2}, {33, 31, 4}, {101, 7, 8}, {5, 3, 8}, {1, 1, 2}, {9, 9, 1}} {
		m := rgbOf(testImage(tc[0], tc[1], uint64(tc[0])))
		got := boxReduce(m.Width, m.Height, tc[2], m.rows)
		want := referenceBox(m, tc[2])
		if got.Width != want.Width || got.Height != want.Height || string(got.Pix) != string(want.Pix) {
			t.Errorf("%v: got %d×%d, want %d×%d, pixels equal %v", tc, got.Width, got.Height, want.Width, want.Height, string(got.Pix) == string(want.Pix))
		}
	}
}

// levels returns the mean and largest absolute difference of two images'
// samples.
func levels(t *testing.T, a, b *RGB) (mean, max float64) {
	t.Helper()
	if a.Width != b.Width || a.Height != b.Height {
		t.Fatalf("sizes %d×%d and %d×%d", a.Width, a.Height, b.Width, b.Height)
	}
	for i := range a.Pix {
		d := math.Abs(float64(a.Pix[i]) - float64(b.Pix[i]))
		mean += d
		max = math.Max(max, d)
	}
	return mean / float64(len(a.Pix)), max
}

// TestDecodeReduced: every format comes out ⌈W·scale⌉×⌈H·scale⌉ with the
// promised scale, and, where no IDCT scaling is involved, exactly the box
// average of the full decode.
func TestDecodeReduced(t *testing.T) {
	src := testImage(203, 97, 7)
	pal := image.NewPaletted(image.Rect(0, 0, 203, 97), color.Palette{color.Black, color.White, color.RGBA{200, 10, 90, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 3)
	}
	tests := []struct {
		name    string
		data    []byte
		minLong int
		scale   float64
		w, h    int
		exact   bool // box average of the full decode in every build
	}{
		{"JPEG by 4", encodeJPEG(t, src), 30, 0.25, 51, 25, NativeJPEG[:5] == "image"},
		{"JPEG by 2", encodeJPEG(t, src), 52, 0.5, 102, 49, NativeJPEG[:5] == "image"},
		{"JPEG, any reduction", encodeJPEG(t, src), 0, 0.125, 26, 13, NativeJPEG[:5] == "image"},
		{"JPEG too small to reduce", encodeJPEG(t, src), 103, 1, 203, 97, true},
		{"PNG by 8", encodePNG(t, src), 20, 0.125, 26, 13, true},
		{"GIF by 2", encodeGIF(t, &gif.GIF{Image: []*image.Paletted{pal}, Delay: []int{0}}), 100, 0.5, 102, 49, true},
		{"WebP by 2", []byte(losslessWebP), 3, 0.5, 3, 2, true},
		{"lossy WebP by 8", []byte(lossyWebP[2].data), 1, 0.125, 2, 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, info, scale, err := DecodeReduced(tc.data, 0, tc.minLong)
			if err != nil {
				t.Fatal(err)
			}
			if scale != tc.scale || m.Width != tc.w || m.Height != tc.h || len(m.Pix) != 3*tc.w*tc.h {
				t.Fatalf("scale %v, %d×%d; want %v, %d×%d", scale, m.Width, m.Height, tc.scale, tc.w, tc.h)
			}
			full, fullInfo, err := Decode(tc.data, 0)
			if err != nil {
				t.Fatal(err)
			}
			if info != fullInfo {
				t.Errorf("info %+v, Decode's %+v", info, fullInfo)
			}
			mean, max := levels(t, m, referenceBox(full, int(1/scale)))
			if tc.exact && max != 0 {
				t.Errorf("differs from the box average of the full decode: mean %.3f, max %.0f levels", mean, max)
			}
			if mean > 3 || max > 40 {
				t.Errorf("mean %.3f, max %.0f levels from the box average of the full decode", mean, max)
			}
		})
	}
}

// photoImage looks like a photo to a resampler: smooth shading, discs with
// hard edges, and a little noise, but none of testImage's near-Nyquist
// chirp, where box averaging and IDCT scaling (two different low-pass
// filters) rightly disagree.
func photoImage(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 2))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	type disc struct {
		x, y, r float64
		c       [3]float64
	}
	discs := make([]disc, 6)
	for i := range discs {
		discs[i] = disc{r.Float64() * float64(w), r.Float64() * float64(h), float64(min(w, h)) * (0.05 + 0.2*r.Float64()),
			[3]float64{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			c := [3]float64{60 + 120*fx, 90 + 80*math.Sin(3*fy+fx), 200 - 150*fx*fy}
			for _, d := range discs {
				if dist := math.Hypot(float64(x)-d.x, float64(y)-d.y); dist < d.r {
					shade := 0.7 + 0.3*math.Cos(dist/d.r*math.Pi/2)
					c = [3]float64{d.c[0] * shade, d.c[1] * shade, d.c[2] * shade}
				}
			}
			i := m.PixOffset(x, y)
			for k := range c {
				m.Pix[i+k] = uint8(min(max(c[k]+float64(r.IntN(7)-3), 0), 255))
			}
			m.Pix[i+3] = 255
		}
	}
	return m
}

// TestDecodeReducedNearFull bounds how far the IDCT-scaled decode of the
// libjpeg-turbo build strays from the box average of the full decode (the
// pure-Go build's answer, so there the difference is 0), on photo-like
// images and, where the dev dataset is present, real faces.
func TestDecodeReducedNearFull(t *testing.T) {
	files := [][]byte{encodeJPEG(t, photoImage(800, 600, 3)), encodeJPEG(t, photoImage(333, 251, 8))}
	real, _ := filepath.Glob("../../../shared/datasets/utkface-dev/4*_*.jpg.chip.jpg")
	for _, f := range real[:min(len(real), 20)] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	for _, d := range []int{2, 4, 8} {
		var sum, worst, worstMean float64
		for i, data := range files {
			full, info, err := Decode(data, 0)
			if err != nil {
				t.Fatal(err)
			}
			m, _, scale, err := DecodeReduced(data, 0, (max(info.Width, info.Height)+d-1)/d)
			if err != nil || scale != 1/float64(d) {
				t.Fatalf("file %d: scale %v, %v", i, scale, err)
			}
			mean, mx := levels(t, m, referenceBox(full, d))
			sum += mean
			worst, worstMean = math.Max(worst, mx), math.Max(worstMean, mean)
			if mean > 1 || mx > 40 {
				t.Errorf("file %d by %d: mean %.3f, max %.0f levels from the box average, want ≤ 1 and 40", i, d, mean, mx)
			}
		}
		t.Logf("%s, 1/%d: %.3f levels from the box average of the full decode on average over %d images, worst image %.3f, max %.0f",
			NativeJPEG, d, sum/float64(len(files)), len(files), worstMean, worst)
	}
}

func TestDecodeReducedOrientation(t *testing.T) {
	const w, h = 61, 27
	plain := encodeJPEG(t, testImage(w, h, 5))
	stored, _, _, err := DecodeReduced(plain, 0, 15)
	if err != nil {
		t.Fatal(err)
	}
	sw, sh := stored.Width, stored.Height // 16×7, by 4
	for o := 1; o <= 8; o++ {
		m, info, scale, err := DecodeReduced(withSegment(plain, 0xe1, exifPayloadWith(binary.BigEndian, o)), 0, 15)
		if err != nil || scale != 0.25 || info.Orientation != o {
			t.Fatalf("orientation %d: scale %v, info %+v, %v", o, scale, info, err)
		}
		for sy := 0; sy < sh; sy++ {
			for sx := 0; sx < sw; sx++ {
				vx, vy := uprightIndex(o, sw, sh, sx, sy)
				v, s := 3*(vy*m.Width+vx), 3*(sy*sw+sx)
				if string(m.Pix[v:v+3]) != string(stored.Pix[s:s+3]) {
					t.Fatalf("orientation %d: upright (%d,%d) differs from reduced stored (%d,%d)", o, vx, vy, sx, sy)
				}
			}
		}
	}
}

// TestDefaultLimitTakesPhotos: the default limit applies to the header's
// full size, and lets through the 12, 24 and 40 megapixel photos of phones
// and cameras; the 48 MP full-resolution mode of some phones needs a larger
// maxPixels.
func TestDefaultLimitTakesPhotos(t *testing.T) {
	jpg := encodeJPEG(t, testImage(16, 16, 1))
	for _, tc := range []struct {
		w, h int
		ok   bool
	}{{4032, 3024, true}, {6000, 4000, true}, {8000, 5000, true}, {8064, 6048, false}} {
		data := withSOFSize(t, jpg, tc.w, tc.h)
		_, err := Check(data, 0)
		if ok := err == nil; ok != tc.ok {
			t.Errorf("%d×%d: %v", tc.w, tc.h, err)
		}
		_, _, _, err = DecodeReduced(data, 0, 1000)
		var e *Error
		if !tc.ok && (!errors.As(err, &e) || e.Reason != ReasonTooLarge) {
			t.Errorf("DecodeReduced %d×%d: %v, want too_large", tc.w, tc.h, err)
		}
	}
}

// bigJPEG is a 12-megapixel (4000×3000) photo of 3.5 MB, as phones make:
// testImage's noise and fine pattern keep the entropy decoding as busy as a
// real photo's.
var bigJPEG = sync.OnceValue(func() []byte {
	var b testing.B
	return encodeJPEG(&b, testImage(4000, 3000, 12))
})

// BenchmarkDecodeFull decodes the 12-megapixel photo in full.
func BenchmarkDecodeFull(b *testing.B) {
	data := bigJPEG()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := Decode(data, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeReduced decodes the same photo at 1/2 (minLong 2000), 1/4
// and 1/8 scale.
func BenchmarkDecodeReduced(b *testing.B) {
	data := bigJPEG()
	for _, minLong := range []int{2000, 1000, 500} {
		b.Run(fmt.Sprintf("minLong=%d", minLong), func(b *testing.B) {
			for b.Loop() {
				if _, _, _, err := DecodeReduced(data, 0, minLong); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
