// Package report renders the ingest report: one self-contained HTML file
// (charts as inline SVG drawn with gonum/plot, thumbnails as data URIs, no
// script and no network fetch) that shows a dataset's splits, gender, age and
// race balance, rejects and duplicates at a glance.
package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/facepipe/facepipe/labels"
	"github.com/facepipe/facepipe/labelstats"
	"github.com/facepipe/facepipe/schemas"
)

// Data is what the report shows.
type Data struct {
	Params         schemas.IngestParams
	Splits         []*labelstats.Accumulator // written records, one per split in order
	Rejected       *labelstats.Accumulator   // reasons of the inputs not written
	Groups         int                       // duplicate groups
	ConflictGroups int                       // of which the labels disagree
	DuplicateFiles int                       // files in duplicate groups
	Thumbnails     []Thumbnail
}

// Thumbnail is one sample image of the grid.
type Thumbnail struct {
	JPEG   []byte
	File   string
	Split  string
	Age    int
	Gender int
}

// ChartIDs lists the figure ids of the charts of a report, in order. The
// last two appear only when there are rejects and duplicate groups.
var ChartIDs = []string{"split-sizes", "gender-donut", "gender-bars", "age-histogram", "age-by-gender",
	"age-box", "age-violin", "race-bars", "rejects-bars", "duplicate-groups"}

// Chart is one figure of the report.
type Chart struct {
	ID      string
	Caption string
	SVG     template.HTML
}

// Row is a row of a table of the report.
type Row []string

type page struct {
	Title      string
	Params     schemas.IngestParams
	Summary    []Row
	Sections   []section
	Thumbnails []thumb
}

type section struct {
	Title  string
	Note   string
	Charts []Chart
	Header Row
	Rows   []Row
}

type thumb struct {
	Src     template.URL
	Caption string
	Title   string
}

