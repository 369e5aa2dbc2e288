package model

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/train/loss"
)

// DefaultGenderWeight is the default weight of the gender loss in a TaskBoth
// network's loss, age loss + weight·gender loss. The two are on different
// scales: the age MAE is in years, the binary cross-entropy in nats. Each
// divided by what a constant prediction scores on UTKFace (MAE about 15
// years around the median, cross-entropy ln 2 = 0.69) gives
// MAE/15 + BCE/0.69, which is MAE + 21.6·BCE in years: 20, rounded, weighs
// both tasks by their share of the baseline's loss. At the bundled models'
// final figures (MAE 5.3, BCE about 0.18) the two terms are then of the same
// size, 5.3 and 3.6.
const DefaultGenderWeight = 20

// DefaultAgeSigma is the default width, in years, of the Gaussian a DLDL
// head is trained towards.
const DefaultAgeSigma = 2

// Objective is what a network is trained to minimize: its task's losses,
// their weights, and the targets they compare the network's outputs with.
//
// The targets of a batch are one row per image (see Targets): the age for an
// age head (years), then for a DLDL head the AgeBins probabilities of the
// label distribution, then the gender (0 male, 1 female) for a gender head.
// Mixing two rows linearly (mixup) mixes every part alike: the ages, the
// distributions and the binary cross-entropy's targets.
type Objective struct {
	Spec Spec
	// GenderWeight weighs the gender loss against the age loss for
	// TaskBoth (DefaultGenderWeight when 0).
	GenderWeight float64
	// AgeSigma is the standard deviation in years of a DLDL head's Gaussian
	// target (DefaultAgeSigma when 0).
	AgeSigma float64
	// DLDLL1 weighs, in a DLDL head's loss, the absolute error of the
	// expected age (in years) against the KL divergence, as DLDL-v2 does;
	// 0 leaves the KL divergence alone.
	DLDLL1 float64
}

func (o Objective) genderWeight() float64 {
	if o.GenderWeight == 0 {
		return DefaultGenderWeight
	}
	return o.GenderWeight
}

func (o Objective) ageSigma() float64 {
	if o.AgeSigma == 0 {
		return DefaultAgeSigma
	}
	return o.AgeSigma
}

// TargetWidth is the number of target values per image.
func (o Objective) TargetWidth() int {
	w := 0
	if o.Spec.HasAge() {
		w++
		if o.Spec.DLDL() {
			w += AgeBins
		}
	}
	if o.Spec.HasGender() {
		w++
	}
	return w
}

// Targets writes the target rows of a batch into dst, TargetWidth values per
// image, from the images' ages and genders.
func (o Objective) Targets(dst, ages, genders []float32) {
	w := o.TargetWidth()
	for i := range ages {
		row := dst[i*w : (i+1)*w]
		if o.Spec.HasAge() {
			row[0] = ages[i]
			if o.Spec.DLDL() {
				GaussianTarget(row[1:1+AgeBins], float64(ages[i]), o.ageSigma())
			}
		}
		if o.Spec.HasGender() {
			row[w-1] = genders[i]
		}
	}
}

// GaussianTarget writes into dst, AgeBins values, the label distribution of
// an age: a Gaussian of standard deviation sigma centred on it, over the
// ages 0 to AgeBins-1, normalized to sum to 1.
func GaussianTarget(dst []float32, age, sigma float64) {
	var sum float64
	p := make([]float64, len(dst))
	for i := range p {
		d := (float64(i) - age) / sigma
		p[i] = math.Exp(-d * d / 2)
		sum += p[i]
	}
	for i := range p {
		dst[i] = float32(p[i] / sum)
	}
}

// Loss is the objective's loss of a batch, from the targets (see Targets)
// and the outputs of the network built for the loss:
//   - age, l1 head: the mean absolute error in years;
//   - age, DLDL head: the KL divergence from the target distribution to the
//     softmax of the logits, plus DLDLL1 times the absolute error of the
//     expected age;
//   - gender: the binary cross-entropy of the logit;
//   - both: the age loss plus GenderWeight times the gender loss.
//
// A single task with the l1 head or gender is GoMLX's own loss, as before
// these options existed.
func (o Objective) Loss() loss.LossFn {
	s := o.Spec
	switch {
	case s.Task == TaskAge && !s.DLDL():
		return loss.MeanAbsoluteError
	case s.Task == TaskGender:
		return loss.BinaryCrossentropyLogits
	}
	return func(labels, predictions []*Node) *Node {
		y, out := labels[0], predictions[0]
		if y.Shape().Dimensions[1] != o.TargetWidth() {
			panic(fmt.Sprintf("targets %s: want %d columns", y.Shape(), o.TargetWidth()))
		}
		cols := func(x *Node, from, to int) *Node { return Slice(x, AxisRange(), AxisRange(from, to)) }
		var total *Node
		if s.HasAge() {
			age := cols(y, 0, 1)
			if s.DLDL() {
				logits := cols(out, 0, AgeBins)
				target := cols(y, 1, 1+AgeBins)
				// KL(target ‖ softmax) = Σ t·(log t - log p); t·log t is 0
				// where t is.
				zero := ZerosLike(target)
				logT := Where(GreaterThan(target, zero), Log(target), zero)
				total = ReduceAllMean(ReduceSum(Mul(target, Sub(logT, LogSoftmax(logits, -1))), -1))
				if o.DLDLL1 > 0 {
					total = Add(total, MulScalar(ReduceAllMean(Abs(Sub(expectedAge(logits), age))), o.DLDLL1))
				}
			} else {
				total = ReduceAllMean(Abs(Sub(cols(out, 0, 1), age)))
			}
		}
		if s.HasGender() {
			w := out.Shape().Dimensions[1]
			bce := loss.BinaryCrossentropyLogits([]*Node{cols(y, o.TargetWidth()-1, o.TargetWidth())}, []*Node{cols(out, w-1, w)})
			if total == nil {
				return bce
			}
			total = Add(total, MulScalar(bce, o.genderWeight()))
		}
		return total
	}
}
