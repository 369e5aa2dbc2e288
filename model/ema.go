package model

import (
	"errors"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// EMAScope is the scope of the exponential moving averages of the weights
// (WithEMA): the average of /a/b/weights is /ema/a/b/weights.
const EMAScope = "ema"

// emaCount is the variable counting the updates of the averages.
const emaCount = "updates"

// WithEMA wraps an optimizer: after each of its updates, every trainable
// variable's exponential moving average, a variable of the same shape under
// EMAScope, moves towards the new value:
//
//	ema ← d·ema + (1-d)·w,  d = min(decay, k/(k+9))
//
// where k counts the earlier updates. The first update copies the weights
// (d = 0), then the averaging window grows with the run, about a tenth of
// the steps so far (the warm-up of TensorFlow's ExponentialMovingAverage with
// num_updates), until d reaches decay. The averages and the count are
// variables, so checkpoints hold them and a resumed run continues them. They
// are not trainable: the optimizer neither updates nor decays them. The work
// is three passes over the weights per step, in the training graph.
func WithEMA(opt optimizer.Interface, decay float64) optimizer.Interface {
	return &ema{inner: opt, decay: decay}
}

type ema struct {
	inner optimizer.Interface
	decay float64
}

// UpdateGraph implements optimizer.Interface.
func (e *ema) UpdateGraph(scope *mlmodel.Scope, g *Graph, loss *Node) {
	var vars []*mlmodel.Variable
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) && !isEMA(v) {
			vars = append(vars, v)
		}
	}
	e.inner.UpdateGraph(scope, g, loss)
	store := scope.Store()
	count := store.VariableWithValue("/"+EMAScope+"/"+emaCount, float32(0)).SetTrainable(false)
	k := count.NodeValue(g)
	d := Min(Div(k, AddScalar(k, 9)), ConstAs(k, e.decay))
	count.SetNodeValue(AddScalar(k, 1))
	for _, v := range vars {
		avg := store.VariableWithShape(emaPath(v), v.Shape(), initializer.Zero).SetTrainable(false)
		w := v.NodeValue(g) // the value after the update
		avg.SetNodeValue(Add(w, Mul(ConvertDType(d, w.DType()), Sub(avg.NodeValue(g), w))))
	}
}

// Clear implements optimizer.Interface.
func (e *ema) Clear(scope *mlmodel.Scope) error { return e.inner.Clear(scope) }

func emaPath(v *mlmodel.Variable) string { return "/" + EMAScope + v.Path() }

func isEMA(v *mlmodel.Variable) bool { return strings.HasPrefix(v.Path(), "/"+EMAScope+"/") }

// ErrNoEMA is returned by SwapEMA when the store holds no averages: the net
// was not trained with WithEMA, or not yet for one step.
var ErrNoEMA = errors.New("no moving averages of the weights to swap in")

// SwapEMA exchanges the values of the weights and of their moving averages
// (WithEMA): after one call the network computes with the averages, after a
// second one with the trained weights again. Nothing is copied: the
// variables exchange their tensors.
func (n *Net) SwapEMA() error {
	swapped := 0
	for avg := range n.Store.IterVariables() {
		if !isEMA(avg) || avg.Path() == "/"+EMAScope+"/"+emaCount {
			continue
		}
		w := n.Store.GetVariable(strings.TrimPrefix(avg.Path(), "/"+EMAScope))
		if w == nil {
			return errors.New("moving average " + avg.Path() + " of no weight")
		}
		a, err := avg.Value()
		if err != nil {
			return err
		}
		b, err := w.Value()
		if err != nil {
			return err
		}
		if err := w.SetValuePreservingOld(a); err != nil {
			return err
		}
		if err := avg.SetValuePreservingOld(b); err != nil {
			return err
		}
		swapped++
	}
	if swapped == 0 {
		return ErrNoEMA
	}
	return nil
}
