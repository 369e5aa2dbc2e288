//go:build onnx

package model

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	gomlxonnx "github.com/gomlx/gomlx/ml/model/onnx"
)

// ONNXExport reports whether this build can export ONNX (-tags onnx).
const ONNXExport = true

// ExportONNX writes the network as an ONNX file taking "images"
// [batch,S,S,3] float32 NHWC RGB in [0,1] and giving "output" [batch,1]: age
// in years (a DLDL head's expected age), or the gender logit; for TaskBoth
// [batch,2], the age then the gender logit (OutputColumns). The export needs an ONNX Runtime backend;
// onnxBackend may be nil when the net's own backend is one.
func (n *Net) ExportONNX(path string, batch int, onnxBackend compute.Backend) error {
	if onnxBackend == nil {
		onnxBackend = n.Backend
	}
	exec, err := mlmodel.NewExec(onnxBackend, n.Store, n.InferFn())
	if err != nil {
		return err
	}
	defer exec.Finalize()
	s := n.Spec.InputSize
	return gomlxonnx.SaveToFile(onnxBackend, exec, path,
		[]shapes.Shape{shapes.Make(dtypes.Float32, batch, s, s, 3)}, []string{"images"}, []string{"output"})
}
