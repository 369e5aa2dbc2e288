#!/usr/bin/env bash
# Tries the project as a new user would: clones this repository into a
# temporary folder and, with an empty HOME, GOCACHE and GOMODCACHE, runs the
# README's two set-up commands exactly as the README writes them (the lines
# of its first sh block). It then checks what came out: the shards, the
# report, the model folder, the predictions, every path the demo printed, and
# the DuckDB query it printed (run as printed).
# For each command it reports the wall time and the peak memory: of the
# largest process (GNU time) and of the whole process tree (sampled every
# 0.2 s).
#
# Usage: scripts/newcomer.sh [repository, default: this checkout's HEAD]
# Keeps its folder when KEEP=1; it needs network access to the Go module
# proxy and the npm registry, as a new user's machine has.
set -euo pipefail
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d /tmp/facepipe-newcomer-XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
	echo "newcomer: FAIL: $*" >&2
	exit 1
}

git clone -q "$src" "$tmp/repo"
cd "$tmp/repo"
mkdir -p "$tmp/home"
# The README's first sh block: its lines are the two commands.
mapfile -t cmds < <(awk '/^```sh$/ {n++; next} /^```$/ {if (n == 1) exit} n == 1 && NF {print}' README.md)
[ "${#cmds[@]}" = 2 ] || fail "the README's first sh block has ${#cmds[@]} commands, want 2: ${cmds[*]}"

# peak_tree PGID: the largest total RSS (KB) of process group PGID, sampled
# until the group is gone.
peak_tree() {
	local peak=0 now
	while kill -0 -- "-$1" 2>/dev/null; do
		now=$(ps -o rss= -g "$1" 2>/dev/null | awk '{s += $1} END {print s + 0}')
		[ "$now" -gt "$peak" ] && peak=$now
		sleep 0.2
	done
	echo "$peak"
}

report=()
for i in 0 1; do
	cmd=${cmds[$i]%%#*} # without the README's comment
	echo "newcomer: running: $cmd" >&2
	start=$(date +%s.%N)
	env -i PATH="$PATH" TERM=dumb HOME="$tmp/home" GOCACHE="$tmp/gocache" GOMODCACHE="$tmp/gomodcache" \
		setsid /usr/bin/time -f '%M' -o "$tmp/time.$i" bash -c "$cmd" >"$tmp/log.$i" 2>&1 &
	pid=$!
	sleep 0.1
	pgid=$(ps -o pgid= -p "$pid" | tr -d ' ' || true)
	tree=$(peak_tree "${pgid:-$pid}")
	rc=0
	wait "$pid" || rc=$?
	wall=$(echo "$(date +%s.%N) - $start" | bc)
	[ "$rc" = 0 ] || {
		tail -30 "$tmp/log.$i" >&2
		fail "'$cmd' exited with $rc"
	}
	report+=("$(printf '%-60s %6.0f s   largest process %5.0f MB   process tree %5.0f MB' "$cmd" "$wall" \
		"$(echo "$(tail -1 "$tmp/time.$i") / 1024" | bc -l)" "$(echo "$tree / 1024" | bc -l)")")
done

# What the demo must have made.
out=$tmp/repo/out
check() { [ -e "$1" ] || fail "missing: $1"; }
check "$out/ingest/manifest.json"
ls "$out"/ingest/tfrecords/train-*.tfrecord >/dev/null || fail "no train shards"
check "$out/ingest/report.html"
check "$out/ingest/rejects.parquet"
for f in model.json model.onnx eval.json learning_curve.png checkpoint; do check "$out/models/both/$f"; done
for d in scored scored-trained; do
	check "$out/$d/summary.json"
	ls "$out/$d"/predictions/part-*.parquet >/dev/null || fail "no predictions in $out/$d"
done
check "$out/scored/contact_sheet.png"
# Every path the demo printed at the end exists.
printed=$(sed -n '/Where to look:/,$p' "$tmp/log.0" | grep -o "$out/[^ ,()\"']*" | sed 's/\*.*//' | sort -u)
[ -n "$printed" ] || fail "the demo printed no paths"
n=0
for p in $printed; do
	check "$p"
	n=$((n + 1))
done
# The DuckDB query the demo printed works as printed.
duck=$(sed -n 's/^  in DuckDB: *//p' "$tmp/log.0")
[ -n "$duck" ] || fail "the demo printed no DuckDB query"
(eval "$duck") >"$tmp/duckdb.out" 2>&1 || fail "the demo's DuckDB query failed: $(tail -3 "$tmp/duckdb.out")"
grep -q "^(5 rows)" "$tmp/duckdb.out" || fail "the demo's DuckDB query printed no rows: $(tail -3 "$tmp/duckdb.out")"
grep -q "^ok " "$tmp/log.1" || fail "the test command printed no passing package"
! grep -q "^FAIL\|^--- FAIL" "$tmp/log.1" || fail "the test command printed failures"

echo "newcomer: a fresh clone of $src, empty HOME, GOCACHE and GOMODCACHE, $(nproc) cores:"
printf '  %s\n' "${report[@]}"
echo "newcomer: checked: shards, report.html, rejects, model folder (model.json, model.onnx, checkpoint, eval, learning curve),"
echo "          predictions and summaries of both scoring runs, the contact sheet, the $n paths the demo printed and its DuckDB query"
echo "newcomer: the demo's last lines:"
sed -n '/done in .* after the build/,$p' "$tmp/log.0" | sed 's/^/  | /'
echo "newcomer: test packages: $(grep -c '^ok ' "$tmp/log.1") ok, $(grep -c '^?  ' "$tmp/log.1") without tests"
