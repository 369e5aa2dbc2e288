//go:build !xla

package model

import (
	"errors"

	"github.com/gomlx/compute"
)

// XLABuilt reports whether this binary has GoMLX's XLA backend (-tags xla).
const XLABuilt = false

// ErrNoXLA is the error of an xla backend in a build without -tags xla.
var ErrNoXLA = errors.New("this binary was built without the XLA backend: build it with -tags xla " +
	"(e.g. go build -tags xla -o bin/train ./pipelines/train), or use onnx:cuda or onnx:cpu")

func openXLA(options string) (compute.Backend, error) { return nil, ErrNoXLA }
