#!/usr/bin/env bash
# Kills ingest with SIGKILL halfway through a real-data run, re-runs it, and
# compares the outputs with an uninterrupted run's, file by file (sha256).
# Prints what the kill left behind (complete shards, temporary files, a
# manifest or not) and whether the re-run matches. TestKillAndRerun checks
# the same on generated fixtures in CI.
#
# Usage: scripts/kill-rerun.sh [dataset dir] [seconds before the kill]
#        (defaults: ../shared/datasets/utkface-dev, half the reference run)
# Extra ingest flags go in FLAGS (default: --encoding=uint8, to spare the disk).
set -euo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "$0")/.."
data=$(realpath "${1:-../shared/datasets/utkface-dev}")
read -r -a flags <<<"${FLAGS:---encoding=uint8}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tags=""
[ -f /usr/include/turbojpeg.h ] && tags=turbojpeg
go build ${tags:+-tags "$tags"} -o "$tmp/ingest" ./pipelines/ingest
out=$tmp/out # one output folder for every run: the manifest names it

sums() { (cd "$out" && find . -type f | LC_ALL=C sort | xargs sha256sum); }

t0=$(date +%s.%N)
"$tmp/ingest" --input="$data" --output="$out" "${flags[@]}" >"$tmp/ref.log" 2>&1
t1=$(date +%s.%N)
sums >"$tmp/ref.sums"
rm -rf "$out"
wait_s=${2:-$(echo "$t0 $t1" | awk '{printf "%.1f", ($2 - $1) / 2}')}
echo "kill-rerun: reference run $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s, $(wc -l <"$tmp/ref.sums") files; killing the next run after $wait_s s"

"$tmp/ingest" --input="$data" --output="$out" "${flags[@]}" >"$tmp/killed.log" 2>&1 &
pid=$!
sleep "$wait_s"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
complete=$(find "$out" -path '*tfrecords*' -type f ! -name '*.tmp-*' 2>/dev/null | wc -l)
temps=$(find "$out" -type f -name '*.tmp-*' 2>/dev/null | wc -l)
manifest=no
[ -f "$out/manifest.json" ] && manifest=yes
echo "kill-rerun: killed: $complete complete shards, $temps temporary files, manifest: $manifest"

"$tmp/ingest" --input="$data" --output="$out" "${flags[@]}" >"$tmp/rerun.log" 2>&1
grep -h "temporary files" "$tmp/rerun.log" | sed 's/^/kill-rerun: /' || true
sums >"$tmp/rerun.sums"
left=$(find "$out" -type f -name '*.tmp-*' | wc -l)
if cmp -s "$tmp/ref.sums" "$tmp/rerun.sums" && [ "$left" = 0 ] && [ "$manifest" = no ]; then
	echo "kill-rerun: OK: the re-run's $(wc -l <"$tmp/rerun.sums") files are byte-identical to the uninterrupted run's; no temporary file left"
else
	echo "kill-rerun: FAILED ($left temporary files left; manifest after the kill: $manifest)"
	diff "$tmp/ref.sums" "$tmp/rerun.sums" | head -20
	exit 1
fi
