package score

import (
	"context"
	"fmt"
	"strings"

	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/model"
)

// Overlap is summary.json's training_overlap: how many of the scored
// images the models were trained on, by their content hashes against the
// model folders' model.TrainingSetFile. Metrics on such images flatter the
// models.
type Overlap struct {
	Images int      `json:"images"` // scored images among some model's training images
	Scored int      `json:"scored"` // images scored
	Models []string `json:"models"` // the models whose training images are known, as given
	Splits []string `json:"splits"` // the splits they were trained on, per model
}

// overlapCount counts, as the summary reads the predictions back, the
// scored images among the models' training images.
type overlapCount struct {
	sets   []*model.TrainingSet
	models []string
	seen   map[string]bool // paths scored
	in     int
}

// newOverlapCount reads the training sets of the run's models (--model and
// --face_model): a model folder's own, or those of a folder of age/ and
// gender/ ones; ONNX files and folders written before train recorded them
// have none. It is advisory: a set that can't be read is skipped.
func newOverlapCount(ctx context.Context, cfg Config) *overlapCount {
	o := &overlapCount{seen: map[string]bool{}}
	for _, m := range append(append([]string(nil), cfg.Models...), cfg.FaceModels...) {
		if m == "" || strings.HasSuffix(strings.ToLower(m), ".onnx") {
			continue
		}
		dir := m
		if m == BundledModel || m == BundledFaceModel {
			d, err := bundledDir(m)
			if err != nil {
				continue
			}
			dir = d
		}
		var set *model.TrainingSet
		for _, d := range []string{dir, fsio.Join(dir, model.TaskAge), fsio.Join(dir, model.TaskGender)} {
			s, err := model.ReadTrainingSet(ctx, d)
			if err != nil || s == nil {
				continue
			}
			if set == nil {
				set = s
			} else {
				set = set.Union(s)
			}
			if d == dir {
				break
			}
		}
		if set != nil {
			o.sets = append(o.sets, set)
			o.models = append(o.models, m)
		}
	}
	return o
}

func (o *overlapCount) add(sc Scored) {
	if len(o.sets) == 0 || o.seen[sc.Path] {
		return
	}
	o.seen[sc.Path] = true
	for _, s := range o.sets {
		if s.Contains(sc.SHA256) {
			o.in++
			return
		}
	}
}

// result is nil when no model records its training images.
func (o *overlapCount) result() *Overlap {
	if len(o.sets) == 0 {
		return nil
	}
	r := &Overlap{Images: o.in, Scored: len(o.seen), Models: o.models}
	for _, s := range o.sets {
		r.Splits = append(r.Splits, s.Splits)
	}
	return r
}

// Warning is the one line score prints when some scored images are among
// the models' training images, or "".
func (o *Overlap) Warning() string {
	if o == nil || o.Images == 0 {
		return ""
	}
	var of []string
	for i, m := range o.Models {
		of = append(of, m+" ("+o.Splits[i]+")")
	}
	return fmt.Sprintf("%d of %d images scored are among the training images of %s: metrics on them flatter the model",
		o.Images, o.Scored, strings.Join(of, ", "))
}
