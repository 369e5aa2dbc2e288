package training

import (
	"context"
	"fmt"
	"image/color"
	"strings"

	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/model"
)

// Comparison files written by Compare.
const (
	CompareTable = "comparison.md"
	ComparePNG   = "learning_curves.png"
)

// Candidate is one backbone's result in a comparison.
type Candidate struct {
	Backbone string
	Params   int
	Best     Epoch
	Test     float64 // test MAE for age, accuracy for gender
	SecPerEp float64
	Curve    []Epoch
}

// Compare trains each backbone with cfg (each into cfg.Out/<name>) and
// writes one chart of their validation curves and a table, as the notebook's
// backbone comparison did.
func Compare(ctx context.Context, cfg Config, backbones []string) ([]Candidate, error) {
	var cands []Candidate
	root := cfg.Out
	for _, b := range backbones {
		b = strings.TrimSpace(b)
		c := cfg
		c.Backbone = b
		c.Out = fsio.Join(root, backboneName(b))
		c.Resume = cfg.Resume && fsio.Exists(ctx, fsio.Join(c.Out, stateFile)) // a candidate not begun starts
		res, err := Train(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("candidate %s: %w", b, err)
		}
		cand := Candidate{Backbone: b, Params: res.Card.Params, Best: res.Curve[res.Card.BestEpoch-1], Curve: res.Curve}
		if m := res.Test.Overall; m.AgeMAE != nil {
			cand.Test = *m.AgeMAE
		} else if m.GenderAccuracy != nil {
			cand.Test = *m.GenderAccuracy
		}
		for _, e := range res.Curve {
			cand.SecPerEp += e.Seconds / float64(len(res.Curve))
		}
		cands = append(cands, cand)
	}
	return cands, writeComparison(ctx, root, cfg.Task, cands)
}

func writeComparison(ctx context.Context, dir, task string, cands []Candidate) error {
	palette := []color.Color{color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff},
		color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}}
	var series []Series
	metric, testName := "validation MAE (years)", "test MAE"
	pick := func(e Epoch) float64 { return e.ValMAE }
	if task == model.TaskGender {
		metric, testName = "validation accuracy", "test accuracy"
		pick = func(e Epoch) float64 { return e.ValAccuracy }
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| backbone | parameters | best epoch | best %s | %s | s/epoch |\n|---|---|---|---|---|---|\n", metric, testName)
	for i, c := range cands {
		series = append(series, Series{Name: c.Backbone, Color: palette[i%len(palette)], Y: column(c.Curve, pick)})
		fmt.Fprintf(&b, "| %s | %d | %d | %.4f | %.4f | %.0f |\n", c.Backbone, c.Params, c.Best.Epoch, pick(c.Best), c.Test, c.SecPerEp)
	}
	png, err := CurvesPNG("Backbone comparison: "+task, metric, series)
	if err != nil {
		return err
	}
	if err := fsio.WriteFile(ctx, fsio.Join(dir, ComparePNG), png); err != nil {
		return err
	}
	return fsio.WriteFile(ctx, fsio.Join(dir, CompareTable), []byte(b.String()))
}
