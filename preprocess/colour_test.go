package preprocess

import (
	"os"
	"strings"
	"testing"
)

// patch is a flat square of a test image and the RGB its pixels must decode
// to.
type patch struct {
	x, y, size int
	rgb        [3]int
}

// checkPatches decodes file through Decode and compares every pixel of each
// patch with its expected colour, within tol levels per channel.
func checkPatches(t *testing.T, file string, w, h int, patches []patch, tol int, grayscale bool) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m, info, err := Decode(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Width != w || m.Height != h || info.Format != FormatJPEG || info.Grayscale != grayscale {
		t.Fatalf("%s: %d×%d %s, grayscale %v; want %d×%d jpeg, grayscale %v", file, m.Width, m.Height, info.Format, info.Grayscale, w, h, grayscale)
	}
	for _, p := range patches {
		bad := 0
		for y := p.y; y < p.y+p.size; y++ {
			for x := p.x; x < p.x+p.size; x++ {
				px := m.Pix[3*(y*w+x) : 3*(y*w+x)+3]
				for c := range 3 {
					if d := int(px[c]) - p.rgb[c]; d > tol || d < -tol {
						if bad == 0 {
							t.Errorf("%s: pixel (%d,%d) = %v, want %v ± %d", file, x, y, px, p.rgb, tol)
						}
						bad++
					}
				}
			}
		}
		if bad > 1 {
			t.Errorf("%s: %d samples of the patch at (%d,%d) are off", file, bad, p.x, p.y)
		}
	}
}

// TestDecodeCMYKJPEG decodes testdata/cmyk.jpg, a 32×32 CMYK JPEG that
// Pillow 9.4 wrote (quality 100, no subsampling, Adobe-inverted as
// Photoshop writes them) with four flat 16×16 patches. The expected RGB is
// what Pillow's libjpeg decode and convert("RGB") gave for each patch, and
// equals (255−C)(255−K)/255, (255−M)(255−K)/255, (255−Y)(255−K)/255 of the
// CMYK written: C,M,Y,K = (0,255,255,0) is red, (0,0,255,0) yellow,
// (255,0,0,0) cyan and (40,90,200,60) is (164,126,42). The patches tell
// each channel from the others, so a swap or a scaling of any channel fails.
func TestDecodeCMYKJPEG(t *testing.T) {
	checkPatches(t, "testdata/cmyk.jpg", 32, 32, []patch{
		{0, 0, 16, [3]int{255, 0, 0}},
		{16, 0, 16, [3]int{255, 255, 0}},
		{0, 16, 16, [3]int{0, 255, 255}},
		{16, 16, 16, [3]int{164, 126, 42}},
	}, 2, false)
}

// TestDecodeGrayJPEG decodes testdata/gray.jpg, a one-component 32×32 JPEG
// that Pillow wrote (mode L, quality 100) with four flat 16×16 patches of
// levels 200, 17, 128 and 255: each pixel must come out as that level in
// all three channels, and the image as grayscale.
func TestDecodeGrayJPEG(t *testing.T) {
	checkPatches(t, "testdata/gray.jpg", 32, 32, []patch{
		{0, 0, 16, [3]int{200, 200, 200}},
		{16, 0, 16, [3]int{17, 17, 17}},
		{0, 16, 16, [3]int{128, 128, 128}},
		{16, 16, 16, [3]int{255, 255, 255}},
	}, 1, true)
}

