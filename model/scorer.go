package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/gomlx/compute"
	onnxbackend "github.com/gomlx/compute-onnx"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/onnx-gomlx/onnx/parser"
)

// Scorer predicts age, gender or both on fixed-size batches of model inputs.
type Scorer interface {
	// Task is TaskAge, TaskGender or TaskBoth.
	Task() string
	// ID identifies the model and its version.
	ID() string
	// Batch is the fixed batch size of Predict.
	Batch() int
	// Input describes the preprocessing: images are decoded and resized to
	// stored×stored (bilinear), then to input×input (area averaging).
	Input() (stored, input int)
	// Predict takes Batch()×S×S×3 values, NHWC RGB in [0,1], and returns
	// one output per image: the age in years and the probability of
	// female, NaN for a task the model does not predict.
	Predict(images []float32) ([]Output, error)
	// FlipTTA reports whether Predict averages each image's prediction with
	// that of its mirror.
	FlipTTA() bool
	// Close releases the model.
	Close()
}

type folderScorer struct {
	card *Card
	p    *Predictor
	b    int
	tta  bool
}

// OpenFolder opens a model folder written by training for scoring: a single
// network, or an ensemble whose members it opens and averages.
func OpenFolder(dir string, backend compute.Backend, batch int, flipTTA bool) (Scorer, error) {
	card, err := ReadCard(dir)
	if err != nil {
		return nil, err
	}
	if len(card.Members) > 0 {
		return openEnsemble(dir, card, backend, batch, flipTTA)
	}
	net, card, err := Load(dir, backend)
	if err != nil {
		return nil, err
	}
	p, err := net.NewPredictor(batch, flipTTA)
	if err != nil {
		return nil, err
	}
	return &folderScorer{card: card, p: p, b: batch, tta: flipTTA}, nil
}

func (f *folderScorer) Task() string  { return f.card.Task }
func (f *folderScorer) ID() string    { return f.card.ID }
func (f *folderScorer) Batch() int    { return f.b }
func (f *folderScorer) FlipTTA() bool { return f.tta }
func (f *folderScorer) Input() (int, int) {
	return f.card.Preprocessing.StoredSize, f.card.InputSize
}
func (f *folderScorer) Predict(images []float32) ([]Output, error) { return f.p.Predict(images) }
func (f *folderScorer) Close()                                     { f.p.Close() }

// ensembleScorer averages its members' predictions (EnsembleCombine).
type ensembleScorer struct {
	card    *Card
	members []Scorer
}

// openEnsemble opens the members of an ensemble folder. They must predict
// the same tasks from the same input.
func openEnsemble(dir string, card *Card, backend compute.Backend, batch int, flipTTA bool) (Scorer, error) {
	e := &ensembleScorer{card: card}
	var first *Card
	for _, m := range card.Members {
		mdir := filepath.Join(dir, filepath.FromSlash(m))
		c, err := ReadCard(mdir)
		if err == nil {
			if first == nil {
				first = c
			}
			err = SameTaskAndInput(first, c)
		}
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("ensemble %s: member %s: %w", dir, m, err)
		}
		sc, err := OpenFolder(mdir, backend, batch, flipTTA)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("ensemble %s: %w", dir, err)
		}
		e.members = append(e.members, sc)
	}
	return e, nil
}

// SameTaskAndInput fails unless the model b predicts the same tasks as a
// from the same input and is no ensemble, as the members of an ensemble
// must.
func SameTaskAndInput(a, b *Card) error {
	if a.Task != b.Task || a.InputSize != b.InputSize || a.Preprocessing.StoredSize != b.Preprocessing.StoredSize {
		return fmt.Errorf("task %s from %d×%d (stored %d×%d), where the first member has task %s from %d×%d (stored %d×%d)",
			b.Task, b.InputSize, b.InputSize, b.Preprocessing.StoredSize, b.Preprocessing.StoredSize,
			a.Task, a.InputSize, a.InputSize, a.Preprocessing.StoredSize, a.Preprocessing.StoredSize)
	}
	if len(b.Members) > 0 {
		return errors.New("an ensemble itself: give its members instead")
	}
	return nil
}

func (e *ensembleScorer) Task() string      { return e.members[0].Task() }
func (e *ensembleScorer) ID() string        { return e.card.ID }
func (e *ensembleScorer) Batch() int        { return e.members[0].Batch() }
func (e *ensembleScorer) FlipTTA() bool     { return e.members[0].FlipTTA() }
func (e *ensembleScorer) Input() (int, int) { return e.members[0].Input() }

