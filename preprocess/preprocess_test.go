package preprocess

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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

// The detector's pyramid resizes, summed in float32: ResizeFloat32Fast from
// the 8-bit pixels, ResizeHWC from float32 ones (here the same pixels / 255),
// both within float32 rounding of the reference.
func TestResizeFastMatchesReference(t *testing.T) {
	for _, tc := range []struct{ inW, inH, outW, outH int }{
		{2000, 1125, 1200, 675}, // a photo to the finest pyramid level
		{1200, 675, 600, 338},   // one level to the next
		{600, 338, 97, 55},      // to the whole-image pass
		{200, 200, 224, 224},
		{50, 80, 64, 48},
		{3, 2, 1, 1},
		{7, 300, 9, 17},
	} {
		src := testImage(tc.inW, tc.inH, uint64(tc.inW*1000+tc.inH))
		m := &RGB{Width: tc.inW, Height: tc.inH, Pix: make([]uint8, 3*tc.inW*tc.inH)}
		copyRGB(m, src.Pix, src.Stride, 4)
		want := referenceResize(src, tc.outW, tc.outH)
		unit := make([]float32, len(m.Pix))
		for i, v := range m.Pix {
			unit[i] = float32(v) / 255
		}
		for name, got := range map[string][]float32{
			"ResizeFloat32Fast": m.ResizeFloat32Fast(tc.outW, tc.outH, nil),
			"ResizeHWC":         ResizeHWC(unit, tc.inW, tc.inH, tc.outW, tc.outH, nil),
		} {
			if len(got) != len(want) {
				t.Fatalf("%s %d×%d → %d×%d: %d values, want %d", name, tc.inW, tc.inH, tc.outW, tc.outH, len(got), len(want))
			}
			if mean, max := diff(t, got, want); max > 2e-6 {
				t.Errorf("%s %d×%d → %d×%d: mean abs diff %.2g, max %.2g from the reference", name, tc.inW, tc.inH, tc.outW, tc.outH, mean, max)
			}
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
		// The reference reads image/jpeg's pixels, whose chroma is
		// upsampled by replication, not by libjpeg's triangle filter as
		// Decode's: on the generated images' per-pixel blue noise that
		// alone moves values by up to 0.12 (mean 0.008); on real faces by
		// up to 0.07 (mean 0.0018). TestPillowParity holds the tight,
		// per-channel bounds against libjpeg.
		maxMean, maxMax := 0.003, 0.1
		if i < 4 {
			maxMean, maxMax = 0.01, 0.15
		}
		if mean > maxMean || max > maxMax {
			t.Errorf("file %d: mean abs diff %.4f (max %.3f) from the reference, want ≤ %g (max %g)", i, mean, max, maxMean, maxMax)
		}
	}
	t.Logf("mean abs diff over %d images: %.5f", len(files), sum/float64(len(files)))
}

// TestPillowParity compares Preprocess with Pillow, the reference of the
// Python peers: Image.open(f).convert("RGB").resize((224, 224), BILINEAR).
// With PILLOW_REF_DIR set (scripts/pillow-parity.sh) it reads the
// references written there, name.f32 (raw float32 HWC) beside the source
// name; otherwise it runs Debian's python3-pil (/usr/bin/python3) itself on
// generated colour JPEGs (4:2:0, as image/jpeg writes them), the CMYK and
// grayscale JPEGs of testdata, a PNG, and up to 40 real UTKFace images
// where the dev dataset is present.
//
// Pillow's output is quantized to 1/255, and its libjpeg IDCT differs from
// image/jpeg's, so values differ by a level here and there: measured
// (Pillow 9.4, 2026-12-06) 0.0008-0.0011 mean absolute difference per
// channel, under 0.00005 mean signed difference, 0.0012 on the worst
// image. The bounds are per channel, so that an error in one channel alone
// fails: each channel's mean absolute difference must stay under 0.002
// (half a level) and its mean signed difference within ±0.001 (a quarter
// level), and no image may differ by more than 0.003 on average. A channel
// one level too bright everywhere (+0.0039) breaks both channel bounds; a
// swapped, halved or inverted channel breaks them a hundredfold. (The old
// bound, a mean of 0.01 over all channels, let a one-channel bias of 7
// levels through.)
func TestPillowParity(t *testing.T) {
	dir := os.Getenv("PILLOW_REF_DIR")
	var refs []pillowRef
	if dir != "" {
		refs = readPillowRefs(t, dir)
	} else {
		refs = runPillow(t)
	}
	var abs, signed [3]float64
	var n [3]int
	worst := 0.0
	for _, ref := range refs {
		data, err := os.ReadFile(ref.src)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := Preprocess(data, Options{}, nil)
		if err != nil {
			t.Fatalf("%s: %v", ref.src, err)
		}
		if len(got) != len(ref.want) {
			t.Fatalf("%s: %d values, Pillow gave %d", ref.src, len(got), len(ref.want))
		}
		var imgAbs float64
		for i, v := range got {
			d := float64(v) - ref.want[i]
			abs[i%3] += math.Abs(d)
			signed[i%3] += d
			n[i%3]++
			imgAbs += math.Abs(d)
		}
		worst = math.Max(worst, imgAbs/float64(len(got)))
	}
	for c, name := range []string{"red", "green", "blue"} {
		meanAbs, meanSigned := abs[c]/float64(n[c]), signed[c]/float64(n[c])
		t.Logf("Pillow parity over %d images, %s: mean abs diff %.5f, mean signed diff %+.5f", len(refs), name, meanAbs, meanSigned)
		if meanAbs > 0.002 || math.Abs(meanSigned) > 0.001 {
			t.Errorf("%s: mean abs diff %.5f, mean signed diff %+.5f from Pillow; want ≤ 0.002 and within ±0.001", name, meanAbs, meanSigned)
		}
	}
	t.Logf("worst image: mean abs diff %.5f", worst)
	if worst > 0.003 {
		t.Errorf("an image differs from Pillow by %.5f on average, want ≤ 0.003", worst)
	}
}

// pillowRef is Pillow's 224×224 RGB of a source file, in [0,1].
type pillowRef struct {
	src  string
	want []float64
}

func readPillowRefs(t *testing.T, dir string) []pillowRef {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.f32"))
	if len(files) == 0 {
		t.Fatalf("no .f32 references in %s", dir)
	}
	var refs []pillowRef
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(raw)/4)
		for i := range want {
			want[i] = float64(math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24))
		}
		refs = append(refs, pillowRef{src: f[:len(f)-4], want: want})
	}
	return refs
}

