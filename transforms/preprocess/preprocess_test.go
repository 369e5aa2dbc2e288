package preprocess

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// testImage is a smooth image with texture, so that resampling errors show.
func testImage(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.RGBA{
				uint8(x * 255 / w), uint8(y * 255 / h), uint8(128 + 100*math.Sin(float64(x*y)/500) + float64(r.IntN(8))), 255})
		}
	}
	return m
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// referenceResize is Pillow's BILINEAR resample written plainly, in float64,
// straight from its definition: each output pixel centred at (i+0.5)·in/out
// takes the triangle-weighted mean of the inputs within the filter's support
// (1 input pixel, or in/out when shrinking), normalised over the inputs inside
// the image. It reads pixels through image.Image.At and color conversion.
func referenceResize(img image.Image, w, h int) []float64 {
	b := img.Bounds()
	inW, inH := b.Dx(), b.Dy()
	weights := func(in, out, i int) (int, []float64) {
		ratio := float64(in) / float64(out)
		fs := math.Max(ratio, 1)
		center := (float64(i) + 0.5) * ratio
		lo := int(math.Max(center-fs+0.5, 0))
		hi := int(math.Min(center+fs+0.5, float64(in)))
		var ws []float64
		sum := 0.0
		for j := lo; j < hi; j++ {
			v := math.Max(0, 1-math.Abs((float64(j)-center+0.5)/fs))
			ws = append(ws, v)
			sum += v
		}
		for j := range ws {
			ws[j] /= sum
		}
		return lo, ws
	}
	out := make([]float64, 0, w*h*3)
	for y := 0; y < h; y++ {
		y0, wy := weights(inH, h, y)
		for x := 0; x < w; x++ {
			x0, wx := weights(inW, w, x)
			var acc [3]float64
			for j, vy := range wy {
				for i, vx := range wx {
					c := color.NRGBAModel.Convert(img.At(b.Min.X+x0+i, b.Min.Y+y0+j)).(color.NRGBA)
					acc[0] += vx * vy * float64(c.R)
					acc[1] += vx * vy * float64(c.G)
					acc[2] += vx * vy * float64(c.B)
				}
			}
			out = append(out, acc[0]/255, acc[1]/255, acc[2]/255)
		}
	}
	return out
}

func diff(t *testing.T, got []float32, want []float64) (mean, max float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for i := range got {
		d := math.Abs(float64(got[i]) - want[i])
		mean += d
		max = math.Max(max, d)
	}
	return mean / float64(len(got)), max
}

func TestResizeMatchesReference(t *testing.T) {
	tests := []struct{ inW, inH, outW, outH int }{
		{200, 200, 224, 224}, // UTKFace
		{224, 224, 224, 224}, // identity
		{400, 300, 224, 224}, // shrink: antialiased
		{50, 80, 64, 48},
		{1, 1, 5, 5},
		{3, 2, 1, 1},
		{200, 200, 64, 64},
		{7, 300, 9, 17},
	}
	for _, tc := range tests {
		src := testImage(tc.inW, tc.inH, uint64(tc.inW*1000+tc.inH))
		m := &RGB{Width: tc.inW, Height: tc.inH, Pix: make([]uint8, 3*tc.inW*tc.inH)}
		copyRGB(m, src.Pix, src.Stride, 4)
		got := m.ResizeFloat32(tc.outW, tc.outH, nil)
		mean, max := diff(t, got, referenceResize(src, tc.outW, tc.outH))
		if max > 1e-5 {
			t.Errorf("%d×%d → %d×%d: mean abs diff %.2g, max %.2g from the reference; want float rounding only", tc.inW, tc.inH, tc.outW, tc.outH, mean, max)
		}
	}
}

// TestResizeStaysInRange: white and black images resize to exactly 1 and 0,
// whatever the rounding of the weights.
func TestResizeStaysInRange(t *testing.T) {
	for _, size := range [][4]int{{200, 200, 224, 224}, {37, 23, 224, 100}, {400, 300, 224, 224}, {3, 3, 7, 7}} {
		for _, level := range []uint8{0, 255} {
			m := &RGB{Width: size[0], Height: size[1], Pix: bytes.Repeat([]byte{level}, 3*size[0]*size[1])}
			for i, v := range m.ResizeFloat32(size[2], size[3], nil) {
				if v != float32(level)/255 {
					t.Fatalf("%v level %d: value %d is %v", size, level, i, v)
				}
			}
		}
	}
}

func TestResizeIdentityIsExact(t *testing.T) {
	src := testImage(31, 17, 3)
	m := &RGB{Width: 31, Height: 17, Pix: make([]uint8, 3*31*17)}
	copyRGB(m, src.Pix, src.Stride, 4)
	got := m.ResizeFloat32(31, 17, nil)
	for i, v := range got {
		if want := float32(m.Pix[i]) / 255; math.Abs(float64(v-want)) > 1e-6 {
			t.Fatalf("value %d = %v, want %v", i, v, want)
		}
	}
}

