package model

import (
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

// Net is a network bound to a backend and a variable store.
type Net struct {
	Spec     Spec
	Backend  compute.Backend
	Store    *mlmodel.Store
	Backbone *ONNXBackbone // when Spec.Backbone is an ONNX file

	recal *mlmodel.Exec // RecalibrateBN's graph, compiled once
}

// NewNet creates a network with fresh, seeded weights. The seed drives the
// weight initialization and the dropout masks: a run is reproducible on one
// backend.
func NewNet(backend compute.Backend, spec Spec, seed int64) (*Net, error) {
	n := &Net{Spec: spec, Backend: backend, Store: mlmodel.NewStore()}
	n.Store.SetParam(mlmodel.ParamInitialSeed, seed)
	if err := n.Store.SetRNGStateFromSeed(seed); err != nil {
		return nil, err
	}
	if strings.HasSuffix(strings.ToLower(spec.Backbone), ".onnx") {
		bb, err := LoadONNXBackbone(spec.Backbone, spec.ONNXInput)
		if err != nil {
			return nil, err
		}
		if err := bb.CheckInputSize(spec.InputSize); err != nil {
			return nil, err
		}
		if err := bb.Attach(n.Store); err != nil {
			return nil, err
		}
		n.Backbone = bb
	}
	if _, err := n.Spec.fn(buildOptions{}, n.Backbone); err != nil {
		return nil, err
	}
	return n, nil
}

// TrainFn is the model function for training, which also steps the
// schedule. Its outputs are what the Objective's loss takes.
func (n *Net) TrainFn(s *Schedule) Fn {
	fn, _ := n.Spec.fn(buildOptions{schedule: s, lossOutputs: true}, n.Backbone)
	return fn
}

// InferFn is the model function for inference.
func (n *Net) InferFn() Fn {
	fn, _ := n.Spec.fn(buildOptions{}, n.Backbone)
	return fn
}

// Params counts the trainable parameters.
func (n *Net) Params() int {
	total := 0
	for v := range n.Store.IterVariables() {
		if v.Trainable && !strings.HasPrefix(v.Scope(), "/optimizers") {
			total += v.Shape().Size()
		}
	}
	return total
}

// Tensor copies host data into a tensor the backend reads in place.
func (n *Net) Tensor(data []float32, dims ...int) (*tensors.Tensor, error) {
	return tensorOf(n.Backend, data, dims...)
}

// tensorOf copies data, exactly as many values as dims hold, into a new
// tensor on backend. It writes the tensor's memory once: filling a zeroed
// one instead cost about 5% of scoring's CPU time.
func tensorOf(backend compute.Backend, data []float32, dims ...int) (*tensors.Tensor, error) {
	shape := shapes.Make(dtypes.Float32, dims...)
	if len(data) != shape.Size() {
		return nil, fmt.Errorf("%d values for a tensor of shape %v", len(data), dims)
	}
	var raw []byte
	if len(data) > 0 {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
	}
	return tensors.FromRaw(backend, 0, shape, raw)
}

// Predictor runs a network for inference on fixed-size batches.
//
// The onnx and go backends embed variables as constants in graphs that don't
// train. That is what scoring wants: ONNX Runtime then folds the BatchNorm
// arithmetic into constants (cnn-s at 64×64, batch 128: about 2,700
// images/s instead of 1,400, measured). But such a graph keeps the weights it
// was compiled with, and compiling a new one for every validation pass leaks
// the backend's memory (ONNX Runtime keeps its sessions). So a live
// predictor's graph is marked as training, which keeps the variables as
// parameters, while BatchNorm uses its running averages and dropout is off:
// an inference graph that sees the current weights, compiled once, for
// validation while training.
type Predictor struct {
	net   *Net
	exec  *mlmodel.Exec
	batch int
}

// NewPredictor compiles the inference graph for batches of batch images,
// with the weights as they are now: later changes to them are not seen (see
// NewLivePredictor). With flipTTA the prediction averages the image and its
// mirror.
func (n *Net) NewPredictor(batch int, flipTTA bool) (*Predictor, error) {
	return n.newPredictor(batch, flipTTA, false)
}

// NewLivePredictor is NewPredictor for weights that keep changing: each call
// uses the weights of its moment, at about half the speed.
func (n *Net) NewLivePredictor(batch int, flipTTA bool) (*Predictor, error) {
	return n.newPredictor(batch, flipTTA, true)
}

func (n *Net) newPredictor(batch int, flipTTA, live bool) (*Predictor, error) {
	net, _ := n.Spec.fn(buildOptions{inference: true, noDropout: true}, n.Backbone)
	fn := func(scope *mlmodel.Scope, x *Node) *Node {
		if live {
			scope.Store().SetTraining(x.Graph(), true) // variables stay parameters: see Predictor
		}
		return net(scope, x)
	}
	if flipTTA {
		inner := fn
		fn = func(scope *mlmodel.Scope, x *Node) *Node {
			// One call on the doubled batch: a model function can't run twice in a graph.
			out := inner(scope, Concatenate([]*Node{x, Reverse(x, 2)}, 0))
			halves := Split(out, 0, 2)
			return DivScalar(Add(halves[0], halves[1]), 2)
		}
	}
	exec, err := mlmodel.NewExec(n.Backend, n.Store, fn)
	if err != nil {
		return nil, err
	}
	return &Predictor{net: n, exec: exec, batch: batch}, nil
}

// Output is what a model predicts for one image. A task the model does not
// predict is NaN.
type Output struct {
	Age     float64 // years
	PFemale float64 // probability of female
}

// Outputs reads a network's outputs, the values of [batch, columns] rows:
// the age in years and the gender logit, in that order, for the tasks spec
// has.
func Outputs(spec Spec, raw []float32, batch int) []Output {
	res := make([]Output, batch)
	per := len(raw) / batch
	for i := range res {
		row := raw[i*per : (i+1)*per]
		res[i] = Output{Age: math.NaN(), PFemale: math.NaN()}
		if spec.HasAge() {
			res[i].Age = float64(row[0])
		}
		if spec.HasGender() {
			res[i].PFemale = sigmoid(float64(row[per-1]))
		}
	}
	return res
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Predict runs one batch: images holds batch×S×S×3 values. It returns one
// output per image.
func (p *Predictor) Predict(images []float32) ([]Output, error) {
	s := p.net.Spec.InputSize
	if len(images) != p.batch*s*s*3 {
		return nil, fmt.Errorf("predict: %d values, want %d×%d×%d×3", len(images), p.batch, s, s)
	}
	in, err := p.net.Tensor(images, p.batch, s, s, 3)
	if err != nil {
		return nil, err
	}
	outs, err := p.exec.Call(in)
	in.MustFinalizeAll() // device buffers are not Go memory: the GC would not free them in time
	if err != nil {
		return nil, err
	}
	defer outs[0].MustFinalizeAll()
	return Outputs(p.net.Spec, tensors.MustCopyFlatData[float32](outs[0]), p.batch), nil
}

// Close releases the compiled graph.
func (p *Predictor) Close() { p.exec.Finalize() }

// Close releases the net's compiled graphs.
func (n *Net) Close() {
	if n.recal != nil {
		n.recal.Finalize()
		n.recal = nil
	}
}

// RecalibrateBN recomputes every BatchNorm's running mean and variance over
// the batches next returns (train images, without augmentation), with the
// current weights: the exact mean of the per-batch statistics. Running
// averages lag far behind the weights at high learning rates.
func (n *Net) RecalibrateBN(batch int, next func() ([]float32, bool)) error {
	if err := resetBNCounts(n.Store); err != nil {
		return err
	}
	if n.recal == nil {
		fn, err := n.Spec.fn(buildOptions{recalibrate: true, noDropout: true}, n.Backbone)
		if err != nil {
			return err
		}
		n.recal, err = mlmodel.NewExec(n.Backend, n.Store, func(scope *mlmodel.Scope, x *Node) *Node {
			scope.Store().SetTraining(x.Graph(), true) // variables stay parameters and BN updates its averages
			return ReduceAllSum(fn(scope, x))
		})
		if err != nil {
			return err
		}
	}
	exec := n.recal
	s := n.Spec.InputSize
	for {
		images, ok := next()
		if !ok {
			return nil
		}
		in, err := n.Tensor(images, batch, s, s, 3)
		if err != nil {
			return err
		}
		out, err := exec.Call(in)
		in.MustFinalizeAll()
		if err != nil {
			return err
		}
		out[0].MustFinalizeAll()
	}
}
