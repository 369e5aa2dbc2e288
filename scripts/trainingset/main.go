// Command trainingset records in a model folder the images it was trained
// on (model.TrainingSetFile), as pipelines/train does since it records
// them, for a folder written before: score then warns when it scores them.
// The ingest output must be the one the model was trained on (its
// model.json's data.manifest_sha256), and splits what it trained on: train,
// or train+valid for a refit (model.json's refit).
//
//	go run ./scripts/trainingset --data=./out/ingest --splits=train+valid --model=models/default
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/facepipe/facepipe/dataset"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/training"
)

func main() {
	data := flag.String("data", "", "the ingest output the model was trained on")
	splits := flag.String("splits", "", "the splits it was trained on: train, or train+valid for a refit (default: from its model.json)")
	dir := flag.String("model", "", "the local model folder")
	flag.Parse()
	if err := run(*data, *splits, *dir); err != nil {
		fmt.Fprintf(os.Stderr, "trainingset: %v\n", err)
		os.Exit(1)
	}
}

func run(data, splits, dir string) error {
	if data == "" || dir == "" {
		return fmt.Errorf("--data and --model are required")
	}
	ctx := context.Background()
	card, err := model.ReadCard(dir)
	if err != nil {
		return err
	}
	src, err := dataset.Open(ctx, data)
	if err != nil {
		return err
	}
	if card.Data.ManifestSHA256 != "" && card.Data.ManifestSHA256 != src.ManifestSHA256 {
		fmt.Fprintf(os.Stderr, "trainingset: note: %s's manifest differs from the model's (%s): the splits must hold the same images (the split depends on the content and the seed only)\n", data, card.Data.ManifestSHA256[:8])
	}
	if splits == "" {
		splits = "train"
		if card.Refit {
			splits = "train+valid"
		}
	}
	want := 0
	for _, sp := range []string{"train", "valid"} {
		if sp == "train" || splits == "train+valid" {
			want += card.Data.Records[sp]
		}
	}
	s, err := training.RecordTrainingSet(ctx, data, splits)
	if err != nil {
		return err
	}
	if want > 0 && s.Len() != want {
		return fmt.Errorf("%d images in %s of %s, but the model's card says it trained on %d: not its data", s.Len(), splits, data, want)
	}
	if err := os.WriteFile(filepath.Join(dir, model.TrainingSetFile), s.Marshal(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "trainingset: %s/%s: %d images of %s\n", dir, model.TrainingSetFile, s.Len(), splits)
	return nil
}
