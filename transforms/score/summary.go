package score

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"reflect"
	"slices"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/parquet-go/parquet-go"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/facepipe/facepipe/evaluate"
	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/internal/beamreg"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/labels"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/transforms/rejects"
)

// Files of a scoring output.
const (
	SummaryFile      = "summary.json"
	MetricsFile      = "metrics.json"
	MetricsTable     = "metrics.parquet"
	ContactSheetFile = "contact_sheet.png"
)

// Summary is summary.json: a scoring run's counts and files, written
// last.
type Summary struct {
	Inputs          int                   `json:"inputs"`
	Scored          int                   `json:"scored"`        // images with at least one face scored
	Faces           int                   `json:"faces"`         // prediction rows: faces scored
	DetectorRuns    int64                 `json:"detector_runs"` // passes of the face detector's network (0 with --faces=whole)
	Rejected        int                   `json:"rejected"`
	RejectsByReason []schemas.ReasonCount `json:"rejects_by_reason"`
	Models          []string              `json:"models"`
	Predictions     []schemas.FileEntry   `json:"predictions"`
	Rejects         schemas.FileEntry     `json:"rejects"`
	Labels          bool                  `json:"labels"` // metrics.json was written
	Metrics         *evaluate.Metrics     `json:"metrics,omitempty"`
	// TrainingOverlap counts the scored images that a model was trained
	// on; nil when no model records its training images.
	TrainingOverlap *Overlap `json:"training_overlap,omitempty"`
}

// Fact is one input of the summary writer; Kind says which field is set.
type Fact struct {
	Kind    string // "inputs", "part", "scored" or "rejects"
	Inputs  int
	Part    PartResult
	Rejects rejects.Result
}

func init() {
	beam.RegisterType(reflect.TypeOf(Fact{}))
	register.Function1x2[int, int, Fact](inputsScoreFact)
	register.Function1x2[PartResult, int, Fact](partScoreFact)
	register.Function1x2[rejects.Result, int, Fact](rejectsScoreFact)
	register.Iter1[Fact]()
	beamreg.DoFn(&writeSummaryFn{})
}

func inputsScoreFact(n int) (int, Fact)      { return 0, Fact{Kind: "inputs", Inputs: n} }
func partScoreFact(r PartResult) (int, Fact) { return 0, Fact{Kind: "part", Part: r} }
func rejectsScoreFact(r rejects.Result) (int, Fact) {
	return 0, Fact{Kind: "rejects", Rejects: r}
}

// WriteSummary writes, once everything else is written, metrics.json
// (when the inputs carry UTKFace labels, per cfg.Labels), the contact sheet
// and summary.json.
func WriteSummary(s beam.Scope, cfg Config, out Output, models []string) beam.PCollection {
	s = s.Scope("WriteSummary")
	facts := beam.Flatten(s,
		beam.ParDo(s, inputsScoreFact, out.Inputs),
		beam.ParDo(s, partScoreFact, out.Parts),
		beam.ParDo(s, rejectsScoreFact, out.Rejects))
	return beam.ParDo(s, &writeSummaryFn{Cfg: cfg, Models: models}, beam.GroupByKey(s, facts))
}

type writeSummaryFn struct {
	Cfg    Config
	Models []string
}

