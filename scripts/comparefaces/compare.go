package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/evaluate"
	"github.com/facepipe/facepipe/labels"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/scripts/faceapiout"
	"github.com/facepipe/facepipe/transforms/score"
)

// list writes the paths of the written images of split in an ingest output,
// sorted.
func list(w io.Writer, ingest, split string) error {
	parts, err := filepath.Glob(filepath.Join(ingest, "stats", "labels", "*.parquet"))
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("no labels table in %s (stats/labels/*.parquet)", ingest)
	}
	var paths []string
	for _, p := range parts {
		rows, err := parquet.ReadFile[schemas.LabelRow](p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		paths = append(paths, splitPaths(rows, split)...)
	}
	sort.Strings(paths)
	bw := bufio.NewWriter(w)
	for _, p := range paths {
		fmt.Fprintln(bw, p)
	}
	return bw.Flush()
}

// splitPaths returns the paths of the rows written to split.
func splitPaths(rows []schemas.LabelRow, split string) []string {
	var out []string
	for _, r := range rows {
		if r.Split != nil && *r.Split == split && r.Status == "written" {
			out = append(out, r.Path)
		}
	}
	return out
}

// Pred is one side's prediction for an image; a task the side did not
// predict is NaN.
type Pred struct {
	Age     float64
	PFemale float64
}

// readOurs reads the predictions of a pipelines/score output, by file name,
// and the run's summary.
func readOurs(dir string) (map[string]Pred, score.Summary, error) {
	var sum score.Summary
	data, err := os.ReadFile(filepath.Join(dir, score.SummaryFile))
	if err != nil {
		return nil, sum, err
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		return nil, sum, fmt.Errorf("%s: %w", score.SummaryFile, err)
	}
	parts, err := filepath.Glob(filepath.Join(dir, score.PredictionsDir, "*.parquet"))
	if err != nil {
		return nil, sum, err
	}
	out := map[string]Pred{}
	for _, p := range parts {
		rows, err := parquet.ReadFile[schemas.Prediction](p)
		if err != nil {
			return nil, sum, fmt.Errorf("reading %s: %w", p, err)
		}
		if err := addOurs(out, rows); err != nil {
			return nil, sum, err
		}
	}
	return out, sum, nil
}

// addOurs adds prediction rows to preds by file name.
func addOurs(preds map[string]Pred, rows []schemas.Prediction) error {
	for _, r := range rows {
		if _, dup := preds[r.Filename]; dup {
			return fmt.Errorf("two of our predictions for %s", r.Filename)
		}
		p := Pred{Age: math.NaN(), PFemale: math.NaN()}
		if r.PredictedAge != nil {
			p.Age = *r.PredictedAge
		}
		if r.PFemale != nil {
			p.PFemale = *r.PFemale
		}
		preds[r.Filename] = p
	}
	return nil
}

// readTheirs reads face-api's predictions (agegender.js's output folder) by
// file name, and its run summary.
func readTheirs(dir string) (map[string]Pred, faceapiout.Summary, error) {
	run, err := faceapiout.ReadSummary(dir)
	if err != nil {
		return nil, run, err
	}
	out := map[string]Pred{}
	if err := faceapiout.ReadParts(dir, addTheir(out)); err != nil {
		return nil, run, err
	}
	return out, run, nil
}

// addTheirs adds face-api's JSONL predictions to preds by file name. Lines
// of images it failed on are skipped.
func addTheirs(preds map[string]Pred, r io.Reader) error {
	return faceapiout.ReadLines(r, addTheir(preds))
}

// addTheir returns a function that adds one line of face-api's predictions
// to preds; it skips the line of an image face-api failed on.
func addTheir(preds map[string]Pred) func(int, faceapiout.Line) error {
	return func(n int, l faceapiout.Line) error {
		if l.Error != nil {
			return nil
		}
		if l.Age == nil || l.GenderProbability == nil {
			return fmt.Errorf("line %d (%s): no age or gender_probability", n, l.File)
		}
		age, pf, err := l.Prediction()
		if err != nil {
			return fmt.Errorf("line %d (%s): %w", n, l.File, err)
		}
		if _, dup := preds[l.File]; dup {
			return fmt.Errorf("line %d: a second prediction for %s", n, l.File)
		}
		preds[l.File] = Pred{Age: age, PFemale: pf}
		return nil
	}
}

// Joined is the images both sides predicted, with the true labels from
// their names, in the same order on both sides.
type Joined struct {
	Ours, Theirs []evaluate.Prediction
	OnlyOurs     int // predicted by us only (face-api failed or was not given them)
	OnlyTheirs   int
	Unlabelled   int // predicted by both, but the name carries no labels
}

