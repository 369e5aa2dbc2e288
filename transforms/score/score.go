// Package score holds the Beam transforms of the scoring pipeline: list the
// images, decode them, find and align every face (faces.Prepare, the function
// ingest --faces=detect uses; or take each whole image as the face),
// preprocess each face as ingest does, run the models in fixed-size batches
// and write one prediction row per face, the rejects (no_face among them) and
// a summary with metrics when the names carry UTKFace labels.
package score

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/gomlx/compute"

	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/faces/graphnet"
	"github.com/facepipe/facepipe/internal/beamreg"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/internal/outfile"
	"github.com/facepipe/facepipe/internal/progress"
	"github.com/facepipe/facepipe/labels"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/transforms/rejects"
)

// Config holds the parameters of a scoring run.
type Config struct {
	Input         string
	Output        string
	Models        []string       // model folders and ONNX files, local or gs://; "" entries are skipped
	FaceModels    []string       // the models for faces found in photos and aligned (Models score whole images and aligned crops); empty: Models score everything
	ONNX          model.ONNXMeta // for ONNX files without a sidecar JSON
	Backend       string         // GoMLX backend config; "" chooses
	Batch         int            // batch size of model folders
	TTA           string         // flip averaging of model folders: on, off, or auto ("" too): as each folder's card says (model.Card.FlipTTA)
	Labels        string         // auto, on or off
	ContactSheet  int
	MaxPixels     int
	FilesPerPart  int // images per predictions file
	Workers       int
	DefaultModels bool // Models came from the bundled default
	// Faces is how faces are found: faces.ModeAuto ("" too), ModeDetect or
	// ModeWhole.
	Faces         string
	FaceThreshold float64 // detection score threshold; faces.DefaultThreshold when 0
	// FaceFallback is the score at which an image's candidates get a second
	// chance when none scoring FaceThreshold was confirmed
	// (faces.Detector.FallbackThreshold): faces.DefaultFallbackThreshold
	// when 0, none when negative.
	FaceFallback float64
	MinFace      float64 // the smallest face to find, in source pixels; faces.DefaultPlan's when 0
	Annotate     int     // photos to draw with their faces and predictions
}

// facesMode is cfg.Faces with its default.
func (c Config) facesMode() string {
	if c.Faces == "" {
		return faces.ModeAuto
	}
	return c.Faces
}

// Scored is one scored face, as the summary reads it back from the
// predictions files for the metrics and the contact sheet.
type Scored struct {
	Path      string
	File      string
	HasLabels bool
	Age       int
	Gender    int
	Race      int
	PredAge   float64 // NaN without an age model
	PFemale   float64 // NaN without a gender model
	Face      int
	Box       faces.Box
	Keypoints []float32 // as in schemas.Prediction
	Aligned   string
	SHA256    string // the image file's content digest
}

// PartResult describes one predictions file: its entry counts rows (faces);
// Images counts the images they came from.
type PartResult struct {
	Entry        schemas.FileEntry
	Images       int
	DetectorRuns int64 // passes of the face detector's network, confirmations included
}

