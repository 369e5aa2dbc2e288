package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/evaluate"
	"github.com/facepipe/facepipe/scripts/faceapiout"
)

// TruthFace is one row of genscenes' truth.csv.
type TruthFace struct {
	Scene      string // scene file name
	Face       int    // index in the scene
	Source     string // source crop name
	SourcePath string
	Age        int
	Gender     int
	Race       int
	CX, CY     float64 // centre of the pasted crop, scene pixels
	Size       float64 // width of the pasted crop, scene pixels: the face size
}

// Truth is a scene set's truth: its faces and scene names.
type Truth struct {
	Faces  []TruthFace
	Scenes []string // sorted, distinct
}

// readTruth reads truth.csv by its header's column names.
func readTruth(r io.Reader) (Truth, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return Truth{}, err
	}
	if len(recs) < 2 {
		return Truth{}, errors.New("truth has no faces")
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range []string{"scene", "face", "source", "source_path", "age", "gender", "race", "cx", "cy", "size"} {
		if _, ok := col[h]; !ok {
			return Truth{}, fmt.Errorf("truth has no %s column", h)
		}
	}
	var t Truth
	seen := map[string]bool{}
	for n, rec := range recs[1:] {
		var f TruthFace
		var errs []error
		atoi := func(h string) int {
			v, err := strconv.Atoi(rec[col[h]])
			errs = append(errs, err)
			return v
		}
		num := func(h string) float64 {
			v, err := strconv.ParseFloat(rec[col[h]], 64)
			errs = append(errs, err)
			return v
		}
		f.Scene, f.Source, f.SourcePath = rec[col["scene"]], rec[col["source"]], rec[col["source_path"]]
		f.Face, f.Age, f.Gender, f.Race = atoi("face"), atoi("age"), atoi("gender"), atoi("race")
		f.CX, f.CY, f.Size = num("cx"), num("cy"), num("size")
		if err := errors.Join(errs...); err != nil {
			return Truth{}, fmt.Errorf("truth row %d: %w", n+2, err)
		}
		t.Faces = append(t.Faces, f)
		if !seen[f.Scene] {
			seen[f.Scene] = true
			t.Scenes = append(t.Scenes, f.Scene)
		}
	}
	sort.Strings(t.Scenes)
	return t, nil
}

// Box is a detected face's box in scene pixels: top-left corner and size.
type Box struct{ X, Y, W, H float64 }

// Centre is the box's centre.
func (b Box) Centre() (float64, float64) { return b.X + b.W/2, b.Y + b.H/2 }

// Size is the geometric mean of the box's sides.
func (b Box) Size() float64 { return math.Sqrt(math.Max(b.W, 0) * math.Max(b.H, 0)) }

// Detection is one face a pipeline found, with its predictions (NaN when
// it made none).
type Detection struct {
	Box     Box
	Age     float64
	PFemale float64
}

// Matching rule (see match). A detection can match a truth face of its
// scene when the distance between the box centre and the centre of the
// pasted crop is under MaxCentreDistance × the truth face size (the pasted
// crop's width), and the box size (the geometric mean of its width and
// height) is within a factor MaxSizeRatio of the truth face size, either
// way. UTKFace crops are tight around the face, so the crop width serves as
// the face size: on 20 mixed scenes face-api.js's box sizes were 0.77-1.25
// (SSD) and 0.93-1.81 (tiny) of it, their centres within 0.18 and 0.31 of
// it from the crop's centre. The factor 2 leaves room for detectors whose
// boxes are tighter or looser.
const (
	MaxCentreDistance = 0.5
	MaxSizeRatio      = 2.0
)

// Pair is one match: indices into the truth faces and detections given to
// match.
type Pair struct{ Truth, Det int }

// match pairs the detections of one scene with its truth faces one to one,
// greedily: of all acceptable (truth, detection) pairs (see the matching
// rule above), the one whose box centre is closest to the truth centre is
// taken first, then the closest of those left whose truth face and
// detection are both unmatched, and so on (ties: lower truth index, then
// lower detection index). Pairs come back in that order.
func match(truth []TruthFace, dets []Detection) []Pair {
	type cand struct {
		Pair
		d float64
	}
	var cands []cand
	for i, t := range truth {
		for j, d := range dets {
			x, y := d.Box.Centre()
			dist := math.Hypot(x-t.CX, y-t.CY)
			s := d.Box.Size()
			if dist < MaxCentreDistance*t.Size && s*MaxSizeRatio >= t.Size && s <= MaxSizeRatio*t.Size {
				cands = append(cands, cand{Pair{i, j}, dist})
			}
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].d < cands[b].d })
	usedT, usedD := map[int]bool{}, map[int]bool{}
	var out []Pair
	for _, c := range cands {
		if usedT[c.Truth] || usedD[c.Det] {
			continue
		}
		usedT[c.Truth], usedD[c.Det] = true, true
		out = append(out, c.Pair)
	}
	return out
}

