package graphnet_test

import (
	"math"
	"os"
	"testing"

	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/faces/graphnet"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/preprocess"
)

func near(a, b faces.Box, tol float64) bool {
	return math.Abs(a.X-b.X) <= tol && math.Abs(a.Y-b.Y) <= tol && math.Abs(a.W-b.W) <= tol && math.Abs(a.H-b.H) <= tol
}

func grayImage(w, h int) *preprocess.RGB {
	m := &preprocess.RGB{Width: w, Height: h, Pix: make([]uint8, 3*w*h)}
	for i := range m.Pix {
		m.Pix[i] = 60
	}
	return m
}

// Both ways of running the network (ONNX Runtime, and the ONNX graph
// converted to GoMLX on the pure-Go backend) find the same face in a real
// crop, and nothing in a plain gray image.
func TestDetectorBackendsAgree(t *testing.T) {
	files := fixtures.DevImages(t, 1)
	if !model.ORTInstalled() {
		t.Skip("ONNX Runtime is not installed (scripts/install-onnxruntime.sh)")
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := preprocess.Decode(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found [][]faces.Face
	for _, cfg := range []string{"onnx:cpu", "go"} {
		b, _, err := model.NewBackend(cfg)
		if err != nil {
			t.Fatal(err)
		}
		d, err := graphnet.OpenDetector(b)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		got, err := d.Detect(img)
		if err != nil {
			t.Fatalf("%s: %v", cfg, err)
		}
		none, err := d.Detect(grayImage(300, 200))
		if err != nil {
			t.Fatal(err)
		}
		if len(none) != 0 {
			t.Errorf("%s: %d faces in a gray image", cfg, len(none))
		}
		found = append(found, got)
	}
	if len(found[0]) != 1 || len(found[1]) != 1 {
		t.Fatalf("faces found: onnx %d, go %d, want 1 each", len(found[0]), len(found[1]))
	}
	if !near(found[0][0].Box, found[1][0].Box, 0.5) {
		t.Errorf("boxes differ: onnx %+v, go %+v", found[0][0].Box, found[1][0].Box)
	}
}
