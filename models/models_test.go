package models_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"math"
	"path/filepath"
	"testing"

	"github.com/gomlx/compute"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/models"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/transforms/score"
)

// TestDefaultModels: the bundled models, for crops and for faces found in
// photos, load and score a generated face to a finite age and a probability
// in [0,1], and between them cover both tasks (two single-task folders, or
// one network or ensemble for both).
func TestDefaultModels(t *testing.T) {
	score.DefaultModels, score.DefaultFaceModels = models.Default, models.Faces
	b, _, err := model.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{score.BundledModel, score.BundledFaceModel} {
		t.Run(name, func(t *testing.T) { checkBundled(t, b, name) })
	}
	crops, _ := models.Default()
	found, _ := models.Faces()
	if crops == found || filepath.Dir(crops) != filepath.Dir(found) {
		t.Errorf("bundled models extracted to %s and %s: want two folders of one bundle", crops, found)
	}
}

func checkBundled(t *testing.T, b compute.Backend, name string) {
	scorers, err := score.OpenScorers(context.Background(), score.Config{Models: []string{name}, Batch: 1}, b)
	if err != nil {
		t.Fatal(err)
	}
	tasks := map[string]bool{}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, fixtures.Image(35, 1, 2, 200, 1), nil); err != nil {
		t.Fatal(err)
	}
	for _, sc := range scorers {
		defer sc.Close()
		stored, size := sc.Input()
		in, _, err := preprocess.ModelInput(buf.Bytes(), stored, size, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sc.Predict(in)
		if err != nil {
			t.Fatal(err)
		}
		v := out[0]
		task := sc.Task()
		age := task == model.TaskAge || task == model.TaskBoth
		gender := task == model.TaskGender || task == model.TaskBoth
		if age != !math.IsNaN(v.Age) || age && (math.IsInf(v.Age, 0) || v.Age < -50 || v.Age > 200) {
			t.Errorf("%s model: age %v", task, v.Age)
		}
		if gender != !math.IsNaN(v.PFemale) || gender && !(v.PFemale >= 0 && v.PFemale <= 1) {
			t.Errorf("%s model: p_female %v", task, v.PFemale)
		}
		tasks[model.TaskAge] = tasks[model.TaskAge] || age
		tasks[model.TaskGender] = tasks[model.TaskGender] || gender
		t.Logf("%s (%s): %+v", task, sc.ID(), v)
	}
	if !tasks[model.TaskAge] || !tasks[model.TaskGender] {
		t.Errorf("default models cover %v, want age and gender", tasks)
	}
}

// trainingBound is issue 26's bound on retraining a bundled model: 2 hours
// on 2 CPU cores.
const trainingBound = 2 * 60 * 60

// TestBundledTrainingTime: each bundled model's networks, summed over an
// ensemble's members (trained one after the other), took at most the
// training bound, by their own model.json files.
func TestBundledTrainingTime(t *testing.T) {
	for name, open := range map[string]func() (string, error){"default": models.Default, "faces": models.Faces} {
		dir, err := open()
		if err != nil {
			t.Fatal(err)
		}
		card, err := model.ReadCard(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(card.Members) == 0 {
			t.Fatalf("%s: no members; the bundle is an ensemble", name)
		}
		var total float64
		for _, m := range card.Members {
			mc, err := model.ReadCard(filepath.Join(dir, m))
			if err != nil {
				t.Fatal(err)
			}
			if mc.TrainSeconds <= 0 {
				t.Errorf("%s/%s: train_seconds %v", name, m, mc.TrainSeconds)
			}
			total += mc.TrainSeconds
		}
		t.Logf("%s: %d members, %.0f min of training", name, len(card.Members), total/60)
		if total > trainingBound {
			t.Errorf("%s: its %d members took %.0f min to train, over the bound of %d min", name, len(card.Members), total/60, trainingBound/60)
		}
	}
}
