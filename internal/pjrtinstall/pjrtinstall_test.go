package pjrtinstall

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInstalled(t *testing.T) {
	tests := []struct {
		plugin string
		file   string // created under ~/.local/lib/go-xla
		want   bool
	}{
		{"cpu", "", false},
		{"cpu", "pjrt_c_api_cpu_v0.114.0_plugin.so", true},
		{"cpu", "pjrt_c_api_cpu_plugin.so", true},
		{"cuda", "pjrt_c_api_cuda_plugin.so", false}, // cuda lives in nvidia/
		{"cuda", "nvidia/pjrt_c_api_cuda_plugin.so", true},
		{"tpu", "pjrt_c_api_tpu_plugin.so", false},
	}
	for _, tt := range tests {
		t.Run(tt.plugin+"/"+tt.file, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			if tt.file != "" {
				p := filepath.Join(Dir(), tt.file)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := Installed(tt.plugin); got != tt.want {
				t.Errorf("Installed(%q) with %q = %v, want %v", tt.plugin, tt.file, got, tt.want)
			}
		})
	}
}

// TestInstallOffline: where the download host can't be reached, Install
// fails at once with one line that says what to run and where it installs.
func TestInstallOffline(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	saved := hosts["cpu"]
	hosts["cpu"] = "127.0.0.1:1" // nothing listens on port 1
	defer func() { hosts["cpu"] = saved }()
	start := time.Now()
	err := Install("cpu")
	if err == nil {
		t.Fatal("Install succeeded offline")
	}
	msg := err.Error()
	for _, want := range []string{`PJRT plugin "cpu"`, "127.0.0.1:1 can't be reached", "go run ./scripts/installpjrt cpu", Dir()} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q\nwant it to contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is more than one line: %q", msg)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestInstallUnknown(t *testing.T) {
	err := Install("tpu")
	if err == nil || !strings.Contains(err.Error(), `unknown PJRT plugin "tpu": want one of cpu, cuda`) {
		t.Errorf("Install(tpu) = %v", err)
	}
}
