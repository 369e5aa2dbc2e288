package training

import (
	"math"
	"math/rand/v2"
)

// mixer applies mixup (Zhang et al., 2018) to the batches of an epoch: each
// batch is mixed with a shuffled copy of itself, every image and its target
// row becoming λ·its own + (1-λ)·its partner's, with one λ ~ Beta(α, α) per
// batch. The targets are linear in what they describe (ages, label
// distributions, the binary cross-entropy's targets), so mixing them mixes
// the labels. Its random numbers come from the seed and the epoch: a
// resumed run mixes as an uninterrupted one does.
type mixer struct {
	alpha   float64
	rng     *rand.Rand
	pixels  []float32 // the mixed images, reused from batch to batch
	targets []float32 // a copy of the targets being mixed
}

func newMixer(alpha float64, seed int64, epoch int) *mixer {
	return &mixer{alpha: alpha, rng: rand.New(rand.NewPCG(uint64(seed)^0x6d69787570, uint64(epoch)))}
}

// mix returns the mixed images of a batch of n, and mixes its targets in
// place. images is left as it was.
func (m *mixer) mix(images, targets []float32, n int) []float32 {
	lam := float32(betaSample(m.rng, m.alpha))
	perm := m.rng.Perm(n)
	if len(m.pixels) != len(images) {
		m.pixels = make([]float32, len(images))
	}
	m.targets = append(m.targets[:0], targets...)
	mixRows(m.pixels, images, perm, lam)
	mixRows(targets, m.targets, perm, lam)
	return m.pixels
}

// mixRows writes into dst the rows of src (len(perm) of them) mixed with
// their partners: dst row i = lam·src row i + (1-lam)·src row perm[i].
func mixRows(dst, src []float32, perm []int, lam float32) {
	w := len(src) / len(perm)
	for i, j := range perm {
		a, b, d := src[i*w:(i+1)*w], src[j*w:(j+1)*w], dst[i*w:(i+1)*w]
		for k := range d {
			d[k] = lam*a[k] + (1-lam)*b[k]
		}
	}
}

// betaSample draws from the symmetric Beta(α, α) distribution, as X/(X+Y)
// of two Gamma(α) draws.
func betaSample(rng *rand.Rand, alpha float64) float64 {
	x, y := gammaSample(rng, alpha), gammaSample(rng, alpha)
	if x+y == 0 {
		return 0.5
	}
	return x / (x + y)
}

// gammaSample draws from Gamma(shape, 1) by Marsaglia and Tsang's method;
// for shape < 1, as Gamma(shape+1)·U^(1/shape).
func gammaSample(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gammaSample(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < x*x/2+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
