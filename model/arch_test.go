package model

import (
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

// TestStemConvIsTheStridedConvolution checks the space-to-depth form of the
// stem convolution against its definition, the "same" 3×3 convolution
// subsampled at even rows and columns, with the same weights; and the
// gradient with respect to the weights, which training needs.
func TestStemConvIsTheStridedConvolution(t *testing.T) {
	backend, _, err := NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	for _, size := range []int{8, 12} {
		store := mlmodel.NewStore()
		exec, err := mlmodel.NewExec(backend, store, func(scope *mlmodel.Scope, x, weights *Node) []*Node {
			s := scope.In("stem")
			fast := stemConv(s, x, 5)
			kernel := scope.Store().GetVariable("/stem/conv/weights").NodeValue(x.Graph())
			ref := subsample2(Convolve(x, kernel).PadSame().Done())
			// weights: the coefficients of a random linear loss.
			grads := Gradient(ReduceAllSum(Mul(fast, weights)), kernel)
			refGrads := Gradient(ReduceAllSum(Mul(ref, weights)), kernel)
			return []*Node{
				ReduceAllMax(Abs(Sub(fast, ref))), ReduceAllMax(Abs(ref)),
				ReduceAllMax(Abs(Sub(grads[0], refGrads[0]))), ReduceAllMax(Abs(refGrads[0])),
				Const(x.Graph(), int64(fast.Shape().Dimensions[1])),
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, uint64(size)))
		data := make([]float32, 2*size*size*3)
		for i := range data {
			data[i] = rng.Float32()
		}
		weights := make([]float32, 2*(size/2)*(size/2)*5)
		for i := range weights {
			weights[i] = rng.Float32() - 0.5
		}
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(data, 2, size, size, 3),
			tensors.FromFlatDataAndDimensions(weights, 2, size/2, size/2, 5))
		if err != nil {
			t.Fatal(err)
		}
		diff, scale := out[0].Value().(float32), out[1].Value().(float32)
		gdiff, gscale := out[2].Value().(float32), out[3].Value().(float32)
		if h := out[4].Value().(int64); h != int64(size/2) {
			t.Errorf("size %d: output height %d, want %d", size, h, size/2)
		}
		if scale == 0 || diff > 1e-5*scale || gscale == 0 || gdiff > 1e-4*gscale {
			t.Errorf("size %d: outputs differ by %g (max %g), weight gradients by %g (max %g)", size, diff, scale, gdiff, gscale)
		}
	}
}
