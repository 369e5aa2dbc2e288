#!/usr/bin/env bash
# Trains the bundled default models (models/default) from the UTKFace dev
# images, the recipe models/README.md describes:
#   1. ingest the images at SIZE×SIZE, uint8 (the default split: seed 42,
#      train=0.8,valid=0.1,test=0.1);
#   2. the validated run (skipped with VALIDATED=0): K networks, each one
#      network for age (DLDL head) and gender, trained on train for EPOCHS
#      epochs with seeds 42, 43, ..., each keeping its best epoch on valid, as
#      an ensemble; its test figures are the ones the model card reports;
#   3. the refit: the same K networks trained on train+valid for EPOCHS
#      epochs, keeping the last (the epoch count chosen on valid), as an
#      ensemble: that is what goes into models/default.
# Each stage resumes where an interrupted one stopped (--resume).
#
# Usage: scripts/train-default-models.sh [dataset dir] [work dir]
# Environment: SIZE (80), EPOCHS (40), K (2), TTA (false), VALIDATED (1): the
# bundle's recipe. TTA is whether the test figures, and scoring by default
# (--tta=auto), average each image with its mirror.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
data=${1:-../shared/datasets/utkface-dev}
work=${2:-./out/default-models}
size=${SIZE:-80} epochs=${EPOCHS:-40} k=${K:-2} tta=${TTA:-false}
mkdir -p "$work/bin"
eval "$(scripts/install-onnxruntime.sh)"
tags=""
[ -f /usr/include/turbojpeg.h ] && tags=turbojpeg
go build ${tags:+-tags "$tags"} -o "$work/bin/" ./pipelines/ingest ./pipelines/train

if [ ! -f "$work/ingest/manifest.json" ]; then
	"$work/bin/ingest" --input="$data" --output="$work/ingest" --image_size="$size" --encoding=uint8
fi
recipe=(--data="$work/ingest" --task=both --age_head=dldl --input_size="$size" --epochs="$epochs" --members="$k" --tta="$tta")
resume() { [ -f "$1/members/0/resume.json" ] && echo --resume || true; }

if [ "${VALIDATED:-1}" = 1 ]; then
	start=$(date +%s)
	"$work/bin/train" "${recipe[@]}" --out="$work/validated" $(resume "$work/validated")
	echo "train-default-models: validated run: $(($(date +%s) - start)) s" >&2
fi
start=$(date +%s)
"$work/bin/train" "${recipe[@]}" --refit --out="$work/refit" $(resume "$work/refit")
echo "train-default-models: refit: $(($(date +%s) - start)) s" >&2

rm -rf models/default
mkdir -p models/default
cp "$work/refit/model.json" "$work/refit/eval.json" models/default/
for m in "$work"/refit/members/*/; do
	i=$(basename "$m")
	mkdir -p "models/default/members/$i/checkpoint"
	cp "$m"/model.json "$m"/model.onnx "$m"/eval.json "$m"/learning_curve.csv "models/default/members/$i/"
	cp "$m"/checkpoint/checkpoint-* "models/default/members/$i/checkpoint/"
done
du -sh models/default
echo "train-default-models: models/default holds the refit ensemble; the validated run's figures are in $work/validated" >&2
