package model

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

// Tasks.
const (
	TaskAge    = "age"    // regression in years, MAE loss
	TaskGender = "gender" // logit of female, binary cross-entropy
	TaskBoth   = "both"   // one network: a shared trunk, an age head and a gender head
)

// Age heads.
const (
	// AgeHeadL1 is one output, the age AgeScale·out + AgeShift, trained with
	// the mean absolute error.
	AgeHeadL1 = "l1"
	// AgeHeadDLDL is label distribution learning: AgeBins logits, a softmax
	// over the ages 0 to AgeBins-1, trained towards a Gaussian around the
	// true age (see GaussianTarget); the prediction is the expected age.
	AgeHeadDLDL = "dldl"
)

// AgeBins is the number of ages the DLDL head distributes over: 0 to 116
// years.
const AgeBins = 117

// Built-in backbones, sized for training from scratch on CPU.
var Backbones = map[string]string{
	"cnn-xs":   "tiny CNN (conv 8-16, for tests and smoke runs)",
	"cnn-s":    "the recipe CNN: conv 32-64-128-128-256-256 with BatchNorm, about 1.16M parameters",
	"cnn-m":    "the recipe CNN 1.5x wider: conv 48-96-192-192-384-384, about 2.6M parameters",
	"resnet-s": "a small ResNet: stem 32, four stages of two residual blocks, 32-64-96-128 channels, about 1.1M parameters",
}

// Spec describes a network fully enough to rebuild it: it is stored in
// model.json and read back by scoring.
type Spec struct {
	Task      string  `json:"task"`                 // TaskAge, TaskGender or TaskBoth
	AgeHead   string  `json:"age_head,omitempty"`   // AgeHeadL1 (also when empty) or AgeHeadDLDL
	Backbone  string  `json:"backbone"`             // a Backbones name, or an ONNX file for a frozen backbone
	InputSize int     `json:"input_size"`           // height and width of the input, NHWC RGB in [0,1]
	AgeShift  float64 `json:"age_shift,omitempty"`  // l1 head: age = AgeScale*out + AgeShift (the train median)
	AgeScale  float64 `json:"age_scale,omitempty"`  //
	ONNXInput string  `json:"onnx_input,omitempty"` // value range an ONNX backbone expects: unit, byte, caffe, torch
}

// HasAge reports whether the network predicts the age.
func (s Spec) HasAge() bool { return s.Task == TaskAge || s.Task == TaskBoth }

// HasGender reports whether the network predicts the gender.
func (s Spec) HasGender() bool { return s.Task == TaskGender || s.Task == TaskBoth }

// DLDL reports whether the age head is AgeHeadDLDL.
func (s Spec) DLDL() bool { return s.HasAge() && s.AgeHead == AgeHeadDLDL }

// ageWidth is the number of columns of the age head's raw output.
func (s Spec) ageWidth() int {
	switch {
	case !s.HasAge():
		return 0
	case s.DLDL():
		return AgeBins
	}
	return 1
}

// buildOptions change how a network is built for a purpose.
type buildOptions struct {
	bnMomentum  float64 // 0: 0.9
	recalibrate bool    // BatchNorm averages its batch statistics exactly
	inference   bool    // BatchNorm uses its running averages even in a graph marked as training
	noDropout   bool
	schedule    *Schedule
	// lossOutputs makes the network give what its loss takes (see
	// Objective): the DLDL head's logits rather than their expected value.
	lossOutputs bool
}

// forwardOnly reports whether a graph only runs the network forward: an
// inference build, or a graph that doesn't train.
func (o buildOptions) forwardOnly(scope *mlmodel.Scope, g *Graph) bool {
	return o.inference || !scope.IsTraining(g)
}

// Fn is a network as GoMLX model function: images [B,S,S,3] → [B,1] (the
// age in years, or the gender logit), or [B,2] for TaskBoth (both, in that
// order). Built for the loss (buildOptions.lossOutputs), a DLDL age head
// gives its AgeBins logits in place of the age: [B,117] or [B,118].
type Fn = func(scope *mlmodel.Scope, images *Node) *Node