// pillowPython is Debian's Python, which python3-pil installs Pillow into.
const pillowPython = "/usr/bin/python3"

// runPillow writes the test images and has Pillow resize each, as raw RGB
// bytes beside it.
func runPillow(t *testing.T) []pillowRef {
	t.Helper()
	if out, err := exec.Command(pillowPython, "-c", "import PIL").CombinedOutput(); err != nil {
		t.Skipf("no Pillow: %s -c 'import PIL': %v %s (apt-get install python3-pil)", pillowPython, err, bytes.TrimSpace(out))
	}
	dir := t.TempDir()
	var srcs []string
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, p)
	}
	for i := range 4 {
		write(fmt.Sprintf("generated%d.jpg", i), encodeJPEG(t, testImage(200+37*i, 200+11*i, uint64(i+100))))
	}
	write("generated.png", encodePNG(t, testImage(150, 190, 7)))
	for _, f := range []string{"testdata/cmyk.jpg", "testdata/gray.jpg"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Base(f), data)
	}
	real, _ := filepath.Glob("../../../shared/datasets/utkface-dev/*.jpg")
	sort.Strings(real)
	for i := 0; i < len(real) && i < 40*max(1, len(real)/40); i += max(1, len(real)/40) {
		srcs = append(srcs, real[i])
	}
	t.Logf("%d generated and test images, %d real ones", 7, len(srcs)-7)
	script := `
import sys
from PIL import Image
out = sys.argv[1]
for i, src in enumerate(sys.argv[2:]):
    with Image.open(src) as img:
        rgb = img.convert("RGB").resize((224, 224), Image.BILINEAR)
        with open("%s/%d.rgb" % (out, i), "wb") as f:
            f.write(rgb.tobytes())
`
	if out, err := exec.Command(pillowPython, append([]string{"-c", script, dir}, srcs...)...).CombinedOutput(); err != nil {
		t.Fatalf("Pillow: %v\n%s", err, out)
	}
	refs := make([]pillowRef, len(srcs))
	for i, src := range srcs {
		raw, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.rgb", i)))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(raw))
		for j, v := range raw {
			want[j] = float64(v) / 255
		}
		refs[i] = pillowRef{src: src, want: want}
	}
	return refs
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