// Predict runs the members on the batch side by side, each on its own
// session (scoring gives each a share of the cores), and averages their
// outputs.
func (e *ensembleScorer) Predict(images []float32) ([]Output, error) {
	outs := make([][]Output, len(e.members))
	errs := make([]error, len(e.members))
	var wg sync.WaitGroup
	for i, m := range e.members {
		wg.Go(func() { outs[i], errs[i] = m.Predict(images) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sum := outs[0]
	for _, out := range outs[1:] {
		for i, o := range out {
			sum[i].Age += o.Age
			sum[i].PFemale += o.PFemale
		}
	}
	k := float64(len(e.members))
	for i := range sum {
		sum[i].Age /= k
		sum[i].PFemale /= k
	}
	return sum, nil
}

func (e *ensembleScorer) Close() {
	for _, m := range e.members {
		m.Close()
	}
}

// ONNXMeta describes a user's ONNX model, from flags or from a sidecar JSON
// file next to it, named after it (age.onnx.json for age.onnx).
type ONNXMeta struct {
	Task      string `json:"task"`       // age, gender, or both (two columns: years, then the gender's logit or probability)
	InputSize int    `json:"input_size"` // height and width the model takes
	Range     string `json:"range"`      // a key of ONNXInputs: unit, byte, tf, caffe, torch
	Layout    string `json:"layout"`     // nhwc or nchw; guessed from the input shape when empty
	Output    string `json:"output"`     // years, logit or probability (age models give years; for both, the gender column's)
	Batch     int    `json:"batch"`      // fixed batch size, when the model has one
	ID        string `json:"id"`
	// StoredSize, when set, makes the preprocessing that of our own models:
	// bilinear to StoredSize, then area averaging to InputSize. Otherwise
	// images are resized bilinearly straight to InputSize.
	StoredSize int `json:"stored_size,omitempty"`
	// Source is the sidecar JSON file these came from, "" when they come
	// from the flags: errors name it.
	Source string `json:"-"`
}

// ReadONNXMeta reads the sidecar JSON of an ONNX model, path+".json". It
// returns ok false when there is none. (A model folder's model.json is not a
// sidecar: it describes the folder's checkpoint.)
func ReadONNXMeta(path string) (ONNXMeta, bool, error) {
	var m ONNXMeta
	p := path + ".json"
	if _, err := os.Stat(p); err != nil {
		return m, false, nil
	}
	data, err := readBounded(p, MaxCardBytes)
	if err != nil {
		return m, false, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, false, fmt.Errorf("%s: %w", p, err)
	}
	m.Source = p
	return m, true, nil
}

type onnxScorer struct {
	meta    ONNXMeta
	backend compute.Backend
	exec    compute.Executable // ONNX Runtime session, on the onnx backend
	gexec   *mlmodel.Exec      // onnx-gomlx graph, on other backends
	store   *mlmodel.Store
	nchw    bool
	input   string
}

// OpenONNX opens a user's ONNX model for scoring: it takes a batch of
// images and gives one value per image. On the onnx backend it runs as an
// ONNX Runtime session; on others it is converted with onnx-gomlx.
//
// What the flags or the sidecar say is checked against bounds first, then
// the file's size, then the input shape it declares, before ONNX Runtime
// loads it.
func OpenONNX(path string, meta ONNXMeta, backend compute.Backend) (Scorer, error) {
	if err := checkONNXMeta(path, meta); err != nil {
		return nil, err
	}
	data, err := readBounded(path, MaxONNXBytes)
	if err != nil {
		return nil, fmt.Errorf("ONNX model %w", err)
	}
	m, err := parser.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("ONNX model %s: %w", path, err)
	}
	names, shp := m.Inputs()
	if len(names) == 0 {
		return nil, fmt.Errorf("ONNX model %s: no input: want one input of images [batch, H, W, 3] or [batch, 3, H, W]", path)
	}
	dims := shp[0].Dimensions
	if err := checkImageInput(path, names[0], dims); err != nil {
		return nil, err
	}
	s := &onnxScorer{meta: meta, backend: backend, input: names[0]}
	switch meta.Layout {
	case "nchw":
		s.nchw = true
	case "nhwc":
	case "":
		s.nchw = dims[1] == 3
	default:
		return nil, fmt.Errorf("ONNX model %s: layout %q: want nhwc or nchw", path, meta.Layout)
	}
	side := dims[2]
	if !s.nchw {
		side = dims[1]
	}
	if meta.InputSize == 0 {
		meta.InputSize = side
	}
	if meta.InputSize <= 0 || (side > 0 && side != meta.InputSize) {
		return nil, fmt.Errorf("ONNX model %s takes %d×%d images; input size %d", path, side, side, meta.InputSize)
	}
	if dims[0] > 0 {
		meta.Batch = dims[0]
	} else if meta.Batch == 0 {
		meta.Batch = 32
	}
	if meta.Batch*meta.InputSize*meta.InputSize > MaxBatchPixels {
		return nil, fmt.Errorf("ONNX model %s: batches of %d images of %d×%d: more than %d pixels a batch", path, meta.Batch, meta.InputSize, meta.InputSize, MaxBatchPixels)
	}
	if meta.Output == "" {
		meta.Output = map[string]string{TaskAge: "years", TaskGender: "probability", TaskBoth: "logit"}[meta.Task]
	}
	if meta.ID == "" {
		meta.ID = "onnx:" + path
	}
	s.meta = meta
	if IsONNXRuntime(backend) {
		s.exec, err = onnxbackend.LoadModel(backend, bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("ONNX model %s: %w", path, err)
		}
		return s, nil
	}
	s.store = mlmodel.NewStore()
	if err := m.VariablesToScope(s.store.RootScope()); err != nil {
		return nil, err
	}
	s.gexec, err = mlmodel.NewExec(backend, s.store, func(scope *mlmodel.Scope, x *Node) *Node {
		return m.CallGraph(scope, x.Graph(), map[string]*Node{s.input: x})[0]
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *onnxScorer) Task() string  { return s.meta.Task }
func (s *onnxScorer) ID() string    { return s.meta.ID }
func (s *onnxScorer) Batch() int    { return s.meta.Batch }
func (s *onnxScorer) FlipTTA() bool { return false }
func (s *onnxScorer) Input() (int, int) {
	if s.meta.StoredSize > 0 {
		return s.meta.StoredSize, s.meta.InputSize
	}
	return s.meta.InputSize, s.meta.InputSize
}

func (s *onnxScorer) Predict(images []float32) ([]Output, error) {
	b, n := s.meta.Batch, s.meta.InputSize
	x := convertRange(images, s.meta.Range)
	dims := []int{b, n, n, 3}
	if s.nchw {
		x, dims = toNCHW(x, b, n), []int{b, 3, n, n}
	}
	t, err := tensorOf(s.backend, x, dims...)
	if err != nil {
		return nil, err
	}
	defer t.MustFinalizeAll() // device buffers are not Go memory: the GC would not free them in time
	var out *tensors.Tensor
	if s.exec != nil {
		buf, err := t.Buffer(s.backend, 0)
		if err != nil {
			return nil, err
		}
		outs, err := s.exec.Execute([]compute.Buffer{buf}, []bool{false}, 0)
		if err != nil {
			return nil, err
		}
		if out, err = tensors.FromBuffer(outs[0]); err != nil {
			return nil, err
		}
	} else {
		outs, err := s.gexec.Call(t)
		if err != nil {
			return nil, err
		}
		out = outs[0]
	}
	defer out.MustFinalizeAll()
	raw, err := flatFloat32(out)
	if err != nil {
		return nil, err
	}
	if len(raw) < b {
		return nil, fmt.Errorf("ONNX model gave %d values for a batch of %d", len(raw), b)
	}
	res := make([]Output, b)
	per := len(raw) / b
	ageCol := per - 1
	if s.meta.Task == TaskBoth {
		if per < 2 {
			return nil, fmt.Errorf("ONNX model gave %d value per image; task both wants two: years, then the gender", per)
		}
		ageCol = 0
	}
	for i := range res {
		res[i] = Output{Age: math.NaN(), PFemale: math.NaN()}
		if s.meta.Task != TaskGender {
			res[i].Age = float64(raw[i*per+ageCol])
		}
		if s.meta.Task != TaskAge {
			v := float64(raw[i*per+per-1]) // a [B,2] softmax output: the last column is the positive class
			if s.meta.Output == "logit" {
				v = sigmoid(v)
			}
			res[i].PFemale = v
		}
	}
	return res, nil
}

func (s *onnxScorer) Close() {
	if s.exec != nil {
		s.exec.Finalize()
	}
	if s.gexec != nil {
		s.gexec.Finalize()
	}
}

// flatFloat32 reads a float32 or float64 output.
func flatFloat32(t *tensors.Tensor) ([]float32, error) {
	switch t.DType() {
	case dtypes.Float32:
		return tensors.MustCopyFlatData[float32](t), nil
	case dtypes.Float64:
		f := tensors.MustCopyFlatData[float64](t)
		out := make([]float32, len(f))
		for i, v := range f {
			out[i] = float32(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("ONNX model output is %s, want float32 or float64", t.DType())
}

// convertRange maps RGB in [0,1] to what a model expects, on the host.
func convertRange(x []float32, r string) []float32 {
	if r == "unit" {
		return x
	}
	out := make([]float32, len(x))
	mean := [3]float32{0.485, 0.456, 0.406}
	std := [3]float32{0.229, 0.224, 0.225}
	caffe := [3]float32{103.939, 116.779, 123.68}
	for i := 0; i+2 < len(x); i += 3 {
		for c := 0; c < 3; c++ {
			v := x[i+c]
			switch r {
			case "byte":
				out[i+c] = 255 * v
			case "tf":
				out[i+c] = 2*v - 1
			case "torch":
				out[i+c] = (v - mean[c]) / std[c]
			case "caffe": // BGR order
				out[i+2-c] = 255*v - caffe[2-c]
			}
		}
	}
	return out
}

func toNCHW(x []float32, b, n int) []float32 {
	out := make([]float32, len(x))
	for i := 0; i < b; i++ {
		for p := 0; p < n*n; p++ {
			for c := 0; c < 3; c++ {
				out[i*3*n*n+c*n*n+p] = x[(i*n*n+p)*3+c]
			}
		}
	}
	return out
}