// TestDecodeChromaSubsampling decodes 32×16 JPEGs that Pillow wrote at
// quality 100 with 4:4:4 and 4:2:2 chroma, stripes of 8 colours 4 pixels
// wide, against testdata/NAME.pillow.rgb: the RGB Pillow's libjpeg decode
// gave (for 4:2:2, after libjpeg's fancy horizontal upsampling, which
// blends the stripes' edges). Every sample matches exactly (measured): the
// flat columns make both IDCTs agree, so a rounding change in the chroma
// upsampling or the colour conversion shows.
func TestDecodeChromaSubsampling(t *testing.T) {
	for _, name := range []string{"ycc444", "ycc422"} {
		data, err := os.ReadFile("testdata/" + name + ".jpg")
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("testdata/" + name + ".pillow.rgb")
		if err != nil {
			t.Fatal(err)
		}
		m, info, err := Decode(data, 0)
		if err != nil {
			t.Fatal(err)
		}
		if m.Width != 32 || m.Height != 16 || info.Grayscale || len(m.Pix) != len(want) {
			t.Fatalf("%s: %d×%d, grayscale %v, %d samples; want 32×16 colour, %d", name, m.Width, m.Height, info.Grayscale, len(m.Pix), len(want))
		}
		bad := 0
		for i, v := range m.Pix {
			if v != want[i] {
				if bad == 0 {
					t.Errorf("%s: pixel (%d,%d) channel %d = %d, Pillow %d", name, i/3%32, i/96, i%3, v, want[i])
				}
				bad++
			}
		}
		if bad > 1 {
			t.Errorf("%s: %d samples differ from Pillow's", name, bad)
		}
	}
}

// TestCheckAtTheLimit: an image of exactly maxPixels pixels passes Check;
// one pixel fewer allowed rejects it as too large.
func TestCheckAtTheLimit(t *testing.T) {
	data := encodeJPEG(t, testImage(64, 48, 1))
	if _, err := Check(data, 64*48); err != nil {
		t.Errorf("64×48 at a limit of %d pixels: %v", 64*48, err)
	}
	if _, err := Check(data, 64*48-1); err == nil || err.(*Error).Reason != ReasonTooLarge {
		t.Errorf("64×48 at a limit of %d pixels: %v, want %s", 64*48-1, err, ReasonTooLarge)
	}
}

// TestCheckHeaderLimits: Check rejects a header declaring no pixels in
// either dimension, and one over the pixel limit with a detail that gives
// both sizes in megapixels; Options.MaxPixels of 0 is the default limit.
func TestCheckHeaderLimits(t *testing.T) {
	good := encodeJPEG(t, testImage(64, 48, 1))
	for _, tc := range []struct {
		name   string
		data   []byte
		max    int
		reason string
		detail string
	}{
		{"zero width", withSOFSize(t, good, 0, 48), 0, ReasonDecodeError, "declares 0×48 pixels"},
		{"zero height", withSOFSize(t, good, 64, 0), 0, ReasonDecodeError, "declares 64×0 pixels"},
		{"over the limit", withSOFSize(t, good, 4000, 3000), 6_000_000, ReasonTooLarge, "4000×3000 = 12.0 megapixels, over the limit of 6.0"},
	} {
		_, err := Check(tc.data, tc.max)
		e, ok := err.(*Error)
		if !ok || e.Reason != tc.reason || !strings.Contains(e.Detail, tc.detail) {
			t.Errorf("%s: Check = %v, want %s saying %q", tc.name, err, tc.reason, tc.detail)
		}
	}
	if _, err := Check(withSOFSize(t, good, 8000, 5000), 0); err != nil {
		t.Errorf("40 megapixels under the default limit: %v", err)
	}
	if _, _, err := Preprocess(withSOFSize(t, good[:600], 8001, 5000), Options{}, nil); err == nil || err.(*Error).Reason != ReasonTooLarge {
		t.Errorf("just over 40 megapixels with Options{}: %v, want too_large", err)
	}
}

// TestPreprocessReusesDst: Preprocess and Quantize append into dst's
// memory when it has exactly the room needed.
func TestPreprocessReusesDst(t *testing.T) {
	data := encodeJPEG(t, testImage(20, 20, 4))
	dst := make([]float32, 0, 8*8*3)
	got, _, err := Preprocess(data, Options{Size: 8}, dst)
	if err != nil || len(got) != 8*8*3 || &got[0] != &dst[:1][0] {
		t.Errorf("Preprocess into an exact buffer: %d values, %v; reused %v", len(got), err, err == nil && &got[0] == &dst[:1][0])
	}
	q := make([]uint8, 0, len(got))
	if out := Quantize(q, got); &out[0] != &q[:1][0] {
		t.Error("Quantize did not reuse an exact buffer")
	}
}
