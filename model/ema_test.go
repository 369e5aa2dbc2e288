package model

import (
	"errors"
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/loss"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// TestWithEMA trains a linear model for a few steps and checks, after each,
// the moving average against its definition computed here from the weights
// the step left (decay min(decay, k/(k+9)) at update k), and that SwapEMA
// exchanges the weights and the average and, called again, puts them back.
func TestWithEMA(t *testing.T) {
	backend := goBackend(t)
	for _, decay := range []float64{0.6, 0.999} {
		store := mlmodel.NewStore()
		trainer := train.NewTrainer(backend, store, func(scope *mlmodel.Scope, x *Node) *Node {
			w := scope.In("lin").VariableWithShape("w", shapes.Make(dtypes.Float32, 1, 3)).NodeValue(x.Graph())
			return ReduceAndKeep(Mul(x, w), ReduceSum, -1)
		}, loss.MeanSquaredError, WithEMA(optimizer.StochasticGradientDescent().Done(), decay), nil, nil)
		var want []float64
		for k := range 30 {
			// The trainer takes the batch's tensors: new ones every step.
			x := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, -1, 0.5, 2}, 2, 3)
			y := tensors.FromFlatDataAndDimensions([]float32{4, -2}, 2, 1)
			if _, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{y}}); err != nil {
				t.Fatal(err)
			}
			w := values(t, store, "/lin/w")
			d := math.Min(decay, float64(k)/float64(k+9))
			if want == nil {
				want = make([]float64, len(w))
			}
			for i := range w {
				want[i] = d*want[i] + (1-d)*w[i]
			}
			got := values(t, store, "/"+EMAScope+"/lin/w")
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-5 {
					t.Fatalf("decay %g, step %d: average %v, want %v (weights %v)", decay, k+1, got, want, w)
				}
			}
		}
		raw, avg := values(t, store, "/lin/w"), values(t, store, "/"+EMAScope+"/lin/w")
		if raw[0] == avg[0] {
			t.Fatalf("decay %g: the average equals the weights, %v: nothing to test", decay, raw)
		}
		n := &Net{Store: store}
		for i, wantW := range [][]float64{avg, raw} {
			if err := n.SwapEMA(); err != nil {
				t.Fatal(err)
			}
			if got := values(t, store, "/lin/w"); got[0] != wantW[0] || got[2] != wantW[2] {
				t.Errorf("decay %g: after %d swaps the weights are %v, want %v", decay, i+1, got, wantW)
			}
		}
	}
	if err := (&Net{Store: mlmodel.NewStore()}).SwapEMA(); !errors.Is(err, ErrNoEMA) {
		t.Errorf("SwapEMA without averages: %v", err)
	}
}

// values reads a float32 variable of the store as float64s.
func values(t *testing.T, store *mlmodel.Store, path string) []float64 {
	t.Helper()
	v := store.GetVariable(path)
	if v == nil {
		t.Fatalf("no variable %s", path)
	}
	var out []float64
	for _, x := range tensors.MustCopyFlatData[float32](v.MustValue()) {
		out = append(out, float64(x))
	}
	return out
}
