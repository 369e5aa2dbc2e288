#!/usr/bin/env bash
# Soak of kill and rerun (issue 27 item 7): ROUNDS rounds (default 10) of
# ingest and score over a generated 10x set (2000 good images and the 31
# odd and bad ones of genfixtures), each run killed with SIGKILL at a random
# moment of an uninterrupted run's duration, then rerun to the end into the
# same output folder. After every round it asserts, for ingest, that the
# manifest's inputs = written + rejected and that every shard (and labels
# part) has the sha256 of the uninterrupted reference run's, with no
# temporary file left; for score, that summary.json's inputs = scored +
# rejected and that every predictions part equals the reference's. It prints
# a table per round and exits 1 when a round failed.
#
# Usage: scripts/soak.sh [ROUNDS]
#   BIN=DIR  use the ingest, train, score and genfixtures binaries in DIR
#   N=2000   good images in the set; SEED=…  seed of the kill moments
set -uo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "$0")/.."
rounds=${1:-10}
[[ $rounds =~ ^[0-9]+$ ]] && [ "$rounds" -ge 1 ] || { echo "soak.sh: ROUNDS must be a whole number ≥ 1, not '$rounds'" >&2; exit 2; }
RANDOM=${SEED:-$$}
eval "$(scripts/install-onnxruntime.sh 2>/dev/null)" || true
t_start=$(date +%s.%N)
work=$(mktemp -d /tmp/soak.XXXXXX)
trap 'rm -rf "$work"' EXIT
bin=${BIN:-$work/bin}
if [ -z "${BIN:-}" ]; then
	tags=""
	[ -f /usr/include/turbojpeg.h ] && tags=turbojpeg
	echo "soak.sh: building the binaries into $bin" >&2
	nice -n 10 go build ${tags:+-tags "$tags"} -o "$bin/" ./pipelines/ingest ./pipelines/train ./pipelines/score ./scripts/genfixtures || exit 1
fi
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b - a}'; }

"$bin/genfixtures" -out "$work/in" -n "${N:-2000}" -size 64 >/dev/null || exit 1
ING=(--input="$work/in" --image_size=32)
SCO=(--input="$work/in" --faces=whole)
t0=$(now)
"$bin/ingest" "${ING[@]}" --output="$work/ref/ds" >/dev/null 2>"$work/err" || { tail -3 "$work/err"; exit 1; }
t_ing=$(since "$t0")
"$bin/train" --data="$work/ref/ds" --out="$work/model" --epochs=1 --input_size=32 --batch=16 --backbone=cnn-xs --seed=1 >/dev/null 2>"$work/err" || { tail -3 "$work/err"; exit 1; }
t0=$(now)
"$bin/score" "${SCO[@]}" --model="$work/model" --output="$work/ref/sc" >/dev/null 2>"$work/err" || { tail -3 "$work/err"; exit 1; }
t_sco=$(since "$t0")
inputs=$(find "$work/in" -type f | wc -l)
echo "soak.sh: $inputs inputs; uninterrupted runs: ingest ${t_ing} s, score ${t_sco} s; kills at a uniform moment within them"

# sums DIR GLOB...: sha256 of the files matching the globs under DIR.
sums() {
	local d=$1
	shift
	(cd "$d" && for g in "$@"; do ls $g 2>/dev/null; done | LC_ALL=C sort | xargs -r sha256sum)
}
ING_FILES=('tfrecords/*' 'stats/labels/*')
SCO_FILES=('predictions/*')
sums "$work/ref/ds" "${ING_FILES[@]}" >"$work/ref.ds.sums"
sums "$work/ref/sc" "${SCO_FILES[@]}" >"$work/ref.sc.sums"

counts() { # FILE KEY_PATH...: "a b c" from a JSON file
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in filter(None, sys.argv[2].split(".")): d=d[k]
print(*[d[k] for k in sys.argv[3:]])' "$@" 2>/dev/null
}

