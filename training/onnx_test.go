package training_test

import (
	"context"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	onnxbackend "github.com/gomlx/compute-onnx"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/facepipe/facepipe/dataset"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/training"
)

func ortBackendOrSkip(t *testing.T) {
	t.Helper()
	if !model.ORTInstalled() {
		t.Skip("ONNX Runtime is not installed: run scripts/install-onnxruntime.sh")
	}
}

// TestONNXExportMatches: model.onnx, run by ONNX Runtime, predicts what the
// GoMLX model does; and imported as a frozen backbone it trains a new head
// without changing.
func TestONNXExportMatches(t *testing.T) {
	ortBackendOrSkip(t)
	ctx := context.Background()
	cfg := config(t, "age")
	cfg.Epochs = 2
	cfg.ONNXBatch = cfg.Batch // so that the export can serve as a backbone
	if _, err := training.Train(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	onnxPath := filepath.Join(cfg.Out, model.ONNXFile)
	card, err := model.ReadCard(cfg.Out)
	if err != nil || card.ONNX == nil || card.ONNX.Batch != cfg.ONNXBatch {
		t.Fatalf("card %+v, %v", card, err)
	}
	ort, _, err := model.NewBackend("onnx:cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer ort.Finalize()
	net, _, err := model.Load(cfg.Out, ort)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(onnxPath)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := onnxbackend.LoadModel(ort.(*onnxbackend.Backend), f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Finalize()
	p, err := net.NewPredictor(cfg.ONNXBatch, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	checked := 0
	for b := range validBatches(t, cfg) {
		want, err := p.Predict(b.Images)
		if err != nil {
			t.Fatal(err)
		}
		s := cfg.InputSize
		in, _ := net.Tensor(b.Images, cfg.ONNXBatch, s, s, 3)
		buf, err := in.Buffer(ort, 0)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := exe.Execute([]compute.Buffer{buf}, []bool{false}, 0)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tensors.FromBuffer(outs[0])
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float32](out)
		for i := 0; i < b.Valid; i++ {
			if d := math.Abs(float64(got[i]) - want[i].Age); d > 1e-3 {
				t.Fatalf("image %d: ONNX Runtime %v, GoMLX %v", i, got[i], want[i].Age)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("nothing compared")
	}

	// The export, imported as a frozen backbone with the notebook's head; a
	// batch size other than the export's is refused.
	wrong := cfg
	wrong.Out, wrong.Backbone, wrong.Batch = t.TempDir(), onnxPath, 8
	if _, err := training.Train(ctx, wrong); err == nil || !strings.Contains(err.Error(), "--batch=16") {
		t.Errorf("a backbone with a fixed batch of 16 trained with batch 8: %v", err)
	}
	head := cfg
	head.Out, head.Backbone, head.Epochs, head.Backend = t.TempDir(), onnxPath, 2, "go"
	res, err := training.Train(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	if res.Card.Backbone != onnxPath {
		t.Errorf("card backbone %s", res.Card.Backbone)
	}
	frozen, _, err := model.Load(head.Out, ort)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := model.NewNet(ort, model.Spec{Task: "age", Backbone: onnxPath, InputSize: cfg.InputSize, AgeScale: 10, AgeShift: 30, ONNXInput: "unit"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for v := range fresh.Store.IterVariables() {
		if !strings.HasPrefix(v.Scope(), "/ONNX") || v.Shape().DType != dtypes.Float32 {
			continue
		}
		after := frozen.Store.GetVariable(v.Scope() + "/" + v.Name())
		if after == nil {
			t.Fatalf("variable %s/%s is missing from the trained model", v.Scope(), v.Name())
		}
		a := tensors.MustCopyFlatData[float32](v.MustValue())
		b := tensors.MustCopyFlatData[float32](after.MustValue())
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("backbone variable %s/%s changed in training", v.Scope(), v.Name())
			}
		}
		compared++
	}
	if compared == 0 {
		t.Fatal("no backbone variables compared")
	}
}

// TestONNXExportOfBoth: a network with both heads, the age one DLDL, trained
// with EMA, exports one output [batch,2], the expected age in years and the
// gender logit, which ONNX Runtime computes as GoMLX does from the model
// folder's weights (the moving averages: TestEMAWeightsAreKept); and scoring
// the export, as an ONNX file of task both, gives the model folder's
// predictions.
func TestONNXExportOfBoth(t *testing.T) {
	ortBackendOrSkip(t)
	ctx := context.Background()
	cfg := config(t, model.TaskBoth)
	cfg.AgeHead, cfg.Epochs, cfg.DLDLL1, cfg.EMA = model.AgeHeadDLDL, 1, 1, 0.9
	if _, err := training.Train(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	card, err := model.ReadCard(cfg.Out)
	if err != nil || card.ONNX == nil || strings.Join(card.ONNX.Columns, ",") != "age_years,gender_logit" {
		t.Fatalf("card %+v, %v", card, err)
	}
	ort, _, err := model.NewBackend("onnx:cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer ort.Finalize()
	folder, err := model.OpenFolder(cfg.Out, ort, cfg.ONNXBatch, false)
	if err != nil {
		t.Fatal(err)
	}
	defer folder.Close()
	exported, err := model.OpenONNX(filepath.Join(cfg.Out, model.ONNXFile), model.ONNXMeta{Task: model.TaskBoth, Range: "unit", Output: "logit", StoredSize: card.Preprocessing.StoredSize}, ort)
	if err != nil {
		t.Fatal(err)
	}
	defer exported.Close()
	checked := 0
	for b := range validBatches(t, cfg) {
		want, err := folder.Predict(b.Images)
		if err != nil {
			t.Fatal(err)
		}
		got, err := exported.Predict(b.Images)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < b.Valid; i++ {
			if math.Abs(got[i].Age-want[i].Age) > 1e-3 || math.Abs(got[i].PFemale-want[i].PFemale) > 1e-4 || math.IsNaN(got[i].Age+got[i].PFemale) {
				t.Fatalf("image %d: ONNX Runtime %+v, GoMLX %+v", i, got[i], want[i])
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("nothing compared")
	}
}

// validBatches reads the valid split of cfg.Data in padded batches of
// cfg.ONNXBatch.
func validBatches(t *testing.T, cfg training.Config) iter.Seq[*dataset.Batch] {
	return func(yield func(*dataset.Batch) bool) {
		src, err := dataset.Open(context.Background(), cfg.Data)
		if err != nil {
			t.Fatal(err)
		}
		r, err := src.Read(context.Background(), dataset.Options{Split: "valid", InputSize: cfg.InputSize, BatchSize: cfg.ONNXBatch, Pad: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for {
			b, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !yield(b) {
				return
			}
		}
	}
}