// TestPreprocessParity runs the whole function (decode, colour conversion,
// resize) against the plain reference reading the stdlib decoder's pixels, on
// generated JPEGs and, where the dev dataset is present, on real UTKFace.
func TestPreprocessParity(t *testing.T) {
	var files [][]byte
	for i := 0; i < 4; i++ {
		files = append(files, encodeJPEG(t, testImage(200, 200, uint64(i))))
	}
	real, _ := filepath.Glob("../../../shared/datasets/utkface-dev/2*_*.jpg.chip.jpg")
	if len(real) > 40 {
		real = real[:40]
	}
	for _, f := range real {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	t.Logf("%d generated and %d real images", 4, len(real))
	var sum float64
	for i, data := range files {
		got, info, err := Preprocess(data, Options{}, nil)
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		if info.Format != "jpeg" || info.Width != 200 || info.Height != 200 {
			t.Fatalf("file %d: info %+v", i, info)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		mean, max := diff(t, got, referenceResize(img, 224, 224))
		sum += mean
		if mean > 0.01 || max > 0.15 {
			t.Errorf("file %d: mean abs diff %.4f (max %.3f) from the reference, want ≤ 0.01", i, mean, max)
		}
	}
	t.Logf("mean abs diff over %d images: %.5f", len(files), sum/float64(len(files)))
}

// TestPillowParity compares with references that scripts/pillow-parity.sh
// writes with Pillow: PILLOW_REF_DIR holds name.f32 (raw float32 HWC, 224²)
// beside the source JPEG name.
func TestPillowParity(t *testing.T) {
	dir := os.Getenv("PILLOW_REF_DIR")
	if dir == "" {
		t.Skip("PILLOW_REF_DIR not set: run scripts/pillow-parity.sh")
	}
	refs, _ := filepath.Glob(filepath.Join(dir, "*.f32"))
	if len(refs) == 0 {
		t.Fatalf("no .f32 references in %s", dir)
	}
	var total, worst float64
	for _, ref := range refs {
		raw, err := os.ReadFile(ref)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(ref[:len(ref)-4])
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := Preprocess(data, Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(raw)/4)
		for i := range want {
			want[i] = float64(math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24))
		}
		mean, _ := diff(t, got, want)
		total += mean
		worst = math.Max(worst, mean)
	}
	mean := total / float64(len(refs))
	t.Logf("Pillow parity over %d images: mean abs diff %.5f, worst image %.5f", len(refs), mean, worst)
	if mean > 0.01 || worst > 0.01 {
		t.Errorf("mean abs diff %.5f, worst %.5f: want ≤ 0.01", mean, worst)
	}
}

func TestDecodeColourModels(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i)
	}
	nrgba := image.NewNRGBA(image.Rect(0, 0, 20, 10))
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(i * 7)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 2)
	}
	cmyk := image.NewCMYK(image.Rect(0, 0, 4, 4))
	for i := 0; i < len(cmyk.Pix); i += 4 {
		cmyk.Pix[i], cmyk.Pix[i+1], cmyk.Pix[i+2], cmyk.Pix[i+3] = 0, 255, 255, 0 // red
	}
	rgbm := &RGB{Width: 4, Height: 4, Pix: make([]uint8, 48)}
	for i := 0; i < 16; i++ {
		k := 255 - int(cmyk.Pix[4*i+3])
		rgbm.Pix[3*i] = div255((255 - int(cmyk.Pix[4*i])) * k)
	}
	if rgbm.Pix[0] != 255 {
		t.Errorf("CMYK (0,255,255,0) converts to red %d, want 255", rgbm.Pix[0])
	}

	t.Run("gray JPEG", func(t *testing.T) {
		m, info, err := Decode(encodeJPEG(t, gray), 0)
		if err != nil {
			t.Fatal(err)
		}
		if !info.Grayscale || m.Width != 40 || m.Height != 30 || len(m.Pix) != 3*40*30 {
			t.Errorf("got %d×%d, grayscale %v", m.Width, m.Height, info.Grayscale)
		}
	})
	t.Run("PNG with alpha keeps colour, drops alpha", func(t *testing.T) {
		m, info, err := Decode(encodePNG(t, nrgba), 0)
		if err != nil {
			t.Fatal(err)
		}
		if info.Format != "png" || info.Grayscale {
			t.Errorf("info %+v", info)
		}
		for i := 0; i < 20*10; i++ {
			if m.Pix[3*i] != nrgba.Pix[4*i] || m.Pix[3*i+1] != nrgba.Pix[4*i+1] || m.Pix[3*i+2] != nrgba.Pix[4*i+2] {
				t.Fatalf("pixel %d = %v, want %v", i, m.Pix[3*i:3*i+3], nrgba.Pix[4*i:4*i+3])
			}
		}
	})
	t.Run("paletted PNG", func(t *testing.T) {
		m, _, err := Decode(encodePNG(t, pal), 0)
		if err != nil {
			t.Fatal(err)
		}
		if m.Pix[0] != 255 || m.Pix[2] != 0 || m.Pix[3] != 0 || m.Pix[5] != 255 {
			t.Errorf("pixels %v", m.Pix[:6])
		}
	})
	t.Run("colour JPEG is not grayscale", func(t *testing.T) {
		_, info, err := Decode(encodeJPEG(t, testImage(32, 32, 9)), 0)
		if err != nil || info.Grayscale {
			t.Errorf("info %+v, err %v", info, err)
		}
	})
}