// Render writes the report of d as one HTML file.
func Render(w io.Writer, d *Data) error {
	all := labelstats.New()
	for _, a := range d.Splits {
		all.Merge(a)
	}
	total := all.Records()
	rejected := int64(0)
	if d.Rejected != nil {
		for _, n := range d.Rejected.Reasons {
			rejected += n
		}
	}
	pg := page{
		Title:  "Ingest report",
		Params: d.Params,
		Summary: []Row{
			{"inputs", fmt.Sprint(total + rejected)},
			{"written", fmt.Sprint(total)},
			{"rejected (incl. duplicates dropped)", fmt.Sprint(rejected)},
			{"grayscale images written", fmt.Sprintf("%d (%.1f%%)", all.Grayscale, pct(all.Grayscale, total))},
			{"duplicate groups", fmt.Sprintf("%d (%d files; %d with conflicting labels)", d.Groups, d.DuplicateFiles, d.ConflictGroups)},
		},
	}
	var err error
	add := func(s section) { pg.Sections = append(pg.Sections, s) }
	chart := func(id, caption string, p *plot.Plot, w, h vg.Length) Chart {
		if err != nil {
			return Chart{}
		}
		var s string
		s, err = svg(p, w, h)
		return Chart{ID: id, Caption: caption, SVG: template.HTML(s)}
	}
	must := func(p *plot.Plot, e error) *plot.Plot {
		if e != nil && err == nil {
			err = e
		}
		return p
	}
	wide, narrow, tall := 16*vg.Centimeter, 11*vg.Centimeter, 8*vg.Centimeter

	// Splits.
	var names []string
	var sizes []float64
	sec := section{Title: "Splits", Header: Row{"split", "records", "share", "male", "female"}}
	for _, a := range d.Splits {
		n := a.Records()
		names = append(names, a.Split)
		sizes = append(sizes, float64(n))
		sec.Rows = append(sec.Rows, Row{a.Split, fmt.Sprint(n), fmt.Sprintf("%.1f%%", pct(n, total)),
			fmt.Sprint(sum(ageCounts(a, 0))), fmt.Sprint(sum(ageCounts(a, 1)))})
	}
	sec.Charts = []Chart{chart("split-sizes", "Records per split", must(barChart("Records per split", "records", names, sizes, splitColors)), barsWidth(len(names)), tall)}
	add(sec)

	// Gender.
	male, female := float64(sum(ageCounts(all, 0))), float64(sum(ageCounts(all, 1)))
	perSplit := [][]float64{{}, {}}
	for _, a := range d.Splits {
		perSplit[0] = append(perSplit[0], float64(sum(ageCounts(a, 0))))
		perSplit[1] = append(perSplit[1], float64(sum(ageCounts(a, 1))))
	}
	add(section{Title: "Gender", Charts: []Chart{
		chart("gender-donut", "Gender, all splits", donutChart("Gender, all splits", []string{"male", "female"}, []float64{male, female},
			[]color.Color{maleColor, femaleColor}), narrow, tall),
		chart("gender-bars", "Gender per split", must(groupedBars("Gender per split", "records", names, []string{"male", "female"}, perSplit,
			[]color.Color{maleColor, femaleColor})), narrow, tall),
	}})

	// Age.
	ages := make([]float64, labels.MaxAge+1)
	xs := make([]float64, labels.MaxAge+1)
	byGender := [][]float64{make([]float64, labels.MaxAge+1), make([]float64, labels.MaxAge+1)}
	for age := range ages {
		xs[age] = float64(age)
		for g := 0; g < 2; g++ {
			n := float64(all.AgeGender[g*(labels.MaxAge+1)+age])
			byGender[g][age] = n
			ages[age] += n
		}
	}
	ageSec := section{Title: "Age", Header: Row{"split", "gender", "count", "mean", "stddev", "min", "p25", "median", "p75", "max"}}
	ageSec.Note = fmt.Sprintf("Most common ages: %s.", topAges(ages, 3))
	box, boxErr := boxPlot(byGender)
	ageSec.Charts = []Chart{
		chart("age-histogram", "Age histogram, all splits", must(histogram("Age histogram, all splits", "age", "images", ages, neutralColor)), wide, tall),
		chart("age-by-gender", "Age histogram by gender", must(lines("Age histogram by gender", "age", "images", xs, []string{"male", "female"}, byGender,
			[]color.Color{maleColor, femaleColor})), wide, tall),
		chart("age-box", "Age by gender, box plot", must(box, boxErr), narrow, tall),
		chart("age-violin", "Age by gender, violin plot", violinPlot(byGender), narrow, tall),
	}
	for _, r := range labelstats.AgeSummaryRows(append(d.Splits, withSplit(all, "all"))) {
		ageSec.Rows = append(ageSec.Rows, Row{r.Split, r.Gender, fmt.Sprint(r.Count), f1(r.Mean), f1(r.Stddev),
			fmt.Sprint(r.Min), f1(r.P25), f1(r.Median), f1(r.P75), fmt.Sprint(r.Max)})
	}
	add(ageSec)

	// Race.
	raceSec := section{Title: "Race", Header: Row{"race", "images", "share"}}
	var raceNames []string
	var raceCounts []float64
	for _, r := range labelstats.RaceRows([]*labelstats.Accumulator{withSplit(all, "all")}) {
		raceNames = append(raceNames, r.Race)
		raceCounts = append(raceCounts, float64(r.Count))
		raceSec.Rows = append(raceSec.Rows, Row{r.Race, fmt.Sprint(r.Count), fmt.Sprintf("%.1f%%", 100*r.Fraction)})
	}
	raceSec.Charts = []Chart{chart("race-bars", "Race, all splits", must(barChart("Race, all splits", "images", raceNames, raceCounts, []color.Color{neutralColor})), barsWidth(len(raceNames)), tall)}
	add(raceSec)

	// Rejects.
	rejSec := section{Title: "Rejects", Header: Row{"reason", "files"}}
	var reasons []string
	var reasonCounts []float64
	if d.Rejected != nil {
		for i, n := range d.Rejected.Reasons {
			if n > 0 {
				reasons = append(reasons, schemas.Reasons[i])
				reasonCounts = append(reasonCounts, float64(n))
				rejSec.Rows = append(rejSec.Rows, Row{schemas.Reasons[i], fmt.Sprint(n)})
			}
		}
	}
	if len(reasons) > 0 {
		rejSec.Charts = []Chart{chart("rejects-bars", "Rejects by reason", must(barChart("Rejects by reason", "files", reasons, reasonCounts, []color.Color{neutralColor})), barsWidth(2*len(reasons)), tall)}
	} else {
		rejSec.Note = "No input was rejected."
	}
	add(rejSec)

	// Duplicates.
	dupSec := section{Title: "Duplicate groups", Header: Row{"", "groups"},
		Note: "Byte-identical files under different names. When their labels agree one copy is kept; when they conflict the whole group is dropped.",
		Rows: []Row{{"labels agree", fmt.Sprint(d.Groups - d.ConflictGroups)}, {"labels conflict", fmt.Sprint(d.ConflictGroups)}, {"files in groups", fmt.Sprint(d.DuplicateFiles)}}}
	if d.Groups > 0 {
		dupSec.Charts = []Chart{chart("duplicate-groups", "Duplicate groups", must(barChart("Duplicate groups", "groups", []string{"labels agree", "labels conflict"},
			[]float64{float64(d.Groups - d.ConflictGroups), float64(d.ConflictGroups)}, []color.Color{splitColors[0], femaleColor})), barsWidth(2), tall)}
	}
	add(dupSec)
	if err != nil {
		return err
	}

	for _, t := range d.Thumbnails {
		pg.Thumbnails = append(pg.Thumbnails, thumb{
			Src:     template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(t.JPEG)),
			Caption: fmt.Sprintf("%d, %s", t.Age, labels.GenderName(t.Gender)),
			Title:   t.File + " (" + t.Split + ")",
		})
	}
	return pageTemplate.Execute(w, &pg)
}

