// Package model holds the age and gender networks: their architectures as
// plain Go functions over GoMLX graphs, the optimizer and schedule, BatchNorm
// recalibration, prediction, checkpoints, ONNX export and import, and the
// model folder that training writes and scoring reads.
package model

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute-onnx"      // "onnx": ONNX Runtime, CPU or CUDA
	_ "github.com/gomlx/compute/gobackend" // "go": pure Go, slow for convolutions
)

// DefaultORTPath is where scripts/install-onnxruntime.sh puts ONNX Runtime.
func DefaultORTPath() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "facepipe", "onnxruntime", "libonnxruntime.so.1")
}

// NewBackend opens the compute backend. The choice is explicit: the config
// given (e.g. "onnx:cpu", "onnx:cuda", "xla:cuda", "go"), else $GOMLX_BACKEND,
// else onnx:cpu with one thread per core when the ONNX Runtime library is
// found ($ONNXRUNTIME_SHARED_LIBRARY_PATH, or where
// scripts/install-onnxruntime.sh puts it), else the pure-Go backend with a
// warning on stderr. An onnx config given explicitly also finds the library
// where scripts/install-onnxruntime.sh puts it. It returns the config it used.
func NewBackend(config string) (compute.Backend, string, error) {
	return NewBackendThreads(config, runtime.NumCPU())
}

// NewBackendThreads is NewBackend with the number of threads each ONNX
// Runtime session uses when the choice is left to it (no config, no
// $GOMLX_BACKEND). Scoring runs its models side by side and decodes
// alongside, so it gives each session a share of the cores: ONNX Runtime's
// threads spin between operations, so more threads than free cores burn CPU.
func NewBackendThreads(config string, threads int) (compute.Backend, string, error) {
	if config == "" {
		config = os.Getenv(compute.ConfigEnvVar)
	}
	lib := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH")
	if lib == "" {
		if _, err := os.Stat(DefaultORTPath()); err == nil {
			lib = DefaultORTPath()
			os.Setenv("ONNXRUNTIME_SHARED_LIBRARY_PATH", lib)
		}
	}
	if config == "" {
		if _, err := os.Stat(lib); lib != "" && err == nil {
			config = fmt.Sprintf("onnx:cpu,intra_threads=%d", max(1, threads))
		} else {
			fmt.Fprintln(os.Stderr, "WARNING: no ONNX Runtime library found (run scripts/install-onnxruntime.sh, "+
				"or set GOMLX_BACKEND); using the pure-Go backend, 25-60x slower for convolutions")
			config = "go"
		}
	}
	if os.Getenv("GOMLX_NO_AUTO_INSTALL") == "" && os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH") != "" {
		os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	}
	b, err := compute.NewWithConfig(config)
	if err != nil {
		return nil, config, fmt.Errorf("backend %q: %w", config, err)
	}
	return b, config, nil
}

// IsONNXRuntime reports whether a backend is ONNX Runtime.
func IsONNXRuntime(b compute.Backend) bool { return b.Name() == "onnxruntime" }

// ORTInstalled reports whether the ONNX Runtime library that the onnx
// backends load is there: $ONNXRUNTIME_SHARED_LIBRARY_PATH, else where
// scripts/install-onnxruntime.sh puts it.
func ORTInstalled() bool {
	lib := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH")
	if lib == "" {
		lib = DefaultORTPath()
	}
	_, err := os.Stat(lib)
	return err == nil
}
