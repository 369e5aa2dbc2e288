package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Colours of the charts.
var (
	maleColor    = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	femaleColor  = color.RGBA{0xd6, 0x27, 0x28, 0xff}
	neutralColor = color.RGBA{0x55, 0x6b, 0x7d, 0xff}
	splitColors  = []color.Color{color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff}}
)

func genderColor(g int) color.Color {
	if g == 1 {
		return femaleColor
	}
	return maleColor
}

// svg renders a plot as an inline SVG element (no XML prolog or doctype).
func svg(p *plot.Plot, w, h vg.Length) (string, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	return s, nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Title.TextStyle.Font.Size = vg.Points(13)
	return p
}

// barChart is a bar per label.
func barChart(title, y string, labels []string, values []float64, colors []color.Color) (*plot.Plot, error) {
	p := newPlot(title, "", y)
	for i, v := range values {
		vals := make(plotter.Values, len(values))
		vals[i] = v
		b, err := plotter.NewBarChart(vals, vg.Points(28))
		if err != nil {
			return nil, err
		}
		b.LineStyle.Width = 0
		b.Color = colors[i%len(colors)]
		p.Add(b)
	}
	p.NominalX(labels...)
	p.Y.Min = 0
	return p, nil
}

// groupedBars draws, for each group label, one bar per series side by side.
func groupedBars(title, y string, groups []string, series []string, values [][]float64, colors []color.Color) (*plot.Plot, error) {
	p := newPlot(title, "", y)
	w := vg.Points(18)
	for i, name := range series {
		b, err := plotter.NewBarChart(plotter.Values(values[i]), w)
		if err != nil {
			return nil, err
		}
		b.LineStyle.Width = 0
		b.Color = colors[i%len(colors)]
		b.Offset = vg.Length(float64(i)-float64(len(series)-1)/2) * w
		p.Add(b)
		p.Legend.Add(name, b)
	}
	p.Legend.Top = true
	p.NominalX(groups...)
	p.Y.Min = 0
	return p, nil
}

// lines draws one line per series over x values.
func lines(title, x, y string, xs []float64, names []string, ys [][]float64, colors []color.Color) (*plot.Plot, error) {
	p := newPlot(title, x, y)
	for i, name := range names {
		pts := make(plotter.XYs, len(xs))
		for j := range xs {
			pts[j].X, pts[j].Y = xs[j], ys[i][j]
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.Color = colors[i%len(colors)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		if len(names) > 1 {
			p.Legend.Add(name, l)
		}
	}
	p.Legend.Top = true
	p.Y.Min = 0
	return p, nil
}

// histogram draws counts per integer value as adjoining bars.
func histogram(title, x, y string, counts []float64, c color.Color) (*plot.Plot, error) {
	p := newPlot(title, x, y)
	var bins []plotter.HistogramBin
	for v, n := range counts {
		bins = append(bins, plotter.HistogramBin{Min: float64(v) - 0.5, Max: float64(v) + 0.5, Weight: n})
	}
	h := &plotter.Histogram{Bins: bins, Width: 1, FillColor: c, LineStyle: draw.LineStyle{Width: 0}}
	p.Add(h)
	p.Y.Min = 0
	return p, nil
}

// donut is a plot.Plotter drawing a ring of wedges, one per value.
type donut struct {
	values []float64
	colors []color.Color
	labels []string
}

// Plot draws the ring centred in the data area.
func (d *donut) Plot(c draw.Canvas, _ *plot.Plot) {
	total := 0.0
	for _, v := range d.values {
		total += v
	}
	if total == 0 {
		return
	}
	// Leave the top of the area to the legend.
	cx := (c.Min.X + c.Max.X) / 2
	cy := c.Min.Y + (c.Max.Y-c.Min.Y)*0.44
	r := vg.Length(math.Min(float64(c.Max.X-c.Min.X), float64(c.Max.Y-c.Min.Y))) / 2 * 0.8
	inner := r * 0.55
	start := math.Pi / 2
	for i, v := range d.values {
		sweep := -2 * math.Pi * v / total
		var path vg.Path
		path.Move(vg.Point{X: cx + r*vg.Length(math.Cos(start)), Y: cy + r*vg.Length(math.Sin(start))})
		path.Arc(vg.Point{X: cx, Y: cy}, r, start, sweep)
		path.Line(vg.Point{X: cx + inner*vg.Length(math.Cos(start+sweep)), Y: cy + inner*vg.Length(math.Sin(start+sweep))})
		path.Arc(vg.Point{X: cx, Y: cy}, inner, start+sweep, -sweep)
		path.Close()
		c.SetColor(d.colors[i%len(d.colors)])
		c.Fill(path)
		start += sweep
	}
}

// swatch is a legend thumbnail: a filled square.
type swatch struct{ color color.Color }

// Thumbnail fills the legend entry's box.
func (s swatch) Thumbnail(c *draw.Canvas) {
	c.SetColor(s.color)
	c.Fill(c.Rectangle.Path())
}

// donutChart is a ring of wedges with a legend giving each share.
func donutChart(title string, labels []string, values []float64, colors []color.Color) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.HideAxes()
	total := 0.0
	for _, v := range values {
		total += v
	}
	for i, l := range labels {
		share := 0.0
		if total > 0 {
			share = 100 * values[i] / total
		}
		p.Legend.Add(fmt.Sprintf("%s %.0f (%.1f%%)", l, values[i], share), swatch{colors[i%len(colors)]})
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(&donut{values: values, colors: colors, labels: labels})
	return p
}

// violin is a plot.Plotter drawing mirrored density outlines of integer
// histograms at x = 0, 1, ...
type violin struct {
	counts [][]float64
	colors []color.Color
}

// density is a Gaussian kernel density estimate of a histogram of integer
// values, on the grid 0..len(counts)-1, with Silverman's bandwidth.
func density(counts []float64) []float64 {
	n, s, ss := 0.0, 0.0, 0.0
	for v, c := range counts {
		n += c
		s += c * float64(v)
	}
	if n == 0 {
		return make([]float64, len(counts))
	}
	mean := s / n
	for v, c := range counts {
		ss += c * (float64(v) - mean) * (float64(v) - mean)
	}
	bw := math.Max(1, 1.06*math.Sqrt(ss/n)*math.Pow(n, -0.2))
	out := make([]float64, len(counts))
	for x := range out {
		for v, c := range counts {
			if c == 0 {
				continue
			}
			z := (float64(x) - float64(v)) / bw
			if z > -5 && z < 5 {
				out[x] += c * math.Exp(-z*z/2)
			}
		}
	}
	return out
}

// Plot draws each violin, scaled to a half-width of 0.4 x units.
func (v *violin) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	for i, counts := range v.counts {
		d := density(counts)
		peak := 0.0
		for _, y := range d {
			peak = math.Max(peak, y)
		}
		if peak == 0 {
			continue
		}
		var path vg.Path
		for age, y := range d {
			pt := vg.Point{X: trX(float64(i) + 0.4*y/peak), Y: trY(float64(age))}
			if age == 0 {
				path.Move(pt)
			} else {
				path.Line(pt)
			}
		}
		for age := len(d) - 1; age >= 0; age-- {
			path.Line(vg.Point{X: trX(float64(i) - 0.4*d[age]/peak), Y: trY(float64(age))})
		}
		path.Close()
		c.SetColor(v.colors[i%len(v.colors)])
		c.Fill(path)
	}
}

// DataRange covers the violins.
func (v *violin) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.5, float64(len(v.counts)) - 0.5, 0, float64(len(v.counts[0]) - 1)
}
