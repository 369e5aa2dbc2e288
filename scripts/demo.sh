#!/usr/bin/env bash
# The whole job on a generated sample, on the embedded runner (Prism): installs
# ONNX Runtime if it is missing, builds the three binaries, generates 200
# synthetic UTKFace-named faces plus the awkward cases (grayscale, CMYK, PNG
# with alpha, odd names, truncated, empty, non-image, oversized header,
# duplicates), ingests them, trains a short model that predicts both age and
# gender (one network, two heads), scores the sample with it and with the
# bundled default models (--faces=whole: the synthetic faces are crops, but
# not faces a face detector knows), then, where the UTKFace dev images are
# (DATA, default ../shared/datasets/utkface-dev), generates 6 photo-like
# scenes from faces of the test split and scores them with the default flags:
# every face found, aligned and scored, 3 scenes drawn with their boxes. It
# queries the predictions with DuckDB's engine (scripts/duckdb, built with the
# binaries: no duckdb client to install) and prints where to look.
#
# Usage: scripts/demo.sh [output folder, default ./out]
# Everything goes under the output folder (git-ignored): bin/, sample/,
# ingest/, models/both/, scored/, scored-trained/, scenes/, scored-scenes/.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
case ${1:-} in -h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
esac
out=${1:-./out}
data=${DATA:-../shared/datasets/utkface-dev}
mkdir -p "$out"
out=$(cd "$out" && pwd)
step() { printf '\ndemo: %s\n' "$*" >&2; }

step "ONNX Runtime (the fast backend for training and scoring)"
eval "$(scripts/install-onnxruntime.sh)"

step "building pipelines/ingest, train and score into $out/bin"
go build -o "$out/bin/" ./pipelines/ingest ./pipelines/train ./pipelines/score ./scripts/genfixtures ./scripts/genscenes ./scripts/duckdb
start=$(date +%s)

step "generating the sample: $out/sample"
rm -rf "$out/sample"
"$out/bin/genfixtures" -out "$out/sample" -n 200 >/dev/null

step "ingest: $out/sample -> $out/ingest"
"$out/bin/ingest" --input="$out/sample" --output="$out/ingest"

step "train: a short age and gender model (8 epochs at 64x64, batches of 16) -> $out/models/both"
"$out/bin/train" --data="$out/ingest" --task=both --input_size=64 --batch=16 --epochs=8 --out="$out/models/both" --overwrite

step "score: the sample with the model just trained -> $out/scored-trained"
"$out/bin/score" --input="$out/sample" --output="$out/scored-trained" --model="$out/models/both" --faces=whole

step "score: the sample with the bundled default age and gender models -> $out/scored"
"$out/bin/score" --input="$out/sample" --output="$out/scored" --contact_sheet=32 --faces=whole

scenes="(skipped: no UTKFace images at $data; set DATA to a folder of them)"
if compgen -G "$data/*.jpg" >/dev/null; then
	step "photos: 6 generated scenes of test-split faces from $data -> $out/scenes"
	rm -rf "$out/scenes"
	"$out/bin/genscenes" --data="$data" --out="$out/scenes" --scenes=6 >&2
	step "score: the scenes with the default flags (find, align and score every face) -> $out/scored-scenes"
	"$out/bin/score" --input="$out/scenes/scenes" --output="$out/scored-scenes" --annotate=3 --contact_sheet=16
	scenes="$out/scored-scenes/annotated/ (the faces the model saw: $out/scored-scenes/contact_sheet.png; truth: $out/scenes/truth.csv)"
fi

# The query the demo suggests, run here so that it is known to work: DuckDB's
# engine through scripts/duckdb (no duckdb client needs installing).
query="SELECT filename, predicted_age, true_age, p_female, true_gender FROM '$out/scored/predictions/*.parquet' LIMIT 5"
step "DuckDB: $out/bin/duckdb -c \"$query\""
"$out/bin/duckdb" -c "$query" >&2

cat >&2 <<EOF

demo: done in $(($(date +%s) - start)) s after the build. Where to look:
  ingest report:        $out/ingest/report.html
  shards, manifest:     $out/ingest/tfrecords/, $out/ingest/manifest.json
  rejects:              $out/ingest/rejects.parquet
  learning curve:       $out/models/both/learning_curve.png
  trained model:        $out/models/both/ (model.json, model.onnx, eval.json)
  contact sheet:        $out/scored/contact_sheet.png
  predictions:          $out/scored/predictions/*.parquet ($out/scored-trained/ with the model just trained)
  metrics:              $out/scored/metrics.json
  annotated photos:     $scenes
  in DuckDB:            $out/bin/duckdb -c "$query"
                        (DuckDB's engine, built above by the demo from ./scripts/duckdb; with the duckdb client: duckdb -c "...")
(The sample's faces are synthetic, so the models' figures on it mean nothing: run the same
commands on real UTKFace images for real ones.)
EOF
