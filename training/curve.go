package training

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/facepipe/facepipe/model"
)

// Learning curve files of a model folder.
const (
	CurveCSV = "learning_curve.csv"
	CurvePNG = "learning_curve.png"
)

// WriteCurve writes learning_curve.csv and learning_curve.png into dir.
func WriteCurve(dir, task string, curve []Epoch) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"epoch", "train_loss", "val_loss", "val_mae", "val_accuracy", "val_auc", "lr", "seconds", "images_per_second"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, e := range curve {
		w.Write([]string{strconv.Itoa(e.Epoch), f(e.TrainLoss), f(e.ValLoss), f(e.ValMAE), f(e.ValAccuracy), f(e.ValAUC), f(e.LR), f(e.Seconds), f(e.ImagesPerS)})
	}
	w.Flush()
	if err := os.WriteFile(filepath.Join(dir, CurveCSV), b.Bytes(), 0o644); err != nil {
		return err
	}
	metric := "MAE (years)"
	if task == model.TaskGender {
		metric = "binary cross-entropy"
	}
	png, err := CurvesPNG("Learning curve: "+task, "loss, "+metric, []Series{
		{Name: "train", Color: color.RGBA{0x1f, 0x77, 0xb4, 0xff}, Y: column(curve, func(e Epoch) float64 { return e.TrainLoss })},
		{Name: "valid", Color: color.RGBA{0xd6, 0x27, 0x28, 0xff}, Y: column(curve, func(e Epoch) float64 { return e.ValLoss })},
	})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, CurvePNG), png, 0o644)
}

func column(curve []Epoch, f func(Epoch) float64) []float64 {
	out := make([]float64, len(curve))
	for i, e := range curve {
		out[i] = f(e)
	}
	return out
}

// Series is one line of a learning-curve chart, by epoch from 1.
type Series struct {
	Name  string
	Color color.Color
	Y     []float64
}

// CurvesPNG draws series against epochs.
func CurvesPNG(title, ylabel string, series []Series) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = ylabel
	for _, s := range series {
		pts := make(plotter.XYs, len(s.Y))
		for i, y := range s.Y {
			pts[i] = plotter.XY{X: float64(i + 1), Y: y}
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, fmt.Errorf("curve %s: %w", s.Name, err)
		}
		l.Color, sc.Color = s.Color, s.Color
		p.Add(l, sc)
		p.Legend.Add(s.Name, l, sc)
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	wt, err := p.WriterTo(16*vg.Centimeter, 10*vg.Centimeter, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_, err = wt.WriteTo(&b)
	return b.Bytes(), err
}
