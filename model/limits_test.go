package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute-onnx/support/protos"
	"google.golang.org/protobuf/proto"
)

// editCard rewrites fields of dir/model.json: a nil value removes the field.
func editCard(t *testing.T, dir string, fields map[string]any) {
	t.Helper()
	file := filepath.Join(dir, CardFile)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var card map[string]any
	if err := json.Unmarshal(data, &card); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		if v == nil {
			delete(card, k)
			continue
		}
		if k == "stored_size" {
			card["preprocessing"].(map[string]any)[k] = v
			continue
		}
		card[k] = v
	}
	if data, err = json.Marshal(card); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantOneLine fails unless err is one line that holds every part.
func wantOneLine(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one naming %q", parts)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error on several lines: %q", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q does not name %q", msg, p)
		}
	}
}

// TestReadCardChecksEveryFieldAgainstBounds: a model.json whose fields are
// out of bounds (an input size of 100000 made scoring die of out-of-memory)
// is refused on one line naming the file and the field, before anything is
// built from it; the folder as written by training reads back.
func TestReadCardChecksEveryFieldAgainstBounds(t *testing.T) {
	backend := goBackend(t)
	spec := Spec{Task: TaskAge, Backbone: "cnn-xs", InputSize: 16, AgeScale: 10, AgeShift: 30}
	good := t.TempDir()
	writeFolder(t, backend, good, spec, 1)
	if _, err := ReadCard(good); err != nil {
		t.Fatalf("the folder as written: %v", err)
	}
	cases := []struct {
		name   string
		fields map[string]any
		field  string
	}{
		{"input size 100000", map[string]any{"input_size": 100000}, "input_size 100000"},
		{"input size 0", map[string]any{"input_size": 0}, "input_size 0"},
		{"negative input size", map[string]any{"input_size": -3}, "input_size -3"},
		{"stored size", map[string]any{"stored_size": 1 << 20}, "preprocessing.stored_size 1048576"},
		{"unknown task", map[string]any{"task": "race"}, `task "race"`},
		{"no task", map[string]any{"task": nil}, `task ""`},
		{"unknown age head", map[string]any{"age_head": "softmax"}, `age_head "softmax"`},
		{"unknown backbone", map[string]any{"backbone": "vgg99"}, `backbone "vgg99"`},
		{"age scale", map[string]any{"age_scale": 1e300}, "age_scale 1e+300"},
		{"onnx input", map[string]any{"onnx_input": "bgr"}, `onnx_input "bgr"`},
		{"long id", map[string]any{"id": strings.Repeat("x", 5000)}, "id 5000 bytes"},
		{"format version", map[string]any{"format_version": 2}, "format_version 2"},
		{"best epoch", map[string]any{"best_epoch": 7, "epochs_run": 3}, "best_epoch 7 of 3"},
		{"ONNX batch", map[string]any{"onnx": map[string]any{"file": "model.onnx", "batch": 1 << 30}}, "onnx.batch 1073741824"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			data, err := os.ReadFile(filepath.Join(good, CardFile))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, CardFile), data, 0o644)
			editCard(t, dir, c.fields)
			_, err = ReadCard(dir)
			wantOneLine(t, err, filepath.Join(dir, CardFile)+": "+c.field)
		})
	}
	t.Run("a model.json over 1 MiB", func(t *testing.T) {
		dir := t.TempDir()
		editCard(t, good, nil)
		data, _ := os.ReadFile(filepath.Join(good, CardFile))
		big := append(data[:len(data)-1], []byte(`,"pad":"`+strings.Repeat("x", MaxCardBytes)+`"}`)...)
		os.WriteFile(filepath.Join(dir, CardFile), big, 0o644)
		_, err := ReadCard(dir)
		wantOneLine(t, err, filepath.Join(dir, CardFile), "bytes, more than the 1048576")
	})
	t.Run("scoring", func(t *testing.T) {
		dir := t.TempDir()
		data, _ := os.ReadFile(filepath.Join(good, CardFile))
		os.WriteFile(filepath.Join(dir, CardFile), data, 0o644)
		os.Symlink(filepath.Join(good, CheckpointDir), filepath.Join(dir, CheckpointDir))
		editCard(t, dir, map[string]any{"input_size": 100000})
		sc, err := OpenFolder(dir, backend, 4, false)
		if err == nil {
			sc.Close()
		}
		wantOneLine(t, err, filepath.Join(dir, CardFile)+": input_size 100000: want 8 to 1024")
	})
}

