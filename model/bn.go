package model

import (
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// bnScope is the scope name of BatchNorm variables; the optimizer does not
// decay them.
const bnScope = "batch_normalization"

// bnCount is the variable counting the batches a recalibration has averaged.
const bnCount = "recalibration_count"

const bnEpsilon = 1e-5

// batchNorm normalizes the channel (last) axis as PyTorch's BatchNorm does:
// in training with the batch's mean and variance, gradients flowing through
// both, updating running averages with momentum (new = m·old + (1-m)·batch,
// m = 0.9 being PyTorch's momentum 0.1); in inference with the running
// averages. When recalibrating, the running averages become the plain mean of
// the batch statistics seen since the counts were reset.
//
// GoMLX's norm.BatchNorm is not used: in the graph that the onnx and go
// backends can train (UseBackendInference(false)) it stops the gradient at
// the batch statistics, which slowed learning badly (train MAE 13.5 after six
// epochs where this version reaches about 9).
func batchNorm(scope *mlmodel.Scope, x *Node, o buildOptions) *Node {
	s := scope.In(bnScope)
	g := x.Graph()
	c := x.Shape().Dimensions[x.Rank()-1]
	shape := shapes.Make(x.DType(), c)
	scale := s.WithInitializer(initializer.One).VariableWithShape("scale", shape)
	offset := s.WithInitializer(initializer.Zero).VariableWithShape("offset", shape)
	meanVar := s.WithInitializer(initializer.Zero).VariableWithShape("mean", shape).SetTrainable(false)
	varVar := s.WithInitializer(initializer.One).VariableWithShape("variance", shape).SetTrainable(false)
	countVar := s.WithInitializer(initializer.Zero).VariableWithShape(bnCount, shapes.Make(dtypes.Float32)).SetTrainable(false)
	b := channelVector(x.Rank())
	normalize := func(x, scale, offset, mean, variance *Node) *Node { // [C] statistics
		// (x-mean)/√(var+ε)·scale + offset as x·a + b with per-channel a
		// and b: two operations over the feature map instead of four.
		a := Div(scale, Sqrt(AddScalar(variance, bnEpsilon)))
		return Add(Mul(x, b(a)), b(Sub(offset, Mul(mean, a))))
	}
	if o.forwardOnly(scope, g) {
		return normalize(x, scale.NodeValue(g), offset.NodeValue(g), meanVar.NodeValue(g), varVar.NodeValue(g))
	}
	// In training, x, scale and offset each pass through an identity whose
	// gradient is batchNormGradients': the gradients autodiff derives are
	// left unused, and ONNX Runtime drops them.
	var dy, centred, variance, gamma *Node
	var grads *bnGradients
	gradient := func(pick func(*bnGradients) *Node) func(_, _ *Node) *Node {
		return func(_, _ *Node) *Node {
			if grads == nil {
				grads = batchNormGradients(dy, centred, variance, gamma)
			}
			return pick(grads)
		}
	}
	xi := IdentityWithCustomGradient(x, gradient(func(d *bnGradients) *Node { return d.x }))
	gamma = IdentityWithCustomGradient(scale.NodeValue(g), gradient(func(d *bnGradients) *Node { return d.scale }))
	beta := IdentityWithCustomGradient(offset.NodeValue(g), gradient(func(d *bnGradients) *Node { return d.offset }))
	mean := channelMean(xi)
	centred = Sub(xi, b(mean))
	variance = channelMean(Mul(centred, centred))
	n := float64(x.Shape().Size() / c)
	unbiased := StopGradient(MulScalar(variance, n/max(1, n-1)))
	batchMean := StopGradient(mean)
	oldMean, oldVar := meanVar.NodeValue(g), varVar.NodeValue(g)
	if o.recalibrate {
		k := countVar.NodeValue(g)
		w := Inverse(AddScalar(k, 1)) // running mean of the batch statistics
		meanVar.SetNodeValue(Add(oldMean, Mul(Sub(batchMean, oldMean), ConvertDType(w, x.DType()))))
		varVar.SetNodeValue(Add(oldVar, Mul(Sub(unbiased, oldVar), ConvertDType(w, x.DType()))))
		countVar.SetNodeValue(AddScalar(k, 1))
	} else {
		m := o.bnMomentum
		meanVar.SetNodeValue(Add(MulScalar(oldMean, m), MulScalar(batchMean, 1-m)))
		varVar.SetNodeValue(Add(MulScalar(oldVar, m), MulScalar(unbiased, 1-m)))
	}
	return recordGradient(normalize(xi, gamma, beta, mean, variance), &dy)
}

// channelVector returns a function that reshapes a per-channel vector [C]
// to [1, ..., 1, C], which broadcasts against a feature map of the given
// rank.
func channelVector(rank int) func(v *Node) *Node {
	return func(v *Node) *Node {
		dims := make([]int, rank)
		for i := range dims {
			dims[i] = 1
		}
		dims[rank-1] = v.Shape().Dimensions[0]
		return Reshape(v, dims...)
	}
}

// bnGradients are the gradients of a training BatchNorm's input and
// variables.
type bnGradients struct{ x, scale, offset *Node }

// batchNormGradients computes a training BatchNorm's gradients, with the
// batch statistics flowing back, from the output's gradient dy, the centred
// input x-mean, the batch variance and the scale:
//
//	dx      = a·(dy - mean(dy)) - a/(var+ε)·mean(dy·centred)·centred, a = scale/√(var+ε)
//	dscale  = Σ dy·centred/√(var+ε)
//	doffset = Σ dy
//
// with means and sums over all axes but the channels. As dy·a + centred·k + m
// with per-channel k and m, that is four passes over the feature map, a
// fifth for dy·centred and the two sums' reductions, where the autodiff of
// the forward graph takes about a dozen passes and copies the broadcast
// statistics at full size.
func batchNormGradients(dy, centred, variance, scale *Node) *bnGradients {
	b := channelVector(dy.Rank())
	n := float64(dy.Shape().Size() / dy.Shape().Dimensions[dy.Rank()-1])
	inv := Inverse(Sqrt(AddScalar(variance, bnEpsilon)))
	a := Mul(scale, inv)
	sumDy := channelSum(dy)
	sumDyCentred := channelSum(Mul(dy, centred))
	k := MulScalar(Mul(Mul(a, Mul(inv, inv)), sumDyCentred), -1/n)
	m := MulScalar(Mul(a, sumDy), -1/n)
	return &bnGradients{
		x:      Add(Add(Mul(dy, b(a)), Mul(centred, b(k))), b(m)),
		scale:  Mul(sumDyCentred, inv),
		offset: sumDy,
	}
}

// channelSum sums x over all axes but the last, the channels. A feature map
// [B, H, W, C] is reduced over H and W first, then over B: ONNX Runtime
// reduces over all three at once several times slower.
func channelSum(x *Node) *Node {
	if x.Rank() > 2 {
		inner := make([]int, x.Rank()-2)
		for i := range inner {
			inner[i] = i + 1
		}
		x = ReduceSum(x, inner...)
	}
	return ReduceSum(x, 0)
}

// channelMean averages x over all axes but the last, the channels, as
// channelSum does.
func channelMean(x *Node) *Node {
	return DivScalar(channelSum(x), float64(x.Shape().Size()/x.Shape().Dimensions[x.Rank()-1]))
}

// resetBNCounts zeroes every BatchNorm's recalibration count.
func resetBNCounts(store *mlmodel.Store) error {
	for v := range store.IterVariables() {
		if v.Name() == bnCount && strings.HasSuffix(v.Scope(), bnScope) {
			if err := v.SetValue(tensors.FromValue(float32(0))); err != nil {
				return err
			}
		}
	}
	return nil
}
