#!/usr/bin/env bash
# Benchmarks pipelines/ingest (float32, 224x224) against a Python peer doing the
# same job (scripts/peer_ingest.py: Pillow + numpy + crcmod, 2 processes) on the
# same N images, 3 runs each, alternating, and compares both with the rate at
# which the disk takes the same number of bytes (dd ... conv=fdatasync).
# Input: ../shared/datasets/utkface-dev relative to the repository root when it
# exists, otherwise N generated fixtures.
# Usage: scripts/bench-ingest.sh [N]   (default 2000)
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."

n=${1:-2000}
runs=3
record_bytes=$((602112 + 300)) # 224*224*3 float32 + labels, names and framing
py=/usr/bin/python3           # Debian's, with python3-pil, -numpy and -crcmod

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# libjpeg-turbo (statically linked) when its headers are installed: apt-get
# install libturbojpeg0-dev. TAGS= (empty) benchmarks the pure-Go decoder.
if [ -z "${TAGS+x}" ]; then
	TAGS=""
	[ -f /usr/include/turbojpeg.h ] && TAGS=turbojpeg
fi
go build ${TAGS:+-tags "$TAGS"} -o "$tmp/ingest" ./pipelines/ingest

if [[ -d ../shared/datasets/utkface-dev ]]; then
	in=../shared/datasets/utkface-dev
else
	go run ./scripts/genfixtures -out "$tmp/in" -n "$n" -bad=false -odd_names=false -duplicates=false >/dev/null
	in=$tmp/in
fi
# Both tools take the first N files by name; the folder is flat.
mapfile -t files < <(find "$in" -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort | head -n "$n")
n=${#files[@]}
# Read the inputs once so that the first timed run doesn't pay for a cold cache.
(cd "$in" && cat -- "${files[@]}" >/dev/null)

# run LOG CMD...: runs CMD with a fresh output folder and prints its wall-clock
# seconds and its CPU seconds (user + sys, children included); CMD's output goes
# to LOG and is shown only on failure.
run() {
	local log=$1
	shift
	rm -rf "$tmp/out"
	sync
	local t0 t1 TIMEFORMAT='%3U %3S'
	t0=$(date +%s.%N)
	if ! { time "$@" >"$log" 2>&1; } 2>"$tmp/cpu"; then
		echo "bench-ingest: failed: $*" >&2
		cat "$log" >&2
		exit 1
	fi
	t1=$(date +%s.%N)
	echo "$t1 $t0 $(cat "$tmp/cpu")" | awk '{printf "%.3f %.3f", $1 - $2, $3 + $4}'
}

rate() { echo "$n $1" | awk '{printf "%.0f", $1 / $2}'; }
per_image_ms() { echo "$n $1" | awk '{printf "%.2f", 1000 * $2 / $1}'; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "bench-ingest: load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs" >&2
go_rates=() peer_rates=() go_cpu=() peer_cpu=()
for ((i = 1; i <= runs; i++)); do
	t=$(run "$tmp/go.log" "$tmp/ingest" --input="$in" --output="$tmp/out" --limit="$n" --encoding=float32)
	read -r wall cpu <<<"$t"
	go_rates+=("$(rate "$wall")") go_cpu+=("$(per_image_ms "$cpu")")
	echo "run $i go  : ${wall}s wall, ${go_rates[-1]} img/s, cpu ${go_cpu[-1]} ms/img" >&2
	t=$(run "$tmp/peer.log" "$py" scripts/peer_ingest.py --input "$in" --output "$tmp/out" --limit "$n" --processes 2 --breakdown)
	read -r wall cpu <<<"$t"
	peer_rates+=("$(rate "$wall")") peer_cpu+=("$(per_image_ms "$cpu")")
	echo "run $i peer: ${wall}s wall, ${peer_rates[-1]} img/s, cpu ${peer_cpu[-1]} ms/img" >&2
done
rm -rf "$tmp/out"

go_med=$(median "${go_rates[@]}")
peer_med=$(median "${peer_rates[@]}")

# Disk-bound rate: the bytes of N records written by dd, once through the
# page cache and flushed (what a buffered writer gets), once with O_DIRECT
# (what the device takes).
mb=$(echo "$n" | awk '{printf "%d", $1 * 0.602 + 0.999}')
disk() { # dd flags... -> "MB/s img/s go%"
	sync
	local t0 t1
	t0=$(date +%s.%N)
	dd if=/dev/zero of="$tmp/dd" bs=4M count="$(((mb + 3) / 4))" "$@" 2>/dev/null
	t1=$(date +%s.%N)
	rm -f "$tmp/dd"
	echo "$t1 $t0 $(((mb + 3) / 4 * 4)) $record_bytes $go_med" |
		awk '{s = $1 - $2; b = $3 * 1048576; r = b / s / $4; printf "%.0f MB/s = %.0f img/s; go is %.0f%% of it\n", b / s / 1e6, r, 100 * $5 / r}'
}
disk_buffered=$(disk conv=fdatasync)
disk_direct=$(disk oflag=direct)

echo "bench-ingest: $n images from $in, float32 224x224, go build tags: ${TAGS:-none}"
echo "go   : $go_med img/s (median of $runs: ${go_rates[*]}); cpu $(median "${go_cpu[@]}") ms/img"
echo "peer : $peer_med img/s (median of $runs: ${peer_rates[*]}); cpu $(median "${peer_cpu[@]}") ms/img"
echo "ratio go/peer: $(echo "$go_med $peer_med" | awk '{printf "%.2f", $1 / $2}')x"
echo "disk : dd of ${mb} MiB ($record_bytes B/record), buffered + fdatasync: $disk_buffered"
echo "disk : dd of ${mb} MiB, O_DIRECT: $disk_direct"
echo "last go run : $(grep -h '^ingest: done' "$tmp/go.log" || echo '(no summary line)')"
echo "last peer run: $(grep -h '^peer: [0-9]' "$tmp/peer.log")"
grep -v '^peer: [0-9]' "$tmp/peer.log" | sed 's/^/  /'
