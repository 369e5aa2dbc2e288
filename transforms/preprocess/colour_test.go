package preprocess

import (
	"os"
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
