#!/usr/bin/env bash
# Benchmarks the default architecture (cnn-s, 64×64, batch 128): a training
# step and inference images/s on GoMLX (scripts/benchtrain, the backend the
# train binary picks: onnx:cpu with ONNX Runtime installed) and, in the same
# run, the same architecture in PyTorch (scripts/peer_train.py, Debian's
# python3-torch, 2 threads). Three alternating runs; medians and ratios.
# Usage: scripts/bench-train.sh [size] [batch]
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
size=${1:-64}
batch=${2:-128}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
eval "$(scripts/install-onnxruntime.sh 2>/dev/null)"
go build -o "$tmp/benchtrain" ./scripts/benchtrain
field() { sed -n "s|.*$1 \([0-9.]*\) $2.*|\1|p"; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
gs=() gi=() ps=() pi=()
for i in 1 2 3; do
	g=$("$tmp/benchtrain" -size "$size" -batch "$batch")
	echo "run $i $g" >&2
	gs+=("$(echo "$g" | field "train step" ms)") gi+=("$(echo "$g" | field "inference" images/s)")
	p=$(cd scripts && /usr/bin/python3 peer_train.py --size "$size" --batch "$batch")
	echo "run $i $p" >&2
	ps+=("$(echo "$p" | field "train step" ms)") pi+=("$(echo "$p" | field "inference" images/s)")
done
echo "bench-train: cnn-s ${size}x${size}, batch $batch"
echo "train step : go $(median "${gs[@]}") ms, pytorch $(median "${ps[@]}") ms, go/pytorch time $(echo "$(median "${gs[@]}") $(median "${ps[@]}")" | awk '{printf "%.2f", $1 / $2}')x (target ≤ 1.0)"
echo "inference  : go $(median "${gi[@]}") img/s, pytorch $(median "${pi[@]}") img/s, go/pytorch $(echo "$(median "${gi[@]}") $(median "${pi[@]}")" | awk '{printf "%.2f", $1 / $2}')x (target ≥ 2)"