// fn builds the network's model function. backbone is the ONNX backbone when
// Spec.Backbone names a file.
func (s Spec) fn(o buildOptions, backbone *ONNXBackbone) (Fn, error) {
	if o.bnMomentum == 0 {
		o.bnMomentum = 0.9
	}
	drop := func(rate float64) float64 {
		if o.noDropout {
			return 0
		}
		return rate
	}
	var trunk func(scope *mlmodel.Scope, x *Node) *Node
	onnxHead := false
	switch s.Backbone {
	case "cnn-xs", "cnn-s", "cnn-m":
		widths := cnnWidths[s.Backbone]
		trunk = func(scope *mlmodel.Scope, x *Node) *Node { return cnn(scope, x, widths, o) }
	case "resnet-s":
		trunk = func(scope *mlmodel.Scope, x *Node) *Node { return resnet(scope, x, o) }
	default:
		if !strings.HasSuffix(strings.ToLower(s.Backbone), ".onnx") {
			return nil, fmt.Errorf("unknown backbone %q: want one of cnn-xs, cnn-s, cnn-m, resnet-s or an .onnx file", s.Backbone)
		}
		if backbone == nil {
			return nil, fmt.Errorf("backbone %s is not loaded", s.Backbone)
		}
		trunk = backbone.features
		onnxHead = true
	}
	switch s.Task {
	case TaskAge, TaskGender, TaskBoth:
	default:
		return nil, fmt.Errorf("unknown task %q: want age, gender or both", s.Task)
	}
	switch s.AgeHead {
	case "", AgeHeadL1, AgeHeadDLDL:
	default:
		return nil, fmt.Errorf("unknown age head %q: want l1 or dldl", s.AgeHead)
	}
	// head is a task's head on the trunk's output, with outputs columns.
	head := func(scope *mlmodel.Scope, x *Node, task string, outputs int) *Node {
		if onnxHead {
			return keraHead(scope, x, task, drop, outputs)
		}
		x = layers.DropoutStatic(scope.In("drop1"), x, drop(0.3))
		x = activation.Relu(layers.Dense(scope.In("fc1"), x, true, cnnHead))
		x = layers.DropoutStatic(scope.In("drop2"), x, drop(0.15))
		return layers.Dense(scope.In("fc2"), x, true, outputs)
	}
	age := func(x *Node) *Node {
		if !s.DLDL() {
			return AddScalar(MulScalar(x, s.AgeScale), s.AgeShift)
		}
		if o.lossOutputs {
			return x
		}
		return expectedAge(x)
	}
	return func(scope *mlmodel.Scope, images *Node) *Node {
		if o.schedule != nil {
			o.schedule.apply(scope, images.Graph())
		}
		x := trunk(scope, images)
		if !onnxHead {
			x = ReduceMean(x, 1, 2) // global average pooling → [B, C]
		}
		switch s.Task {
		case TaskAge:
			return age(head(scope, x, TaskAge, s.ageWidth()))
		case TaskGender:
			return head(scope, x, TaskGender, 1)
		}
		// Two heads on the shared trunk, each in its own scope.
		return Concatenate([]*Node{
			age(head(scope.In("age_head"), x, TaskAge, s.ageWidth())),
			head(scope.In("gender_head"), x, TaskGender, 1),
		}, -1)
	}, nil
}

// expectedAge is the expected value of the distribution over the ages 0 to
// AgeBins-1 that logits [B, AgeBins] give through a softmax: [B, 1] years.
// The softmax is written out (the exponentials of the logits less their
// maximum, over their sum) so that every backend and the ONNX export run the
// same plain operations.
func expectedAge(logits *Node) *Node {
	g := logits.Graph()
	ages := ConvertDType(Iota(g, shapes.Make(dtypes.Int32, 1, AgeBins), 1), logits.DType())
	e := Exp(Sub(logits, StopGradient(ReduceAndKeep(logits, ReduceMax, -1))))
	return Div(ReduceAndKeep(Mul(e, ages), ReduceSum, -1), ReduceAndKeep(e, ReduceSum, -1))
}

