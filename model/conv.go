package model

import (
	. "github.com/gomlx/gomlx/core/graph"
)

// convolve is Convolve(x, kernel) with stride 1 and pad pixels of zero
// padding on each spatial side: x is NHWC, kernel [kh, kw, cin, cout].
//
// Graphs that only run forward get the Conv itself, which ONNX Runtime runs
// fastest with constant weights. Graphs that train get a form ONNX Runtime
// trains faster, with the same value:
//   - the forward pass is one matrix product of the input's patches (im2col)
//     and the kernel, [B·H·W, kh·kw·cin]·[kh·kw·cin, cout]: ONNX Runtime runs
//     a Conv with non-constant weights at about half its matrix product
//     speed;
//   - the kernel gradient is that product's, patchesᵀ·dy, reusing the
//     patches. GoMLX's convolution gradient is a convolution with the batch
//     as channels and dy, as large as the image, as the kernel: slower still;
//   - the input gradient is the transposed convolution, a Conv of dy with
//     the flipped kernel (GoMLX's own is wrong for even kernel sizes), or
//     for small images a matrix product of dy's patches.
func convolve(x, kernel *Node, pad int, forwardOnly bool) *Node {
	if forwardOnly {
		return Convolve(x, kernel).PaddingPerDim([][2]int{{pad, pad}, {pad, pad}}).Done()
	}
	var dy *Node // the output's gradient, set when the reverse pass gets to the output
	// The input gradient as a convolution; the one autodiff computes through
	// the patches is left unused, and ONNX Runtime drops it.
	xi := IdentityWithCustomGradient(x, func(_, _ *Node) *Node { return convolveInputGradient(dy, kernel, pad) })
	kd := kernel.Shape().Dimensions
	kh, kw, cin, cout := kd[0], kd[1], kd[2], kd[3]
	p := patches(xi, kh, kw, pad, false)
	pd := p.Shape().Dimensions
	b, h, w := pd[0], pd[1], pd[2]
	n := b * h * w
	rows := Reshape(p, n, kh*kw*cin)
	k := kernel
	if n >= 32768 && n%kernelGradientParts == 0 {
		// The kernel gradient patchesᵀ·dy contracts over tens of thousands
		// of rows into a small [kh·kw·cin, cout]: ONNX Runtime runs that
		// product at about a third of its usual speed. Split into parts of
		// the rows, summed, it runs faster (stem 4.5 → 3.8 ms, first conv
		// 6.6 → 4.7 ms per step at 64², batch 128).
		k = IdentityWithCustomGradient(kernel, func(_, _ *Node) *Node {
			parts := Reshape(rows, kernelGradientParts, n/kernelGradientParts, kh*kw*cin)
			dyParts := Reshape(dy, kernelGradientParts, n/kernelGradientParts, cout)
			return Reshape(ReduceSum(Dot(parts, dyParts).General([]int{1}, []int{0}, []int{1}, []int{0}), 0), kd...)
		})
	}
	y := Dot(rows, Reshape(k, kh*kw*cin, cout)).Product()
	return recordGradient(Reshape(y, b, h, w, cout), &dy)
}

// kernelGradientParts is the number of parts convolve splits a long kernel
// gradient product into.
const kernelGradientParts = 4

// recordGradient is y, and sets *dy to y's gradient when the reverse pass
// reaches y: a custom gradient further back (on an input of the operation
// that made y) can then compute from it directly, since the reverse pass
// reaches y before y's inputs.
func recordGradient(y *Node, dy **Node) *Node {
	return IdentityWithCustomGradient(y, func(_, v *Node) *Node {
		*dy = v
		return v
	})
}

// patches is x's im2col for a kh×kw stride-1 convolution with pad pixels of
// zero padding: [B, H', W', kh·kw·C], the values under the kernel in its
// order (row, column, channel), or with reversed in the reverse order of
// rows and columns, which is the kernel flipped in space.
func patches(x *Node, kh, kw, pad int, reversed bool) *Node {
	if pad > 0 {
		x = Pad(x, ScalarZero(x.Graph(), x.DType()), PadAxis{}, PadAxis{Start: pad, End: pad}, PadAxis{Start: pad, End: pad}, PadAxis{})
	}
	d := x.Shape().Dimensions
	h, w := d[1]-kh+1, d[2]-kw+1
	taps := make([]*Node, 0, kh*kw)
	for i := range kh {
		for j := range kw {
			r, c := i, j
			if reversed {
				r, c = kh-1-i, kw-1-j
			}
			taps = append(taps, Slice(x, AxisRange(), AxisRange(r, r+h), AxisRange(c, c+w), AxisRange()))
		}
	}
	return Concatenate(taps, -1)
}

// convolveInputGradient is the gradient of convolve's input given the
// output's gradient dy: dy convolved with the kernel flipped in space and
// transposed in channels, padded by kernel size-1-pad.
//
// For images of 16 pixels or fewer (4×4) it is a matrix product of dy's
// patches, taken in reverse order so that they meet the kernel unflipped,
// and the kernel as [cin, kh·kw·cout], a transpose that moves whole rows of
// cout values. ONNX Runtime runs such a Conv as one small product per image,
// 16 columns wide, between transposes of dy, the result and the kernel: the
// product takes cnn-s at 64² from 138-141 to 133-135 ms per training step.
func convolveInputGradient(dy, kernel *Node, pad int) *Node {
	kd := kernel.Shape().Dimensions
	kh, kw, cin, cout := kd[0], kd[1], kd[2], kd[3]
	ph, pw := kh-1-pad, kw-1-pad
	dd := dy.Shape().Dimensions
	b, h, w := dd[0], dd[1]+2*ph-kh+1, dd[2]+2*pw-kw+1 // x's size
	if h*w <= 16 && kh == kw {
		p := Reshape(patches(dy, kh, kw, ph, true), b*h*w, kh*kw*cout)
		k := Reshape(TransposeAllDims(Reshape(kernel, kh*kw, cin, cout), 1, 0, 2), cin, kh*kw*cout)
		return Reshape(Dot(p, k).General([]int{1}, nil, []int{1}, nil), b, h, w, cin)
	}
	flipped := TransposeAllDims(Reverse(kernel, 0, 1), 0, 1, 3, 2) // [kh, kw, cout, cin]
	return Convolve(dy, flipped).PaddingPerDim([][2]int{{ph, ph}, {pw, pw}}).Done()
}
