package model

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute"
)

// writeFolder writes a model folder of a network with fresh weights.
func writeFolder(t *testing.T, backend compute.Backend, dir string, spec Spec, seed int64) {
	t.Helper()
	n, err := NewNet(backend, spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	p, err := n.NewPredictor(1, false) // creates and initializes the variables
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Predict(make([]float32, spec.InputSize*spec.InputSize*3)); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteCard(dir, &Card{ID: filepath.Base(dir), Spec: spec, Preprocessing: NewPreprocessing(spec.InputSize, spec.InputSize), Seed: seed}); err != nil {
		t.Fatal(err)
	}
	if err := n.SaveWeights(dir); err != nil {
		t.Fatal(err)
	}
}

// TestEnsembleScoresTheMeanOfItsMembers: an ensemble folder predicts the
// mean of its members' ages and probabilities of female, image by image; and
// members that predict different things do not make an ensemble.
func TestEnsembleScoresTheMeanOfItsMembers(t *testing.T) {
	backend := goBackend(t)
	const size, batch = 16, 5
	rng := rand.New(rand.NewPCG(11, 12))
	images := make([]float32, batch*size*size*3)
	for i := range images {
		images[i] = rng.Float32()
	}
	for _, spec := range []Spec{
		{Task: TaskBoth, Backbone: "cnn-xs", InputSize: size, AgeScale: 10, AgeShift: 30},
		{Task: TaskAge, AgeHead: AgeHeadDLDL, Backbone: "cnn-xs", InputSize: size},
		{Task: TaskGender, Backbone: "cnn-xs", InputSize: size},
	} {
		t.Run(spec.Task+"/"+spec.AgeHead, func(t *testing.T) {
			root := t.TempDir()
			members := []string{"members/0", "members/1", "members/2"}
			var want, first []Output
			for i, m := range members {
				dir := filepath.Join(root, m)
				writeFolder(t, backend, dir, spec, int64(10+i))
				sc, err := OpenFolder(dir, backend, batch, true)
				if err != nil {
					t.Fatal(err)
				}
				out, err := sc.Predict(images)
				sc.Close()
				if err != nil {
					t.Fatal(err)
				}
				if want == nil {
					want, first = make([]Output, batch), out
				}
				for j, o := range out {
					want[j].Age += o.Age / 3
					want[j].PFemale += o.PFemale / 3
				}
			}
			card := &Card{ID: "ensemble", Spec: spec, Preprocessing: NewPreprocessing(size, size), Members: members, Combine: EnsembleCombine}
			if err := WriteCard(root, card); err != nil {
				t.Fatal(err)
			}
			sc, err := OpenFolder(root, backend, batch, true)
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			if sc.Task() != spec.Task || sc.ID() != "ensemble" || sc.Batch() != batch {
				t.Errorf("ensemble scorer: task %s, id %s, batch %d", sc.Task(), sc.ID(), sc.Batch())
			}
			got, err := sc.Predict(images)
			if err != nil {
				t.Fatal(err)
			}
			diff := func(a, b float64) float64 {
				if math.IsNaN(a) && math.IsNaN(b) {
					return 0
				}
				return math.Abs(a - b)
			}
			if d := diff(got[0].Age, first[0].Age) + diff(got[0].PFemale, first[0].PFemale); !(d > 1e-4) {
				t.Errorf("the ensemble predicts what its first member does, %+v: members too alike to test", got[0])
			}
			for j := range got {
				for _, v := range [][2]float64{{got[j].Age, want[j].Age}, {got[j].PFemale, want[j].PFemale}} {
					if math.IsNaN(v[1]) != math.IsNaN(v[0]) || math.Abs(v[0]-v[1]) > 1e-5*math.Max(1, math.Abs(v[1])) {
						t.Errorf("image %d: ensemble %+v, mean of the members %+v", j, got[j], want[j])
					}
				}
			}
			if _, _, err := Load(root, backend); err == nil || !strings.Contains(err.Error(), "ensemble") {
				t.Errorf("Load of an ensemble folder: %v", err)
			}
		})
	}
	t.Run("members that differ", func(t *testing.T) {
		root := t.TempDir()
		writeFolder(t, backend, filepath.Join(root, "a"), Spec{Task: TaskAge, Backbone: "cnn-xs", InputSize: size, AgeScale: 1}, 1)
		writeFolder(t, backend, filepath.Join(root, "b"), Spec{Task: TaskGender, Backbone: "cnn-xs", InputSize: size}, 2)
		if err := WriteCard(root, &Card{Spec: Spec{Task: TaskAge}, Members: []string{"a", "b"}}); err != nil {
			t.Fatal(err)
		}
		if sc, err := OpenFolder(root, backend, batch, false); err == nil {
			sc.Close()
			t.Error("an age and a gender model opened as an ensemble")
		}
	})
}

// TestOutputsReadsTheColumns: a network's output rows become ages and
// probabilities by its task, NaN for a task it does not predict.
func TestOutputsReadsTheColumns(t *testing.T) {
	raw := []float32{30, 0, 12.5, 2}
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	nan := math.NaN()
	for _, c := range []struct {
		task string
		want []Output
	}{
		{TaskAge, []Output{{30, nan}, {0, nan}, {12.5, nan}, {2, nan}}},
		{TaskGender, []Output{{nan, sig(30)}, {nan, sig(0)}, {nan, sig(12.5)}, {nan, sig(2)}}},
		{TaskBoth, []Output{{30, sig(0)}, {12.5, sig(2)}}},
	} {
		got := Outputs(Spec{Task: c.task}, raw, len(c.want))
		for i := range got {
			same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
			if !same(got[i].Age, c.want[i].Age) || !same(got[i].PFemale, c.want[i].PFemale) {
				t.Errorf("%s: row %d is %+v, want %+v", c.task, i, got[i], c.want[i])
			}
		}
	}
}
