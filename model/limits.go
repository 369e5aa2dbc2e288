package model

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Bounds of what a model folder, an ONNX model or its sidecar JSON may
// declare. Model folders are input like any other: every field is checked
// against these before anything is allocated from it, so that a damaged or
// hostile folder fails on one line naming the file and the field instead of
// exhausting memory.
const (
	MinInputSize  = 8    // pixels a side of a network's input
	MaxInputSize  = 1024 // a batch of 64 such images is 805 MB of float32
	MaxStoredSize = 4096 // as ingest's --image_size
	MaxBatch      = 4096 // fixed batch of an ONNX model
	MaxMembers    = 64   // members of an ensemble
	MaxCardBytes  = 1 << 20
	MaxONNXBytes  = 1 << 30 // an ONNX file or backbone; protobuf's own limit is 2 GiB
	maxText       = 4096    // bytes of a descriptive string field
	maxAgeParam   = 1000    // |age_scale| and |age_shift|, in years
)

// checkCard checks every field of a model folder's model.json (file, read
// from dir) against the bounds above, and an ensemble's member paths
// against dir: each must name a folder inside dir, without "..", without
// being absolute and without a link that leads out of it.
func checkCard(file, dir string, c *Card) error {
	bad := func(field string, format string, args ...any) error {
		return fmt.Errorf("%s: %s %s", file, field, fmt.Sprintf(format, args...))
	}
	switch c.Task {
	case TaskAge, TaskGender, TaskBoth:
	default:
		return bad("task", "%s: want age, gender or both", quote(c.Task))
	}
	switch c.AgeHead {
	case "", AgeHeadL1, AgeHeadDLDL:
	default:
		return bad("age_head", "%s: want l1 or dldl", quote(c.AgeHead))
	}
	if c.InputSize < MinInputSize || c.InputSize > MaxInputSize {
		return bad("input_size", "%d: want %d to %d", c.InputSize, MinInputSize, MaxInputSize)
	}
	if s := c.Preprocessing.StoredSize; s < MinInputSize || s > MaxStoredSize {
		return bad("preprocessing.stored_size", "%d: want %d to %d", s, MinInputSize, MaxStoredSize)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"age_scale", c.AgeScale}, {"age_shift", c.AgeShift}} {
		if math.IsNaN(f.v) || math.Abs(f.v) > maxAgeParam {
			return bad(f.name, "%v: want a number of years within ±%d", f.v, maxAgeParam)
		}
	}
	if c.ONNXInput != "" {
		if _, ok := ONNXInputs[c.ONNXInput]; !ok {
			return bad("onnx_input", "%s: want unit, byte, tf, caffe or torch", quote(c.ONNXInput))
		}
	}
	for _, f := range []struct{ name, v string }{
		{"id", c.ID}, {"backbone", c.Backbone}, {"output", c.Output}, {"selection", c.Selection}, {"combine", c.Combine},
		{"preprocessing.function", c.Preprocessing.Function}, {"preprocessing.resize", c.Preprocessing.Resize},
		{"preprocessing.range", c.Preprocessing.Range}, {"preprocessing.layout", c.Preprocessing.Layout},
	} {
		if len(f.v) > maxText {
			return bad(f.name, "%d bytes: want at most %d", len(f.v), maxText)
		}
	}
	if c.ONNX != nil && (c.ONNX.Batch < 0 || c.ONNX.Batch > MaxBatch) {
		return bad("onnx.batch", "%d: want 1 to %d", c.ONNX.Batch, MaxBatch)
	}
	if c.Epochs < 0 || c.BestEpoch < 0 || c.BestEpoch > c.Epochs {
		return bad("best_epoch", "%d of %d epochs run", c.BestEpoch, c.Epochs)
	}
	if len(c.Members) == 0 {
		// One network: its backbone is built from its name, or is the
		// folder's backbone.onnx.
		if _, ok := Backbones[c.Backbone]; !ok && !IsONNXBackbone(c.Backbone) {
			return bad("backbone", "%s: want cnn-xs, cnn-s, cnn-m, resnet-s or an .onnx file", quote(c.Backbone))
		}
		return nil
	}
	if len(c.Members) > MaxMembers {
		return bad("members", "%d: want at most %d members", len(c.Members), MaxMembers)
	}
	seen := map[string]bool{}
	for i, m := range c.Members {
		field := fmt.Sprintf("members[%d]", i)
		if err := memberInside(dir, m); err != nil {
			return bad(field, "%s %v", quote(m), err)
		}
		clean := filepath.Clean(filepath.FromSlash(m))
		if seen[clean] {
			return bad(field, "%s is listed twice", quote(m))
		}
		seen[clean] = true
	}
	return nil
}

