package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoMLStack keeps the ingest binary, which is also every ingest
// worker on Dataflow, free of the training stack: GoMLX's training loop,
// optimizers and layers and our model and training packages belong to train
// and score. It links only the inference runtime that the face detector of
// --faces=detect needs (GoMLX's compute backends, ONNX Runtime's bindings and
// the ONNX importer).
func TestLinksNoMLStack(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps listed only %d packages: %q", len(deps), deps)
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/gomlx/gomlx/ml/train", "github.com/gomlx/gomlx/ml/layers", "github.com/gomlx/go-xla",
			"github.com/facepipe/facepipe/model", "github.com/facepipe/facepipe/training", "github.com/facepipe/facepipe/dataset",
			"github.com/facepipe/facepipe/transforms/score"} {
			if strings.Contains(d, banned) {
				t.Errorf("pipelines/ingest links %s", d)
			}
		}
	}
}
