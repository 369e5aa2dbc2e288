// Package graphnet runs the face detector of package faces as a GoMLX graph
// (imported from its ONNX file with onnx-gomlx), on any compute backend:
// the pure-Go one, or XLA. On ONNX Runtime, faces.OpenORT runs it directly.
// It is a package of its own because onnx-gomlx links GoMLX's training
// stack, which the ingest binary does without.
package graphnet

import (
	"fmt"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/onnx-gomlx/onnx/parser"

	"github.com/facepipe/facepipe/faces"
)

type network struct {
	backend compute.Backend
	exec    *mlmodel.Exec
}

// Open converts the embedded detector into a GoMLX graph on the backend.
func Open(backend compute.Backend) (faces.Network, error) {
	w, err := faces.Weights()
	if err != nil {
		return nil, err
	}
	m, err := parser.Parse(w)
	if err != nil {
		return nil, fmt.Errorf("face detector: %w", err)
	}
	names, _ := m.Inputs()
	store := mlmodel.NewStore()
	if err := m.VariablesToScope(store.RootScope()); err != nil {
		return nil, fmt.Errorf("face detector: %w", err)
	}
	exec, err := mlmodel.NewExec(backend, store, func(scope *mlmodel.Scope, x *Node) []*Node {
		return m.CallGraph(scope, x.Graph(), map[string]*Node{names[0]: x})
	})
	if err != nil {
		return nil, fmt.Errorf("face detector: %w", err)
	}
	return &network{backend: backend, exec: exec}, nil
}

func (n *network) Close() { n.exec.Finalize() }

func (n *network) Run(in []float32) ([]float32, []float32, error) {
	t, err := faces.InputTensor(n.backend, in)
	if err != nil {
		return nil, nil, err
	}
	defer t.MustFinalizeAll()
	outs, err := n.exec.Call(t)
	if err != nil {
		return nil, nil, fmt.Errorf("face detector: %w", err)
	}
	return faces.Outputs(append([]*tensors.Tensor(nil), outs...))
}

// OpenDetector opens the face detector on any backend: an ONNX Runtime
// session on the onnx backend, a GoMLX graph on the others.
func OpenDetector(backend compute.Backend) (*faces.Detector, error) {
	var net faces.Network
	var err error
	if backend.Name() == "onnxruntime" {
		net, err = faces.OpenORT(backend)
	} else {
		net, err = Open(backend)
	}
	if err != nil {
		return nil, err
	}
	return faces.NewDetector(net), nil
}
