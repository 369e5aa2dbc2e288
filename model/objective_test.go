package model

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestGaussianTarget: the DLDL target sums to 1, peaks at the label, and
// away from the ends of the age range has the label as its mean and sigma as
// its standard deviation; near age 0 the truncation pulls its mean up.
func TestGaussianTarget(t *testing.T) {
	for _, c := range []struct {
		age, sigma float64
		centred    bool // mean and spread are the Gaussian's
	}{
		{40, 2, true}, {40, 3, true}, {1, 2, false}, {116, 2.5, false}, {57, 1, true},
	} {
		p := make([]float32, AgeBins)
		GaussianTarget(p, c.age, c.sigma)
		var sum, mean, peak float64
		argmax := 0
		for i, v := range p {
			sum += float64(v)
			mean += float64(i) * float64(v)
			if float64(v) > peak {
				peak, argmax = float64(v), i
			}
		}
		var variance float64
		for i, v := range p {
			variance += (float64(i) - mean) * (float64(i) - mean) * float64(v)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("%+v: sums to %v", c, sum)
		}
		if argmax != int(c.age) {
			t.Errorf("%+v: peaks at %d", c, argmax)
		}
		switch {
		case c.centred && (math.Abs(mean-c.age) > 1e-4 || math.Abs(math.Sqrt(variance)-c.sigma) > 1e-3):
			t.Errorf("%+v: mean %v, standard deviation %v", c, mean, math.Sqrt(variance))
		case c.age < 10 && mean <= c.age, c.age > 110 && mean >= c.age:
			t.Errorf("%+v: truncated at an end of the range, mean %v should move inwards", c, mean)
		}
	}
}

// TestExpectedAge checks the DLDL head's prediction, the expected value of
// the softmax of its logits, on hand-made distributions.
func TestExpectedAge(t *testing.T) {
	backend := goBackend(t)
	exec, err := NewExec(backend, expectedAge)
	if err != nil {
		t.Fatal(err)
	}
	logitsOf := func(p map[int]float64, shift float64) []float32 {
		l := make([]float32, AgeBins)
		for i := range l {
			l[i] = float32(shift - 1e4) // exp underflows to 0
			if q, ok := p[i]; ok {
				l[i] = float32(math.Log(q) + shift)
			}
		}
		return l
	}
	uniform := make([]float32, AgeBins)
	for _, c := range []struct {
		name   string
		logits []float32
		want   float64
	}{
		{"one age", logitsOf(map[int]float64{7: 1}, 0), 7},
		{"two ages", logitsOf(map[int]float64{20: 0.5, 30: 0.5}, 0), 25},
		{"three ages, shifted logits", logitsOf(map[int]float64{10: 0.2, 40: 0.3, 100: 0.5}, 50), 0.2*10 + 0.3*40 + 0.5*100},
		{"the ends", logitsOf(map[int]float64{0: 0.25, 116: 0.75}, -20), 87},
		{"uniform", uniform, 58},
	} {
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(c.logits, 1, AgeBins))
		if err != nil {
			t.Fatal(err)
		}
		if got := tensors.MustCopyFlatData[float32](out[0]); len(got) != 1 || math.Abs(float64(got[0])-c.want) > 1e-3 {
			t.Errorf("%s: expected age %v, want %v", c.name, got, c.want)
		}
	}
}