// barsWidth sizes a bar chart for n bars.
func barsWidth(n int) vg.Length {
	return vg.Length(math.Min(26, 4+1.8*float64(n))) * vg.Centimeter
}

func pct(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

func sum(c []int64) int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

func ageCounts(a *labelstats.Accumulator, gender int) []int64 {
	return a.AgeGender[gender*(labels.MaxAge+1) : (gender+1)*(labels.MaxAge+1)]
}

func withSplit(a *labelstats.Accumulator, name string) *labelstats.Accumulator {
	c := *a
	c.Split = name
	return &c
}

// topAges names the n most common ages with their counts.
func topAges(counts []float64, n int) string {
	s := ""
	used := map[int]bool{}
	for k := 0; k < n; k++ {
		best := -1
		for age, c := range counts {
			if !used[age] && c > 0 && (best < 0 || c > counts[best]) {
				best = age
			}
		}
		if best < 0 {
			break
		}
		used[best] = true
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%d (%.0f images)", best, counts[best])
	}
	if s == "" {
		return "none"
	}
	return s
}

// boxPlot draws one box per gender from its age histogram.
func boxPlot(byGender [][]float64) (*plot.Plot, error) {
	p := newPlot("Age by gender", "", "age")
	for g, counts := range byGender {
		var values plotter.Values
		for age, c := range counts {
			for i := 0; i < int(c); i++ {
				values = append(values, float64(age))
			}
		}
		if len(values) == 0 {
			continue
		}
		b, err := plotter.NewBoxPlot(vg.Points(40), float64(g), values)
		if err != nil {
			return nil, err
		}
		b.FillColor = genderColor(g)
		p.Add(b)
	}
	p.NominalX("male", "female")
	return p, nil
}

func violinPlot(byGender [][]float64) *plot.Plot {
	p := newPlot("Age by gender", "", "age")
	p.Add(&violin{counts: byGender, colors: []color.Color{maleColor, femaleColor}})
	p.NominalX("male", "female")
	return p
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em; }
.params { color: #555; font-size: 0.9em; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; }
figcaption { font-size: 0.85em; color: #555; text-align: center; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
.grid { display: grid; grid-template-columns: repeat(8, 1fr); gap: 6px; }
.grid figure { text-align: center; }
.grid img { width: 100%; border-radius: 3px; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="params">input {{.Params.Input}} · output {{.Params.Output}} · {{.Params.ImageSize}}×{{.Params.ImageSize}} {{.Params.Encoding}} · split {{.Params.Split}} · seed {{.Params.Seed}}</p>
<table>{{range .Summary}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>
{{range .Sections}}
<section>
<h2>{{.Title}}</h2>
{{if .Note}}<p>{{.Note}}</p>{{end}}
<div class="charts">{{range .Charts}}<figure id="{{.ID}}">{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>{{end}}</div>
{{if .Rows}}<table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{end}}
</section>
{{end}}
<section>
<h2>Samples</h2>
<p>{{len .Thumbnails}} written images, chosen by content hash, with their age and gender.</p>
<div class="grid" id="samples">{{range .Thumbnails}}<figure><img src="{{.Src}}" alt="{{.Caption}}" title="{{.Title}}"><figcaption>{{.Caption}}</figcaption></figure>{{end}}</div>
</section>
</body>
</html>
`))
