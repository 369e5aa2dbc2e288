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
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/facepipe/facepipe/model"
)

// Learning curve files of a model folder.
const (
	CurveCSV = "learning_curve.csv"
	CurvePNG = "learning_curve.png"
)

// WriteCurve writes learning_curve.csv and learning_curve.png into dir. The
// chart plots the train and valid losses of an age (l1 head) or gender
// network; for the others, whose train loss and validation figures differ in
// kind (a DLDL head's KL divergence, or two tasks), it stacks panels: the
// train loss, then the validation MAE and the validation accuracy and AUC of
// the tasks the network predicts. A refit's chart has only the train loss.
func WriteCurve(dir string, spec model.Spec, refit bool, curve []Epoch) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"epoch", "train_loss", "val_loss", "val_mae", "val_accuracy", "val_auc", "lr", "seconds", "images_per_second", "val_score"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, e := range curve {
		w.Write([]string{strconv.Itoa(e.Epoch), f(e.TrainLoss), f(e.ValLoss), f(e.ValMAE), f(e.ValAccuracy), f(e.ValAUC), f(e.LR), f(e.Seconds), f(e.ImagesPerS), f(e.ValScore)})
	}
	w.Flush()
	if err := os.WriteFile(filepath.Join(dir, CurveCSV), b.Bytes(), 0o644); err != nil {
		return err
	}
	blue, red, green := color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff}
	train := Series{Name: "train", Color: blue, Y: column(curve, func(e Epoch) float64 { return e.TrainLoss })}
	title := "Learning curve: " + describeTask(spec)
	var png []byte
	var err error
	if (spec.Task == model.TaskGender || spec.Task == model.TaskAge && !spec.DLDL()) && !refit {
		metric := "MAE (years)"
		if spec.Task == model.TaskGender {
			metric = "binary cross-entropy"
		}
		png, err = CurvesPNG(title, "loss, "+metric, []Series{train,
			{Name: "valid", Color: red, Y: column(curve, func(e Epoch) float64 { return e.ValLoss })}})
	} else {
		panels := []Panel{{YLabel: "train loss", Series: []Series{train}}}
		if spec.HasAge() && !refit {
			panels = append(panels, Panel{YLabel: "validation MAE (years)", Series: []Series{
				{Name: "valid MAE", Color: red, Y: column(curve, func(e Epoch) float64 { return e.ValMAE })}}})
		}
		if spec.HasGender() && !refit {
			panels = append(panels, Panel{YLabel: "validation accuracy, AUC", Series: []Series{
				{Name: "valid accuracy", Color: red, Y: column(curve, func(e Epoch) float64 { return e.ValAccuracy })},
				{Name: "valid AUC", Color: green, Y: column(curve, func(e Epoch) float64 { return e.ValAUC })}}})
		}
		png, err = PanelsPNG(title, panels)
	}
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
	p, err := curvesPlot(title, ylabel, series)
	if err != nil {
		return nil, err
	}
	wt, err := p.WriterTo(16*vg.Centimeter, 10*vg.Centimeter, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_, err = wt.WriteTo(&b)
	return b.Bytes(), err
}

// Panel is one chart of PanelsPNG: series against epochs.
type Panel struct {
	YLabel string
	Series []Series
}

// PanelsPNG draws panels one above the other, sharing the epoch axis, with
// the title over the first.
func PanelsPNG(title string, panels []Panel) ([]byte, error) {
	plots := make([][]*plot.Plot, len(panels))
	for i, pn := range panels {
		t := ""
		if i == 0 {
			t = title
		}
		p, err := curvesPlot(t, pn.YLabel, pn.Series)
		if err != nil {
			return nil, err
		}
		plots[i] = []*plot.Plot{p}
	}
	img := vgimg.New(16*vg.Centimeter, vg.Length(4+6*len(panels))*vg.Centimeter)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadY: vg.Centimeter / 2, PadTop: vg.Centimeter / 4, PadBottom: vg.Centimeter / 4}
	for i, row := range plot.Align(plots, tiles, dc) {
		plots[i][0].Draw(row[0])
	}
	var b bytes.Buffer
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(&b)
	return b.Bytes(), err
}

// curvesPlot is the plot of series against epochs.
func curvesPlot(title, ylabel string, series []Series) (*plot.Plot, error) {
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
	return p, nil
}
