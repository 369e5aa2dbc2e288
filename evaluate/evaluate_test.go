package evaluate

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// naiveAUC compares every positive with every negative.
func naiveAUC(scores []float64, truth []int) float64 {
	var wins float64
	var pairs int
	for i := range scores {
		for j := range scores {
			if truth[i] == 1 && truth[j] == 0 {
				pairs++
				switch {
				case scores[i] > scores[j]:
					wins++
				case scores[i] == scores[j]:
					wins += 0.5
				}
			}
		}
	}
	return wins / float64(pairs)
}

func TestAUC(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		n := 2 + r.IntN(60)
		scores := make([]float64, n)
		truth := make([]int, n)
		for i := range scores {
			scores[i] = float64(r.IntN(8)) / 8 // ties
			truth[i] = r.IntN(2)
		}
		truth[0], truth[1] = 0, 1
		got, ok := AUC(scores, truth)
		if want := naiveAUC(scores, truth); !ok || math.Abs(got-want) > 1e-12 {
			t.Fatalf("AUC = %v, want %v", got, want)
		}
	}
	if _, ok := AUC([]float64{0.2, 0.9}, []int{1, 1}); ok {
		t.Error("AUC with one class must be undefined")
	}
	if got, _ := AUC([]float64{0.1, 0.9}, []int{0, 1}); got != 1 {
		t.Errorf("perfect ranking AUC = %v", got)
	}
}

func TestEvaluateHandComputed(t *testing.T) {
	nan := math.NaN()
	preds := []Prediction{
		{Age: 5, Gender: 0, Race: 0, PredAge: 7, PFemale: 0.2},    // |2|, correct
		{Age: 25, Gender: 1, Race: 1, PredAge: 20, PFemale: 0.7},  // |5|, correct
		{Age: 72, Gender: 1, Race: -1, PredAge: 60, PFemale: 0.4}, // |12|, wrong
		{Age: 28, Gender: 0, Race: 0, PredAge: 29, PFemale: 0.6},  // |1|, wrong
	}
	r := Evaluate(preds)
	if got := *r.Overall.AgeMAE; got != 5 {
		t.Errorf("MAE %v, want (2+5+12+1)/4 = 5", got)
	}
	if got := *r.Overall.AgeBias; got != -3.5 {
		t.Errorf("bias %v, want (2-5-12+1)/4 = -3.5", got)
	}
	if got := *r.Overall.GenderAccuracy; got != 0.5 {
		t.Errorf("accuracy %v, want 0.5", got)
	}
	// Positives (female) score 0.7 and 0.4, negatives 0.2 and 0.6: pairs won
	// 0.7>0.2, 0.7>0.6, 0.4>0.2 → 3 of 4.
	if got := *r.Overall.GenderAUC; got != 0.75 {
		t.Errorf("AUC %v, want 0.75", got)
	}
	slices := map[string]Metrics{}
	for _, s := range r.Slices {
		slices[s.Dimension+"="+s.Value] = s.Metrics
	}
	if s := slices["age_band=20-29"]; s.Count != 2 || *s.AgeMAE != 3 {
		t.Errorf("20-29: %+v", s)
	}
	if s := slices["age_band=70+"]; s.Count != 1 || *s.AgeMAE != 12 {
		t.Errorf("70+: %+v", s)
	}
	if s := slices["race=unknown"]; s.Count != 1 {
		t.Errorf("race unknown: %+v", s)
	}
	if s := slices["gender=female"]; s.GenderAUC != nil {
		t.Error("a one-class slice must have no AUC")
	}
	// Age-only predictions have no gender metrics.
	ageOnly := Score([]Prediction{{Age: 3, PredAge: 4, PFemale: nan}})
	if ageOnly.GenderAccuracy != nil || *ageOnly.AgeMAE != 1 {
		t.Errorf("age only: %+v", ageOnly)
	}
	if AgeBand(0) != "0-9" || AgeBand(69) != "60-69" || AgeBand(116) != "70+" {
		t.Error("AgeBand")
	}
}

// TestScoreByHand: age errors of +3, −4 and 0 years give MAE 7/3, RMSE
// √((9+16+0)/3) and bias −1/3; p_female 0.7 (female: right), 0.5 (male:
// wrong, 0.5 says female) and 0.1 (male: right) give accuracy 2/3. A set
// without age predictions has no age metrics.
func TestScoreByHand(t *testing.T) {
	m := Score([]Prediction{
		{Age: 30, Gender: 1, Race: 0, PredAge: 33, PFemale: 0.7},
		{Age: 50, Gender: 0, Race: 2, PredAge: 46, PFemale: 0.5},
		{Age: 20, Gender: 0, Race: 1, PredAge: 20, PFemale: 0.1},
	})
	near := func(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-12 }
	if m.Count != 3 || !near(m.AgeMAE, 7.0/3) || !near(m.AgeRMSE, math.Sqrt(25.0/3)) || !near(m.AgeBias, -1.0/3) || !near(m.GenderAccuracy, 2.0/3) {
		t.Errorf("Score = count %d, MAE %v, RMSE %v, bias %v, accuracy %v; want 3, 7/3, √(25/3), -1/3, 2/3",
			m.Count, deref(m.AgeMAE), deref(m.AgeRMSE), deref(m.AgeBias), deref(m.GenderAccuracy))
	}
	g := Score([]Prediction{{Age: 30, Gender: 1, PredAge: math.NaN(), PFemale: 0.7}})
	if g.AgeMAE != nil || g.AgeRMSE != nil || g.AgeBias != nil || !near(g.GenderAccuracy, 1) {
		t.Errorf("gender only: MAE %v, RMSE %v, bias %v, accuracy %v; want no age metrics, accuracy 1", g.AgeMAE, g.AgeRMSE, g.AgeBias, deref(g.GenderAccuracy))
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// TestEvaluateSlicesOnlyWhatIsThere: a slice is reported for each value
// that some prediction has, in the fixed order, and for no other.
func TestEvaluateSlicesOnlyWhatIsThere(t *testing.T) {
	r := Evaluate([]Prediction{
		{Age: 34, Gender: 1, Race: 3, PredAge: 30, PFemale: 0.9},
		{Age: 8, Gender: 1, Race: -1, PredAge: 9, PFemale: 0.2},
	})
	var got []string
	for _, s := range r.Slices {
		got = append(got, s.Dimension+"="+s.Value)
		if s.Count != 1 && s.Dimension != "gender" || s.Dimension == "gender" && s.Count != 2 {
			t.Errorf("slice %s=%s counts %d", s.Dimension, s.Value, s.Count)
		}
	}
	want := []string{"age_band=0-9", "age_band=30-39", "gender=female", "race=indian", "race=unknown"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("slices %v, want %v", got, want)
	}
}
