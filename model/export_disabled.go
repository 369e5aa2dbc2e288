//go:build !onnx

package model

import (
	"errors"

	"github.com/gomlx/compute"
)

// ONNXExport reports whether this build can export ONNX (-tags onnx).
const ONNXExport = false

// ErrNoONNXExport is returned by ExportONNX in builds without -tags onnx.
var ErrNoONNXExport = errors.New("ONNX export needs a build with -tags onnx")

// ExportONNX is available in builds with -tags onnx.
func (n *Net) ExportONNX(path string, batch int, onnxBackend compute.Backend) error {
	return ErrNoONNXExport
}
