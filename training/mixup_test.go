package training

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBetaSample checks the sampler's mean and variance against Beta(α, α)'s,
// 1/2 and 1/(4(2α+1)), and its range.
func TestBetaSample(t *testing.T) {
	for _, alpha := range []float64{0.2, 0.4, 1, 2.5} {
		rng := rand.New(rand.NewPCG(1, uint64(alpha*10)))
		const n = 40000
		var sum, sq float64
		for range n {
			x := betaSample(rng, alpha)
			if !(x >= 0 && x <= 1) {
				t.Fatalf("α %g: sample %v", alpha, x)
			}
			sum += x
			sq += x * x
		}
		mean := sum / n
		variance := sq/n - mean*mean
		if want := 1 / (4 * (2*alpha + 1)); math.Abs(mean-0.5) > 0.01 || math.Abs(variance-want) > 0.05*want {
			t.Errorf("α %g: mean %.4f, variance %.4f; want 0.5 and %.4f", alpha, mean, variance, want)
		}
	}
}

// TestMixRows checks the mixing of rows with their partners by hand.
func TestMixRows(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6}
	dst := make([]float32, len(src))
	mixRows(dst, src, []int{2, 0, 1}, 0.25)
	if want := []float32{4, 5, 1.5, 2.5, 3.5, 4.5}; !slices.Equal(dst, want) {
		t.Errorf("mixed %v, want %v", dst, want)
	}
}

// TestMixer: each mixed image and its target row are λ·its own + (1-λ)·one
// partner's, with the same partner for both and one λ for the batch; the
// input images are left as they were; and the same seed and epoch mix alike.
func TestMixer(t *testing.T) {
	const n = 8
	// Image i is the one value i², its target i: distinct, and not
	// proportional, so a mix gives its partner and λ away.
	images, targets := make([]float32, n), make([]float32, n)
	for i := range n {
		images[i], targets[i] = float32(i*i), float32(i)
	}
	orig := slices.Clone(images)
	mixedT := slices.Clone(targets)
	mixed := newMixer(0.4, 7, 3).mix(images, mixedT, n)
	if !slices.Equal(images, orig) {
		t.Error("the input images changed")
	}
	var lams []float64
	for i := range n {
		ok := mixed[i] == images[i] && mixedT[i] == targets[i] // mixed with itself
		for j := range n {
			if j == i || ok {
				continue
			}
			lam := float64(mixedT[i]-targets[j]) / float64(targets[i]-targets[j])
			if lam >= 0 && lam <= 1 && math.Abs(float64(mixed[i])-(lam*float64(images[i])+(1-lam)*float64(images[j]))) < 1e-3 {
				ok = true
				lams = append(lams, lam)
			}
		}
		if !ok {
			t.Errorf("image %d: %v with target %v is no mix of it and another", i, mixed[i], mixedT[i])
		}
	}
	for _, lam := range lams {
		if math.Abs(lam-lams[0]) > 1e-4 {
			t.Errorf("λ differs within a batch: %v", lams)
			break
		}
	}
	again := slices.Clone(targets)
	if got := newMixer(0.4, 7, 3).mix(images, again, n); !slices.Equal(got, mixed) || !slices.Equal(again, mixedT) {
		t.Error("the same seed and epoch mixed differently")
	}
	other := slices.Clone(targets)
	if got := newMixer(0.4, 7, 4).mix(images, other, n); slices.Equal(got, mixed) {
		t.Error("another epoch mixed alike")
	}
}
