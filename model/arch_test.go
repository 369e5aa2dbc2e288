package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

// TestStemConvIsTheStridedConvolution checks the stem convolution in both
// forms, the space-to-depth one that trains and the strided one of
// forward-only graphs, against its definition, the "same" 3×3 convolution
// subsampled at even rows and columns, with the same weights; and the
// gradient with respect to the weights.
func TestStemConvIsTheStridedConvolution(t *testing.T) {
	backend := goBackend(t)
	for _, c := range []struct {
		size        int
		forwardOnly bool
	}{{8, false}, {12, false}, {9, false}, {8, true}, {12, true}, {9, true}} {
		size := c.size
		store := mlmodel.NewStore()
		exec, err := mlmodel.NewExec(backend, store, func(scope *mlmodel.Scope, x, weights *Node) []*Node {
			s := scope.In("stem")
			fast := stemConv(s, x, 5, c.forwardOnly)
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
		out, err := exec.Exec(uniform(rng, 1, 0, 2, size, size, 3), uniform(rng, 1, -0.5, 2, size/2, size/2, 5))
		if err != nil {
			t.Fatal(err)
		}
		diff, scale := out[0].Value().(float32), out[1].Value().(float32)
		gdiff, gscale := out[2].Value().(float32), out[3].Value().(float32)
		if h := out[4].Value().(int64); h != int64(size/2) {
			t.Errorf("%+v: output height %d, want %d", c, h, size/2)
		}
		if scale == 0 || diff > 1e-5*scale || gscale == 0 || gdiff > 1e-4*gscale {
			t.Errorf("%+v: outputs differ by %g (max %g), weight gradients by %g (max %g)", c, diff, scale, gdiff, gscale)
		}
	}
}

// TestConvolveMatchesConvolve checks convolve's training form (the forward
// pass and the kernel gradient as matrix products of patches, the input
// gradient as a transposed convolution) against GoMLX's Convolve: values and
// kernel gradients. Input gradients are checked against autodiff through the
// patches' matrix product, and against Convolve's for odd kernel sizes: for
// even ones GoMLX's is wrong (a 2-tap kernel [10, 1] over [1, 2, 3], the loss
// the first output, gives [1, 0, 0] instead of [10, 1, 0]).
func TestConvolveMatchesConvolve(t *testing.T) {
	backend := goBackend(t)
	for _, c := range []struct {
		name                  string
		b, h, w, cin, cout, k int
		pad                   int
	}{
		{"3x3 same", 2, 6, 5, 3, 4, 3, 1},
		{"2x2 valid (the stem)", 3, 5, 5, 12, 6, 2, 0},
		{"3x3 valid", 1, 7, 6, 2, 3, 3, 0},
		{"1x1", 2, 4, 4, 5, 2, 1, 0},
		{"kernel gradient in parts", 8, 64, 64, 2, 3, 3, 1}, // 32,768 rows
		{"3x3 same 4x4 (input gradient as a product)", 3, 4, 4, 5, 6, 3, 1},
		{"3x3 same 2x3 (input gradient as a product)", 2, 2, 3, 4, 3, 3, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			exec, err := NewExec(backend, func(x, kernel, weights *Node) []*Node {
				fast := convolve(x, kernel, c.pad, false)
				ref := Convolve(x, kernel).PaddingPerDim([][2]int{{c.pad, c.pad}, {c.pad, c.pad}}).Done()
				d := weights.Shape().Dimensions
				im2col := Reshape(Dot(Reshape(patches(x, c.k, c.k, c.pad, false), d[0]*d[1]*d[2], -1),
					Reshape(kernel, -1, c.cout)).Product(), d...)
				// weights: the coefficients of a random linear loss.
				loss := func(y *Node) *Node { return ReduceAllSum(Mul(y, weights)) }
				grads := Gradient(loss(fast), x, kernel)
				refGrads := Gradient(loss(ref), x, kernel)
				im2colGrads := Gradient(loss(im2col), x)
				return []*Node{fast, ref, grads[1], refGrads[1], grads[0], im2colGrads[0], refGrads[0],
					convolve(x, kernel, c.pad, true)}
			})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(2, uint64(c.k)))
			random := func(dims ...int) *tensors.Tensor { return uniform(rng, 1, -0.5, dims...) }
			oh, ow := c.h+2*c.pad-c.k+1, c.w+2*c.pad-c.k+1
			out, err := exec.Exec(random(c.b, c.h, c.w, c.cin), random(c.k, c.k, c.cin, c.cout), random(c.b, oh, ow, c.cout))
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want *tensors.Tensor) {
				if err := closeTo(tensors.MustCopyFlatData[float32](got), tensors.MustCopyFlatData[float32](want), 1e-5); err != nil {
					t.Errorf("%s: %v", what, err)
				}
			}
			check("outputs", out[0], out[1])
			check("forward-only outputs", out[7], out[1])
			check("kernel gradients", out[2], out[3])
			check("input gradients (im2col autodiff)", out[4], out[5])
			if c.k%2 == 1 {
				check("input gradients (Convolve)", out[4], out[6])
			}
		})
	}
}