// TestObjectiveLoss checks each loss against its definition computed here,
// on hand-made outputs and targets, and the DLDL loss's gradient with respect
// to the logits against its closed form (softmax - target)/batch.
func TestObjectiveLoss(t *testing.T) {
	backend := goBackend(t)
	ages, genders := []float32{20, 63}, []float32{1, 0}
	// Raw outputs: the age head's (one value, or AgeBins logits), then the
	// gender logit.
	logits := make([]float32, 2*AgeBins)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i))) // an arbitrary distribution
	}
	const genderLogit0, genderLogit1 = 1.5, -0.25
	bce := func(y, logit float64) float64 {
		p := 1 / (1 + math.Exp(-logit))
		return -(y*math.Log(p) + (1-y)*math.Log(1-p))
	}
	meanBCE := (bce(1, genderLogit0) + bce(0, genderLogit1)) / 2
	softmax := func(row []float32) []float64 {
		var s float64
		p := make([]float64, len(row))
		for i, v := range row {
			p[i] = math.Exp(float64(v))
			s += p[i]
		}
		for i := range p {
			p[i] /= s
		}
		return p
	}
	var kl, l1 float64
	for b := range 2 {
		q := softmax(logits[b*AgeBins : (b+1)*AgeBins])
		target := make([]float32, AgeBins)
		GaussianTarget(target, float64(ages[b]), 3)
		var e float64
		for i, tv := range target {
			if tv > 0 {
				kl += float64(tv) * (math.Log(float64(tv)) - math.Log(q[i])) / 2
			}
			e += float64(i) * q[i]
		}
		l1 += math.Abs(e-float64(ages[b])) / 2
	}
	withGender := func(age []float32, width int) []float32 {
		var out []float32
		for b := range 2 {
			out = append(out, age[b*width:(b+1)*width]...)
			out = append(out, []float32{genderLogit0, genderLogit1}[b])
		}
		return out
	}
	for _, c := range []struct {
		name string
		obj  Objective
		out  []float32
		want float64
	}{
		{"age l1", Objective{Spec: Spec{Task: TaskAge}}, []float32{25, 60}, (5 + 3) / 2.0},
		{"gender", Objective{Spec: Spec{Task: TaskGender}}, []float32{genderLogit0, genderLogit1}, meanBCE},
		{"age dldl, KL alone", Objective{Spec: Spec{Task: TaskAge, AgeHead: AgeHeadDLDL}, AgeSigma: 3}, logits, kl},
		{"age dldl with L1", Objective{Spec: Spec{Task: TaskAge, AgeHead: AgeHeadDLDL}, AgeSigma: 3, DLDLL1: 0.5}, logits, kl + 0.5*l1},
		{"both l1", Objective{Spec: Spec{Task: TaskBoth}, GenderWeight: 7}, withGender([]float32{25, 60}, 1), 4 + 7*meanBCE},
		{"both dldl", Objective{Spec: Spec{Task: TaskBoth, AgeHead: AgeHeadDLDL}, AgeSigma: 3, DLDLL1: 1, GenderWeight: 3},
			withGender(logits, AgeBins), kl + l1 + 3*meanBCE},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := c.obj.TargetWidth()
			targets := make([]float32, 2*w)
			c.obj.Targets(targets, ages, genders)
			lossFn := c.obj.Loss()
			exec, err := NewExec(backend, func(y, out *Node) []*Node {
				l := lossFn([]*Node{y}, []*Node{out})
				return []*Node{l, Gradient(l, out)[0]}
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := exec.Exec(tensors.FromFlatDataAndDimensions(targets, 2, w),
				tensors.FromFlatDataAndDimensions(c.out, 2, len(c.out)/2))
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(res[0].Value().(float32)); math.Abs(got-c.want) > 1e-4*math.Max(1, c.want) {
				t.Errorf("loss %v, want %v", got, c.want)
			}
			if c.name != "age dldl, KL alone" {
				return
			}
			grad := tensors.MustCopyFlatData[float32](res[1])
			for b := range 2 {
				q := softmax(logits[b*AgeBins : (b+1)*AgeBins])
				for i := range AgeBins {
					want := (q[i] - float64(targets[b*w+1+i])) / 2
					if got := float64(grad[b*AgeBins+i]); math.Abs(got-want) > 1e-6 {
						t.Fatalf("gradient of logit %d of image %d: %v, want %v", i, b, got, want)
					}
				}
			}
		})
	}
}
