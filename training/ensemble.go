package training

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/facepipe/facepipe/dataset"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/model"
)

// MembersDir is the folder of an ensemble's members: members/0, members/1, …
const MembersDir = "members"

// TrainMembers trains k networks with cfg, seeds cfg.Seed, cfg.Seed+1, …,
// into cfg.Out/members/<i>, then makes cfg.Out their ensemble (Assemble).
// With cfg.Resume each member resumes where it is (a finished one is only
// evaluated again, one not yet started starts).
func TrainMembers(ctx context.Context, cfg Config, k int) (*Result, error) {
	if k < 2 {
		return nil, fmt.Errorf("--members=%d: an ensemble needs at least 2", k)
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	if err := checkMembersOut(ctx, cfg); err != nil {
		return nil, err
	}
	var dirs []string
	for i := range k {
		c := cfg
		c.Seed = cfg.Seed + int64(i)
		c.Out = fsio.Join(cfg.Out, MembersDir, strconv.Itoa(i))
		c.Resume = cfg.Resume && fsio.Exists(ctx, fsio.Join(c.Out, stateFile))
		fmt.Fprintf(cfg.Log, "train: member %d of %d, seed %d, into %s\n", i+1, k, c.Seed, c.Out)
		res, err := Train(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
		if res.Card == nil { // stopped early (--stop_after): resume later
			return res, nil
		}
		dirs = append(dirs, c.Out)
	}
	return assemble(ctx, cfg, dirs)
}

// checkMembersOut is checkOut for an ensemble trained in place: a finished
// ensemble takes --overwrite (or --resume); members trained or begun by an
// interrupted run take --resume or --overwrite.
func checkMembersOut(ctx context.Context, cfg Config) error {
	if cfg.Overwrite {
		return clearModel(ctx, cfg.Out)
	}
	if cfg.Resume {
		return nil
	}
	if st, what := outState(ctx, cfg.Out); st == outFinished {
		return fmt.Errorf("--out=%s holds a finished model (%s): --overwrite replaces it", cfg.Out, what)
	}
	var begun []string
	for i := 0; ; i++ {
		dir := fsio.Join(cfg.Out, MembersDir, strconv.Itoa(i))
		st, _ := outState(ctx, dir)
		if st == outEmpty {
			break
		}
		state := "finished"
		if st == outInterrupted {
			state = "interrupted"
		}
		begun = append(begun, fmt.Sprintf("%s/%d %s", MembersDir, i, state))
	}
	if len(begun) > 0 {
		return fmt.Errorf("--out=%s holds an interrupted ensemble run (%s): --resume continues it, --overwrite starts afresh", cfg.Out, strings.Join(begun, ", "))
	}
	return nil
}

// Assemble makes cfg.Out an ensemble of the model folders members (local or
// gs://): each is copied into cfg.Out/members/<i> (a member already there
// stays in place), model.json describes the ensemble (its members, and how
// scoring combines them: model.EnsembleCombine), and the ensemble is
// evaluated on cfg.Data as Train evaluates a single network: valid metrics
// in model.json (unless a member was refit on train+valid), and the test
// split's eval.json, eval.parquet and plots. The members must predict the
// same tasks from the same input. An ensemble's folder has no model.onnx of
// its own: each member has one.
//
// A cfg.Out that holds a finished model takes cfg.Overwrite.
func Assemble(ctx context.Context, cfg Config, members []string) (*Result, error) {
	if !cfg.Overwrite {
		if st, what := outState(ctx, cfg.Out); st == outFinished {
			return nil, fmt.Errorf("--out=%s holds a finished model (%s): --overwrite replaces it", cfg.Out, what)
		}
	}
	return assemble(ctx, cfg, members)
}

// assemble is Assemble into a folder checked already.
func assemble(ctx context.Context, cfg Config, members []string) (*Result, error) {
	if len(members) < 2 {
		return nil, fmt.Errorf("an ensemble needs at least 2 members, got %d", len(members))
	}
	cfg.outName = cfg.Out
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	if !fsio.IsGCS(cfg.Out) {
		return assembleLocal(ctx, cfg, members)
	}
	stage, err := os.MkdirTemp("", "facepipe-ensemble-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	remote := cfg.Out
	cfg.Out = stage
	res, err := assembleLocal(ctx, cfg, members)
	if err != nil {
		return nil, err
	}
	return res, fsio.Mirror(ctx, stage, remote)
}

func assembleLocal(ctx context.Context, cfg Config, members []string) (*Result, error) {
	src, err := dataset.Open(ctx, cfg.Data)
	if err != nil {
		return nil, err
	}
	backend, backendName, err := model.NewBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	defer backend.Finalize()
	card := &model.Card{Members: make([]string, len(members)), Combine: model.EnsembleCombine, Tool: "facepipe train",
		Data: dataRef(&cfg, src), Backend: backendName, Seed: cfg.Seed, CommandLine: cfg.CommandLine}
	var first *model.Card
	var backbones []string
	var seeds []int64
	refits := 0
	for i, m := range members {
		rel := MembersDir + "/" + strconv.Itoa(i)
		dst := filepath.Join(cfg.Out, filepath.FromSlash(rel))
		if err := copyMember(ctx, m, dst); err != nil {
			return nil, err
		}
		c, err := model.ReadCard(dst)
		if err == nil {
			if i == 0 {
				first = c
				card.Spec, card.Preprocessing, card.Output = c.Spec, c.Preprocessing, c.Output
			}
			err = model.SameTaskAndInput(first, c)
		}
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", m, err)
		}
		if c.Data.ManifestSHA256 != src.ManifestSHA256 {
			fmt.Fprintf(cfg.Log, "train: warning: member %s was trained on other data (%s) than %s: its figures on it may be optimistic\n", m, c.Data.Dir, cfg.Data)
		}
		card.Members[i] = rel
		card.Params += c.Params
		card.TrainSeconds += c.TrainSeconds
		card.Refit = card.Refit || c.Refit
		if c.Refit {
			refits++
		}
		backbones = append(backbones, c.Backbone)
		seeds = append(seeds, c.Seed)
	}
	mixed := refits > 0 && refits < len(members)
	if mixed {
		card.TestNote = fmt.Sprintf("%d of the %d members were refit on train+valid (a fixed number of epochs, the last kept), "+
			"the others kept their best epoch on valid: no epoch or model was chosen on these figures, and the ensemble has no "+
			"valid figures (its refit members trained on valid)", refits, len(members))
	}
	if err := writeUnionTrainingSet(ctx, cfg.Out, card.Members); err != nil {
		fmt.Fprintf(cfg.Log, "train: warning: the members' training images were not recorded for the ensemble: %v\n", err)
	}
	card.Backbone = strings.Join(backbones, ",")
	card.Selection = fmt.Sprintf("none of its own: each member kept its epoch (see %s/<i>/%s)", MembersDir, model.CardFile)
	card.Hyper = map[string]any{"members": len(members), "member_seeds": seeds, "tta": cfg.TTA}
	card.ID = fmt.Sprintf("ensemble%d-%s-%d-%s", len(members), idTask(card.Spec), card.InputSize, src.ManifestSHA256[:8])
	cfg.Task, cfg.InputSize = card.Task, card.InputSize
	cfg.defaults(src.StoredSize())
	// OpenFolder reads the card: write it before opening the ensemble.
	if err := model.WriteCard(cfg.Out, card); err != nil {
		return nil, err
	}
	if !card.Refit && src.Records("valid") > 0 {
		sc, err := model.OpenFolder(cfg.Out, backend, cfg.Batch, false) // as Train validates: no flip
		if err != nil {
			return nil, err
		}
		preds, err := predict(ctx, &cfg, src, sc, "valid")
		sc.Close()
		if err != nil {
			return nil, fmt.Errorf("validating the ensemble: %w", err)
		}
		var row Epoch
		scoreValid(&row, card.Spec, cfg.objective(card.Spec), preds)
		card.Valid = validMetrics(card.Task, row)
	}
	sc, err := model.OpenFolder(cfg.Out, backend, cfg.Batch, cfg.TTA)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	cfg.Refit = card.Refit
	report, err := evaluateTest(ctx, &cfg, src, sc, card, map[string]any{"members": card.Members, "combine": card.Combine})
	if err != nil {
		return nil, err
	}
	if err := model.WriteCard(cfg.Out, card); err != nil {
		return nil, err
	}
	label := testLabel(card.Refit)
	if mixed {
		label = fmt.Sprintf(" (%d of %d members refit on train+valid)", refits, len(members))
	}
	fmt.Fprintf(cfg.Log, "train: ensemble of %d members, %d parameters; valid %v; test%s %s; model folder %s\n",
		len(members), card.Params, card.Valid, label, report.Overall, cfg.outName)
	return &Result{Card: card, Test: report}, nil
}

// copyMember copies the model folder src into the local folder dst, unless
// src is the local folder dst already (a member trained in place by
// TrainMembers).
func copyMember(ctx context.Context, src, dst string) error {
	if !fsio.IsGCS(src) {
		a, errA := filepath.Abs(src)
		b, errB := filepath.Abs(dst)
		if errA == nil && errB == nil && a == b {
			return nil
		}
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	n, err := fsio.CopyDown(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("copying member %s: %w", src, err)
	}
	if n == 0 {
		return errors.New("member " + src + ": no such model folder")
	}
	return nil
}
