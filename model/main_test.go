package model

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMain makes ONNX Runtime's GPU build the library of this test process on
// a machine with an NVIDIA GPU where scripts/install-onnxruntime.sh --gpu has
// installed it: a process loads one ONNX Runtime library, and the GPU build
// runs onnx:cpu too, so the tests can compare onnx:cuda with onnx:cpu.
//
// It also turns off the XLA plugins' auto-install: tests never download.
func TestMain(m *testing.M) {
	noAutoInstall = true
	gpuLib := DefaultORTGPUPath()
	if _, err := os.Stat(filepath.Join(filepath.Dir(gpuLib), ORTCUDAProvider)); err == nil && hasNvidiaGPU() {
		os.Setenv("ONNXRUNTIME_SHARED_LIBRARY_PATH", gpuLib)
		fmt.Fprintf(os.Stderr, "model tests: ONNX Runtime from %s\n", gpuLib)
	}
	os.Exit(m.Run())
}
