package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// Files of a model folder.
const (
	CardFile      = "model.json"
	CheckpointDir = "checkpoint" // the best weights, without optimizer state
	ONNXFile      = "model.onnx"
	BackboneFile  = "backbone.onnx" // the frozen backbone of an imported model
)

// CardVersion is the version of the model.json format.
const CardVersion = 1

// Card is model.json: what a model is, how to feed it, how it did, and how
// it was made.
type Card struct {
	FormatVersion int    `json:"format_version"`
	ID            string `json:"id"` // task, backbone, input size and the checkpoint's training step
	Spec
	Preprocessing Preprocessing      `json:"preprocessing"`
	Output        string             `json:"output"`
	Params        int                `json:"trainable_params"`
	Epochs        int                `json:"epochs_run"`
	BestEpoch     int                `json:"best_epoch"`
	Selection     string             `json:"selection,omitempty"` // how the kept epoch was chosen
	Refit         bool               `json:"refit,omitempty"`     // trained on train+valid for a fixed number of epochs, the last kept
	Valid         map[string]float64 `json:"valid_metrics"`
	Test          map[string]float64 `json:"test_metrics,omitempty"`
	TestNote      string             `json:"test_note,omitempty"` // how to read the test metrics, when not as usual
	TrainSeconds  float64            `json:"train_seconds"`
	Data          DataRef            `json:"data"`
	Hyper         map[string]any     `json:"hyperparameters"`
	Backend       string             `json:"backend"`
	// BackendDescription is what the backend says it is, e.g. "ONNX Runtime
	// v1.30.0 (CUDA GPU) compute backend for GoMLX": the device training ran on.
	BackendDescription string   `json:"backend_description,omitempty"`
	Seed               int64    `json:"seed"`
	CommandLine        []string `json:"command_line"`
	ONNX               *ONNXRef `json:"onnx,omitempty"`
	Tool               string   `json:"tool"`
	// Members makes the folder an ensemble: the model folders of its
	// members, relative to it (members/0, members/1, ...), whose
	// predictions Combine says how scoring averages. An ensemble's own
	// folder holds no weights.
	Members []string `json:"members,omitempty"`
	Combine string   `json:"combine,omitempty"`
}

// FlipTTA says whether scoring should average each prediction with that of
// the mirrored image when the user leaves it to the model: as the model's
// test figures were measured (hyperparameter "tta"), and yes when the card
// does not say.
func (c *Card) FlipTTA() bool {
	if v, ok := c.Hyper["tta"].(bool); ok {
		return v
	}
	return true
}

// EnsembleCombine is how an ensemble's members' predictions are combined.
const EnsembleCombine = "mean of the members' predictions: ages in years, and probabilities of female (not logits)"

// Preprocessing says how images become the model's input.
type Preprocessing struct {
	Function   string `json:"function"`    // the Go function that does it
	StoredSize int    `json:"stored_size"` // decoded and resized bilinearly to this first
	Resize     string `json:"resize"`
	Range      string `json:"range"`
	Layout     string `json:"layout"`
}

// DataRef ties a model to the ingest output it was trained on.
type DataRef struct {
	Dir            string         `json:"dir"`
	ManifestSHA256 string         `json:"manifest_sha256"`
	Records        map[string]int `json:"records"`
}

// ONNXRef describes the ONNX export.
type ONNXRef struct {
	File    string   `json:"file"`
	Batch   int      `json:"batch"` // fixed batch size: pad the last batch
	Input   string   `json:"input"`
	Output  string   `json:"output"`
	Columns []string `json:"columns,omitempty"` // the output's columns: age_years, gender_logit
}

// OutputColumns names the columns of a network's output, [batch, columns]:
// age_years and gender_logit, for the tasks spec has.
func OutputColumns(spec Spec) []string {
	var c []string
	if spec.HasAge() {
		c = append(c, "age_years")
	}
	if spec.HasGender() {
		c = append(c, "gender_logit")
	}
	return c
}

// NewPreprocessing describes the preprocessing of a model whose images were
// stored at stored×stored and are fed at input×input.
func NewPreprocessing(stored, input int) Preprocessing {
	p := Preprocessing{
		Function:   "preprocess.ModelInput",
		StoredSize: stored,
		Resize:     fmt.Sprintf("decode to RGB, bilinear with half-pixel centres to %d×%d", stored, stored),
		Range:      "[0,1] (pixel/255)",
		Layout:     "NHWC, RGB",
	}
	if input != stored {
		p.Resize += fmt.Sprintf(", then area averaging to %d×%d", input, input)
	}
	return p
}

// OutputMeaning describes what a task's output is.
func OutputMeaning(task string) string {
	const age, gender = "age in years", "probability of female (sigmoid of the logit); gender 0 is male, 1 female"
	switch task {
	case TaskGender:
		return gender
	case TaskBoth:
		return "two outputs of one network: " + age + " (predicted_age), and " + gender + " (p_female)"
	}
	return age
}

// FolderDirs resolves a folder given as a model: itself when it holds
// model.json (one network or an ensemble), else its age/ and gender/ model
// folders, those of them that exist.
func FolderDirs(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, CardFile)); err == nil {
		return []string{dir}, nil
	}
	var dirs []string
	for _, task := range []string{TaskAge, TaskGender} {
		if _, err := os.Stat(filepath.Join(dir, task, CardFile)); err == nil {
			dirs = append(dirs, filepath.Join(dir, task))
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("neither a model folder (no %s) nor a folder of age/ and gender/ model folders", CardFile)
	}
	return dirs, nil
}

// WriteCard writes model.json into dir.
func WriteCard(dir string, c *Card) error {
	c.FormatVersion = CardVersion
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, CardFile), append(data, '\n'), 0o644)
}