func (f *writeSummaryFn) ProcessElement(ctx context.Context, _ int, iter func(*Fact) bool, emit func(string)) error {
	sum := Summary{Models: f.Models, Predictions: []schemas.FileEntry{}}
	var fact Fact
	for iter(&fact) {
		switch fact.Kind {
		case "inputs":
			sum.Inputs += fact.Inputs
		case "part":
			sum.Predictions = append(sum.Predictions, fact.Part.Entry)
			sum.Scored += fact.Part.Images
			sum.Faces += fact.Part.Entry.Records
			sum.DetectorRuns += fact.Part.DetectorRuns
		case "rejects":
			sum.Rejects, sum.RejectsByReason, sum.Rejected = fact.Rejects.Entry, fact.Rejects.ByReason, fact.Rejects.Entry.Records
		}
	}
	if sum.Inputs != sum.Scored+sum.Rejected {
		return fmt.Errorf("counts don't reconcile: %d inputs, %d scored + %d rejected", sum.Inputs, sum.Scored, sum.Rejected)
	}
	sort.Slice(sum.Predictions, func(i, j int) bool { return sum.Predictions[i].File < sum.Predictions[j].File })

	// Metrics, when the names carry labels, and the contact sheet's images,
	// read back from the predictions files: per image, only what the metrics
	// need stays in memory, and nothing goes through a shuffle.
	var preds []evaluate.Prediction
	var paths []string // of preds, to order them by path
	sheet := newSheetSample(f.Cfg.ContactSheet)
	annotate := newPhotoSample(f.Cfg.Annotate)
	overlap := newOverlapCount(ctx, f.Cfg)
	for _, part := range sum.Predictions {
		err := readPredictions(ctx, fsio.Join(f.Cfg.Output, part.File), func(sc Scored) {
			annotate.add(sc)
			overlap.add(sc)
			// The metrics compare the label in the name with the image's
			// best face (the highest detection score).
			if sc.HasLabels && sc.Face == 0 {
				preds = append(preds, evaluate.Prediction{File: sc.File, Age: sc.Age, Gender: sc.Gender, Race: sc.Race, PredAge: sc.PredAge, PFemale: sc.PFemale})
				paths = append(paths, sc.Path)
			}
			sheet.add(sc)
		})
		if err != nil {
			return err
		}
	}
	sort.Sort(byPath{paths, preds})
	sum.TrainingOverlap = overlap.result()
	switch f.Cfg.Labels {
	case "on":
		if len(preds) == 0 {
			return fmt.Errorf("--labels=on but no input name carries UTKFace labels")
		}
		sum.Labels = true
	case "auto":
		sum.Labels = sum.Scored > 0 && float64(len(preds)) >= 0.9*float64(sum.Scored)
	}
	if sum.Labels {
		report := evaluate.Evaluate(preds)
		extra := map[string]any{"models": f.Models, "input": f.Cfg.Input, "labelled_images": len(preds), "scored_images": sum.Scored}
		if err := evaluate.WriteFilesNamed(ctx, f.Cfg.Output, MetricsFile, MetricsTable, report, preds, extra); err != nil {
			return err
		}
		sum.Metrics = &report.Overall
	}
	sheetPath := fsio.Join(f.Cfg.Output, ContactSheetFile)
	if items := sheet.pick(sum.Labels); len(items) > 0 {
		png, err := contactSheet(ctx, items, sheetLegend(len(items), sum.Faces, sum.Labels))
		if err != nil {
			return err
		}
		if err := fsio.WriteFile(ctx, sheetPath, png); err != nil {
			return err
		}
	} else if fsio.Exists(ctx, sheetPath) {
		// An earlier run's sheet would pass for this run's.
		if err := fsio.Remove(ctx, sheetPath); err != nil {
			return err
		}
	}
	if sum.RejectsByReason == nil {
		sum.RejectsByReason = []schemas.ReasonCount{} // [] in summary.json, not null
	}
	if err := writeAnnotated(ctx, f.Cfg.Output, annotate.groups(), f.Cfg.MaxPixels); err != nil {
		return err
	}
	data, err := json.MarshalIndent(&sum, "", "  ")
	if err != nil {
		return err
	}
	p := fsio.Join(f.Cfg.Output, SummaryFile)
	if err := fsio.WriteFile(ctx, p, append(data, '\n')); err != nil {
		return err
	}
	emit(p)
	return nil
}