// TestBatchNormTrainingMatchesDefinition checks BatchNorm in training, whose
// statistics and their gradients are reduced in steps, against its
// definition (x-mean)/√(var+ε)·scale + offset with the batch's mean and
// (biased) variance over all axes but the channels: values and the gradients
// with respect to the input, the scale and the offset.
func TestBatchNormTrainingMatchesDefinition(t *testing.T) {
	backend := goBackend(t)
	for _, dims := range [][]int{{3, 4, 5, 6}, {2, 3, 3, 1}, {8, 5}} {
		t.Run(fmt.Sprint(dims), func(t *testing.T) {
			store := mlmodel.NewStore()
			exec, err := mlmodel.NewExec(backend, store, func(scope *mlmodel.Scope, x, weights *Node) []*Node {
				g := x.Graph()
				scope.Store().SetTraining(g, true)
				fast := batchNorm(scope.In("bn"), x, buildOptions{bnMomentum: 0.9})
				v := func(name string) *Node {
					return scope.Store().GetVariable("/bn/" + bnScope + "/" + name).NodeValue(g)
				}
				scale, offset := v("scale"), v("offset")
				c := dims[len(dims)-1]
				bdims := append(make([]int, len(dims)-1), c)
				for i := range len(dims) - 1 {
					bdims[i] = 1
				}
				axes := make([]int, x.Rank()-1)
				for i := range axes {
					axes[i] = i
				}
				mean := ReduceAndKeep(x, ReduceMean, axes...)
				variance := ReduceAndKeep(Square(Sub(x, mean)), ReduceMean, axes...)
				ref := Add(Mul(Div(Sub(x, mean), Sqrt(AddScalar(variance, bnEpsilon))), Reshape(scale, bdims...)), Reshape(offset, bdims...))
				// weights: the coefficients of a random non-linear loss.
				loss := func(y *Node) *Node { return ReduceAllSum(Mul(Square(y), weights)) }
				grads := Gradient(loss(fast), x, scale, offset)
				refGrads := Gradient(loss(ref), x, scale, offset)
				return []*Node{fast, ref, grads[0], refGrads[0], grads[1], refGrads[1], grads[2], refGrads[2]}
			})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, uint64(len(dims))))
			x, weights := uniform(rng, 3, 1, dims...), uniform(rng, 3, -1.5, dims...)
			if _, err := exec.Exec(x, weights); err != nil { // creates the variables
				t.Fatal(err)
			}
			// Scale and offset other than their initial 1 and 0.
			c := dims[len(dims)-1]
			for _, name := range []string{"scale", "offset"} {
				if err := store.GetVariable("/bn/" + bnScope + "/" + name).SetValue(uniform(rng, 2, -1, c)); err != nil {
					t.Fatal(err)
				}
			}
			out, err := exec.Exec(x, weights)
			if err != nil {
				t.Fatal(err)
			}
			for i, what := range []string{"outputs", "input gradients", "scale gradients", "offset gradients"} {
				got, want := tensors.MustCopyFlatData[float32](out[2*i]), tensors.MustCopyFlatData[float32](out[2*i+1])
				if err := closeTo(got, want, 1e-4); err != nil {
					t.Errorf("%s: %v", what, err)
				}
			}
		})
	}
}

