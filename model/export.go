package model

import (
	"fmt"
	"os"

	"github.com/gomlx/compute"
	onnxbackend "github.com/gomlx/compute-onnx"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

// ExportONNX writes the network as an ONNX file taking "images"
// [batch,S,S,3] float32 NHWC RGB in [0,1] and giving "output" [batch,1]: age
// in years (a DLDL head's expected age), or the gender logit; for TaskBoth
// [batch,2], the age then the gender logit (OutputColumns). The export needs
// an ONNX Runtime backend; onnxBackend may be nil when the net's own backend
// is one.
//
// It does what GoMLX's ml/model/onnx.SaveToFile does, which GoMLX builds
// only with -tags onnx: the graph is compiled with the weights as constants
// by the ONNX Runtime backend, told to keep the ONNX model it builds, and
// that model is saved. The ONNX Runtime backend needs no cgo, and every
// binary that trains links it anyway, so the export needs no build tag.
func (n *Net) ExportONNX(path string, batch int, onnxBackend compute.Backend) (err error) {
	if onnxBackend == nil {
		onnxBackend = n.Backend
	}
	ort, ok := onnxBackend.(*onnxbackend.Backend)
	if !ok {
		return fmt.Errorf("exporting %s: backend %q is not ONNX Runtime", path, onnxBackend.Name())
	}
	exec, err := mlmodel.NewExec(onnxBackend, n.Store, n.InferFn())
	if err != nil {
		return err
	}
	defer exec.Finalize()

	keep := ort.KeepModelProto()
	ort.SetKeepModelProto(true)
	defer ort.SetKeepModelProto(keep)
	asConst := n.Store.VariablesAsConst()
	n.Store.WithVariableAsConst(true)
	defer n.Store.WithVariableAsConst(asConst)

	s := n.Spec.InputSize
	g, err := exec.Compile(shapes.Make(dtypes.Float32, batch, s, s, 3))
	if err != nil {
		return fmt.Errorf("exporting %s: compiling the graph: %w", path, err)
	}
	if e, ok := g.Executable().(*onnxbackend.Executable); ok && e.ModelProto() == nil {
		return fmt.Errorf("exporting %s: ONNX Runtime kept no ONNX model of the graph", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if err := onnxbackend.SaveModel(onnxBackend, g.Executable(), f, []string{"images"}, []string{"output"}); err != nil {
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	return nil
}