// memberInside checks that the member path m, relative to the ensemble
// folder dir, names a folder inside dir: a relative path without "..", and
// without a link on the way that leads out of dir.
func memberInside(dir, m string) error {
	if m == "" || strings.ContainsRune(m, '\\') || strings.ContainsRune(m, 0) {
		return errors.New("is not a member path (a folder inside the ensemble's, such as members/0)")
	}
	rel := filepath.FromSlash(m)
	if filepath.IsAbs(rel) || strings.HasPrefix(m, "/") {
		return errors.New("is absolute: a member must be a folder inside the ensemble's, such as members/0")
	}
	if !filepath.IsLocal(rel) {
		return errors.New("leaves the ensemble's folder: a member must be a folder inside it, such as members/0")
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	target, err := filepath.EvalSymlinks(filepath.Join(dir, rel))
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("does not exist")
	} else if err != nil {
		return err
	}
	if r, err := filepath.Rel(root, target); err != nil || !filepath.IsLocal(r) {
		return fmt.Errorf("leads out of the ensemble's folder through a link, to %s", target)
	}
	if st, err := os.Stat(target); err != nil || !st.IsDir() {
		return errors.New("is not a folder")
	}
	return nil
}

// checkONNXMeta checks what the sidecar JSON (m.Source) or, without one,
// the --onnx_* flags say of the ONNX model path.
func checkONNXMeta(path string, m ONNXMeta) error {
	bad := func(field string, value any, want string) error {
		if m.Source != "" {
			return fmt.Errorf("%s: %s %v: want %s", m.Source, field, value, want)
		}
		return fmt.Errorf("ONNX model %s: --onnx_%s=%v: want %s", path, field, value, want)
	}
	sizes := fmt.Sprintf("%d to %d", MinInputSize, MaxInputSize)
	switch {
	case m.Task != TaskAge && m.Task != TaskGender && m.Task != TaskBoth:
		return bad("task", quote(m.Task), "age, gender or both")
	case m.InputSize != 0 && (m.InputSize < MinInputSize || m.InputSize > MaxInputSize):
		return bad("input_size", m.InputSize, sizes)
	case m.StoredSize != 0 && (m.StoredSize < MinInputSize || m.StoredSize > MaxStoredSize):
		return bad("stored_size", m.StoredSize, fmt.Sprintf("%d to %d", MinInputSize, MaxStoredSize))
	case m.Batch < 0 || m.Batch > MaxBatch:
		return bad("batch", m.Batch, fmt.Sprintf("1 to %d", MaxBatch))
	case m.Output != "" && m.Output != "years" && m.Output != "logit" && m.Output != "probability":
		return bad("output", quote(m.Output), "years, logit or probability")
	case m.Layout != "" && m.Layout != "nhwc" && m.Layout != "nchw":
		return bad("layout", quote(m.Layout), "nhwc or nchw")
	case len(m.ID) > maxText:
		return bad("id", fmt.Sprintf("of %d bytes", len(m.ID)), fmt.Sprintf("at most %d", maxText))
	}
	if _, ok := ONNXInputs[m.Range]; !ok {
		return bad("range", quote(m.Range), "unit, byte, tf, caffe or torch")
	}
	return nil
}

// MaxBatchPixels bounds a batch of an ONNX model's input, batch × H × W: 64
// images of 1024×1024, 805 MB of float32.
const MaxBatchPixels = 64 * MaxInputSize * MaxInputSize

// readBounded reads a file of at most limit bytes, checking its size before
// reading it.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a model file may have", path, st.Size(), limit)
	}
	data := make([]byte, st.Size())
	n, err := f.ReadAt(data, 0)
	if err != nil && n < len(data) {
		return nil, err
	}
	return data, nil
}

// checkImageInput checks the declared shape of an ONNX model's image input,
// [batch, H, W, 3] or [batch, 3, H, W] (dynamic axes are 0 or negative):
// one 3-channel axis, sides and batch within bounds.
func checkImageInput(path, input string, dims []int) error {
	bad := func(what string) error {
		return fmt.Errorf("ONNX model %s: input %q has shape %v: %s", path, input, dims, what)
	}
	if len(dims) != 4 {
		return bad("want a batch of images, [batch, H, W, 3] or [batch, 3, H, W]")
	}
	if dims[1] != 3 && dims[3] != 3 {
		return bad("no 3-channel axis (want [batch, H, W, 3] or [batch, 3, H, W])")
	}
	if dims[0] > MaxBatch {
		return bad(fmt.Sprintf("a batch of %d: want at most %d", dims[0], MaxBatch))
	}
	h, w := dims[1], dims[2]
	if dims[1] == 3 && dims[3] != 3 {
		h, w = dims[2], dims[3]
	}
	for _, s := range []int{h, w} {
		if s > MaxInputSize || (s > 0 && s < MinInputSize) {
			return bad(fmt.Sprintf("a side of %d: want %d to %d", s, MinInputSize, MaxInputSize))
		}
	}
	return nil
}

// quote quotes a string field's value for an error, cut short when long.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}
