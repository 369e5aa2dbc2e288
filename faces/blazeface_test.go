package faces

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/ort"
	"github.com/facepipe/facepipe/preprocess"
)

func openDetector(t *testing.T) *Detector {
	t.Helper()
	if !ort.Installed() {
		t.Skip("ONNX Runtime is not installed (scripts/install-onnxruntime.sh)")
	}
	b, _, err := ort.OpenCPU(2)
	if err != nil {
		t.Fatal(err)
	}
	net, err := OpenORT(b)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDetector(net)
	t.Cleanup(d.Close)
	return d
}

// On real UTKFace crops the detector finds one face, and the median of its
// keypoints lies within a few pixels of the template measured over 2,000
// crops. (Single crops stray: UTKFace's own aligner missed some faces, and a
// baby's mouth sits 30 px above the template's.)
func TestDetectorOnRealCrops(t *testing.T) {
	files := fixtures.DevImages(t, 40)
	d := openDetector(t)
	var xs, ys [4][]float64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := preprocess.Decode(data, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Detect(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Errorf("%s: %d faces, want 1", filepath.Base(f), len(got))
			continue
		}
		for k := range Template {
			xs[k] = append(xs[k], got[0].Keypoints[k].X)
			ys[k] = append(ys[k], got[0].Keypoints[k].Y)
		}
	}
	median := func(v []float64) float64 { sort.Float64s(v); return v[len(v)/2] }
	for k, p := range Template {
		if len(xs[k]) == 0 {
			t.Fatal("no face found")
		}
		mx, my := median(xs[k]), median(ys[k])
		if dx, dy := mx-p.X, my-p.Y; dx*dx+dy*dy > 6*6 {
			t.Errorf("keypoint %d: median (%.1f, %.1f), template %v", k, mx, my, p)
		}
	}
}

// A small face in a 12-megapixel photo is found: the photo is decoded at
// half size, and the smallest face to find (in source pixels) is halved with
// it; boxes come back in source pixels.
func TestPrepareFindsASmallFaceInALargePhoto(t *testing.T) {
	crop := fixtures.DevImages(t, 1)[0]
	d := openDetector(t)
	data, err := os.ReadFile(crop)
	if err != nil {
		t.Fatal(err)
	}
	face, _, err := preprocess.Decode(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	const w, h, size, x0, y0 = 4000, 3000, 64, 2710, 1630
	photo := &preprocess.RGB{Width: w, Height: h, Pix: make([]uint8, 3*w*h)}
	for i := range photo.Pix {
		photo.Pix[i] = uint8(100 + (i/3)%w%50)
	}
	small := preprocess.Quantize(nil, face.ResizeFloat32(size, size, nil))
	for y := 0; y < size; y++ {
		copy(photo.Pix[3*((y0+y)*w+x0):], small[3*y*size:3*(y+1)*size])
	}
	jpg, err := photo.EncodeJPEG(92)
	if err != nil {
		t.Fatal(err)
	}
	found, err := Prepare(jpg, 0, d, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	if found.Scale != 0.5 || found.Image.Width != w/2 {
		t.Errorf("decoded at scale %v, %d px wide; want 0.5, %d", found.Scale, found.Image.Width, w/2)
	}
	if len(found.Crops) != 1 {
		t.Fatalf("%d faces, want the one pasted at (%d, %d), %d px", len(found.Crops), x0, y0, size)
	}
	b := found.InSource(found.Crops[0].Face).Box
	if c := b.Center(); math.Abs(c.X-(x0+size/2)) > size/4 || math.Abs(c.Y-(y0+size/2)) > size/4 || b.W < size/3 || b.W > size {
		t.Errorf("box %+v in source pixels, want about the pasted %d px at (%d, %d)", b, size, x0, y0)
	}
	if found.Crops[0].Aligned != AlignedDetected || found.Crops[0].Image.Width != CropSize {
		t.Errorf("crop %q %dx%d", found.Crops[0].Aligned, found.Crops[0].Image.Width, found.Crops[0].Image.Height)
	}
}