// TestEnsembleMembersStayInTheirFolder: an ensemble's member paths must name
// folders inside it. A path that leaves it (with .., absolute, or through a
// link) is refused on one line naming the file and the member, even when it
// leads to a valid model folder, which it used to open.
func TestEnsembleMembersStayInTheirFolder(t *testing.T) {
	backend := goBackend(t)
	spec := Spec{Task: TaskAge, Backbone: "cnn-xs", InputSize: 16, AgeScale: 10, AgeShift: 30}
	root := t.TempDir()
	outside := filepath.Join(root, "outside")
	writeFolder(t, backend, outside, spec, 1)
	ens := filepath.Join(root, "ensemble")
	writeFolder(t, backend, filepath.Join(ens, "members", "0"), spec, 2)
	writeFolder(t, backend, filepath.Join(ens, "members", "1"), spec, 3)
	if err := os.Symlink(outside, filepath.Join(ens, "members", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("0", filepath.Join(ens, "members", "inner")); err != nil {
		t.Fatal(err)
	}
	many := make([]string, MaxMembers+1)
	for i := range many {
		many[i] = "members/0"
	}
	for _, c := range []struct {
		name    string
		members []string
		want    []string // "" opens
	}{
		{"inside", []string{"members/0", "members/1"}, nil},
		{"a link inside", []string{"members/0", "members/inner"}, nil},
		{"dot dot to a model folder", []string{"members/0", "../outside"}, []string{`members[1] "../outside"`, "leaves the ensemble's folder"}},
		{"dot dot to /etc", []string{"../../../../etc"}, []string{`members[0] "../../../../etc"`, "leaves the ensemble's folder"}},
		{"dot dot inside the path", []string{"members/../../outside"}, []string{`members[0]`, "leaves the ensemble's folder"}},
		{"absolute", []string{"members/0", outside}, []string{`members[1] "` + outside + `"`, "is absolute"}},
		{"a link out", []string{"members/0", "members/link"}, []string{`members[1] "members/link"`, "leads out of the ensemble's folder through a link"}},
		{"missing", []string{"members/0", "members/9"}, []string{`members[1] "members/9"`, "does not exist"}},
		{"empty", []string{"members/0", ""}, []string{`members[1] ""`}},
		{"twice", []string{"members/0", "members/0"}, []string{`members[1] "members/0" is listed twice`}},
		{"too many", many, []string{"members 65: want at most 64 members"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			card := &Card{ID: "ensemble", Spec: spec, Preprocessing: NewPreprocessing(16, 16), Members: c.members, Combine: EnsembleCombine}
			if err := WriteCard(ens, card); err != nil {
				t.Fatal(err)
			}
			sc, err := OpenFolder(ens, backend, 2, false)
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				sc.Close()
				return
			}
			if err == nil {
				sc.Close()
			}
			wantOneLine(t, err, append([]string{filepath.Join(ens, CardFile) + ": "}, c.want...)...)
		})
	}
}

// imageModel writes an ONNX model whose one input has the shape dims and
// whose output is the mean of its input.
func imageModel(t *testing.T, path string, dims ...int64) {
	t.Helper()
	var shape []*protos.TensorShapeProto_Dimension
	for _, d := range dims {
		shape = append(shape, &protos.TensorShapeProto_Dimension{Value: &protos.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	tensor := func(name string, dims []*protos.TensorShapeProto_Dimension) *protos.ValueInfoProto {
		return &protos.ValueInfoProto{Name: name, Type: &protos.TypeProto{Value: &protos.TypeProto_TensorType{
			TensorType: &protos.TypeProto_Tensor{ElemType: int32(protos.TensorProto_FLOAT), Shape: &protos.TensorShapeProto{Dim: dims}}}}}
	}
	m := &protos.ModelProto{
		IrVersion:   8,
		OpsetImport: []*protos.OperatorSetIdProto{{Version: 17}},
		Graph: &protos.GraphProto{
			Name:   "mean",
			Node:   []*protos.NodeProto{{OpType: "ReduceMean", Input: []string{"images"}, Output: []string{"output"}}},
			Input:  []*protos.ValueInfoProto{tensor("images", shape)},
			Output: []*protos.ValueInfoProto{tensor("output", nil)},
		},
	}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOpenONNXChecksBeforeLoading: an ONNX model's description (flags or
// sidecar JSON), its size and the input shape it declares are checked
// before it is loaded, each failure one line naming the file and the field.
func TestOpenONNXChecksBeforeLoading(t *testing.T) {
	backend := goBackend(t)
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.onnx")
	imageModel(t, ok, 4, 16, 16, 3)
	meta := ONNXMeta{Task: TaskAge, Range: "unit"}
	sc, err := OpenONNX(ok, meta, backend)
	if err != nil {
		t.Fatalf("a 16×16 model: %v", err)
	}
	if _, n := sc.Input(); n != 16 || sc.Batch() != 4 {
		t.Errorf("a [4,16,16,3] model takes %d×%d images in batches of %d", n, n, sc.Batch())
	}
	sc.Close()

	huge := filepath.Join(dir, "huge.onnx")
	imageModel(t, huge, 1, 100000, 100000, 3)
	nchw := filepath.Join(dir, "nchw.onnx")
	imageModel(t, nchw, 1, 3, 100000, 100000)
	gray := filepath.Join(dir, "gray.onnx")
	imageModel(t, gray, 1, 16, 16, 1)
	batch := filepath.Join(dir, "batch.onnx")
	imageModel(t, batch, 1<<20, 16, 16, 3)
	dynamic := filepath.Join(dir, "dynamic.onnx")
	imageModel(t, dynamic, -1, -1, -1, 3)
	big := filepath.Join(dir, "big.onnx")
	if f, err := os.Create(big); err == nil {
		f.Truncate(MaxONNXBytes + 1) // sparse: nothing is written
		f.Close()
	}
	sidecar := filepath.Join(dir, "side.onnx")
	imageModel(t, sidecar, 1, 16, 16, 3)
	os.WriteFile(sidecar+".json", []byte(`{"task":"age","range":"unit","input_size":100000}`), 0o644)

	for _, c := range []struct {
		name string
		path string
		meta ONNXMeta
		want []string
	}{
		{"a 100000×100000 input", huge, meta, []string{huge, `input "images" has shape [1 100000 100000 3]`, "a side of 100000: want 8 to 1024"}},
		{"NCHW", nchw, meta, []string{nchw, "a side of 100000"}},
		{"one channel", gray, meta, []string{gray, "no 3-channel axis"}},
		{"a batch of 2^20", batch, meta, []string{batch, "a batch of 1048576: want at most 4096"}},
		{"dynamic, input size flag 100000", dynamic, ONNXMeta{Task: TaskAge, Range: "unit", InputSize: 100000}, []string{dynamic, "--onnx_input_size=100000: want 8 to 1024"}},
		{"dynamic, batch and size too many pixels", dynamic, ONNXMeta{Task: TaskAge, Range: "unit", InputSize: 1024, Batch: 4096}, []string{dynamic, "more than 67108864 pixels a batch"}},
		{"task flag", ok, ONNXMeta{Task: "race", Range: "unit"}, []string{ok, `--onnx_task="race"`}},
		{"range flag", ok, ONNXMeta{Task: TaskAge, Range: "hsv"}, []string{ok, `--onnx_range="hsv"`}},
		{"output flag", ok, ONNXMeta{Task: TaskAge, Range: "unit", Output: "percent"}, []string{ok, `--onnx_output="percent"`}},
		{"over 1 GiB", big, meta, []string{big, "1073741825 bytes, more than the 1073741824"}},
		{"sidecar", sidecar, ONNXMeta{}, []string{sidecar + ".json: input_size 100000: want 8 to 1024"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := c.meta
			if side, found, err := ReadONNXMeta(c.path); err != nil {
				t.Fatal(err)
			} else if found {
				m = side
			}
			sc, err := OpenONNX(c.path, m, backend)
			if err == nil {
				sc.Close()
			}
			wantOneLine(t, err, c.want...)
		})
	}
}