// keraHead is the notebook's head on a frozen backbone's feature map, with
// outputs columns: for age Dropout 0.4, Flatten, Dense 256 ReLU (He normal),
// Dense; for gender Dropout 0.2, global average pooling, Dense (a logit;
// sigmoid outside).
func keraHead(scope *mlmodel.Scope, x *Node, task string, drop func(float64) float64, outputs int) *Node {
	if task == TaskAge {
		x = layers.DropoutStatic(scope.In("head_drop"), x, drop(0.4))
		x = Reshape(x, x.Shape().Dimensions[0], -1)
		x = activation.Relu(layers.Dense(scope.In("head_fc1"), x, true, 256))
		return layers.Dense(scope.In("head_fc2"), x, true, outputs)
	}
	x = layers.DropoutStatic(scope.In("head_drop"), x, drop(0.2))
	if x.Rank() == 4 { // NHWC or NCHW feature map: average the spatial axes
		if x.Shape().Dimensions[1] < x.Shape().Dimensions[3] {
			x = ReduceMean(x, 1, 2)
		} else {
			x = ReduceMean(x, 2, 3)
		}
	}
	return layers.Dense(scope.In("head_fc1"), x, true, outputs)
}

// conv is a 3×3 "same" convolution without bias, the variable as
// layers.Convolution makes it (conv/weights, [3, 3, in, filters]).
func conv(scope *mlmodel.Scope, x *Node, filters int, o buildOptions) *Node {
	g := x.Graph()
	shape := shapes.Make(x.DType(), 3, 3, x.Shape().Dimensions[x.Rank()-1], filters)
	kernel := scope.In("conv").VariableWithShape("weights", shape).NodeValue(g)
	return convolve(x, kernel, 1, o.forwardOnly(scope, g))
}

func convBNReLU(scope *mlmodel.Scope, x *Node, filters int, o buildOptions) *Node {
	return relu(batchNorm(scope, conv(scope, x, filters, o), o))
}

// maxPool2 is a 2×2 max pool with stride 2. For even sizes its gradient
// goes through a mask of the window maxima, Equal(x, the window's maximum)
// selecting the output's gradient, which ONNX Runtime runs faster than the
// gradient GoMLX derives (MaxPool with indices, then ScatterElements). The
// two differ only where a window holds its maximum twice: this one gives
// each copy the gradient, MaxPool's gives it to the first.
//
// Graphs that train compute the pool itself as two ReduceMax over the
// windows' columns, then rows: ONNX Runtime runs MaxPool in NCHW, and the
// transposes to and from NHWC around it cost four times the reductions.
// Graphs that only run forward keep MaxPool, which ONNX Runtime fuses with
// the convolution before it.
func maxPool2(x *Node, forwardOnly bool) *Node {
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	if h%2 != 0 || w%2 != 0 {
		return MaxPool(x).Window(2).Strides(2).Done()
	}
	var y, dy *Node // the output and, once the reverse pass reaches it, its gradient
	// The gradient autodiff derives through MaxPool is left unused, and ONNX
	// Runtime drops it. The window maximum and the gradient broadcast over
	// the window's 2×2 axes: no copy of either at full size.
	xi := IdentityWithCustomGradient(x, func(_, _ *Node) *Node {
		peak := Reshape(y, b, h/2, 1, w/2, 1, c)
		g := Reshape(dy, b, h/2, 1, w/2, 1, c)
		return Reshape(Mul(ConvertDType(Equal(Reshape(x, b, h/2, 2, w/2, 2, c), peak), x.DType()), g), b, h, w, c)
	})
	if forwardOnly {
		y = MaxPool(xi).Window(2).Strides(2).Done()
	} else {
		y = ReduceMax(ReduceMax(Reshape(xi, b, h/2, 2, w/2, 2, c), 4), 2)
	}
	return recordGradient(y, &dy)
}

// relu is ReLU with its gradient as dy·Sign(y), two passes over the feature
// map where the gradient GoMLX derives on the onnx backend, through
// Max(x, 0), takes five. At x = 0 the gradient is 0, as in PyTorch; the
// derived one is 1 there.
func relu(x *Node) *Node {
	var y, dy *Node
	xi := IdentityWithCustomGradient(x, func(_, _ *Node) *Node { return Mul(dy, Sign(y)) })
	y = activation.Relu(xi)
	return recordGradient(y, &dy)
}

