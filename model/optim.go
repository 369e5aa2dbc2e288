package model

import (
	"strings"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/ml/train/optimizer/cosineschedule"
)

// Schedule is a one-cycle learning rate: linear warm-up from 0 to Peak over
// WarmupSteps, then cosine down to 0 at TotalSteps.
type Schedule struct {
	Peak        float64
	WarmupSteps int
	TotalSteps  int
}

// OneCycle is the recipe schedule: 5% warm-up, then cosine to 0.
func OneCycle(peak float64, totalSteps int) *Schedule {
	return &Schedule{Peak: peak, WarmupSteps: max(1, totalSteps*5/100), TotalSteps: max(1, totalSteps)}
}

// apply sets this step's learning rate in /optimizers/learning_rate. It must
// get the root scope, where the optimizer reads the rate, and does nothing in
// graphs that don't train. Its step counter is a variable, saved in
// checkpoints, so a resumed run continues the schedule.
func (s *Schedule) apply(root *mlmodel.Scope, g *Graph) {
	cosineschedule.New(root, g, dtypes.Float32).
		LearningRate(s.Peak).MinLearningRate(0).
		WarmUpSteps(s.WarmupSteps).PeriodSteps(max(1, s.TotalSteps-s.WarmupSteps)).
		Done()
}

// AdamW is Adam with decoupled weight decay, as torch.optim.AdamW: after the
// Adam step, p -= lr·wd·p_old. Unlike GoMLX's Adam().WeightDecay, it leaves
// BatchNorm parameters and biases undecayed.
func AdamW(weightDecay float64) optimizer.Interface {
	return &adamW{inner: optimizer.Adam().Betas(0.9, 0.999).Epsilon(1e-8).Done(), wd: weightDecay}
}

type adamW struct {
	inner optimizer.Interface
	wd    float64
}

func decays(v *mlmodel.Variable) bool {
	return v.Name() != "biases" && !strings.Contains(v.Scope(), "batch_normalization")
}

// UpdateGraph implements optimizer.Interface.
func (o *adamW) UpdateGraph(scope *mlmodel.Scope, g *Graph, loss *Node) {
	type old struct {
		v *mlmodel.Variable
		n *Node
	}
	var decayed []old
	if o.wd > 0 {
		for v := range scope.IterVariables() {
			if v.Trainable && v.InUseByGraph(g) && decays(v) {
				decayed = append(decayed, old{v, v.NodeValue(g)})
			}
		}
	}
	o.inner.UpdateGraph(scope, g, loss)
	if len(decayed) == 0 {
		return
	}
	lr := optimizer.LearningRateVar(scope, loss.DType(), optimizer.AdamDefaultLearningRate).NodeValue(g)
	for _, d := range decayed {
		d.v.SetNodeValue(Sub(d.v.NodeValue(g), Mul(lr, MulScalar(d.n, o.wd))))
	}
}

// Clear implements optimizer.Interface.
func (o *adamW) Clear(scope *mlmodel.Scope) error { return o.inner.Clear(scope) }

// LearningRate reads the rate the last train step used.
func LearningRate(store *mlmodel.Store) float64 {
	v := store.GetVariable("/" + optimizer.Scope + "/" + optimizer.ParamLearningRate)
	if v == nil {
		return 0
	}
	switch x := v.MustValue().Value().(type) {
	case float32:
		return float64(x)
	case float64:
		return x
	}
	return 0
}
