package preprocess

import (
	"math"
	"sync"
)

// kernel holds the precomputed weights of a one-dimensional resample from in
// to out samples: output i is the weighted sum of taps inputs starting at
// start[i], with weights weight[i*taps : (i+1)*taps] (zero-padded, summing to
// 1). When taps is 2, the output is computed as the interpolation
// a + w·(b-a) with w = weight[2i+1]: it is exact on flat regions and never
// leaves the range of its inputs.
type kernel struct {
	taps   int
	start  []int
	weight []float64
	w32    []float32 // weight as float32, for the two-tap paths
}

type kernelKey struct{ in, out int }

var kernels sync.Map // kernelKey or areaKey → *kernel

func loadKernel(key any) (*kernel, bool) {
	k, ok := kernels.Load(key)
	if !ok {
		return nil, false
	}
	return k.(*kernel), true
}

func storeKernel(key any, k *kernel) *kernel {
	actual, _ := kernels.LoadOrStore(key, k)
	return actual.(*kernel)
}

// bilinearKernel builds the weights of a triangle (bilinear) filter with
// half-pixel centres, as Pillow's BILINEAR resample does: output sample i is
// centred at input coordinate (i+0.5)·in/out, the filter spans one input pixel
// either side when upsampling and in/out pixels either side when downsampling
// (antialiasing), and weights are normalised over the inputs inside the image.
// When upsampling this is exactly TensorFlow 2's tf.image.resize(bilinear).
func bilinearKernel(in, out int) *kernel {
	key := kernelKey{in, out}
	if k, ok := loadKernel(key); ok {
		return k
	}
	ratio := float64(in) / float64(out)
	filterScale := math.Max(ratio, 1)
	support := filterScale // triangle support 1, stretched when downsampling
	// First pass: each output's span of non-zero weights.
	first := make([]int, out)
	weights := make([][]float64, out)
	taps := 1
	for i := 0; i < out; i++ {
		center := (float64(i) + 0.5) * ratio
		lo := int(math.Max(center-support, 0)) // at or before the first non-zero weight
		hi := int(math.Min(center+support+0.5, float64(in)))
		var w []float64
		sum := 0.0
		for j := lo; j < hi; j++ {
			v := math.Max(0, 1-math.Abs((float64(j)-center+0.5)/filterScale))
			if v == 0 && len(w) == 0 {
				lo++ // skip leading zeros
				continue
			}
			w = append(w, v)
			sum += v
		}
		for w[len(w)-1] == 0 { // trailing zeros (the centre's own pixel has weight)
			w = w[:len(w)-1]
		}
		for j := range w {
			w[j] /= sum
		}
		first[i], weights[i] = lo, w
		taps = max(taps, len(w))
	}
	// Second pass: lay the weights out with a common tap count, moving the
	// start left where the span would reach past the image.
	k := &kernel{taps: taps, start: make([]int, out), weight: make([]float64, out*taps)}
	for i, w := range weights {
		off := max(first[i]+taps-in, 0)
		k.start[i] = first[i] - off
		copy(k.weight[i*taps+off:], w)
	}
	k.w32 = make([]float32, len(k.weight))
	for i, v := range k.weight {
		k.w32[i] = float32(v)
	}
	return storeKernel(key, k)
}

var scratch = sync.Pool{New: func() any { return new([]float32) }}

const inv255 = 1.0 / 255