// TestReluMaxPoolMatchesMaxPoolRelu checks that pooling before the ReLU
// gives the values and the gradients of the recipe's order, ReLU then
// MaxPool, also where whole windows are negative.
func TestReluMaxPoolMatchesMaxPoolRelu(t *testing.T) {
	backend := goBackend(t)
	for _, c := range []struct {
		name  string
		dims  []int
		shift float32 // added to uniform [0,1) values
	}{
		{"mixed signs", []int{2, 6, 6, 3}, -0.5},
		{"mostly negative", []int{2, 4, 4, 5}, -0.9},
		{"all negative", []int{1, 4, 4, 2}, -1},
		{"odd size", []int{2, 5, 7, 3}, -0.5},
	} {
		for _, forwardOnly := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s forwardOnly=%v", c.name, forwardOnly), func(t *testing.T) {
				exec, err := NewExec(backend, func(x, weights *Node) []*Node {
					fast := reluMaxPool2(x, forwardOnly)
					ref := maxPool2(activation.Relu(x), forwardOnly)
					// weights: the coefficients of a random linear loss.
					grad := Gradient(ReduceAllSum(Mul(fast, weights)), x)[0]
					refGrad := Gradient(ReduceAllSum(Mul(ref, weights)), x)[0]
					return []*Node{fast, ref, grad, refGrad}
				})
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(4, uint64(len(c.name))))
				d := c.dims
				out, err := exec.Exec(uniform(rng, 1, c.shift, d...), uniform(rng, 1, -0.5, d[0], d[1]/2, d[2]/2, d[3]))
				if err != nil {
					t.Fatal(err)
				}
				for i, what := range []string{"outputs", "gradients"} {
					got, want := tensors.MustCopyFlatData[float32](out[2*i]), tensors.MustCopyFlatData[float32](out[2*i+1])
					for j := range got {
						if got[j] != want[j] {
							t.Errorf("%s: element %d is %g, want %g", what, j, got[j], want[j])
							break
						}
					}
				}
			})
		}
	}
}

// TestReluMatchesGoMLX checks relu's values and gradient against GoMLX's
// ReLU, and that its gradient at 0 is 0, as PyTorch's.
func TestReluMatchesGoMLX(t *testing.T) {
	backend := goBackend(t)
	exec, err := NewExec(backend, func(x, weights *Node) []*Node {
		got, want := relu(x), activation.Relu(x)
		// weights: the coefficients of a random linear loss.
		return []*Node{got, want,
			Gradient(ReduceAllSum(Mul(got, weights)), x)[0],
			Gradient(ReduceAllSum(Mul(want, weights)), x)[0]}
	})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	x := uniform(rng, 2, -1, 2, 3, 4, 5)
	tensors.MustMutableFlatData(x, func(v []float32) { v[7] = 0 })
	weights := uniform(rng, 1, 0.5, 2, 3, 4, 5) // all positive
	out, err := exec.Exec(x, weights)
	if err != nil {
		t.Fatal(err)
	}
	got, want := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	if err := closeTo(got, want, 0); err != nil {
		t.Errorf("outputs: %v", err)
	}
	got, want = tensors.MustCopyFlatData[float32](out[2]), tensors.MustCopyFlatData[float32](out[3])
	if got[7] != 0 {
		t.Errorf("gradient at 0: %g, want 0", got[7])
	}
	if err := closeTo(got, want, 0); err != nil {
		t.Errorf("gradients: %v", err)
	}
}

// TestMaxPool2MatchesMaxPool checks maxPool2's values and its mask gradient,
// in both its forms (MaxPool or ReduceMax), against GoMLX's MaxPool on
// inputs without ties, and that with a tie each copy of the maximum gets the
// gradient.
func TestMaxPool2MatchesMaxPool(t *testing.T) {
	backend := goBackend(t)
	rng := rand.New(rand.NewPCG(7, 8))
	random := func(dims ...int) *tensors.Tensor { return uniform(rng, 1, -0.5, dims...) }
	for _, forwardOnly := range []bool{false, true} {
		pools := func(x, weights *Node) []*Node {
			got := maxPool2(x, forwardOnly)
			want := MaxPool(x).Window(2).Strides(2).Done()
			// weights: the coefficients of a random linear loss.
			return []*Node{got, want,
				Gradient(ReduceAllSum(Mul(got, weights)), x)[0],
				Gradient(ReduceAllSum(Mul(want, weights)), x)[0]}
		}
		for _, d := range [][]int{{2, 6, 6, 3}, {3, 4, 8, 5}, {2, 5, 7, 3}} {
			t.Run(fmt.Sprint(d, " forwardOnly=", forwardOnly), func(t *testing.T) {
				exec, err := NewExec(backend, pools)
				if err != nil {
					t.Fatal(err)
				}
				out, err := exec.Exec(random(d...), random(d[0], d[1]/2, d[2]/2, d[3]))
				if err != nil {
					t.Fatal(err)
				}
				for i, what := range []string{"outputs", "gradients"} {
					got, want := tensors.MustCopyFlatData[float32](out[2*i]), tensors.MustCopyFlatData[float32](out[2*i+1])
					if err := closeTo(got, want, 0); err != nil {
						t.Errorf("%s: %v", what, err)
					}
				}
			})
		}
		t.Run(fmt.Sprint("tie forwardOnly=", forwardOnly), func(t *testing.T) {
			exec, err := NewExec(backend, pools)
			if err != nil {
				t.Fatal(err)
			}
			x := tensors.FromFlatDataAndDimensions([]float32{1, 1, 0, 0}, 1, 2, 2, 1)
			out, err := exec.Exec(x, tensors.FromFlatDataAndDimensions([]float32{3}, 1, 1, 1, 1))
			if err != nil {
				t.Fatal(err)
			}
			got, want := tensors.MustCopyFlatData[float32](out[2]), tensors.MustCopyFlatData[float32](out[3])
			if fmt.Sprint(got) != "[3 3 0 0]" || fmt.Sprint(want) != "[3 0 0 0]" {
				t.Errorf("gradients with a tie: %v, MaxPool's %v; want [3 3 0 0] and [3 0 0 0]", got, want)
			}
		})
	}
}

