package evaluate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"math"

	"github.com/parquet-go/parquet-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/facepipe/facepipe/internal/fsio"
)

// Files written by WriteFiles.
const (
	JSONFile      = "eval.json"
	ParquetFile   = "eval.parquet"
	ScatterFile   = "age_scatter.png"
	ConfusionFile = "gender_confusion.png"
)

// Row is one row of eval.parquet: the overall metrics (dimension "all") or a
// slice's. Metrics of a task that was not predicted are null.
type Row struct {
	Dimension      string   `parquet:"dimension"`
	Value          string   `parquet:"value"`
	Count          int64    `parquet:"count"`
	AgeMAE         *float64 `parquet:"age_mae"`
	AgeRMSE        *float64 `parquet:"age_rmse"`
	AgeBias        *float64 `parquet:"age_bias"`
	GenderAccuracy *float64 `parquet:"gender_accuracy"`
	GenderAUC      *float64 `parquet:"gender_auc"`
}

// Rows flattens a report into table rows, overall first.
func (r Report) Rows() []Row {
	row := func(dim, val string, m Metrics) Row {
		return Row{Dimension: dim, Value: val, Count: int64(m.Count), AgeMAE: m.AgeMAE, AgeRMSE: m.AgeRMSE,
			AgeBias: m.AgeBias, GenderAccuracy: m.GenderAccuracy, GenderAUC: m.GenderAUC}
	}
	rows := []Row{row("all", "all", r.Overall)}
	for _, s := range r.Slices {
		rows = append(rows, row(s.Dimension, s.Value, s.Metrics))
	}
	return rows
}

// WriteFiles writes, under dir (local or gs://), eval.json with the report
// and extra fields, eval.parquet, and the plots of the tasks predicted: the
// predicted-vs-true age scatter and the gender confusion matrix.
func WriteFiles(ctx context.Context, dir string, r Report, preds []Prediction, extra map[string]any) error {
	return WriteFilesNamed(ctx, dir, JSONFile, ParquetFile, r, preds, extra)
}

// WriteFilesNamed is WriteFiles with other names for the JSON and Parquet
// files (scoring writes metrics.json and metrics.parquet).
func WriteFilesNamed(ctx context.Context, dir, jsonName, parquetName string, r Report, preds []Prediction, extra map[string]any) error {
	doc := map[string]any{"overall": r.Overall, "slices": r.Slices}
	for k, v := range extra {
		doc[k] = v
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := fsio.WriteFile(ctx, fsio.Join(dir, jsonName), append(js, '\n')); err != nil {
		return err
	}
	var pq bytes.Buffer
	pw := parquet.NewGenericWriter[Row](&pq, parquet.Compression(&parquet.Zstd))
	if _, err := pw.Write(r.Rows()); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return err
	}
	if err := fsio.WriteFile(ctx, fsio.Join(dir, parquetName), pq.Bytes()); err != nil {
		return err
	}
	if r.Overall.AgeMAE != nil {
		png, err := AgeScatterPNG(preds)
		if err != nil {
			return err
		}
		if err := fsio.WriteFile(ctx, fsio.Join(dir, ScatterFile), png); err != nil {
			return err
		}
	}
	if r.Overall.GenderAccuracy != nil {
		png, err := ConfusionPNG(preds)
		if err != nil {
			return err
		}
		if err := fsio.WriteFile(ctx, fsio.Join(dir, ConfusionFile), png); err != nil {
			return err
		}
	}
	return nil
}

func pngOf(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// AgeScatterPNG plots predicted against true age, with the diagonal.
func AgeScatterPNG(preds []Prediction) ([]byte, error) {
	p := plot.New()
	p.Title.Text = "Predicted vs true age"
	p.X.Label.Text = "true age"
	p.Y.Label.Text = "predicted age"
	var pts plotter.XYs
	top := 10.0
	for _, pr := range preds {
		if math.IsNaN(pr.PredAge) {
			continue
		}
		pts = append(pts, plotter.XY{X: float64(pr.Age), Y: pr.PredAge})
		top = math.Max(top, math.Max(float64(pr.Age), pr.PredAge))
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, err
	}
	s.GlyphStyle = draw.GlyphStyle{Color: color.NRGBA{0x1f, 0x77, 0xb4, 0x60}, Radius: vg.Points(1.5), Shape: draw.CircleGlyph{}}
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: top, Y: top}})
	if err != nil {
		return nil, err
	}
	diag.Color = color.RGBA{0xd6, 0x27, 0x28, 0xff}
	diag.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(s, diag, plotter.NewGrid())
	p.X.Min, p.Y.Min, p.X.Max, p.Y.Max = 0, 0, top, top
	return pngOf(p, 14*vg.Centimeter, 14*vg.Centimeter)
}

// ConfusionPNG draws the 2×2 gender confusion matrix at threshold 0.5, with
// counts and row percentages.
func ConfusionPNG(preds []Prediction) ([]byte, error) {
	var m [2][2]int // [true][predicted]
	for _, pr := range preds {
		if math.IsNaN(pr.PFemale) {
			continue
		}
		pred := 0
		if pr.PFemale >= 0.5 {
			pred = 1
		}
		m[pr.Gender][pred]++
	}
	p := plot.New()
	p.Title.Text = "Gender confusion matrix"
	p.X.Label.Text = "predicted"
	p.Y.Label.Text = "true"
	p.Add(&confusion{m: m})
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -0.5, 1.5, -0.5, 1.5
	p.NominalX("male", "female")
	p.NominalY("female", "male")
	return pngOf(p, 12*vg.Centimeter, 11*vg.Centimeter)
}

// confusion draws the matrix cells, shaded by row share.
type confusion struct{ m [2][2]int }

func (c *confusion) Plot(cv draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&cv)
	for t := 0; t < 2; t++ {
		for pr := 0; pr < 2; pr++ {
			share := cellShare(c.m[t], pr)
			y := float64(1 - t) // male on top
			x := float64(pr)
			rect := vg.Rectangle{Min: vg.Point{X: trX(x - 0.5), Y: trY(y - 0.5)}, Max: vg.Point{X: trX(x + 0.5), Y: trY(y + 0.5)}}
			shade := cellShade(share)
			cv.SetColor(color.RGBA{shade, shade, 255, 255})
			cv.Fill(rect.Path())
			sty := draw.TextStyle{Color: color.Black, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler, XAlign: draw.XCenter, YAlign: draw.YCenter}
			sty.Font.Size = vg.Points(14)
			cv.FillText(sty, vg.Point{X: trX(x), Y: trY(y)}, cellLabel(c.m[t][pr], share))
		}
	}
}

// cellShare is cell pr's share of its row of the confusion matrix, 0 for
// an empty row.
func cellShare(row [2]int, pr int) float64 {
	n := row[0] + row[1]
	if n == 0 {
		return 0
	}
	return float64(row[pr]) / float64(n)
}

// cellShade is the red and green level of a cell's blue fill: white for a
// share of 0, darker as the share grows (75 at 1).
func cellShade(share float64) uint8 { return uint8(255 - 180*share) }

// cellLabel is a cell's text: its count, and its share of the row as a
// percentage.
func cellLabel(n int, share float64) string { return fmt.Sprintf("%d\n%.1f%%", n, 100*share) }
