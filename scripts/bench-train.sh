#!/usr/bin/env bash
# Benchmarks the default architecture (cnn-s, 64×64, batch 128): a training
# step and inference images/s on GoMLX (scripts/benchtrain, the backend the
# train binary picks: onnx:cpu with ONNX Runtime installed) and, in the same
# run, the same architecture in PyTorch (scripts/peer_train.py, Debian's
# python3-torch, 2 threads). Three alternating runs; the ratios of the
# medians and of the best runs. It also prints how fast inference computes
# against the fastest float32 matrix product ONNX Runtime runs here, and what
# 2× PyTorch's inference would take.
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
gs=() gi=() ps=() pi=() gf=() mm=() mflop=
for i in 1 2 3; do
	g=$("$tmp/benchtrain" -size "$size" -batch "$batch")
	echo "run $i $g" >&2
	gs+=("$(echo "$g" | field "train step" ms)") gi+=("$(echo "$g" | field "inference" images/s)")
	gf+=("$(echo "$g" | field "inference" GFLOP/s)") mm+=("$(echo "$g" | field "matrix product" GFLOP/s)")
	mflop=$(echo "$g" | sed -n 's|.*(\([0-9.]*\) MFLOP per image.*|\1|p')
	p=$(cd scripts && /usr/bin/python3 peer_train.py --size "$size" --batch "$batch")
	echo "run $i $p" >&2
	ps+=("$(echo "$p" | field "train step" ms)") pi+=("$(echo "$p" | field "inference" images/s)")
done
echo "bench-train: cnn-s ${size}x${size}, batch $batch; each run is a median of 20; medians of the 3 runs, then the best run of each side"
echo "(PyTorch's inference is bimodal from one process to the next here, about 2,500 or 3,500 img/s: the best runs compare like with like)"
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
gsm=$(median "${gs[@]}") psm=$(median "${ps[@]}") gim=$(median "${gi[@]}") pim=$(median "${pi[@]}")
gsb=$(printf '%s\n' "${gs[@]}" | sort -n | head -1) psb=$(printf '%s\n' "${ps[@]}" | sort -n | head -1)
gib=$(printf '%s\n' "${gi[@]}" | sort -n | tail -1) pib=$(printf '%s\n' "${pi[@]}" | sort -n | tail -1)
echo "train step : median go $gsm ms, pytorch $psm ms, go/pytorch time $(ratio "$gsm" "$psm")x; best $gsb vs $psb ms, $(ratio "$gsb" "$psb")x (target ≤ 1.0)"
echo "inference  : median go $gim img/s, pytorch $pim img/s, go/pytorch $(ratio "$gim" "$pim")x; best $gib vs $pib img/s, $(ratio "$gib" "$pib")x (target ≥ 2)"
gfm=$(median "${gf[@]}") mmm=$(median "${mm[@]}")
echo "$gfm $mmm $pib $mflop" | awk '{printf "compute    : go inference %.0f GFLOP/s, %.0f%% of the float32 matrix product (%.0f GFLOP/s, same runs); 2x PyTorch'"'"'s best would take %.0f GFLOP/s, %.0f%% of it\n", $1, 100 * $1 / $2, $2, 2 * $3 * $4 / 1000, 100 * 2 * $3 * $4 / 1000 / $2}'
