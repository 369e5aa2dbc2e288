// Package evaluate scores age and gender predictions against labels: overall
// and in slices by age band, gender and race, so that biases show. Training
// evaluates its test split with it, and scoring its labelled inputs.
package evaluate

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/facepipe/facepipe/labels"
)

// Prediction is one labelled image and what a model predicted for it. A
// model that does not predict a task leaves its field NaN.
type Prediction struct {
	File    string
	Age     int // true age
	Gender  int // true gender, 0 male, 1 female
	Race    int // true race, -1 unknown
	PredAge float64
	PFemale float64 // predicted probability of female
}

// Metrics are the scores of a set of predictions. Fields of a task that was
// not predicted are nil.
type Metrics struct {
	Count          int      `json:"count"`
	AgeMAE         *float64 `json:"age_mae,omitempty"`
	AgeRMSE        *float64 `json:"age_rmse,omitempty"`
	AgeBias        *float64 `json:"age_bias,omitempty"` // mean of predicted minus true age
	GenderAccuracy *float64 `json:"gender_accuracy,omitempty"`
	GenderAUC      *float64 `json:"gender_auc,omitempty"`
}

// Slice is the metrics of the predictions sharing one value of a dimension.
type Slice struct {
	Dimension string `json:"dimension"` // age_band, gender or race
	Value     string `json:"value"`
	Metrics
}

// Report is a full evaluation.
type Report struct {
	Overall Metrics `json:"overall"`
	Slices  []Slice `json:"slices"`
}

// AgeBands are the age slices: 0-9, 10-19, ..., 60-69 and 70+.
var AgeBands = []string{"0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+"}

// AgeBand names the band of an age.
func AgeBand(age int) string {
	return AgeBands[min(max(age, 0)/10, len(AgeBands)-1)]
}

// Evaluate scores predictions overall and by age band, gender and race.
// Slices with no predictions are left out.
func Evaluate(preds []Prediction) Report {
	r := Report{Overall: Score(preds)}
	groups := map[string]map[string][]Prediction{"age_band": {}, "gender": {}, "race": {}}
	for _, p := range preds {
		groups["age_band"][AgeBand(p.Age)] = append(groups["age_band"][AgeBand(p.Age)], p)
		groups["gender"][labels.GenderName(p.Gender)] = append(groups["gender"][labels.GenderName(p.Gender)], p)
		groups["race"][labels.RaceName(p.Race)] = append(groups["race"][labels.RaceName(p.Race)], p)
	}
	order := map[string][]string{
		"age_band": AgeBands,
		"gender":   {"male", "female"},
		"race":     {"white", "black", "asian", "indian", "others", "unknown"},
	}
	for _, dim := range []string{"age_band", "gender", "race"} {
		for _, v := range order[dim] {
			if ps := groups[dim][v]; len(ps) > 0 {
				r.Slices = append(r.Slices, Slice{Dimension: dim, Value: v, Metrics: Score(ps)})
			}
		}
	}
	return r
}

// Score computes the metrics of a set of predictions.
func Score(preds []Prediction) Metrics {
	m := Metrics{Count: len(preds)}
	var ae, se, bias float64
	nAge, nGender, correct := 0, 0, 0
	var scores []float64
	var truth []int
	for _, p := range preds {
		if !math.IsNaN(p.PredAge) {
			d := p.PredAge - float64(p.Age)
			ae += math.Abs(d)
			se += d * d
			bias += d
			nAge++
		}
		if !math.IsNaN(p.PFemale) {
			if (p.PFemale >= 0.5) == (p.Gender == labels.Female) {
				correct++
			}
			nGender++
			scores = append(scores, p.PFemale)
			truth = append(truth, p.Gender)
		}
	}
	if nAge > 0 {
		mae, rmse, b := ae/float64(nAge), math.Sqrt(se/float64(nAge)), bias/float64(nAge)
		m.AgeMAE, m.AgeRMSE, m.AgeBias = &mae, &rmse, &b
	}
	if nGender > 0 {
		acc := float64(correct) / float64(nGender)
		m.GenderAccuracy = &acc
		if auc, ok := AUC(scores, truth); ok {
			m.GenderAUC = &auc
		}
	}
	return m
}

// AUC is the area under the ROC curve of scores for the positive class 1:
// the probability that a random positive scores above a random negative,
// ties counting half. It is undefined (false) without both classes.
func AUC(scores []float64, truth []int) (float64, bool) {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	// Sum the (average, for ties) ranks of the positives.
	var rankSum float64
	pos := 0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if truth[idx[k]] == 1 {
				rankSum += avg
				pos++
			}
		}
		i = j
	}
	neg := len(scores) - pos
	if pos == 0 || neg == 0 {
		return 0, false
	}
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg)), true
}

// String summarizes the overall metrics on one line.
func (m Metrics) String() string {
	s := fmt.Sprintf("n=%d", m.Count)
	if m.AgeMAE != nil {
		s += fmt.Sprintf(" age MAE %.2f", *m.AgeMAE)
	}
	if m.GenderAccuracy != nil {
		s += fmt.Sprintf(" gender accuracy %.2f%%", 100**m.GenderAccuracy)
	}
	if m.GenderAUC != nil {
		s += fmt.Sprintf(" AUC %.3f", *m.GenderAUC)
	}
	return s
}