// ResizeFloat32 resizes the image to w×h with the bilinear filter of
// bilinearKernel and appends the HWC values divided by 255 to dst[:0]. It runs
// two separable passes over precomputed weights: horizontal from the 8-bit
// samples into a float32 buffer, then vertical into dst. Flat regions come out
// exact (white is 1, not 1±1ulp) and every value is in [0,1].
func (m *RGB) ResizeFloat32(w, h int, dst []float32) []float32 {
	kx := bilinearKernel(m.Width, w)
	ky := bilinearKernel(m.Height, h)
	bufp := scratch.Get().(*[]float32)
	tmp := grow(*bufp, m.Height*w*3)
	rowLen := 3 * w
	// Horizontal pass: every source row to w samples.
	frow := make([]float32, 3*m.Width)
	for y := 0; y < m.Height; y++ {
		src := m.Pix[3*y*m.Width : 3*(y+1)*m.Width]
		out := tmp[y*rowLen : (y+1)*rowLen]
		if kx.taps == 2 {
			// Convert the row once, then interpolate neighbours.
			frow = frow[:len(src)]
			for i, v := range src {
				frow[i] = float32(v)
			}
			for x := 0; x < w; x++ {
				s := 3 * kx.start[x]
				wt := kx.w32[2*x+1]
				p := frow[s : s+6 : s+6]
				o := out[3*x : 3*x+3 : 3*x+3]
				o[0] = p[0] + wt*(p[3]-p[0])
				o[1] = p[1] + wt*(p[4]-p[1])
				o[2] = p[2] + wt*(p[5]-p[2])
			}
			continue
		}
		for x := 0; x < w; x++ {
			s := 3 * kx.start[x]
			var r, g, b float64
			for t, wt := range kx.weight[x*kx.taps : (x+1)*kx.taps] {
				p := src[s+3*t : s+3*t+3]
				r += wt * float64(p[0])
				g += wt * float64(p[1])
				b += wt * float64(p[2])
			}
			out[3*x], out[3*x+1], out[3*x+2] = float32(r), float32(g), float32(b)
		}
	}
	// Vertical pass: combine rows of tmp into dst.
	dst = grow(dst[:0], h*rowLen)
	for y := 0; y < h; y++ {
		out := dst[y*rowLen : (y+1)*rowLen]
		s := ky.start[y]
		if ky.taps == 2 {
			r0 := tmp[s*rowLen : (s+1)*rowLen]
			r1 := tmp[(s+1)*rowLen : (s+2)*rowLen]
			r1 = r1[:len(r0)]
			out = out[:len(r0)]
			wt := ky.w32[2*y+1]
			for i, a := range r0 {
				out[i] = min((a+wt*(r1[i]-a))*inv255, 1)
			}
			continue
		}
		wts := ky.weight[y*ky.taps : (y+1)*ky.taps]
		for i := range out {
			var v float64
			for t, wt := range wts {
				v += wt * float64(tmp[(s+t)*rowLen+i])
			}
			out[i] = min(float32(v)*inv255, 1)
		}
	}
	*bufp = tmp
	scratch.Put(bufp)
	return dst
}

// ResizeHWC resizes a sw×sh image of HWC float32 RGB values to w×h with the
// bilinear filter of ResizeFloat32 (the same weights, summed in float32) and
// appends the result to dst[:0]. Values keep their range. The face detector
// builds each level of its pyramid from the next finer one with it, which
// reads far fewer pixels than resizing the photo again.
func ResizeHWC(src []float32, sw, sh, w, h int, dst []float32) []float32 {
	return resizeHWC(src, sw, sh, w, h, 1, dst)
}

// ResizeFloat32Fast is ResizeFloat32 summed in float32, as ResizeHWC: within
// a few float32 ulps of it, and about a quarter faster when shrinking (22
// against 29 ms for 2000×1125 → 1200×675 on one core). The face detector's
// pyramid uses it; the models' input stays ResizeFloat32's.
func (m *RGB) ResizeFloat32Fast(w, h int, dst []float32) []float32 {
	return resizeHWC(m.Pix, m.Width, m.Height, w, h, inv255, dst)
}

// resizeHWC is the separable resize of ResizeHWC, with the output values
// multiplied by scale.
func resizeHWC[T uint8 | float32](src []T, sw, sh, w, h int, scale float32, dst []float32) []float32 {
	if len(src) != 3*sw*sh {
		panic("preprocess: resize: the source is not 3·sw·sh values")
	}
	kx := bilinearKernel(sw, w)
	ky := bilinearKernel(sh, h)
	bufp := scratch.Get().(*[]float32)
	rowLen := 3 * w
	tmp := grow(*bufp, sh*rowLen)
	for y := 0; y < sh; y++ {
		resampleRow(tmp[y*rowLen:(y+1)*rowLen], src[3*y*sw:3*(y+1)*sw], kx)
	}
	dst = grow(dst[:0], h*rowLen)
	for y := 0; y < h; y++ {
		out := dst[y*rowLen : (y+1)*rowLen]
		s := ky.start[y]
		clear(out)
		for t, wt := range ky.w32[y*ky.taps : (y+1)*ky.taps] {
			wt *= scale
			row := tmp[(s+t)*rowLen : (s+t+1)*rowLen]
			row = row[:len(out)]
			for i, v := range row {
				out[i] += wt * v
			}
		}
	}
	*bufp = tmp
	scratch.Put(bufp)
	return dst
}

// resampleRow resamples one row of RGB values with the kernel k.
func resampleRow[T uint8 | float32](out []float32, in []T, k *kernel) {
	taps := k.taps
	for x := 0; x < len(out)/3; x++ {
		s := 3 * k.start[x]
		p := in[s : s+3*taps]
		var r, g, b float32
		for t, wt := range k.w32[x*taps : (x+1)*taps] {
			q := p[3*t : 3*t+3 : 3*t+3]
			r += wt * float32(q[0])
			g += wt * float32(q[1])
			b += wt * float32(q[2])
		}
		o := out[3*x : 3*x+3 : 3*x+3]
		o[0], o[1], o[2] = r, g, b
	}
}
