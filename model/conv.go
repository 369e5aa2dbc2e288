package model

import (
	. "github.com/gomlx/gomlx/core/graph"
)

// convolve is Convolve(x, kernel) with stride 1 and pad pixels of zero
// padding on each spatial side: x is NHWC, kernel [kh, kw, cin, cout]. Its
// value and its gradient with respect to x are GoMLX's. Its gradient with
// respect to the kernel is one matrix product of the input's patches
// (im2col) and the output's gradient, [kh·kw·cin, B·H·W]·[B·H·W, cout].
// GoMLX expresses that gradient as a convolution with the batch as channels
// and the output's gradient, as large as the image, as the kernel, which ONNX
// Runtime runs at a fraction of its matrix product speed.
func convolve(x, kernel *Node, pad int) *Node {
	var dy *Node // the output's gradient, set when the reverse pass gets to the output
	k := IdentityWithCustomGradient(kernel, func(_, _ *Node) *Node {
		return kernelGradient(x, dy, kernel.Shape().Dimensions, pad)
	})
	y := Convolve(x, k).PaddingPerDim([][2]int{{pad, pad}, {pad, pad}}).Done()
	return IdentityWithCustomGradient(y, func(_, v *Node) *Node {
		dy = v
		return v
	})
}

// kernelGradient is the gradient of convolve's kernel (dimensions kdims)
// given the output's gradient dy.
func kernelGradient(x, dy *Node, kdims []int, pad int) *Node {
	kh, kw, cin, cout := kdims[0], kdims[1], kdims[2], kdims[3]
	d := dy.Shape().Dimensions
	b, h, w := d[0], d[1], d[2]
	if pad > 0 {
		x = Pad(x, ScalarZero(x.Graph(), x.DType()), PadAxis{}, PadAxis{Start: pad, End: pad}, PadAxis{Start: pad, End: pad}, PadAxis{})
	}
	taps := make([]*Node, 0, kh*kw)
	for i := range kh {
		for j := range kw {
			taps = append(taps, Slice(x, AxisRange(), AxisRange(i, i+h), AxisRange(j, j+w), AxisRange()))
		}
	}
	patches := Reshape(Concatenate(taps, -1), b*h*w, kh*kw*cin) // columns in kernel order: row, column, channel
	g := DotGeneral(patches, []int{0}, nil, Reshape(dy, b*h*w, cout), []int{0}, nil)
	return Reshape(g, kh, kw, cin, cout)
}
