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
	bdims := make([]int, x.Rank()) // [1, ..., 1, C] broadcasts against x
	for i := range bdims {
		bdims[i] = 1
	}
	bdims[len(bdims)-1] = c
	b := func(v *Node) *Node { return Reshape(v, bdims...) }
	normalize := func(mean, variance *Node) *Node { // [C] statistics
		// (x-mean)/√(var+ε)·scale + offset as x·a + b with per-channel a
		// and b: two operations over the feature map instead of four.
		a := Div(scale.NodeValue(g), Sqrt(AddScalar(variance, bnEpsilon)))
		return Add(Mul(x, b(a)), b(Sub(offset.NodeValue(g), Mul(mean, a))))
	}
	if o.forwardOnly(scope, g) {
		return normalize(meanVar.NodeValue(g), varVar.NodeValue(g))
	}
	if x.Rank() > 2 {
		// Broadcast to [B, 1, ..., 1, C] first: the gradients of the
		// per-channel factors are then reduced in two steps too (see
		// channelMean). Not in inference, where ONNX Runtime folds the
		// [1, ..., 1, C] factors into the convolution.
		wide := append([]int{x.Shape().Dimensions[0]}, bdims[1:]...)
		b = func(v *Node) *Node { return BroadcastToDims(Reshape(v, bdims...), wide...) }
	}
	mean := channelMean(x)
	centred := Sub(x, b(mean))
	variance := channelMean(Mul(centred, centred))
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
	return normalize(mean, variance)
}

// channelMean averages x over all axes but the last, the channels. A feature
// map [B, H, W, C] is reduced over H and W first, then over B: ONNX Runtime
// reduces over all three at once several times slower.
func channelMean(x *Node) *Node {
	if x.Rank() > 2 {
		inner := make([]int, x.Rank()-2)
		for i := range inner {
			inner[i] = i + 1
		}
		x = ReduceMean(x, inner...)
	}
	return ReduceMean(x, 0)
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