// readPredictions streams the rows of a predictions file to fn.
func readPredictions(ctx context.Context, p string, fn func(Scored)) error {
	data, err := fsio.ReadFile(ctx, p)
	if err != nil {
		return err
	}
	r := parquet.NewGenericReader[schemas.Prediction](bytes.NewReader(data))
	defer r.Close()
	rows := make([]schemas.Prediction, 256)
	for {
		n, err := r.Read(rows)
		for i := range rows[:n] {
			fn(scoredOf(&rows[i]))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
	}
}

// scoredOf is the part of a prediction row the summary uses.
func scoredOf(r *schemas.Prediction) Scored {
	sc := Scored{Path: r.Path, File: r.Filename, PredAge: math.NaN(), PFemale: math.NaN()}
	if r.PredictedAge != nil {
		sc.PredAge = *r.PredictedAge
	}
	if r.PFemale != nil {
		sc.PFemale = *r.PFemale
	}
	if r.TrueAge != nil && r.TrueGender != nil && r.TrueRace != nil {
		sc.HasLabels, sc.Age, sc.Gender, sc.Race = true, int(*r.TrueAge), int(*r.TrueGender), int(*r.TrueRace)
	}
	sc.Face, sc.Aligned, sc.Keypoints, sc.SHA256 = int(r.Face), r.Aligned, slices.Clone(r.Keypoints), r.SHA256
	sc.Box = faces.Box{X: float64(r.BoxX), Y: float64(r.BoxY), W: float64(r.BoxWidth), H: float64(r.BoxHeight)}
	return sc
}

// byPath sorts predictions by their paths.
type byPath struct {
	paths []string
	preds []evaluate.Prediction
}

func (b byPath) Len() int           { return len(b.paths) }
func (b byPath) Less(i, j int) bool { return b.paths[i] < b.paths[j] }
func (b byPath) Swap(i, j int) {
	b.paths[i], b.paths[j] = b.paths[j], b.paths[i]
	b.preds[i], b.preds[j] = b.preds[j], b.preds[i]
}

// contactSheet draws the legend's lines, then a grid of the images with
// their predicted (and, when known, true) age and gender, 8 to a row.
func contactSheet(ctx context.Context, items []Scored, legend []string) ([]byte, error) {
	const cell, caption, cols, line = 128, 30, 8, 16
	rows := (len(items) + cols - 1) / cols
	top := len(legend)*line + 8
	sheet := image.NewRGBA(image.Rect(0, 0, cols*cell, top+rows*(cell+caption)))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	face := basicfont.Face7x13
	for i, l := range legend {
		d := font.Drawer{Dst: sheet, Src: image.NewUniform(color.Black), Face: face, Dot: fixed.P(4, (i+1)*line)}
		d.DrawString(l)
	}
	for i, it := range items {
		x0, y0 := (i%cols)*cell, top+(i/cols)*(cell+caption)
		if thumb, err := faceThumbnail(ctx, it, cell-4); err == nil {
			draw.Draw(sheet, image.Rect(x0+2, y0+2, x0+cell-2, y0+cell-2), thumb, image.Point{}, draw.Src)
		}
		pred := predictionLabel(it)
		label := func(text string, dy int, c color.Color) {
			d := font.Drawer{Dst: sheet, Src: image.NewUniform(c), Face: face,
				Dot: fixed.P(x0+4, y0+cell+dy)}
			d.DrawString(text)
		}
		label("pred "+pred, 12, color.RGBA{0x1f, 0x4e, 0x9d, 0xff})
		if it.HasLabels {
			label(fmt.Sprintf("true %d %s", it.Age, map[int]string{labels.Male: "M", labels.Female: "F"}[it.Gender]), 26, color.RGBA{0x33, 0x33, 0x33, 0xff})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, sheet); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ReadSummary reads a scoring output's summary.json.
func ReadSummary(ctx context.Context, out string) (*Summary, error) {
	data, err := fsio.ReadFile(ctx, fsio.Join(out, SummaryFile))
	if err != nil {
		return nil, fmt.Errorf("the pipeline finished without %s: %w", SummaryFile, err)
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
