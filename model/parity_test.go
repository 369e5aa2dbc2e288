package model

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gomlx/compute"
)

// TestBackendsAgree: the bundled age and gender models predict the same on
// each backend as on onnx:cpu, within the tolerances the README states. A
// backend that is not built in, not installed or without its device here
// skips with the reason; the pure-Go backend is always compared.
func TestBackendsAgree(t *testing.T) {
	ortOrSkip(t)
	card, err := ReadCard(filepath.Join("..", "models", "default"))
	if err != nil {
		t.Fatal(err)
	}
	images := parityImages(8, card.InputSize) // the bundle's input size
	ref := openOrSkip(t, "onnx:cpu")
	want := predictDefaults(t, ref, images)
	if lo, hi := minMax(want[TaskAge]); hi-lo < 0.1 {
		t.Fatalf("onnx:cpu predicts ages %.3f for different pictures: a comparison would prove nothing", want[TaskAge])
	}
	tests := []struct {
		config        string
		ageTol, pfTol float64 // largest absolute differences allowed: years, probability
	}{
		{"go", 0.01, 1e-3},
		{"xla:cpu", 0.01, 1e-3},
		// GPUs multiply float32 in TF32 by default (cuDNN and XLA both).
		{"onnx:cuda", 0.25, 0.01},
		{"xla:cuda", 0.25, 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			b := openOrSkip(t, tt.config)
			got := predictDefaults(t, b, images)
			for task, tol := range map[string]float64{TaskAge: tt.ageTol, TaskGender: tt.pfTol} {
				maxDiff, sum := 0.0, 0.0
				for i := range want[task] {
					d := math.Abs(got[task][i] - want[task][i])
					maxDiff = max(maxDiff, d)
					sum += d
				}
				t.Logf("%s on %s vs onnx:cpu: max |diff| %.2g, mean %.2g", task, tt.config, maxDiff, sum/float64(len(want[task])))
				if !(maxDiff <= tol) {
					t.Errorf("%s: %s predictions differ from onnx:cpu by up to %.3g, want at most %g\n got  %.4f\n want %.4f",
						task, tt.config, maxDiff, tol, got[task], want[task])
				}
			}
		})
	}
}

// openOrSkip opens a backend for the test, or skips it saying why it can't.
func openOrSkip(t *testing.T, config string) compute.Backend {
	t.Helper()
	b, _, err := NewBackend(config)
	if err != nil {
		t.Skipf("%s is not available here: %v", config, err)
	}
	t.Cleanup(b.Finalize)
	return b
}

// parityImages is a batch of n smooth random pictures, size×size, NHWC RGB
// in [0,1].
func parityImages(n, size int) []float32 {
	r := rand.New(rand.NewPCG(3, 4))
	out := make([]float32, 0, n*size*size*3)
	for range n {
		var a, f [3]float64
		for c := range 3 {
			a[c], f[c] = r.Float64(), 1+5*r.Float64()
		}
		for y := range size {
			for x := range size {
				for c := range 3 {
					v := 0.5 + 0.4*math.Sin(f[c]*float64(x+2*y)/float64(size)+a[c]*6) + 0.1*(r.Float64()-0.5)
					out = append(out, float32(min(1, max(0, v))))
				}
			}
		}
	}
	return out
}

// predictDefaults runs the bundled models (models/default) on b: predicted
// ages under TaskAge, probabilities of female under TaskGender, whether the
// bundle is one folder for both tasks (a network or an ensemble) or an age/
// and a gender/ folder.
func predictDefaults(t *testing.T, b compute.Backend, images []float32) map[string][]float64 {
	t.Helper()
	dirs, err := FolderDirs(filepath.Join("..", "models", "default"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float64{}
	for _, dir := range dirs {
		s, err := OpenFolder(dir, b, 8, false)
		if err != nil {
			t.Fatalf("%s on %s: %v", dir, b.Name(), err)
		}
		p, err := s.Predict(images)
		s.Close()
		if err != nil {
			t.Fatalf("%s on %s: %v", dir, b.Name(), err)
		}
		for _, o := range p {
			if !math.IsNaN(o.Age) {
				out[TaskAge] = append(out[TaskAge], o.Age)
			}
			if !math.IsNaN(o.PFemale) {
				out[TaskGender] = append(out[TaskGender], o.PFemale)
			}
		}
	}
	return out
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}