// Pred is a prediction for a whole image (a source crop).
type Pred struct{ Age, PFemale float64 }

// Run is one pipeline's output over the scenes (Detect) or over the source
// crops (Crops).
type Run struct {
	Name    string
	Detect  map[string][]Detection // by scene name; a scene present with no detections had no face found
	Crops   map[string]Pred        // by crop file name
	Images  int                    // inputs the rate counts
	Failed  int                    // inputs that failed (not "no face")
	Seconds float64                // wall time, 0 when unknown
	Ours    bool                   // our detection pipeline, the numerator of the rate ratios
}

// Rate is the run's images per second, NaN without a time.
func (r Run) Rate() float64 {
	if r.Seconds <= 0 {
		return math.NaN()
	}
	return float64(r.Images) / r.Seconds
}

// Result is a run scored against the truth.
type Result struct {
	Run
	Faces     int    // truth faces
	Found     []bool // per truth face: matched (Detect), or its crop predicted (Crops)
	Preds     []Pred // per truth face, NaN when not found
	FP        int    // detections matched to no truth face; -1 for crops
	Missing   int    // scenes (or crops) with no output at all
	Metrics   evaluate.Metrics
	BySize    []float64 // recall by face size band (sizeBands), NaN when the band is empty
	Detected  int       // detections in all
	Unmatched []Unmatched
}

// Unmatched is a false positive, and how far it was from the nearest truth
// face of its scene: the centre distance and the box size, both as
// fractions of that face's size (NaN without a face).
type Unmatched struct {
	Scene     string
	Box       Box
	Distance  float64
	SizeRatio float64
}

// sizeBands are the truth face sizes (pasted crop widths) recall is
// broken down by: [lo, hi) pixels.
var sizeBands = [][2]float64{{0, 64}, {64, 96}, {96, 144}, {144, 216}, {216, math.Inf(1)}}

func bandName(b [2]float64) string {
	if b[0] == 0 {
		return fmt.Sprintf("<%g", b[1])
	}
	if math.IsInf(b[1], 1) {
		return fmt.Sprintf(">=%g", b[0])
	}
	return fmt.Sprintf("%g-%g", b[0], b[1])
}

// score scores a run against the truth.
func score(t Truth, r Run) Result {
	res := Result{Run: r, Faces: len(t.Faces), Found: make([]bool, len(t.Faces)), Preds: make([]Pred, len(t.Faces))}
	for i := range res.Preds {
		res.Preds[i] = Pred{math.NaN(), math.NaN()}
	}
	if r.Detect != nil {
		byScene := map[string][]int{}
		for i, f := range t.Faces {
			byScene[f.Scene] = append(byScene[f.Scene], i)
		}
		for _, sc := range t.Scenes {
			dets, ok := r.Detect[sc]
			if !ok {
				res.Missing++
			}
			res.Detected += len(dets)
			idx := byScene[sc]
			faces := make([]TruthFace, len(idx))
			for k, i := range idx {
				faces[k] = t.Faces[i]
			}
			pairs := match(faces, dets)
			res.FP += len(dets) - len(pairs)
			matched := map[int]bool{}
			for _, p := range pairs {
				i := idx[p.Truth]
				res.Found[i] = true
				res.Preds[i] = Pred{dets[p.Det].Age, dets[p.Det].PFemale}
				matched[p.Det] = true
			}
			for j, d := range dets {
				if matched[j] {
					continue
				}
				u := Unmatched{Scene: sc, Box: d.Box, Distance: math.NaN(), SizeRatio: math.NaN()}
				x, y := d.Box.Centre()
				for _, f := range faces {
					if dist := math.Hypot(x-f.CX, y-f.CY) / f.Size; !(dist >= u.Distance) {
						u.Distance, u.SizeRatio = dist, d.Box.Size()/f.Size
					}
				}
				res.Unmatched = append(res.Unmatched, u)
			}
		}
	} else {
		res.FP = -1
		missing := map[string]bool{}
		for i, f := range t.Faces {
			p, ok := r.Crops[f.Source]
			if !ok {
				missing[f.Source] = true
				continue
			}
			res.Found[i] = true
			res.Preds[i] = p
		}
		res.Missing = len(missing)
	}
	res.Metrics = evaluate.Score(res.predictions(t, nil))
	for _, b := range sizeBands {
		n, found := 0, 0
		for i, f := range t.Faces {
			if inBand(f, b) {
				n++
				if res.Found[i] {
					found++
				}
			}
		}
		res.BySize = append(res.BySize, ratio(found, n))
	}
	return res
}