# kill_at BINARY DELAY ARGS...: runs, SIGKILLs it after DELAY s; prints what
# it left: "killed" or "ended" (when it finished first).
kill_at() {
	local b=$1 d=$2
	shift 2
	"$bin/$b" "$@" >/dev/null 2>"$work/killed.err" &
	local pid=$!
	sleep "$d"
	if kill -9 $pid 2>/dev/null; then
		wait $pid 2>/dev/null
		echo killed
	else
		wait $pid 2>/dev/null
		echo ended
	fi
}
rand_delay() { awk -v t="$1" -v r=$RANDOM 'BEGIN{printf "%.2f", 0.05 + 0.75 * t * r / 32767}'; }

printf '%-5s %-7s %-7s %-6s %6s %5s %-26s %-6s %6s\n' round step kill_s state shards temps counts sha256 secs
failed=0
out=$work/out
for ((r = 1; r <= rounds; r++)); do
	for step in ingest score; do
		t0=$(now)
		why=""
		if [ $step = ingest ]; then
			d=$(rand_delay "$t_ing")
			state=$(kill_at ingest "$d" "${ING[@]}" --output="$out/ds")
			shards=$(find "$out/ds/tfrecords" -type f ! -name '*.tmp-*' 2>/dev/null | wc -l)
			temps=$(find "$out/ds" -name '*.tmp-*' 2>/dev/null | wc -l)
			"$bin/ingest" "${ING[@]}" --output="$out/ds" >/dev/null 2>"$work/rerun.err" || why="rerun failed: $(tail -1 "$work/rerun.err")"
			read -r i w j < <(counts "$out/ds/manifest.json" counts inputs written rejected)
			c="$i = $w + $j"
			[ "${i:-x}" = "$((${w:-0} + ${j:-0}))" ] && [ "$i" = "$inputs" ] || why=${why:-"inputs $i != written $w + rejected $j"}
			sums "$out/ds" "${ING_FILES[@]}" >"$work/got.sums"
			ref=$work/ref.ds.sums
			left=$(find "$out/ds" -name '*.tmp-*' -o -name .facepipe.lock | wc -l)
		else
			d=$(rand_delay "$t_sco")
			state=$(kill_at score "$d" "${SCO[@]}" --model="$work/model" --output="$out/sc")
			shards=$(find "$out/sc/predictions" -type f ! -name '*.tmp-*' 2>/dev/null | wc -l)
			temps=$(find "$out/sc" -name '*.tmp-*' 2>/dev/null | wc -l)
			"$bin/score" "${SCO[@]}" --model="$work/model" --output="$out/sc" >/dev/null 2>"$work/rerun.err" || why="rerun failed: $(tail -1 "$work/rerun.err")"
			read -r i s j < <(counts "$out/sc/summary.json" . inputs scored rejected)
			c="$i = $s + $j"
			[ "${i:-x}" = "$((${s:-0} + ${j:-0}))" ] && [ "$i" = "$inputs" ] || why=${why:-"inputs $i != scored $s + rejected $j"}
			sums "$out/sc" "${SCO_FILES[@]}" >"$work/got.sums"
			ref=$work/ref.sc.sums
			left=$(find "$out/sc" -name '*.tmp-*' -o -name .facepipe.lock | wc -l)
		fi
		cp "$work/got.sums" "$work/round$r.$step.sums"
		if cmp -s "$ref" "$work/got.sums"; then
			sha="same($(wc -l <"$ref"))"
		else
			sha=DIFF why=${why:-"$(diff "$ref" "$work/got.sums" | grep -c '^[<>]') lines of sha256 differ from the reference"}
		fi
		[ "$left" = 0 ] || why=${why:-"$left temporary files or locks left after the rerun"}
		if grep -qE '^panic:|^fatal error:|^goroutine [0-9]+ \[' "$work/killed.err" "$work/rerun.err"; then why="a crash on stderr"; fi
		printf '%-5s %-7s %-7s %-6s %6s %5s %-26s %-6s %6s%s\n' "$r" "$step" "$d" "$state" "$shards" "$temps" "$c" "$sha" "$(since "$t0")" "${why:+  FAIL: $why}"
		[ -z "$why" ] || failed=1
	done
done
printf 'soak.sh: %d rounds, %s; total %s s\n' "$rounds" "$([ $failed = 0 ] && echo 'every round passed' || echo 'FAILED')" "$(since "$t_start")"
exit $failed
