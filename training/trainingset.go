package training

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/dataset"
	"github.com/facepipe/facepipe/example"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/tfrecord"
)

// writeTrainingSet writes into the model folder the content hashes of the
// images the run trains on (model.TrainingSetFile), for score's warning
// when it scores them. They come from the ingest output's labels table (a
// few MB of Parquet), or, when it has none (--stats=false), from the
// records of the training shards.
func writeTrainingSet(ctx context.Context, cfg *Config, src *dataset.Source) (*model.TrainingSet, error) {
	s, err := trainingSetOf(ctx, src, cfg.trainSplit())
	if err != nil {
		return nil, err
	}
	return s, writeFile(filepath.Join(cfg.Out, model.TrainingSetFile), s.Marshal())
}

// trainingSetOf is the training set of a model trained on splits ("train",
// "train+valid") of src.
func trainingSetOf(ctx context.Context, src *dataset.Source, splits string) (*model.TrainingSet, error) {
	names := strings.Split(splits, "+")
	digests, err := labelsDigests(ctx, src, names)
	if err != nil {
		return nil, err
	}
	if digests == nil {
		if digests, err = shardDigests(ctx, src, names); err != nil {
			return nil, err
		}
	}
	s := model.NewTrainingSet(splits, digests)
	if want := src.Records(splits); s.Len() > want {
		return nil, fmt.Errorf("%d training images found for %d records of %s", s.Len(), want, splits)
	}
	return s, nil
}

// labelsDigests reads the digests of the written records of splits from
// the labels table; nil when the ingest output has no labels table.
func labelsDigests(ctx context.Context, src *dataset.Source, splits []string) ([]string, error) {
	dir := fsio.Join(src.Dir, schemas.StatsDir, schemas.LabelsDir)
	if !fsio.IsGCS(dir) && !fsio.Exists(ctx, dir) {
		return nil, nil
	}
	parts, err := fsio.List(ctx, dir)
	if err != nil || len(parts) == 0 {
		return nil, nil
	}
	digests := []string{}
	for _, p := range parts {
		if !strings.HasSuffix(p, ".parquet") {
			continue
		}
		data, err := fsio.ReadFile(ctx, p)
		if err != nil {
			return nil, err
		}
		rows, err := parquet.Read[schemas.LabelRow](bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		for _, r := range rows {
			if r.Status == "written" && r.Split != nil && slices.Contains(splits, *r.Split) && r.SHA256 != nil {
				digests = append(digests, *r.SHA256)
			}
		}
	}
	return digests, nil
}

// shardDigests reads the sha256 feature of every record of the splits'
// shards.
func shardDigests(ctx context.Context, src *dataset.Source, splits []string) ([]string, error) {
	var digests []string
	for _, name := range splits {
		sp := src.Manifest.Split(name)
		if sp == nil {
			continue
		}
		for _, sh := range sp.Shards {
			path := fsio.Join(src.Dir, sh.File)
			if err := eachRecord(ctx, path, func(r *example.Record) { digests = append(digests, r.SHA256) }); err != nil {
				return nil, err
			}
		}
	}
	return digests, nil
}

// eachRecord parses each record of a shard.
func eachRecord(ctx context.Context, path string, fn func(*example.Record)) error {
	f, err := fsio.FS(ctx, path)
	if err != nil {
		return err
	}
	rc, err := f.OpenRead(ctx, path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer rc.Close()
	tr := tfrecord.NewReader(rc, tfrecord.CompressionFromPath(path), path)
	var rec example.Record
	for {
		data, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := example.Parse(data, &rec); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fn(&rec)
	}
}

// writeFile writes a file of the model folder under a temporary name, then
// renames it.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeUnionTrainingSet writes into an ensemble folder the union of its
// members' training sets (members/<i>/), when every member has one.
func writeUnionTrainingSet(ctx context.Context, dir string, members []string) error {
	var u *model.TrainingSet
	for _, m := range members {
		s, err := model.ReadTrainingSet(ctx, filepath.Join(dir, filepath.FromSlash(m)))
		if err != nil || s == nil {
			return err
		}
		if u == nil {
			u = s
		} else {
			u = u.Union(s)
		}
	}
	if u == nil {
		return nil
	}
	return writeFile(filepath.Join(dir, model.TrainingSetFile), u.Marshal())
}

// RecordTrainingSet returns the training set of a model trained on the
// splits ("train", or "train+valid" for a refit) of the ingest output data,
// as Train records it: for model folders written before train recorded it
// (scripts/trainingset).
func RecordTrainingSet(ctx context.Context, data, splits string) (*model.TrainingSet, error) {
	if splits != "train" && splits != "train+valid" {
		return nil, fmt.Errorf("splits %q: want train or train+valid", splits)
	}
	src, err := dataset.Open(ctx, data)
	if err != nil {
		return nil, err
	}
	return trainingSetOf(ctx, src, splits)
}