// goBackend is the pure-Go backend, finalized when the test ends.
func goBackend(t *testing.T) compute.Backend {
	t.Helper()
	backend, _, err := NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(backend.Finalize)
	return backend
}

// uniform is a float32 tensor of the given dimensions drawn from rng,
// uniform in [shift, shift+scale).
func uniform(rng *rand.Rand, scale, shift float32, dims ...int) *tensors.Tensor {
	data := make([]float32, shapes.Make(dtypes.Float32, dims...).Size())
	for i := range data {
		data[i] = scale*rng.Float32() + shift
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// closeTo checks that got and want have the same length and differ by at
// most tol times want's largest magnitude, which must not be 0.
func closeTo(got, want []float32, tol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	var diff, scale float64
	for i := range got {
		diff = max(diff, math.Abs(float64(got[i]-want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	if scale == 0 || diff > tol*scale {
		return fmt.Errorf("differ by %g (largest magnitude %g)", diff, scale)
	}
	return nil
}

// TestMultiplyAddsCountsTheGraph checks MultiplyAdds against the
// multiply-adds of the convolutions and matrix products in the prediction
// graph that the network builds.
func TestMultiplyAddsCountsTheGraph(t *testing.T) {
	backend := goBackend(t)
	for _, c := range []struct {
		backbone      string
		size          int
		task, ageHead string
	}{{"cnn-xs", 32, TaskAge, ""}, {"cnn-s", 64, TaskAge, ""}, {"cnn-s", 96, TaskAge, ""}, {"cnn-s", 37, TaskAge, ""}, {"cnn-m", 64, TaskAge, ""},
		{"cnn-s", 64, TaskGender, ""}, {"cnn-s", 64, TaskBoth, ""}, {"cnn-s", 64, TaskBoth, AgeHeadDLDL}, {"cnn-xs", 32, TaskAge, AgeHeadDLDL}} {
		spec := Spec{Task: c.task, AgeHead: c.ageHead, Backbone: c.backbone, InputSize: c.size, AgeScale: 1}
		want, ok := spec.MultiplyAdds()
		if !ok {
			t.Fatalf("%+v: no count", c)
		}
		fn, err := spec.fn(buildOptions{inference: true, noDropout: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		exec, err := mlmodel.NewExec(backend, mlmodel.NewStore(), func(scope *mlmodel.Scope, images *Node) *Node {
			y := fn(scope, images)
			for _, n := range images.Graph().Nodes() {
				size := int64(n.Shape().Size())
				switch n.Type() {
				case NodeTypeConvGeneral: // kernel [kh, kw, in, out]
					k := n.Inputs()[1].Shape()
					got += size * int64(k.Size()/k.Dimensions[3])
				case NodeTypeDotGeneral, NodeTypeFusedDense: // [B, in]·[in, out]
					got += size * int64(n.Inputs()[0].Shape().Dimensions[1])
				}
			}
			return y
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exec.Exec(tensors.FromShape(shapes.Make(dtypes.Float32, 1, c.size, c.size, 3))); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%+v: the graph has %d multiply-adds, MultiplyAdds says %d", c, got, want)
		}
	}
	if _, ok := (Spec{Backbone: "resnet-s"}).MultiplyAdds(); ok {
		t.Error("resnet-s has a count")
	}
}