// checkComplete checks that a model folder holds the files Load needs
// besides model.json: the checkpoint's weights and, for an imported
// backbone, its ONNX file.
func checkComplete(dir string, spec Spec) error {
	var missing []string
	ckpts, _ := filepath.Glob(filepath.Join(checkpointDir(dir), "checkpoint-*.bin"))
	if len(ckpts) == 0 {
		missing = append(missing, CheckpointDir+"/checkpoint-*.bin")
	}
	if IsONNXBackbone(spec.Backbone) {
		if _, err := os.Stat(spec.Backbone); err != nil {
			missing = append(missing, BackboneFile)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("model folder %s is incomplete: no %s (pipelines/train writes %s and %s/ together)",
			dir, strings.Join(missing, " or "), CardFile, CheckpointDir)
	}
	return nil
}

// ReadCard reads a model folder's model.json and checks every field against
// bounds (see MaxInputSize and the others), an ensemble's member paths
// against the folder, before anything is built from it.
func ReadCard(dir string) (*Card, error) {
	file := filepath.Join(dir, CardFile)
	data, err := readBounded(file, MaxCardBytes)
	if err != nil {
		return nil, fmt.Errorf("model folder %s: %w", dir, err)
	}
	var c Card
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if c.FormatVersion != CardVersion {
		return nil, fmt.Errorf("%s: format_version %d, want %d", file, c.FormatVersion, CardVersion)
	}
	if err := checkCard(file, dir, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// SaveWeights writes the net's weights, without the optimizer's state, as
// the checkpoint of a model folder, replacing any there. The new checkpoint
// is written and synced in full beside the old one first, and only then
// takes its place (an atomic exchange of the two folders on Linux), so a
// crash or a failed save at any point leaves a complete checkpoint: the old
// one or the new one, never none.
func (n *Net) SaveWeights(dir string) error {
	final := filepath.Join(dir, CheckpointDir)
	tmp, err := os.MkdirTemp(dir, CheckpointDir+".new-")
	if err != nil {
		return err
	}
	// An empty folder: the handler loads nothing into the store.
	h, err := checkpoint.Build(n.Store).Dir(tmp).Keep(1).Done()
	if err == nil {
		h.ExcludeVarsFromSaving(nonWeights(n.Store)...)
		err = saveCheckpoint(h)
	}
	if err == nil {
		err = syncDir(tmp)
	}
	if err == nil {
		err = replaceDir(tmp, final)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}

// saveCheckpoint saves a checkpoint handler's variables: a variable so that
// a test can make the save fail.
var saveCheckpoint = (*checkpoint.Handler).Save

// syncDir flushes the files of a folder, and the folder itself, to disk.
func syncDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := syncPath(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return syncPath(dir)
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// replaceDir puts the folder src in the place of dst and removes what dst
// held. dst is never missing while src is there: on Linux the two are
// exchanged in one step; elsewhere dst is first renamed aside to
// dst+".old", which Load falls back on.
func replaceDir(src, dst string) error {
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(src, dst); err != nil {
			return err
		}
		return syncPath(filepath.Dir(dst))
	}
	if err := exchange(src, dst); err == nil {
		if err := syncPath(filepath.Dir(dst)); err != nil {
			return err
		}
		return os.RemoveAll(src) // now the old checkpoint
	}
	old := dst + oldSuffix
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := os.Rename(dst, old); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	if err := syncPath(filepath.Dir(dst)); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// oldSuffix names the checkpoint folder set aside while a new one takes its
// place, where the folders can't be exchanged in one step.
const oldSuffix = ".old"

// checkpointDir is the folder of a model folder's weights: checkpoint/, or
// checkpoint.old/ when a save that could not exchange the folders in one
// step was cut short between its two renames.
func checkpointDir(dir string) string {
	p := filepath.Join(dir, CheckpointDir)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(p + oldSuffix); err == nil {
			return p + oldSuffix
		}
	}
	return p
}

// nonWeights lists what a model folder doesn't need: optimizer state, step
// counters, random state and the moving averages of the weights (with EMA on,
// a model folder's weights are the averages themselves, swapped in).
func nonWeights(store *mlmodel.Store) []*mlmodel.Variable {
	var out []*mlmodel.Variable
	for v := range store.IterVariables() {
		s := v.Scope()
		if strings.HasPrefix(s, "/optimizers") || strings.Contains(s, "Optimizer") || strings.HasPrefix(v.Name(), "#") || v.Name() == "global_step" || isEMA(v) {
			out = append(out, v)
		}
	}
	return out
}

// Load opens a model folder for inference on a backend.
func Load(dir string, backend compute.Backend) (*Net, *Card, error) {
	c, err := ReadCard(dir)
	if err != nil {
		return nil, nil, err
	}
	if len(c.Members) > 0 {
		return nil, nil, fmt.Errorf("model folder %s is an ensemble of %d members: open it with OpenFolder, or load a member", dir, len(c.Members))
	}
	spec := c.Spec
	if strings.HasSuffix(strings.ToLower(spec.Backbone), ".onnx") {
		spec.Backbone = filepath.Join(dir, BackboneFile)
	}
	if err := checkComplete(dir, spec); err != nil {
		return nil, nil, err
	}
	n, err := NewNet(backend, spec, c.Seed)
	if err != nil {
		return nil, nil, fmt.Errorf("model folder %s: %w", dir, err)
	}
	if _, err := checkpoint.Load(n.Store).Dir(checkpointDir(dir)).Immediate().Done(); err != nil {
		return nil, nil, fmt.Errorf("model folder %s: loading weights: %w", dir, err)
	}
	return n, c, nil
}
