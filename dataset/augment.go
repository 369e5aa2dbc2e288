package dataset

import "math/rand/v2"

// augment applies, in place, the recipe's augmentation to an HWC image of
// size×size×3 in [0,1]: reflect-pad by size/16 and crop back at a random
// offset, flip left-right with p=0.5, scale brightness by U(0.8,1.2) and
// contrast by U(0.85,1.15) around the image mean, then clip to [0,1].
func augment(img []float32, size int, rng *rand.Rand) {
	pad := max(1, size/16)
	dy, dx := rng.IntN(2*pad+1)-pad, rng.IntN(2*pad+1)-pad
	flip := rng.IntN(2) == 1
	bright := 0.8 + 0.4*rng.Float32()
	contrast := 0.85 + 0.3*rng.Float32()

	src := append([]float32(nil), img...)
	reflect := func(v int) int {
		if v < 0 {
			v = -v
		}
		if v >= size {
			v = 2*size - 2 - v
		}
		return min(max(v, 0), size-1)
	}
	var mean float64
	for y := 0; y < size; y++ {
		sy := reflect(y + dy)
		for x := 0; x < size; x++ {
			sx := x + dx
			if flip {
				sx = size - 1 - x + dx
			}
			sx = reflect(sx)
			o, s := 3*(y*size+x), 3*(sy*size+sx)
			for c := 0; c < 3; c++ {
				v := src[s+c] * bright
				img[o+c] = v
				mean += float64(v)
			}
		}
	}
	m := float32(mean / float64(len(img)))
	for i, v := range img {
		img[i] = min(max((v-m)*contrast+m, 0), 1)
	}
}