// reluMaxPool2 is MaxPool 2×2 of ReLU(x) computed as ReLU of the MaxPool:
// the same values, as both are monotone, and the same gradients (where a
// window's maximum is not positive, ReLU's gradient is 0 either way), with
// the ReLU and its gradient on a quarter of the values.
func reluMaxPool2(x *Node, forwardOnly bool) *Node { return relu(maxPool2(x, forwardOnly)) }

// subsample2 keeps every second row and column, x[:, ::2, ::2, :], with
// Reshape+Slice: it emulates a stride-2 convolution, which does not train on
// the onnx backend (its gradient needs input dilations), and its own gradient
// is a plain Pad. Odd sizes drop the last row or column.
func subsample2(x *Node) *Node {
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1]/2*2, d[2]/2*2, d[3]
	if h != d[1] || w != d[2] {
		x = Slice(x, AxisRange(), AxisRange(0, h), AxisRange(0, w), AxisRange())
	}
	x = Reshape(x, b, h/2, 2, w/2, 2, c)
	x = Slice(x, AxisRange(), AxisRange(), AxisElem(0), AxisRange(), AxisElem(0), AxisRange())
	return Reshape(x, b, h/2, w/2, c)
}

// stem is the recipe's first layer: Conv3×3 stride 2, BN, ReLU, MaxPool 2.
func stem(scope *mlmodel.Scope, x *Node, filters int, o buildOptions) *Node {
	s := scope.In("stem")
	forwardOnly := o.forwardOnly(s, x.Graph())
	return reluMaxPool2(batchNorm(s, stemConv(s, x, filters, forwardOnly), o), forwardOnly)
}

// stemConv is a 3×3 convolution with stride 2 and one pixel of zero padding,
// x[:, ::2, ::2, :] of the "same" convolution. A strided convolution does not
// train on the onnx backend (its gradient needs input dilations), so for even
// sizes it runs as the equivalent stride-1 2×2 convolution of the padded
// input's space-to-depth rearrangement (2×2 blocks → 4× the channels), with
// the 3×3 kernel zero-padded to 4×4 and rearranged alike. Same weights, same
// outputs, a quarter of the work of the full-resolution convolution, and a
// plain gradient. Odd sizes use subsample2. Graphs that don't train
// (forwardOnly) run the strided convolution itself: it needs neither the
// rearrangement nor the zero-padded kernel. Its padding is one pixel before
// and none after, which for odd sizes gives the rows and columns subsample2
// keeps, and for even ones needs nothing after.
func stemConv(s *mlmodel.Scope, x *Node, filters int, forwardOnly bool) *Node {
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	g := x.Graph()
	kernel := s.In("conv").VariableWithShape("weights", shapes.Make(x.DType(), 3, 3, c, filters)).NodeValue(g)
	if forwardOnly {
		return Convolve(x, kernel).StridePerAxis(2, 2).PaddingPerDim([][2]int{{1, 0}, {1, 0}}).Done()
	}
	if h%2 != 0 || w%2 != 0 {
		return subsample2(convolve(x, kernel, 1, forwardOnly))
	}
	zero := ScalarZero(g, x.DType())
	x = Pad(x, zero, PadAxis{}, PadAxis{Start: 1, End: 1}, PadAxis{Start: 1, End: 1}, PadAxis{})
	u, v := h/2+1, w/2+1
	x = Reshape(x, b, u, 2, v, 2, c)          // b, u, r, v, s, c
	x = TransposeAllDims(x, 0, 1, 3, 2, 4, 5) // b, u, v, r, s, c
	x = Reshape(x, b, u, v, 4*c)
	k := Pad(kernel, zero, PadAxis{End: 1}, PadAxis{End: 1}, PadAxis{}, PadAxis{}) // 4×4
	k = Reshape(k, 2, 2, 2, 2, c, filters)                                         // p, r, q, s, c, o (kernel row 2p+r, column 2q+s)
	k = TransposeAllDims(k, 0, 2, 1, 3, 4, 5)                                      // p, q, r, s, c, o
	k = Reshape(k, 2, 2, 4*c, filters)
	return convolve(x, k, 0, forwardOnly)
}

