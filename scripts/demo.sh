#!/usr/bin/env bash
# Runs the ingest pipeline on a sample it generates: 200 synthetic UTKFace-named
# faces plus the awkward cases (grayscale, CMYK, PNG with alpha, odd names,
# truncated, empty, non-image, oversized header, duplicates).
# Usage: scripts/demo.sh [output folder, default ./out] [extra ingest flags]
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
out=${1:-./out}
shift || true
sample=./sample
rm -rf "$sample"
go run ./scripts/genfixtures -out "$sample" -n 200
go run ./pipelines/ingest --input="$sample" --output="$out" "$@"
echo "demo: shards in $out/tfrecords, rejects in $out/rejects.parquet, manifest in $out/manifest.json"