// withSOFSize rewrites the dimensions in a JPEG's SOF0 header.
func withSOFSize(t *testing.T, data []byte, w, h int) []byte {
	t.Helper()
	out := append([]byte(nil), data...)
	for i := 2; i+9 < len(out); {
		if out[i] != 0xff {
			t.Fatal("lost marker sync")
		}
		marker := out[i+1]
		n := int(out[i+2])<<8 | int(out[i+3])
		if marker == 0xc0 {
			out[i+5], out[i+6] = byte(h>>8), byte(h)
			out[i+7], out[i+8] = byte(w>>8), byte(w)
			return out
		}
		i += 2 + n
	}
	t.Fatal("no SOF0")
	return nil
}

func TestRejects(t *testing.T) {
	good := encodeJPEG(t, testImage(64, 64, 1))
	goodPNG := encodePNG(t, testImage(16, 16, 2))
	corrupt := append([]byte(nil), good...)
	copy(corrupt[len(corrupt)/2:], bytes.Repeat([]byte{0xff, 0xd9}, 20))
	tests := []struct {
		name      string
		data      []byte
		maxPixels int
		reason    string
	}{
		{"empty", nil, 0, ReasonEmptyFile},
		{"text", []byte("hello, this is not an image"), 0, ReasonNotAnImage},
		{"gif header cut short", []byte("GIF89a\x01\x00\x01\x00"), 0, ReasonTruncated},
		{"huge header", withSOFSize(t, good[:600], 10000, 10000), 0, ReasonTooLarge},
		{"over a custom limit", good, 64*64 - 1, ReasonTooLarge},
		{"zero width", withSOFSize(t, good, 0, 64), 0, ReasonDecodeError},
		{"truncated JPEG", good[:len(good)*6/10], 0, ReasonTruncated},
		{"truncated header", good[:40], 0, ReasonTruncated},
		{"truncated PNG", goodPNG[:len(goodPNG)/2], 0, ReasonTruncated},
		{"corrupt entropy data", corrupt, 0, ""}, // any content reason; must not panic
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Preprocess(tc.data, Options{MaxPixels: tc.maxPixels}, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if tc.reason != "" && e.Reason != tc.reason {
				t.Errorf("reason %s (%s), want %s", e.Reason, e.Detail, tc.reason)
			}
			if e.Detail == "" {
				t.Error("empty detail")
			}
		})
	}
}

func TestQuantize(t *testing.T) {
	got := Quantize(nil, []float32{0, 1, 0.5, -0.1, 1.2, 127.4 / 255, 127.6 / 255})
	want := []uint8{0, 255, 128, 0, 255, 127, 128}
	if !bytes.Equal(got, want) {
		t.Errorf("Quantize = %v, want %v", got, want)
	}
}

func BenchmarkPreprocess(b *testing.B) {
	files, _ := filepath.Glob("../../../shared/datasets/utkface-dev/3*_*.jpg.chip.jpg")
	var data [][]byte
	for _, f := range files {
		if len(data) == 200 {
			break
		}
		d, _ := os.ReadFile(f)
		data = append(data, d)
	}
	if len(data) == 0 {
		for i := 0; i < 20; i++ {
			data = append(data, encodeJPEG(b, testImage(200, 200, uint64(i))))
		}
	}
	var dst []float32
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		dst, _, err = Preprocess(data[i%len(data)], Options{}, dst)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeOnly(b *testing.B) {
	img := encodeJPEG(b, testImage(200, 200, 5))
	for i := 0; i < b.N; i++ {
		if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResize(b *testing.B) {
	src := testImage(200, 200, 1)
	m := &RGB{Width: 200, Height: 200, Pix: make([]uint8, 3*200*200)}
	copyRGB(m, src.Pix, src.Stride, 4)
	var dst []float32
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = m.ResizeFloat32(224, 224, dst)
	}
}
