// Package model holds the age and gender networks: their architectures as
// plain Go functions over GoMLX graphs, the optimizer and schedule, BatchNorm
// recalibration, prediction, checkpoints, ONNX export and import, and the
// model folder that training writes and scoring reads.
package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute-onnx"      // "onnx": ONNX Runtime, CPU or CUDA
	_ "github.com/gomlx/compute/gobackend" // "go": pure Go, slow for convolutions
	. "github.com/gomlx/gomlx/core/graph"

	"github.com/facepipe/facepipe/internal/ort"
)

// ORTCUDAProvider is the library of ONNX Runtime's CUDA execution provider:
// its GPU build has it beside libonnxruntime.so.1, its CPU build does not.
const ORTCUDAProvider = "libonnxruntime_providers_cuda.so"

// DefaultORTPath is where scripts/install-onnxruntime.sh puts ONNX Runtime.
func DefaultORTPath() string { return ort.DefaultPath() }

// DefaultORTGPUPath is where scripts/install-onnxruntime.sh --gpu puts ONNX
// Runtime's GPU build.
func DefaultORTGPUPath() string { return ort.DefaultGPUPath() }

// Backends lists the backends this binary can open: "onnx" and "go" always,
// "xla" in builds with -tags xla.
func Backends() []string {
	if XLABuilt {
		return []string{"onnx", "xla", "go"}
	}
	return []string{"onnx", "go"}
}

// noAutoInstall records whether the user set GOMLX_NO_AUTO_INSTALL, read
// before NewBackend sets it for ONNX Runtime.
var noAutoInstall = os.Getenv("GOMLX_NO_AUTO_INSTALL") != ""

// NewBackend opens the compute backend. The choice is explicit: the config
// given (e.g. "onnx:cpu", "onnx:cuda", "xla:cuda", "xla:cpu", "go"), else
// $GOMLX_BACKEND, else onnx:cpu with one thread per core when the ONNX
// Runtime library is found ($ONNXRUNTIME_SHARED_LIBRARY_PATH, or where
// scripts/install-onnxruntime.sh puts it), else the pure-Go backend with a
// warning on stderr. An onnx config given explicitly also finds the library
// where scripts/install-onnxruntime.sh puts it; onnx:cuda uses the GPU build
// that scripts/install-onnxruntime.sh --gpu installs. It returns the config
// it used.
//
// A backend that is unknown, not built into this binary, not installed, or
// whose device is missing fails here, with a one-line error that says what
// to install or how to build; GPU backends and XLA also run a small
// computation before they are returned, so that a driver or library that
// can't be loaded is reported now rather than at the first training step.
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
	lib := ort.Library()
	if config == "" {
		if _, err := os.Stat(lib); lib != "" && err == nil {
			config = fmt.Sprintf("onnx:cpu,intra_threads=%d", max(1, threads))
		} else {
			fmt.Fprintln(os.Stderr, "WARNING: no ONNX Runtime library found (run scripts/install-onnxruntime.sh, "+
				"or set GOMLX_BACKEND); using the pure-Go backend, 25-60x slower for convolutions")
			config = "go"
		}
	}
	fail := func(err error) (compute.Backend, string, error) {
		return nil, config, fmt.Errorf("backend %q: %s", config, oneLine(err))
	}
	name, options := splitConfig(config)
	var b compute.Backend
	var err error
	switch name {
	case "go":
		b, err = compute.NewWithConfig(config)
	case "onnx":
		if isCUDA(options) {
			if err := useORTGPU(); err != nil {
				return fail(err)
			}
		}
		ort.NoAutoInstall()
		b, err = compute.NewWithConfig(config)
		if err == nil && isCUDA(options) {
			err = probe(b)
		}
	case "xla":
		b, err = openXLA(options)
		if err == nil {
			err = probe(b)
		}
	default:
		return fail(fmt.Errorf("unknown backend %q: want one of onnx:cpu, onnx:cuda, xla:cpu, xla:cuda, go", name))
	}
	if err != nil {
		if b != nil {
			b.Finalize()
		}
		return fail(err)
	}
	return b, config, nil
}

// splitConfig splits "name:options" (compute's form); a config without a
// colon is a name alone.
func splitConfig(config string) (name, options string) {
	name, options, _ = strings.Cut(config, ":")
	return strings.ToLower(strings.TrimSpace(name)), options
}

// isCUDA reports whether onnx backend options ask for the CUDA execution
// provider ("cuda" or "gpu" among the comma-separated options).
func isCUDA(options string) bool {
	return slices.ContainsFunc(strings.Split(options, ","), func(o string) bool {
		o = strings.ToLower(strings.TrimSpace(o))
		return o == "cuda" || o == "gpu"
	})
}

// hasNvidiaGPU reports whether the machine has an NVIDIA GPU, the way
// ONNX Runtime's and XLA's loaders in GoMLX tell: a /dev/nvidia* device. A
// variable so that tests can pretend.
var hasNvidiaGPU = func() bool {
	m, _ := filepath.Glob("/dev/nvidia*")
	return len(m) > 0
}

// useORTGPU points ONNXRUNTIME_SHARED_LIBRARY_PATH at ONNX Runtime's GPU
// build: the one already named there if it has the CUDA provider beside it,
// else the one scripts/install-onnxruntime.sh --gpu installs.
func useORTGPU() error {
	if !hasNvidiaGPU() {
		return errors.New("no NVIDIA GPU on this machine (no /dev/nvidia* device): use onnx:cpu")
	}
	env := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH")
	for _, lib := range []string{env, DefaultORTGPUPath()} {
		if lib == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(lib), ORTCUDAProvider)); err == nil {
			return os.Setenv("ONNXRUNTIME_SHARED_LIBRARY_PATH", lib)
		}
	}
	if env != "" {
		return fmt.Errorf("the ONNX Runtime library %s is a CPU build (no %s beside it) and %s is not installed: "+
			"run scripts/install-onnxruntime.sh --gpu", env, ORTCUDAProvider, DefaultORTGPUPath())
	}
	return fmt.Errorf("ONNX Runtime's GPU build is not installed (%s): run scripts/install-onnxruntime.sh --gpu", DefaultORTGPUPath())
}

// probe runs a small computation on b, so that a device or library that
// fails to load does so now.
func probe(b compute.Backend) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("test computation failed: %v", r)
		}
	}()
	out, err := ExecOnce(b, func(x *Node) *Node { return AddScalar(x, 1) }, []float32{1, 2})
	if err != nil {
		return fmt.Errorf("test computation failed: %w", err)
	}
	defer out.FinalizeAll()
	v, err := out.ValueSafe()
	if err != nil {
		return fmt.Errorf("test computation failed: %w", err)
	}
	if got, ok := v.([]float32); !ok || len(got) != 2 || got[0] != 2 || got[1] != 3 {
		return fmt.Errorf("test computation: 1+[1 2] gave %v", v)
	}
	return nil
}

// oneLine joins the lines of err's message, so that a backend's failure is
// one line on the terminal.
func oneLine(err error) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// IsONNXRuntime reports whether a backend is ONNX Runtime.
func IsONNXRuntime(b compute.Backend) bool { return b.Name() == "onnxruntime" }

// ORTInstalled reports whether the ONNX Runtime library that the onnx
// backends load is there: $ONNXRUNTIME_SHARED_LIBRARY_PATH, else where
// scripts/install-onnxruntime.sh puts it.
func ORTInstalled() bool { return ort.Installed() }