// join pairs the predictions of both sides by file name.
func join(ours, theirs map[string]Pred) (Joined, error) {
	var j Joined
	files := make([]string, 0, len(ours))
	for f := range ours {
		if _, ok := theirs[f]; ok {
			files = append(files, f)
		} else {
			j.OnlyOurs++
		}
	}
	j.OnlyTheirs = len(theirs) - len(files)
	sort.Strings(files)
	for _, f := range files {
		l, err := labels.ParseName(f)
		if err != nil {
			j.Unlabelled++
			continue
		}
		truth := evaluate.Prediction{File: f, Age: l.Age, Gender: l.Gender, Race: l.Race}
		o, t := truth, truth
		o.PredAge, o.PFemale = ours[f].Age, ours[f].PFemale
		t.PredAge, t.PFemale = theirs[f].Age, theirs[f].PFemale
		j.Ours = append(j.Ours, o)
		j.Theirs = append(j.Theirs, t)
	}
	if len(j.Ours) == 0 {
		return j, errors.New("no labelled image was predicted by both")
	}
	return j, nil
}

// Rate is a run's throughput.
type Rate struct {
	Images  int // inputs
	Failed  int // inputs not predicted (rejected or failed)
	Seconds float64
}

// PerSecond is the images per second, NaN without a time.
func (r Rate) PerSecond() float64 {
	if r.Seconds <= 0 {
		return math.NaN()
	}
	return float64(r.Images) / r.Seconds
}

// Rates are both sides' throughputs.
type Rates struct{ Ours, Theirs Rate }

// writeTable prints the metrics of both sides, overall and by age band, and
// their rates: age MAE in years, gender accuracy at p_female >= 0.5, and the
// AUC of p_female.
func writeTable(w io.Writer, j Joined, rates Rates) error {
	ours, theirs := evaluate.Evaluate(j.Ours), evaluate.Evaluate(j.Theirs)
	type row struct {
		name   string
		ou, th evaluate.Metrics
	}
	rows := []row{{"all", ours.Overall, theirs.Overall}}
	for _, band := range evaluate.AgeBands {
		o, ok1 := slice(ours, "age_band", band)
		t, ok2 := slice(theirs, "age_band", band)
		if ok1 && ok2 {
			rows = append(rows, row{band, o, t})
		}
	}
	fmt.Fprintf(w, "%d labelled images predicted by both. Inputs: ours %d (%d not predicted), face-api %d (%d not predicted);\n"+
		"predicted by ours only %d, by face-api only %d; predicted by both without labels in the name %d.\n\n",
		len(j.Ours), rates.Ours.Images, rates.Ours.Failed, rates.Theirs.Images, rates.Theirs.Failed,
		j.OnlyOurs, j.OnlyTheirs, j.Unlabelled)
	const format = "%-8s %6s  %9s %13s  %9s %13s  %9s %13s\n"
	fmt.Fprintf(w, format, "age band", "n", "MAE ours", "MAE face-api", "acc ours", "acc face-api", "AUC ours", "AUC face-api")
	for _, r := range rows {
		fmt.Fprintf(w, format, r.name, fmt.Sprint(r.ou.Count),
			num(r.ou.AgeMAE, "%.2f", 1), num(r.th.AgeMAE, "%.2f", 1),
			num(r.ou.GenderAccuracy, "%.1f%%", 100), num(r.th.GenderAccuracy, "%.1f%%", 100),
			num(r.ou.GenderAUC, "%.3f", 1), num(r.th.GenderAUC, "%.3f", 1))
	}
	o, t := rates.Ours.PerSecond(), rates.Theirs.PerSecond()
	fmt.Fprintf(w, "\nimages/s: ours %.1f (%d images in %.2f s), face-api %.1f (%d images in %.2f s); ours/face-api %.2fx\n",
		o, rates.Ours.Images, rates.Ours.Seconds, t, rates.Theirs.Images, rates.Theirs.Seconds, o/t)
	return nil
}

// slice returns the metrics of one slice of a report.
func slice(r evaluate.Report, dim, value string) (evaluate.Metrics, bool) {
	for _, s := range r.Slices {
		if s.Dimension == dim && s.Value == value {
			return s.Metrics, true
		}
	}
	return evaluate.Metrics{}, false
}

// num formats a metric scaled by scale, or "-" when it is undefined.
func num(v *float64, format string, scale float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v*scale)
}
