package training_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/training"
)

// TestModelJSONReportsBackend: a model folder says in model.json which
// backend trained it, as asked and as the backend describes itself. Each
// backend that is not built in, not installed or without its device here
// skips with the reason; the pure-Go backend always runs.
func TestModelJSONReportsBackend(t *testing.T) {
	tests := []struct {
		config string
		desc   string // in backend_description
	}{
		{"go", "Go Portable Compute Backend"},
		{"onnx:cpu", "ONNX Runtime"},
		{"xla:cpu", "xla:cpu"},
		{"onnx:cuda", "(CUDA GPU)"},
		{"xla:cuda", "xla:cuda"},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			b, _, err := model.NewBackend(tt.config)
			if err != nil {
				if tt.config == "go" {
					t.Fatal(err)
				}
				t.Skipf("%s is not available here: %v", tt.config, err)
			}
			b.Finalize()
			cfg := config(t, model.TaskAge)
			cfg.Backend, cfg.Epochs, cfg.MaxSteps, cfg.Recalibrate = tt.config, 1, 2, 16
			if _, err := training.Train(context.Background(), cfg); err != nil {
				t.Fatalf("%v\n%s", err, cfg.Log)
			}
			card, err := model.ReadCard(cfg.Out)
			if err != nil {
				t.Fatal(err)
			}
			if card.Backend != tt.config || !strings.Contains(card.BackendDescription, tt.desc) {
				t.Errorf("model.json: backend %q, backend_description %q; want %q and one containing %q",
					card.Backend, card.BackendDescription, tt.config, tt.desc)
			}
		})
	}
}

// TestUnknownBackendFailsAtStart: training with a backend that can't be
// opened stops before it writes anything, with one line.
func TestUnknownBackendFailsAtStart(t *testing.T) {
	for _, backend := range []string{"tpu", "onnx:cuda,nosuchdevice=1"} {
		cfg := config(t, model.TaskAge)
		cfg.Out = filepath.Join(t.TempDir(), "model")
		cfg.Backend = backend
		_, err := training.Train(context.Background(), cfg)
		if err == nil || !strings.HasPrefix(err.Error(), `backend "`+backend+`": `) || strings.Contains(err.Error(), "\n") {
			t.Errorf("--backend=%s: error %v, want one line naming the backend", backend, err)
		}
		if _, err := os.Stat(cfg.Out); !os.IsNotExist(err) {
			t.Errorf("--backend=%s: %s was created", backend, cfg.Out)
		}
	}
}
