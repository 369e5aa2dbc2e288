package model

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute-onnx/support/protos"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/onnx-gomlx/onnx"
	"github.com/gomlx/onnx-gomlx/onnx/parser"
	"google.golang.org/protobuf/proto"
)

// Value ranges an ONNX backbone may expect, for Spec.ONNXInput. Our images
// are RGB in [0,1].
var ONNXInputs = map[string]string{
	"unit":  "RGB in [0,1], as stored",
	"byte":  "RGB in [0,255]",
	"tf":    "RGB in [-1,1] (Keras preprocess_input mode 'tf': ResNetV2, MobileNet, Inception)",
	"caffe": "BGR in [0,255] minus the ImageNet channel means (Keras VGG16/ResNet50 preprocess_input)",
	"torch": "RGB in [0,1], normalized by the ImageNet mean and std (torchvision)",
}

// ONNXBackbone is a pretrained network imported from an ONNX file with
// onnx-gomlx. It stays frozen: its variables are not trainable and no
// gradient flows into it.
type ONNXBackbone struct {
	Path  string
	Range string // a key of ONNXInputs
	model onnx.Model
	input string
	nchw  bool
	side  int // fixed spatial size of the input, 0 when dynamic
	batch int // fixed batch size of the input, 0 when dynamic
}

// LoadONNXBackbone parses an ONNX file whose first input takes a batch of
// images (NCHW or NHWC with 3 channels) and whose first output is a feature
// map or vector.
func LoadONNXBackbone(path, inputRange string) (*ONNXBackbone, error) {
	if _, ok := ONNXInputs[inputRange]; !ok {
		return nil, fmt.Errorf("backbone input range %q: want one of unit, byte, tf, caffe, torch", inputRange)
	}
	data, err := readBounded(path, MaxONNXBytes)
	if err != nil {
		return nil, fmt.Errorf("backbone: %w", err)
	}
	if data, err = stripMaxPoolDilations(data); err != nil {
		return nil, fmt.Errorf("backbone %s: %w", path, err)
	}
	m, err := parser.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("backbone %s: %w", path, err)
	}
	names, shapes := m.Inputs()
	if len(names) == 0 {
		return nil, fmt.Errorf("backbone %s has no inputs", path)
	}
	dims := shapes[0].Dimensions
	if err := checkImageInput(path, names[0], dims); err != nil {
		return nil, fmt.Errorf("backbone: %w", err)
	}
	b := &ONNXBackbone{Path: path, Range: inputRange, model: m, input: names[0]}
	switch {
	case dims[1] == 3:
		b.nchw, b.side = true, dims[2]
	case dims[3] == 3:
		b.side = dims[1]
	default:
		return nil, fmt.Errorf("backbone %s: input %q has shape %s: no 3-channel axis", path, names[0], shapes[0])
	}
	b.side, b.batch = max(b.side, 0), max(dims[0], 0)
	return b, nil
}

// CheckInputSize fails when the backbone has a fixed input size other than
// size.
func (b *ONNXBackbone) CheckInputSize(size int) error {
	if b.side > 0 && b.side != size {
		return fmt.Errorf("backbone %s takes %d×%d images: use --input_size=%d", b.Path, b.side, b.side, b.side)
	}
	return nil
}

// CheckBatch fails when the backbone has a fixed batch size other than
// batch (exports of convolutional networks usually do).
func (b *ONNXBackbone) CheckBatch(batch int) error {
	if b.batch > 0 && b.batch != batch {
		return fmt.Errorf("backbone %s takes batches of %d: use --batch=%d", b.Path, b.batch, b.batch)
	}
	return nil
}

// Attach puts the backbone's weights into the store, frozen.
func (b *ONNXBackbone) Attach(store *mlmodel.Store) error {
	if err := b.model.VariablesToScope(store.RootScope()); err != nil {
		return err
	}
	for v := range store.IterVariables() {
		if strings.HasPrefix(v.Scope(), "/"+onnx.ModelScope) {
			v.SetTrainable(false)
		}
	}
	return nil
}

// features runs the backbone on images NHWC RGB in [0,1], adapting the value
// range and layout, and stops the gradient at its output.
func (b *ONNXBackbone) features(scope *mlmodel.Scope, x *Node) *Node {
	g := x.Graph()
	switch b.Range {
	case "byte":
		x = MulScalar(x, 255)
	case "tf":
		x = AddScalar(MulScalar(x, 2), -1)
	case "caffe": // RGB → BGR, ×255, minus the means
		x = Concatenate([]*Node{
			Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisElem(2)),
			Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisElem(1)),
			Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisElem(0)),
		}, 3)
		x = Sub(MulScalar(x, 255), Const(g, [][][][]float32{{{{103.939, 116.779, 123.68}}}}))
	case "torch":
		x = Div(Sub(x, Const(g, [][][][]float32{{{{0.485, 0.456, 0.406}}}})), Const(g, [][][][]float32{{{{0.229, 0.224, 0.225}}}}))
	}
	if b.nchw {
		x = TransposeAllAxes(x, 0, 3, 1, 2)
	}
	out := b.model.CallGraph(scope, g, map[string]*Node{b.input: ConvertDType(x, dtypes.Float32)})[0]
	return StopGradient(out)
}

// stripMaxPoolDilations removes the "dilations" attribute of MaxPool nodes,
// which onnx-gomlx v0.5 rejects and GoMLX's exporter always writes as 1s.
// Non-unit dilations are an error.
func stripMaxPoolDilations(model []byte) ([]byte, error) {
	var m protos.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, fmt.Errorf("parsing the ONNX model: %w", err)
	}
	changed := false
	for _, n := range m.GetGraph().GetNode() {
		if n.GetOpType() != "MaxPool" {
			continue
		}
		kept := n.Attribute[:0]
		for _, a := range n.Attribute {
			if a.GetName() == "dilations" {
				for _, d := range a.GetInts() {
					if d != 1 {
						return nil, fmt.Errorf("MaxPool %q has dilations %v, which onnx-gomlx does not support", n.GetName(), a.GetInts())
					}
				}
				changed = true
				continue
			}
			kept = append(kept, a)
		}
		n.Attribute = kept
	}
	if !changed {
		return model, nil
	}
	return proto.Marshal(&m)
}

// IsONNXBackbone reports whether a backbone names an ONNX file.
func IsONNXBackbone(backbone string) bool {
	return strings.HasSuffix(strings.ToLower(backbone), ".onnx")
}
