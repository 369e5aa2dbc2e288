package faces

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/ort"
	"github.com/facepipe/facepipe/transforms/preprocess"
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