// cnnWidths are the convolutions' widths of the plain CNN backbones (cnn).
var cnnWidths = map[string][]int{
	"cnn-xs": {8, 16},
	"cnn-s":  {32, 64, 128, 128, 256, 256},
	"cnn-m":  {48, 96, 192, 192, 384, 384},
}

// cnnGroups splits a plain CNN's widths after the stem's into the groups of
// convolutions that a max pool ends: widths[1] | widths[2:4] | widths[4:6],
// or widths[1] alone for the tiny variant.
func cnnGroups(widths []int) [][]int {
	if len(widths) == 6 {
		return [][]int{{widths[1]}, {widths[2], widths[3]}, {widths[4], widths[5]}}
	}
	return [][]int{{widths[1]}}
}

// cnnHead is the width of the hidden Dense layer of the built-in backbones'
// head.
const cnnHead = 128

// MultiplyAdds is the number of multiply-adds in one image's forward pass
// through a plain CNN backbone (cnn-xs, cnn-s, cnn-m) and its heads: the
// convolutions and the Dense layers, which are nearly all of its work. ok is
// false for the other backbones.
func (s Spec) MultiplyAdds() (n int64, ok bool) {
	widths, ok := cnnWidths[s.Backbone]
	if !ok {
		return 0, false
	}
	size := int64(s.InputSize / 2) // the stride-2 stem
	n = size * size * 9 * 3 * int64(widths[0])
	size /= 2
	in := int64(widths[0])
	for _, g := range cnnGroups(widths) {
		for _, f := range g {
			n += size * size * 9 * in * int64(f)
			in = int64(f)
		}
		if size >= 2 {
			size /= 2
		}
	}
	for _, w := range s.headWidths() {
		n += in*cnnHead + cnnHead*int64(w)
	}
	return n, true
}

// headWidths are the output widths of the network's heads, age first.
func (s Spec) headWidths() []int {
	var w []int
	if s.HasAge() {
		w = append(w, s.ageWidth())
	}
	if s.HasGender() {
		w = append(w, 1)
	}
	return w
}

// cnn is the recipe CNN family: the stem, then groups of Conv-BN-ReLU each
// followed by MaxPool: widths[1] | widths[2:4] | widths[4:6]. Two widths give
// the tiny variant: stem and one conv.
func cnn(scope *mlmodel.Scope, x *Node, widths []int, o buildOptions) *Node {
	x = stem(scope, x, widths[0], o)
	li := 1
	for _, g := range cnnGroups(widths) {
		for i, f := range g {
			s := scope.In("conv%d", li)
			x = batchNorm(s, conv(s, x, f, o), o)
			if i == len(g)-1 && x.Shape().Dimensions[1] >= 2 {
				x = reluMaxPool2(x, o.forwardOnly(scope, x.Graph()))
			} else {
				x = relu(x)
			}
			li++
		}
	}
	return x
}

// resnet is a small ResNet: the stem, then four stages of two basic residual
// blocks (32, 64, 96, 128 channels), downsampling by MaxPool between stages
// and projecting shortcuts with a 1×1 convolution where the width changes.
func resnet(scope *mlmodel.Scope, x *Node, o buildOptions) *Node {
	x = stem(scope, x, 32, o)
	in := 32
	for si, width := range []int{32, 64, 96, 128} {
		if si > 0 && x.Shape().Dimensions[1] >= 2 {
			x = maxPool2(x, o.forwardOnly(scope, x.Graph()))
		}
		for bi := 0; bi < 2; bi++ {
			b := scope.In("stage%d_block%d", si, bi)
			shortcut := x
			if in != width {
				p := b.In("proj")
				shortcut = batchNorm(p, layers.Convolution(p, x).Filters(width).KernelSize(1).UseBias(false).Done(), o)
			}
			y := convBNReLU(b.In("a"), x, width, o)
			a := b.In("b")
			y = batchNorm(a, conv(a, y, width, o), o)
			x = relu(Add(y, shortcut))
			in = width
		}
	}
	return x
}