// predictions returns the predictions of the found faces, of those among
// only when it is not nil.
func (r Result) predictions(t Truth, only []bool) []evaluate.Prediction {
	var out []evaluate.Prediction
	for i, f := range t.Faces {
		if !r.Found[i] || (only != nil && !only[i]) {
			continue
		}
		out = append(out, evaluate.Prediction{
			File: f.Scene + "#" + strconv.Itoa(f.Face), Age: f.Age, Gender: f.Gender, Race: f.Race,
			PredAge: r.Preds[i].Age, PFemale: r.Preds[i].PFemale,
		})
	}
	return out
}

// FoundCount is the number of truth faces found.
func (r Result) FoundCount() int {
	n := 0
	for _, f := range r.Found {
		if f {
			n++
		}
	}
	return n
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// writeTable prints the comparison of the runs.
func writeTable(w io.Writer, t Truth, results []Result) {
	fmt.Fprintf(w, "%d scenes, %d faces pasted.\n\n", len(t.Scenes), len(t.Faces))
	const format = "%-34s %16s %6s %9s %8s %9s %6s %9s\n"
	fmt.Fprintf(w, format, "pipeline", "faces found", "FP", "FP/100sc", "age MAE", "gender", "AUC", "images/s")
	for _, r := range results {
		found := fmt.Sprintf("%d/%d %5.1f%%", r.FoundCount(), r.Faces, 100*ratio(r.FoundCount(), r.Faces))
		fp, fpPer := "-", "-"
		if r.FP >= 0 {
			fp = strconv.Itoa(r.FP)
			fpPer = fmt.Sprintf("%.1f", 100*ratio(r.FP, len(t.Scenes)))
		}
		fmt.Fprintf(w, format, r.Name, found, fp, fpPer,
			num(r.Metrics.AgeMAE, "%.2f", 1), num(r.Metrics.GenderAccuracy, "%.1f%%", 100), num(r.Metrics.GenderAUC, "%.3f", 1),
			rate(r.Rate()))
	}
	var notes []string
	for _, r := range results {
		if r.Missing > 0 {
			what := "scenes"
			if r.Detect == nil {
				what = "source crops"
			}
			notes = append(notes, fmt.Sprintf("%s has no output for %d %s", r.Name, r.Missing, what))
		}
		if r.Failed > 0 {
			notes = append(notes, fmt.Sprintf("%s failed on %d images", r.Name, r.Failed))
		}
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintln(w, "  (faces found: truth faces matched by a detection (scenes) or whose source crop was scored (crops);")
	fmt.Fprintln(w, "   FP: detections matching no truth face; age MAE, gender accuracy and AUC on the faces found;")
	fmt.Fprintln(w, "   images/s: scenes or crops per second of wall time, model loading excluded)")

	// Recall by face size.
	writeBandHeader(w, "faces found", t, nil)
	for _, r := range results {
		if r.Detect == nil {
			continue
		}
		fmt.Fprintf(w, "%-34s", r.Name)
		for _, v := range r.BySize {
			fmt.Fprintf(w, " %9s", pct(v))
		}
		fmt.Fprintln(w)
	}

	// The faces every pipeline found, scored by each.
	if len(results) > 1 {
		common := make([]bool, len(t.Faces))
		n := 0
		for i := range common {
			common[i] = true
			for _, r := range results {
				common[i] = common[i] && r.Found[i]
			}
			if common[i] {
				n++
			}
		}
		fmt.Fprintf(w, "\non the %d faces that every pipeline found:\n", n)
		const f2 = "%-34s %8s %9s %6s\n"
		fmt.Fprintf(w, f2, "pipeline", "age MAE", "gender", "AUC")
		for _, r := range results {
			m := evaluate.Score(r.predictions(t, common))
			fmt.Fprintf(w, f2, r.Name, num(m.AgeMAE, "%.2f", 1), num(m.GenderAccuracy, "%.1f%%", 100), num(m.GenderAUC, "%.3f", 1))
		}
		writeBandHeader(w, "age MAE on those faces", t, common)
		for _, r := range results {
			fmt.Fprintf(w, "%-34s", r.Name)
			for _, b := range sizeBands {
				only := make([]bool, len(t.Faces))
				for i, f := range t.Faces {
					only[i] = common[i] && inBand(f, b)
				}
				fmt.Fprintf(w, " %9s", num(evaluate.Score(r.predictions(t, only)).AgeMAE, "%.2f", 1))
			}
			fmt.Fprintln(w)
		}
	}

	// Rates of ours against the others.
	for _, o := range results {
		if !o.Ours {
			continue
		}
		for _, r := range results {
			if r.Ours || r.Detect == nil {
				continue
			}
			fmt.Fprintf(w, "\nimages/s %s / %s: %s", o.Name, r.Name, times(o.Rate()/r.Rate()))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nmatching: one to one, greedy by the distance from the box centre to the pasted crop's centre, accepted under\n"+
		"%.1f x the pasted crop width with a box size (sqrt(width x height)) within a factor %.0f of that width.\n", MaxCentreDistance, MaxSizeRatio)
}

// inBand reports whether a truth face's size is in the band [lo, hi).
func inBand(f TruthFace, b [2]float64) bool { return f.Size >= b[0] && f.Size < b[1] }

// writeBandHeader starts a table by face size: its title, the bands, and
// the number of truth faces in each (of those in only, when not nil).
func writeBandHeader(w io.Writer, title string, t Truth, only []bool) {
	fmt.Fprintf(w, "\n%s by face size (pasted crop width, pixels):\n", title)
	fmt.Fprintf(w, "%-34s", "pipeline")
	for _, b := range sizeBands {
		fmt.Fprintf(w, " %9s", bandName(b))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-34s", "faces")
	for _, b := range sizeBands {
		n := 0
		for i, f := range t.Faces {
			if inBand(f, b) && (only == nil || only[i]) {
				n++
			}
		}
		fmt.Fprintf(w, " %9d", n)
	}
	fmt.Fprintln(w)
}

// writeUnmatched lists each run's false positives.
func writeUnmatched(w io.Writer, results []Result) {
	for _, r := range results {
		if len(r.Unmatched) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nfalse positives of %s (distance and size relative to the nearest pasted face):\n", r.Name)
		for _, u := range r.Unmatched {
			fmt.Fprintf(w, "  %s box (%.0f, %.0f) %.0fx%.0f: distance %.2f, size %.2f\n",
				u.Scene, u.Box.X, u.Box.Y, u.Box.W, u.Box.H, u.Distance, u.SizeRatio)
		}
	}
}

func num(v *float64, format string, scale float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v*scale)
}

func rate(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

func times(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v)
}

// readFaceAPI reads a face-api output folder (package faceapiout):
// detections per scene from wild.js's, or whole-image predictions from
// agegender.js's (crops).
func readFaceAPI(dir string, crops bool) (Run, error) {
	sum, err := faceapiout.ReadSummary(dir)
	if err != nil {
		return Run{}, err
	}
	r := Run{Images: sum.Images, Failed: sum.Failed, Seconds: sum.WallSeconds}
	if crops {
		r.Name = "face-api.js, source crops"
		r.Crops = map[string]Pred{}
	} else {
		if sum.Detector == "" {
			return Run{}, fmt.Errorf("%s: summary.json names no detector: not an output of wild.js", dir)
		}
		r.Name = "face-api.js " + sum.Detector
		if sum.Landmarks == "tiny" {
			r.Name += " (tiny landmarks)"
		}
		r.Detect = map[string][]Detection{}
	}
	if err := faceapiout.ReadParts(dir, addFaceAPILine(&r)); err != nil {
		return Run{}, err
	}
	return r, nil
}

// addFaceAPI adds face-api's JSONL lines to the run.
func addFaceAPI(r *Run, in io.Reader) error {
	return faceapiout.ReadLines(in, addFaceAPILine(r))
}

// addFaceAPILine returns a function that adds one line of face-api's
// output to the run: a detection (wild.js) or a crop's prediction
// (agegender.js). The line of an image face-api failed on is skipped.
func addFaceAPILine(r *Run) func(int, faceapiout.Line) error {
	return func(n int, l faceapiout.Line) error {
		if l.Error != nil {
			return nil // counted in summary.json
		}
		if r.Detect != nil {
			if l.Faces != nil {
				if *l.Faces != 0 {
					return fmt.Errorf("line %d: faces=%d, want a line per face", n, *l.Faces)
				}
				if _, ok := r.Detect[l.File]; !ok {
					r.Detect[l.File] = nil
				}
				return nil
			}
			if l.BoxX == nil || l.BoxY == nil || l.BoxWidth == nil || l.BoxHeight == nil {
				return fmt.Errorf("line %d (%s): no box", n, l.File)
			}
		}
		age, pf, err := l.Prediction()
		if err != nil {
			return fmt.Errorf("line %d (%s): %w", n, l.File, err)
		}
		if r.Detect != nil {
			r.Detect[l.File] = append(r.Detect[l.File], Detection{Box{*l.BoxX, *l.BoxY, *l.BoxWidth, *l.BoxHeight}, age, pf})
			return nil
		}
		if _, dup := r.Crops[l.File]; dup {
			return fmt.Errorf("line %d: a second prediction for %s", n, l.File)
		}
		r.Crops[l.File] = Pred{age, pf}
		return nil
	}
}

// ourFace is the part of a row of pipelines/score's predictions/*.parquet
// read here (schemas.Prediction; the box columns come with --faces).
type ourFace struct {
	Filename  string   `parquet:"filename"`
	Face      *int32   `parquet:"face,optional"`
	BoxX      *float32 `parquet:"box_x,optional"`
	BoxY      *float32 `parquet:"box_y,optional"`
	BoxWidth  *float32 `parquet:"box_width,optional"`
	BoxHeight *float32 `parquet:"box_height,optional"`
	Age       *float64 `parquet:"predicted_age,optional"`
	PFemale   *float64 `parquet:"p_female,optional"`
}

// ourReject is the part of a row of rejects.parquet read here.
type ourReject struct {
	File   string `parquet:"file"`
	Reason string `parquet:"reason"`
}

// ReasonNoFace is the reject reason of an image where no face was found.
const ReasonNoFace = "no_face"

// readOurs reads a pipelines/score output folder that ran for wall seconds:
// detections per scene (crops false: the predictions must have the box
// columns of --faces=detect) or whole-image predictions by file name.
func readOurs(dir string, wall float64, crops bool) (Run, error) {
	r := Run{Seconds: wall}
	var sum struct {
		Inputs int `json:"inputs"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		return Run{}, err
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		return Run{}, fmt.Errorf("%s/summary.json: %w", dir, err)
	}
	r.Images = sum.Inputs
	if crops {
		r.Crops = map[string]Pred{}
	} else {
		r.Detect = map[string][]Detection{}
	}
	parts, err := filepath.Glob(filepath.Join(dir, "predictions", "*.parquet"))
	if err != nil {
		return Run{}, err
	}
	for _, p := range parts {
		rows, err := readParquet[ourFace](p, !crops)
		if err != nil {
			return Run{}, err
		}
		if err := addOurs(&r, rows); err != nil {
			return Run{}, fmt.Errorf("%s: %w", p, err)
		}
	}
	rej, err := readParquet[ourReject](filepath.Join(dir, "rejects.parquet"), false)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Run{}, err
	}
	for _, x := range rej {
		if x.Reason == ReasonNoFace && r.Detect != nil {
			if _, ok := r.Detect[x.File]; !ok {
				r.Detect[x.File] = nil
			}
			continue
		}
		r.Failed++
	}
	return r, nil
}

// readParquet reads a parquet file's rows; with boxes it first checks that
// the file has the box columns.
func readParquet[T any](path string, boxes bool) ([]T, error) {
	if boxes {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, c := range []string{"box_x", "box_y", "box_width", "box_height"} {
			if _, ok := pf.Schema().Lookup(c); !ok {
				return nil, fmt.Errorf("%s has no %s column: it was not written by pipelines/score --faces=detect", path, c)
			}
		}
	}
	rows, err := parquet.ReadFile[T](path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return rows, nil
}

// addOurs adds our prediction rows to the run.
func addOurs(r *Run, rows []ourFace) error {
	for _, x := range rows {
		p := Pred{math.NaN(), math.NaN()}
		if x.Age != nil {
			p.Age = *x.Age
		}
		if x.PFemale != nil {
			p.PFemale = *x.PFemale
		}
		if r.Detect == nil {
			if _, dup := r.Crops[x.Filename]; dup {
				return fmt.Errorf("two predictions for %s", x.Filename)
			}
			r.Crops[x.Filename] = p
			continue
		}
		if x.BoxX == nil || x.BoxY == nil || x.BoxWidth == nil || x.BoxHeight == nil {
			return fmt.Errorf("%s: a row without a box", x.Filename)
		}
		r.Detect[x.Filename] = append(r.Detect[x.Filename], Detection{
			Box{float64(*x.BoxX), float64(*x.BoxY), float64(*x.BoxWidth), float64(*x.BoxHeight)}, p.Age, p.PFemale,
		})
	}
	return nil
}
