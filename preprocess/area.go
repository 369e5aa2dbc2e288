package preprocess

import "math"

type areaKey struct{ in, out int }

// areaKernel builds the weights of area averaging from in to out samples:
// output i covers the input interval [i·in/out, (i+1)·in/out), and each input
// pixel weighs by how much of it lies inside, as OpenCV's INTER_AREA and
// TensorFlow's area resize do.
func areaKernel(in, out int) *kernel {
	if k, ok := loadKernel(areaKey{in, out}); ok {
		return k
	}
	scale := float64(in) / float64(out)
	taps := int(math.Ceil(scale)) + 1
	taps = min(taps, in)
	k := &kernel{taps: taps, start: make([]int, out), weight: make([]float64, out*taps)}
	for i := 0; i < out; i++ {
		lo, hi := float64(i)*scale, float64(i+1)*scale
		first := min(int(math.Floor(lo)), in-taps)
		k.start[i] = first
		for t := range taps {
			p := float64(first + t)
			overlap := math.Min(hi, p+1) - math.Max(lo, p) // negative: the tap lies outside the span
			k.weight[i*taps+t] = max(overlap, 0) / scale
		}
	}
	k.w32 = make([]float32, len(k.weight))
	for i, v := range k.weight {
		k.w32[i] = float32(v)
	}
	return storeKernel(areaKey{in, out}, k)
}

// ResizeArea resizes an HWC float image of inH×inW×c to outH×outW×c by area
// averaging, appending to dst[:0]. It is how training readers shrink stored
// images to a smaller input size: every stored pixel contributes, with no
// aliasing.
func ResizeArea(src []float32, inH, inW, c, outH, outW int, dst []float32) []float32 {
	if inH == outH && inW == outW {
		return append(dst[:0], src[:inH*inW*c]...)
	}
	kx, ky := areaKernel(inW, outW), areaKernel(inH, outH)
	// Vertical pass first, on whole rows: out rows are weighted sums of
	// contiguous input rows, which vectorizes well; then horizontal.
	rowLen := inW * c
	tmp := make([]float32, outH*rowLen)
	for y := 0; y < outH; y++ {
		out := tmp[y*rowLen : (y+1)*rowLen]
		s := ky.start[y]
		for t, w := range ky.w32[y*ky.taps : (y+1)*ky.taps] {
			if w == 0 {
				continue
			}
			in := src[(s+t)*rowLen : (s+t+1)*rowLen]
			in = in[:len(out)]
			for i, v := range in {
				out[i] += w * v
			}
		}
	}
	dst = grow(dst[:0], outH*outW*c)
	for y := 0; y < outH; y++ {
		row := tmp[y*rowLen : (y+1)*rowLen]
		out := dst[y*outW*c : (y+1)*outW*c]
		for x := 0; x < outW; x++ {
			s := kx.start[x]
			for ch := 0; ch < c; ch++ {
				var v float32
				for t, w := range kx.w32[x*kx.taps : (x+1)*kx.taps] {
					v += w * row[(s+t)*c+ch]
				}
				out[x*c+ch] = v
			}
		}
	}
	return dst
}

// ModelInput is the preprocessing of a model that was trained on images
// stored at stored×stored and takes input×input: Preprocess to the stored
// size, then area averaging to the input size. Scoring calls it on image
// files; the training reader applies the same two steps to stored records.
func ModelInput(data []byte, stored, input int, dst []float32) ([]float32, Info, error) {
	img, info, err := Preprocess(data, Options{Size: stored}, nil)
	if err != nil {
		return dst[:0], info, err
	}
	return ResizeArea(img, stored, stored, 3, input, input, dst), info, nil
}
