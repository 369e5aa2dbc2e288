package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewBackendFailsAtStart: a backend that is unknown, not built in, not
// installed or without its device fails when it is opened, with one line
// that says what to do, never a panic.
func TestNewBackendFailsAtStart(t *testing.T) {
	cpuOnly := filepath.Join(t.TempDir(), "libonnxruntime.so.1") // a CPU build: no CUDA provider beside it
	if err := os.WriteFile(cpuOnly, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	xlaWant := "-tags xla"
	if XLABuilt {
		xlaWant = "no NVIDIA GPU"
	}
	type failCase struct {
		name   string
		config string
		gpu    bool   // pretend the machine has an NVIDIA GPU
		ortLib string // $ONNXRUNTIME_SHARED_LIBRARY_PATH
		want   string
	}
	tests := []failCase{
		{"unknown", "tpu", false, "", `unknown backend "tpu": want one of onnx:cpu, onnx:cuda, xla:cpu, xla:cuda, go`},
		{"unknown with options", "torch:cuda,x=1", false, "", `unknown backend "torch"`},
		{"onnx:cuda without a GPU", "onnx:cuda", false, "", "no NVIDIA GPU on this machine"},
		{"onnx:cuda with the CPU build only", "onnx:cuda", true, cpuOnly, "is a CPU build (no libonnxruntime_providers_cuda.so beside it)"},
		{"onnx:cuda with no build", "onnx:cuda", true, "", "ONNX Runtime's GPU build is not installed"},
		{"onnx:gpu alias", "onnx:gpu", true, cpuOnly, "install-onnxruntime.sh --gpu"},
		{"xla:cuda", "xla:cuda", false, "", xlaWant},
	}
	if !XLABuilt {
		tests = append(tests, failCase{"xla:cpu without the tag", "xla:cpu", false, "", "build it with -tags xla"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir()) // no GPU build where install-onnxruntime.sh --gpu puts it
			t.Setenv("ONNXRUNTIME_SHARED_LIBRARY_PATH", tt.ortLib)
			gpu := hasNvidiaGPU
			hasNvidiaGPU = func() bool { return tt.gpu }
			defer func() { hasNvidiaGPU = gpu }()

			b, name, err := NewBackend(tt.config)
			if err == nil {
				b.Finalize()
				t.Fatalf("NewBackend(%q) opened %q, want an error", tt.config, name)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q\nwant it to contain %q", msg, tt.want)
			}
			if !strings.HasPrefix(msg, `backend "`+tt.config+`": `) {
				t.Errorf("error %q does not name the backend", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is more than one line: %q", msg)
			}
		})
	}
}

// TestNewBackendResolves: the backends that are available open under the
// name asked for, and report what they are.
func TestNewBackendResolves(t *testing.T) {
	tests := []struct {
		config string
		name   string // compute.Backend.Name
	}{
		{"go", "Go Backend"},
		{"onnx:cpu", "onnxruntime"},
		{"onnx:cpu,intra_threads=1", "onnxruntime"},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			if strings.HasPrefix(tt.config, "onnx") {
				ortOrSkip(t)
			}
			b, config, err := NewBackend(tt.config)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Finalize()
			if config != tt.config || b.Name() != tt.name {
				t.Errorf("NewBackend(%q) = %s, %q; want %s, %q", tt.config, b.Name(), config, tt.name, tt.config)
			}
			if err := probe(b); err != nil {
				t.Error(err)
			}
		})
	}
}

// ortOrSkip skips a test when ONNX Runtime is not installed.
func ortOrSkip(t *testing.T) {
	t.Helper()
	lib := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH")
	if lib == "" {
		lib = DefaultORTPath()
	}
	if _, err := os.Stat(lib); err != nil {
		t.Skip("ONNX Runtime is not installed: run scripts/install-onnxruntime.sh")
	}
}

func TestSplitConfig(t *testing.T) {
	tests := []struct{ config, name, options string }{
		{"go", "go", ""},
		{"onnx:cpu,intra_threads=2", "onnx", "cpu,intra_threads=2"},
		{"XLA:cuda", "xla", "cuda"},
		{"xla:/opt/pjrt/pjrt_c_api_cuda_plugin.so", "xla", "/opt/pjrt/pjrt_c_api_cuda_plugin.so"},
	}
	for _, tt := range tests {
		name, options := splitConfig(tt.config)
		if name != tt.name || options != tt.options {
			t.Errorf("splitConfig(%q) = %q, %q; want %q, %q", tt.config, name, options, tt.name, tt.options)
		}
	}
	for options, want := range map[string]bool{"cuda": true, "gpu": true, "cpu": false, "cpu,intra_threads=2": false, "CUDA,intra_threads=4": true, "": false} {
		if got := isCUDA(options); got != want {
			t.Errorf("isCUDA(%q) = %v, want %v", options, got, want)
		}
	}
}
