// Package ort finds the ONNX Runtime library that GoMLX's onnx backend
// (github.com/gomlx/compute-onnx) loads, where scripts/install-onnxruntime.sh
// puts it, and opens a CPU backend on it. The model package builds its full
// backend choice on it; the ingest binary, which runs the face detector but
// carries no training stack, uses it alone.
package ort

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute-onnx" // "onnx": ONNX Runtime
)

// LibraryEnv is the variable that names the library to load.
const LibraryEnv = "ONNXRUNTIME_SHARED_LIBRARY_PATH"

// DefaultPath is where scripts/install-onnxruntime.sh puts ONNX Runtime.
func DefaultPath() string {
	return filepath.Join(cacheDir(), "onnxruntime", "libonnxruntime.so.1")
}

// DefaultGPUPath is where scripts/install-onnxruntime.sh --gpu puts ONNX
// Runtime's GPU build.
func DefaultGPUPath() string {
	return filepath.Join(cacheDir(), "onnxruntime-gpu", "libonnxruntime.so.1")
}

func cacheDir() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "facepipe")
}

// Library returns the library to load: $ONNXRUNTIME_SHARED_LIBRARY_PATH, else
// DefaultPath when it exists, which it then puts in the variable for the
// backend to find; "" when neither.
func Library() string {
	if lib := os.Getenv(LibraryEnv); lib != "" {
		return lib
	}
	if _, err := os.Stat(DefaultPath()); err == nil {
		os.Setenv(LibraryEnv, DefaultPath())
		return DefaultPath()
	}
	return ""
}

// Installed reports whether the library Library names is there.
func Installed() bool {
	lib := Library()
	if lib == "" {
		return false
	}
	_, err := os.Stat(lib)
	return err == nil
}

// NoAutoInstall stops GoMLX from downloading ONNX Runtime from GitHub
// (which these machines can't reach) when a library is named.
func NoAutoInstall() {
	if os.Getenv("GOMLX_NO_AUTO_INSTALL") == "" && os.Getenv(LibraryEnv) != "" {
		os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	}
}

// OpenCPU opens ONNX Runtime on the CPU with threads threads per session. It
// fails in one line that says how to install the library when it is
// missing.
func OpenCPU(threads int) (compute.Backend, string, error) {
	config := fmt.Sprintf("onnx:cpu,intra_threads=%d", max(1, threads))
	if !Installed() {
		return nil, config, fmt.Errorf("backend %q: the ONNX Runtime library is not installed (%s): run scripts/install-onnxruntime.sh", config, DefaultPath())
	}
	NoAutoInstall()
	b, err := compute.NewWithConfig(config)
	if err != nil {
		return nil, config, fmt.Errorf("backend %q: %w", config, err)
	}
	return b, config, nil
}
