#!/usr/bin/env bash
# Benchmarks scoring end to end (listing, decoding, preprocessing, the models,
# writing): pipelines/score with the bundled default models on N real images,
# and in the same run the same job in PyTorch (scripts/peer_score.py: Pillow
# decode, the same networks as the default models with random weights, 2
# decode workers, 2 threads). Go runs with --tta=false, the peer's work (one pass per image);
# one more run shows the default, --tta=auto (flip averaging as the model card says). Prints both
# images/s (median of 3, alternating) and the ratio. Both take each image as the face (--faces=whole:
# UTKFace crops, no face detection), so the figures are the models' and the pipeline's; scripts/bench-wild.sh
# measures scoring with face detection.
# Usage: scripts/bench-score.sh [N] [dataset dir]
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
n=${1:-2000}
data=${2:-../shared/datasets/utkface-dev}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
eval "$(scripts/install-onnxruntime.sh 2>/dev/null)"

if [ -z "${TAGS+x}" ]; then
	TAGS=""
	[ -f /usr/include/turbojpeg.h ] && TAGS=turbojpeg
fi
go build ${TAGS:+-tags "$TAGS"} -o "$tmp/score" ./pipelines/score

mkdir -p "$tmp/in"
if [ -d "$data" ]; then
	# The first N by name (mapfile: head closing the pipe early would fail it under pipefail).
	mapfile -t files < <(find "$data" -maxdepth 1 -type f -name '*.jpg' | LC_ALL=C sort)
	for f in "${files[@]:0:n}"; do ln -s "$(realpath "$f")" "$tmp/in/"; done
	src=$data
else
	go run ./scripts/genfixtures -out "$tmp/in" -n "$n" -bad=false -odd_names=false -duplicates=false >/dev/null
	src="generated fixtures"
fi
n=$(find "$tmp/in" -maxdepth 1 | tail -n +2 | wc -l)
cat "$tmp"/in/* >/dev/null # warm the page cache for both

rate() { echo "$n $1" | awk '{printf "%.0f", $1 / $2}'; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
timed() { # log command... -> seconds
	local log=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	if ! "$@" >"$log" 2>&1; then
		echo "bench-score: failed: $*" >&2
		cat "$log" >&2
		exit 1
	fi
	t1=$(date +%s.%N)
	echo "$t1 $t0" | awk '{printf "%.3f", $1 - $2}'
}

# The peer runs the same networks as the bundled default models, from the
# same stored and input sizes.
read -r networks stored size < <(python3 - <<'PY'
import json, os
top = "models/default/model.json"
if os.path.exists(top):
    c = json.load(open(top))
    members = c.get("members") or ["."]
    m = json.load(open(os.path.join("models/default", members[0], "model.json")))
    nets = ("both:%d" % len(members)) if m["task"] == "both" else "two"
else:
    m = json.load(open("models/default/age/model.json"))
    nets = "two"
print(nets, m["preprocessing"]["stored_size"], m["input_size"])
PY
)
echo "bench-score: the default models are $networks networks (stored ${stored}x${stored}, input ${size}x${size})" >&2

go_rates=() peer_rates=()
for i in 1 2 3; do
	rm -rf "$tmp/out"
	w=$(timed "$tmp/go.log" "$tmp/score" --input="$tmp/in" --output="$tmp/out" --tta=false --faces=whole)
	go_rates+=("$(rate "$w")")
	echo "run $i go  : ${w}s, ${go_rates[-1]} img/s" >&2
	w=$(timed "$tmp/peer.log" /usr/bin/python3 scripts/peer_score.py --input "$tmp/in" --networks "$networks" --stored "$stored" --size "$size")
	peer_rates+=("$(rate "$w")")
	echo "run $i peer: ${w}s, ${peer_rates[-1]} img/s" >&2
done
go_med=$(median "${go_rates[@]}")
peer_med=$(median "${peer_rates[@]}")
echo "bench-score: $n images from $src, default models ($networks networks, the peer runs the same), go build tags: ${TAGS:-none}"
echo "go   : $go_med img/s (median of 3: ${go_rates[*]})"
echo "peer : $peer_med img/s (median of 3: ${peer_rates[*]})"
echo "ratio go/peer: $(echo "$go_med $peer_med" | awk '{printf "%.2f", $1 / $2}')x"
echo "last go run  : $(grep -h '^score: done' "$tmp/go.log")"
rm -rf "$tmp/out"
w=$(timed "$tmp/tta.log" "$tmp/score" --input="$tmp/in" --output="$tmp/out" --faces=whole)
echo "go with the default --tta=auto ($(sed -n 's/^score: models .*(flip averaging \(o[nf]*\)).*/flip averaging \1, as the model card says/p' "$tmp/tta.log")): $(rate "$w") img/s"
echo "last peer run: $(grep -h '^peer:' "$tmp/peer.log")"