func init() {
	for _, t := range []any{PartResult{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
	beamreg.DoFn(&listFn{})
	register.Emitter2[int64, string]()
	beamreg.DoFn(&scoreFn{})
	register.Iter1[string]()
	register.Emitter1[PartResult]()
}

// Output holds what a scoring graph ends with.
type Output struct {
	Inputs  beam.PCollection // int: the number of inputs
	Parts   beam.PCollection // PartResult
	Rejects beam.PCollection // rejects.Result
}

// Score builds the scoring graph: list the images, group their paths into
// parts, and in each part read, preprocess (with the function ingest uses)
// and score the images in fixed-size batches, writing the part's
// predictions; then the rejects table.
func Score(s beam.Scope, cfg Config) Output {
	s = s.Scope("Score")
	keyed := beam.ParDo(s, &listFn{Spec: cfg.Input, Output: cfg.Output, PerPart: cfg.FilesPerPart}, beam.Impulse(s))
	parts, rejected := beam.ParDo2(s, &scoreFn{Cfg: cfg}, beam.GroupByKey(s, keyed))
	return Output{Inputs: stats.CountElms(s, keyed), Parts: parts, Rejects: rejects.Write(s, cfg.Output, rejected)}
}

// listFn lists the inputs, less those under the output folder when it is
// inside the input (see fsio.Outside), and spreads them over parts of about
// PerPart images, by a hash of the path.
type listFn struct {
	Spec    string
	Output  string
	PerPart int
}

func (f *listFn) ProcessElement(ctx context.Context, _ []byte, emit func(int64, string)) error {
	files, err := fsio.List(ctx, f.Spec)
	if err != nil {
		return err
	}
	files = fsio.Outside(f.Spec, files, f.Output)
	if len(files) == 0 {
		return fmt.Errorf("no files match --input=%s", f.Spec)
	}
	parts := int64(max(1, (len(files)+f.PerPart-1)/max(1, f.PerPart)))
	progress.Start("score", len(files))
	for _, p := range files {
		h := fnv.New64a()
		h.Write([]byte(p))
		emit(int64(h.Sum64()%uint64(parts))<<32|parts, p)
	}
	filesListed.Inc(ctx, int64(len(files)))
	return nil
}

// PredictionsDir is the folder of the predictions files.
const PredictionsDir = "predictions"

// scoreFn scores one part. The models are loaded once per worker, in Setup.
type scoreFn struct {
	Cfg      Config
	backend  compute.Backend
	sets     [2]*scorerSet   // forCrops, forFaces (the same set when Cfg.FaceModels is empty)
	detector *faces.Detector // nil with --faces=whole
}

// The scorer sets of a run: one for whole images and aligned crops, one for
// the faces found in photos.
const (
	forCrops = 0
	forFaces = 1
)

// scorerSet is the models that score one kind of input, and their ids as the
// predictions' model column names them.
type scorerSet struct {
	scorers []model.Scorer
	id      string
}

func newScorerSet(scorers []model.Scorer) *scorerSet {
	var ids []string
	for _, sc := range scorers {
		ids = append(ids, sc.ID())
	}
	return &scorerSet{scorers: scorers, id: strings.Join(ids, "+")}
}

// setFor is the scorer set of a face aligned as aligned says.
func setFor(aligned string) int {
	if aligned == faces.AlignedDetected {
		return forFaces
	}
	return forCrops
}

var (
	loadMu sync.Mutex
	loaded = map[string]openBackend{} // one backend per process and config
)

type openBackend struct {
	b    compute.Backend
	name string
}

// Backend opens the compute backend that scoring uses in this process for a
// --backend config ("" chooses), once: the workers of the embedded runner
// and the binary's own checks before the run share it. (Two clients of one
// GPU in a process, as XLA's PJRT would make, are best avoided.) It returns
// the config it resolved to.
func Backend(config string) (compute.Backend, string, error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	if o, ok := loaded[config]; ok {
		return o.b, o.name, nil
	}
	b, name, err := model.NewBackendThreads(config, Threads())
	if err != nil {
		return nil, "", err
	}
	loaded[config] = openBackend{b, name}
	return b, name, nil
}

func (f *scoreFn) Setup(ctx context.Context) error {
	b, _, err := Backend(f.Cfg.Backend)
	if err != nil {
		return err
	}
	f.backend = b
	scorers, err := OpenScorers(ctx, f.Cfg, b)
	if err != nil {
		return err
	}
	f.sets[forCrops] = newScorerSet(scorers)
	f.sets[forFaces] = f.sets[forCrops]
	if len(f.Cfg.FaceModels) > 0 && f.Cfg.facesMode() != faces.ModeWhole {
		fc := f.Cfg
		fc.Models = fc.FaceModels
		if scorers, err = OpenScorers(ctx, fc, b); err != nil {
			return err
		}
		f.sets[forFaces] = newScorerSet(scorers) // the binary checked SameTasks before the run
	}
	if f.Cfg.facesMode() != faces.ModeWhole {
		if f.detector, err = OpenDetector(f.Cfg, b); err != nil {
			return err
		}
	}
	return nil
}

func (f *scoreFn) Teardown() {
	for i, set := range f.sets {
		if set == nil || i == forFaces && set == f.sets[forCrops] {
			continue
		}
		for _, s := range set.scorers {
			s.Close()
		}
	}
	if f.detector != nil {
		f.detector.Close()
	}
}

// OpenDetector opens the face detector with the run's threshold and
// smallest face.
func OpenDetector(cfg Config, b compute.Backend) (*faces.Detector, error) {
	d, err := graphnet.OpenDetector(b)
	if err != nil {
		return nil, err
	}
	if cfg.FaceThreshold > 0 {
		d.Threshold = cfg.FaceThreshold
	}
	switch {
	case cfg.FaceFallback > 0:
		d.FallbackThreshold = cfg.FaceFallback
	case cfg.FaceFallback < 0:
		d.FallbackThreshold = 0
	}
	if cfg.MinFace > 0 {
		d.Plan.MinFace = cfg.MinFace
	}
	return d, nil
}

// Threads is how many threads each model's ONNX Runtime session gets
// when scoring chooses the backend: half the cores, since two models run side
// by side while the next images are decoded. (2,000 images on 2 cores: 1.8 s
// against 2.3 s with both threads for each model in turn.)
func Threads() int { return max(1, runtime.NumCPU()/2) }

// DefaultModels and DefaultFaceModels locate the bundled default models,
// for crops and for faces found in photos: the scoring binary sets them (in
// init, so that workers have them too) to extract its embedded models. The
// model names "default" and "default-faces" resolve through them.
var DefaultModels, DefaultFaceModels func() (string, error)

// The names of the bundled models in Config.Models and FaceModels.
const (
	BundledModel     = "default"
	BundledFaceModel = "default-faces"
)

// bundledDir extracts the bundled model named name and returns its folder.
func bundledDir(name string) (string, error) {
	locate := DefaultModels
	if name == BundledFaceModel {
		locate = DefaultFaceModels
	}
	if locate == nil {
		return "", fmt.Errorf("this binary has no bundled %s model: pass --model", name)
	}
	dir, err := locate()
	if err != nil {
		return "", fmt.Errorf("extracting the bundled models: %w", err)
	}
	return dir, nil
}

// OpenScorers opens the models of a scoring run: model folders (a folder
// holding age/ and gender/ model folders counts as both) and ONNX files.
// gs:// models are copied to a local temporary folder first, which is
// removed once they are open (they are then in memory).
func OpenScorers(ctx context.Context, cfg Config, b compute.Backend) ([]model.Scorer, error) {
	var out []model.Scorer
	opened := false
	defer func() { // on an error, close what was opened before it
		if !opened {
			for _, sc := range out {
				sc.Close()
			}
		}
	}()
	for _, m := range cfg.Models {
		if m == "" {
			continue
		}
		if m == BundledModel || m == BundledFaceModel {
			dir, err := bundledDir(m)
			if err != nil {
				return nil, err
			}
			m = dir
		}
		local, tmp, err := localCopy(ctx, m)
		if err != nil {
			return nil, err
		}
		if tmp != "" {
			defer os.RemoveAll(tmp)
		}
		if strings.HasSuffix(strings.ToLower(local), ".onnx") {
			meta := cfg.ONNX
			if side, ok, err := model.ReadONNXMeta(local); err != nil {
				return nil, err
			} else if ok {
				meta = side
			}
			sc, err := model.OpenONNX(local, meta, b)
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
			continue
		}
		dirs, err := model.FolderDirs(local)
		if err != nil {
			return nil, fmt.Errorf("--model=%s: %w", m, err)
		}
		for _, d := range dirs {
			tta, err := folderTTA(cfg.TTA, d)
			if err != nil {
				return nil, err
			}
			sc, err := openFolder(d, b, cfg.Batch, tta)
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no model to score with")
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Task() < out[j].Task() }) // age, then gender
	opened = true
	return out, nil
}

// openFolder is model.OpenFolder; tests replace it to see what is closed.
var openFolder = model.OpenFolder

// SameTasks checks that the models for faces found in photos predict what
// the models for crops predict, so that every row has the same columns.
func SameTasks(crops, faces []model.Scorer) error {
	tasks := func(scs []model.Scorer) string {
		age, gender := false, false
		for _, sc := range scs {
			spec := model.Spec{Task: sc.Task()}
			age, gender = age || spec.HasAge(), gender || spec.HasGender()
		}
		switch {
		case age && gender:
			return "age and gender"
		case age:
			return "age"
		}
		return "gender"
	}
	if a, b := tasks(crops), tasks(faces); a != b {
		return fmt.Errorf("--face_model predicts %s but --model predicts %s: give both the same tasks", b, a)
	}
	return nil
}

// folderTTA resolves --tta for the model folder dir: on, off, or auto (or
// empty): what its card says.
func folderTTA(flag, dir string) (bool, error) {
	switch flag {
	case "on":
		return true, nil
	case "off":
		return false, nil
	case "", "auto":
		card, err := model.ReadCard(dir)
		if err != nil {
			return false, err
		}
		return card.FlipTTA(), nil
	}
	return false, fmt.Errorf("--tta=%q: want auto, on or off", flag)
}

// localCopy returns a local path for a model: gs:// files and folders are
// copied into a temporary folder, tmp, for the caller to remove.
func localCopy(ctx context.Context, p string) (local, tmp string, err error) {
	if !fsio.IsGCS(p) {
		return fsio.ExpandHome(p), "", nil
	}
	dir, err := os.MkdirTemp("", "facepipe-model-")
	if err != nil {
		return "", "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	n, err := fsio.CopyDown(ctx, p, dir)
	if err != nil {
		return "", "", err
	}
	if n == 0 {
		return "", "", fmt.Errorf("--model=%s: no such file or folder", p)
	}
	if strings.HasSuffix(strings.ToLower(p), ".onnx") {
		if fsio.Exists(ctx, p+".json") { // the sidecar describing it
			if _, err := fsio.CopyDown(ctx, p+".json", dir); err != nil {
				return "", "", err
			}
		}
		return filepath.Join(dir, fsio.Base(p)), dir, nil
	}
	return dir, dir, nil
}

// photo is one read image: its faces, preprocessed for each distinct model
// input, or why it was rejected.
type photo struct {
	path, name, sha string
	faces           []*input
	rej             *schemas.Reject
}

// input is one face of an image, preprocessed for each distinct model
// input.
type input struct {
	img       *photo
	face      int
	box       faces.Box
	score     *float32
	keypoints []float32
	aligned   string
	inputs    map[[2]int][]float32 // for the models of its set: setFor(aligned)
}

// storedPool recycles the decoded images at their stored size (602 KB each
// at 224×224), which only live until they are area-resized to model inputs.
var storedPool sync.Pool // of *[]float32

// scoreChunk is how many images are decoded together before scoring.
const scoreChunk = 256

func (f *scoreFn) ProcessElement(ctx context.Context, key int64, iter func(*string) bool,
	emitPart func(PartResult), reject func(schemas.Reject)) error {
	var paths []string
	var p string
	for iter(&p) {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	part, parts := key>>32, key&0xffffffff
	var runs0 int64
	if f.detector != nil {
		runs0 = f.detector.Runs()
	}
	rel := fmt.Sprintf("%s/part-%05d-of-%05d.parquet", PredictionsDir, part, parts)

	// Decode the next chunk while this one is scored: decoding and inference
	// then share the cores instead of taking turns.
	decoded := make(chan []*photo, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(decoded)
		for start := 0; start < len(paths); start += scoreChunk {
			select {
			case decoded <- f.decodeAll(ctx, paths[start:min(start+scoreChunk, len(paths))]):
			case <-done:
				return
			}
		}
	}()
	var rows []schemas.Prediction
	images := 0
	for chunk := range decoded {
		var ok []*input
		for _, im := range chunk {
			progress.Add(1)
			if im.rej != nil {
				rejects.Counter("score", im.rej.Reason).Inc(ctx, 1)
				reject(*im.rej)
				continue
			}
			images++
			ok = append(ok, im.faces...)
		}
		preds, err := f.predict(ok)
		if err != nil {
			return fmt.Errorf("scoring %s: %w", rel, err)
		}
		for i, in := range ok {
			rows = append(rows, f.row(in, preds[i]))
		}
	}
	imagesScored.Inc(ctx, int64(images))
	facesScored.Inc(ctx, int64(len(rows)))
	entry, err := outfile.Write(ctx, f.Cfg.Output, rel, func(w io.Writer) error { return outfile.Parquet(w, rows) })
	if err != nil {
		return err
	}
	entry.Records = len(rows)
	res := PartResult{Entry: entry, Images: images}
	if f.detector != nil {
		res.DetectorRuns = f.detector.Runs() - runs0
	}
	emitPart(res)
	return nil
}

var (
	filesListed  = beam.NewCounter("score", "files_listed")
	imagesScored = beam.NewCounter("score", "images_scored")
	facesScored  = beam.NewCounter("score", "faces_scored")
)

// predict runs each input through the models of its set, and returns each
// input's outputs, one per model of the set. The models run side by side,
// each on its own ONNX Runtime session.
func (f *scoreFn) predict(ins []*input) ([][]model.Output, error) {
	var bySet [2][]*input
	var index [2][]int
	for i, in := range ins {
		s := f.setIndex(in)
		bySet[s] = append(bySet[s], in)
		index[s] = append(index[s], i)
	}
	out := make([][]model.Output, len(ins))
	for s, set := range f.sets {
		if len(bySet[s]) == 0 {
			continue
		}
		preds := make([][]model.Output, len(set.scorers))
		errs := make([]error, len(set.scorers))
		var wg sync.WaitGroup
		for si, sc := range set.scorers {
			wg.Go(func() { preds[si], errs[si] = runBatches(sc, bySet[s]) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		for j, i := range index[s] {
			for si := range set.scorers {
				out[i] = append(out[i], preds[si][j])
			}
		}
	}
	return out, nil
}

// setIndex is the index of the scorer set that scores in.
func (f *scoreFn) setIndex(in *input) int {
	if f.sets[forFaces] == f.sets[forCrops] {
		return forCrops
	}
	return setFor(in.aligned)
}

// runBatches predicts all inputs with one model, in its fixed batch size,
// padding the last batch with zeros.
func runBatches(sc model.Scorer, ins []*input) ([]model.Output, error) {
	stored, size := sc.Input()
	key := [2]int{stored, size}
	b, px := sc.Batch(), size*size*3
	out := make([]model.Output, 0, len(ins))
	buf := make([]float32, b*px)
	for start := 0; start < len(ins); start += b {
		n := min(b, len(ins)-start)
		for i := 0; i < n; i++ {
			copy(buf[i*px:(i+1)*px], ins[start+i].inputs[key])
		}
		clear(buf[n*px:]) // the padding of a last, partial batch
		res, err := sc.Predict(buf)
		if err != nil {
			return nil, err
		}
		out = append(out, res[:n]...)
	}
	return out, nil
}

// decodeAll reads and preprocesses images on a pool of goroutines: Prism
// gives a bundle one core.
func (f *scoreFn) decodeAll(ctx context.Context, paths []string) []*photo {
	out := make([]*photo, len(paths))
	workers := f.Cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = f.decode(ctx, paths[i])
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// decode reads one image, finds its faces (or takes it whole) and
// preprocesses each for every model.
func (f *scoreFn) decode(ctx context.Context, path string) *photo {
	im := &photo{path: path, name: fsio.Base(path)}
	rej := func(reason, detail string) *photo {
		im.rej = &schemas.Reject{File: im.name, Path: path, SHA256: im.sha, Reason: reason, Detail: detail}
		return im
	}
	data, err := fsio.ReadFile(ctx, path)
	if err != nil {
		return rej(schemas.ReasonReadError, err.Error())
	}
	im.sha = outfile.Digest(data)
	if f.detector == nil {
		img, _, err := preprocess.Decode(data, f.Cfg.MaxPixels)
		if err != nil {
			return rej(preprocessReject(err))
		}
		box := faces.Box{W: float64(img.Width), H: float64(img.Height)}
		im.faces = []*input{{img: im, box: box, aligned: faces.AlignedWhole, inputs: f.modelInputs(img, f.sets[forCrops])}}
		return im
	}
	found, err := faces.Prepare(data, f.Cfg.MaxPixels, f.detector, f.Cfg.facesMode())
	if err != nil {
		return rej(preprocessReject(err))
	}
	if len(found.Crops) == 0 {
		return rej(schemas.ReasonNoFace, found.NoFaceDetail(f.detector))
	}
	for i, c := range found.Crops {
		in := &input{img: im, face: i, aligned: c.Aligned}
		in.inputs = f.modelInputs(c.Image, f.sets[f.setIndex(in)])
		fc := found.InSource(c.Face)
		score := float32(fc.Score)
		in.score, in.box = &score, fc.Box
		for _, p := range fc.Keypoints {
			in.keypoints = append(in.keypoints, float32(p.X), float32(p.Y))
		}
		im.faces = append(im.faces, in)
	}
	return im
}

// preprocessReject maps a decoding error to a reject reason and detail.
func preprocessReject(err error) (string, string) {
	if pe := (*preprocess.Error)(nil); errors.As(err, &pe) {
		return pe.Reason, pe.Detail
	}
	return schemas.ReasonDecodeError, err.Error()
}

// modelInputs resizes a face crop (or whole image) as the preprocessing of
// every model of set does: bilinear to its stored size (as ingest stores
// images), then area averaging to its input size.
func (f *scoreFn) modelInputs(img *preprocess.RGB, set *scorerSet) map[[2]int][]float32 {
	out := map[[2]int][]float32{}
	stored := map[int][]float32{}
	var bufs []*[]float32
	defer func() {
		for _, b := range bufs {
			storedPool.Put(b)
		}
	}()
	for _, sc := range set.scorers {
		st, size := sc.Input()
		key := [2]int{st, size}
		if _, ok := out[key]; ok {
			continue
		}
		px, ok := stored[st]
		if !ok {
			buf, _ := storedPool.Get().(*[]float32)
			if buf == nil {
				buf = new([]float32)
			}
			bufs = append(bufs, buf)
			px = img.ResizeFloat32(st, st, (*buf)[:0])
			*buf = px
			stored[st] = px
		}
		out[key] = preprocess.ResizeArea(px, st, st, 3, size, size, nil)
	}
	return out
}

// row builds the prediction row of a scored input from the outputs of the
// models of its set.
func (f *scoreFn) row(in *input, preds []model.Output) schemas.Prediction {
	r := schemas.Prediction{Filename: in.img.name, Path: in.img.path, Model: f.sets[f.setIndex(in)].id, SHA256: in.img.sha,
		Face: int32(in.face), BoxX: float32(in.box.X), BoxY: float32(in.box.Y), BoxWidth: float32(in.box.W), BoxHeight: float32(in.box.H),
		FaceScore: in.score, Keypoints: in.keypoints, Aligned: in.aligned}
	for _, o := range preds { // NaN for a task the model does not predict
		if !math.IsNaN(o.Age) {
			r.PredictedAge = &o.Age
		}
		if !math.IsNaN(o.PFemale) {
			g := int32(0)
			if o.PFemale >= 0.5 {
				g = 1
			}
			r.PFemale, r.PredictedGender = &o.PFemale, &g
		}
	}
	if f.Cfg.Labels != "off" {
		if l, err := labels.ParseName(in.img.name); err == nil {
			age, gender, race := int32(l.Age), int32(l.Gender), int32(l.Race)
			r.TrueAge, r.TrueGender, r.TrueRace = &age, &gender, &race
		}
	}
	return r
}
