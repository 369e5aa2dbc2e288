package ingest_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/internal/ort"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
)

// With --faces=detect, ingest stores each image's best face aligned onto the
// template, the same pixels as faces.Prepare gives scoring, and rejects an
// image without a face as no_face.
func TestIngestAlignsFaces(t *testing.T) {
	files := fixtures.DevImages(t, 6)
	if !ort.Installed() {
		t.Skip("ONNX Runtime is not installed (scripts/install-onnxruntime.sh)")
	}
	in, out := t.TempDir(), t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(in, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A labelled name on an image with no face in it.
	blank := image.NewRGBA(image.Rect(0, 0, 200, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 200; x++ {
			blank.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, blank, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "30_1_0_20170101000000000.jpg.chip.jpg"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	cfg := ingesttest.Config(in, out)
	cfg.ImageSize, cfg.Faces, cfg.Split = 64, faces.ModeDetect, "train=1"
	m := ingesttest.Run(t, "direct", cfg)
	if m.Parameters.Faces != faces.ModeDetect {
		t.Errorf("manifest parameters faces %q", m.Parameters.Faces)
	}
	rejects := ingesttest.ReadRejects(t, out)
	if len(rejects) != 1 || rejects[0].Reason != schemas.ReasonNoFace || rejects[0].File != "30_1_0_20170101000000000.jpg.chip.jpg" {
		t.Errorf("rejects %+v, want the blank image as no_face", rejects)
	}
	recs := readShards(t, out, m)
	if len(recs) != 6 {
		t.Fatalf("%d records, want 6", len(recs))
	}
	// Each record holds the aligned crop of the image's best face, resized
	// to 64×64, as scoring prepares it.
	net, err := openORT()
	if err != nil {
		t.Fatal(err)
	}
	d := faces.NewDetector(net)
	defer d.Close()
	for _, r := range recs {
		data, err := os.ReadFile(filepath.Join(in, r.Filename))
		if err != nil {
			t.Fatal(err)
		}
		found, err := faces.Prepare(data, 0, d, faces.ModeDetect)
		if err != nil || len(found.Crops) == 0 {
			t.Fatalf("%s: %v, %d faces", r.Filename, err, len(found.Crops))
		}
		want := found.Crops[0].Image.ResizeFloat32(64, 64, nil)
		whole := mustPreprocess(t, data, 64)
		var diff, fromWhole float64
		for i, v := range r.Image {
			diff = math.Max(diff, math.Abs(float64(v-want[i])))
			fromWhole += math.Abs(float64(v - whole[i]))
		}
		if diff > 1e-6 {
			t.Errorf("%s: stored pixels differ from the aligned crop by up to %g", r.Filename, diff)
		}
		if fromWhole == 0 {
			t.Errorf("%s: stored the image as it is, not aligned", r.Filename)
		}
	}
}

// A real crop in which no face scores the detector's threshold (0.6) but
// one scoring 0.57 is confirmed in its aligned crop: rejected as no_face
// without a second chance, stored with one at 0.5 (--face_fallback), which
// the manifest records.
func TestIngestFaceFallback(t *testing.T) {
	const name = "28_0_1_20170116203348523.jpg.chip.jpg"
	src := fixtures.DevImage(t, name)
	if !ort.Installed() {
		t.Skip("ONNX Runtime is not installed (scripts/install-onnxruntime.sh)")
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	if err := os.WriteFile(filepath.Join(in, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fallback float64
		records  int
	}{{0, 0}, {0.5, 1}} {
		out := t.TempDir()
		cfg := ingesttest.Config(in, out)
		cfg.ImageSize, cfg.Faces, cfg.Split, cfg.FaceFallback = 64, faces.ModeDetect, "train=1", c.fallback
		m := ingesttest.Run(t, "direct", cfg)
		if m.Parameters.FaceFallback != c.fallback {
			t.Errorf("fallback %v: the manifest says %v", c.fallback, m.Parameters.FaceFallback)
		}
		rejects := ingesttest.ReadRejects(t, out)
		if got := len(readShards(t, out, m)); got != c.records || len(rejects) != 1-c.records {
			t.Errorf("fallback %v: %d records and rejects %+v, want %d record(s)", c.fallback, got, rejects, c.records)
		} else if c.records == 0 && (rejects[0].Reason != schemas.ReasonNoFace || !strings.Contains(rejects[0].Detail, "no face scored 0.60")) {
			t.Errorf("fallback 0: reject %+v, want no_face without a second chance", rejects[0])
		}
	}
}

func mustPreprocess(t *testing.T, data []byte, size int) []float32 {
	t.Helper()
	px, _, err := preprocess.Preprocess(data, preprocess.Options{Size: size}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return px
}

func openORT() (faces.Network, error) {
	b, _, err := ort.OpenCPU(1)
	if err != nil {
		return nil, err
	}
	return faces.OpenORT(b)
}
