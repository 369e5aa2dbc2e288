#!/usr/bin/env bash
# Measures a cold build of the three pipeline binaries: wall time, the peak
# memory of each compile and link (every tool run under /usr/bin/time through
# -toolexec), the packages that need the most, and each binary's size as
# built and stripped (-s -w, what scripts/dataflow.sh uploads). The module
# cache is reused; the build cache is a fresh, empty folder, so every package
# of ours and of our dependencies compiles.
# Usage: scripts/bench-build.sh [top N packages, default 8]
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
top=${1:-8}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go mod download

cat >"$tmp/toolexec" <<'EOF'
#!/usr/bin/env bash
# Runs one build tool under /usr/bin/time and appends "KB seconds tool package".
tool=$(basename "$1")
pkg=-
prev=
for a in "$@"; do
	[ "$prev" = -p ] && pkg=$a
	prev=$a
done
[ "$tool" = link ] && pkg="pipelines/$BUILDING (the binary)"
out=$(mktemp)
set +e
/usr/bin/time -f '%M %e' -o "$out" "$@"
rc=$?
printf '%s %s %s\n' "$(cat "$out")" "$tool" "$pkg" >>"$TOOLEXEC_LOG"
rm -f "$out"
exit $rc
EOF
chmod +x "$tmp/toolexec"

export GOCACHE=$tmp/gocache TOOLEXEC_LOG=$tmp/tools.log
: >"$TOOLEXEC_LOG"
mkdir -p "$tmp/bin"
start=$(date +%s.%N)
for p in ingest train score; do
	BUILDING=$p go build -toolexec "$tmp/toolexec" -o "$tmp/bin/$p" ./pipelines/$p
done
wall=$(echo "$(date +%s.%N) - $start" | bc)

printf 'cold build of pipelines/{ingest,train,score}: %.0f s wall, %s tool runs\n' "$wall" "$(grep -c . "$TOOLEXEC_LOG")"
peak=$(sort -n "$TOOLEXEC_LOG" | tail -1)
printf 'peak memory of one tool run: %.0f MB (%s)\n' "$(echo "${peak%% *} / 1024" | bc -l)" "$(echo "$peak" | cut -d' ' -f3-)"
echo "the $top runs that needed the most memory (MB, seconds, tool, package):"
{ sort -rn "$TOOLEXEC_LOG" || true; } | head -"$top" | awk '{printf "  %6.0f %6.1f ", $1/1024, $2; for (i = 3; i <= NF; i++) printf " %s", $i; print ""}'
ours=$(grep ' compile github.com/facepipe/' "$TOOLEXEC_LOG" | sort -n | tail -1 || true)
[ -z "$ours" ] || printf 'largest compile of a package of ours: %.0f MB, %s s (%s)\n' "$(echo "${ours%% *} / 1024" | bc -l)" \
	"$(echo "$ours" | cut -d' ' -f2)" "$(echo "$ours" | cut -d' ' -f4-)"
echo "binaries (MB, as built / stripped with -ldflags='-s -w'):"
for p in ingest train score; do
	go build -ldflags='-s -w' -o "$tmp/bin/$p.stripped" ./pipelines/$p
	printf '  %-7s %6.1f / %6.1f\n' "$p" "$(echo "$(stat -c %s "$tmp/bin/$p") / 1000000" | bc -l)" \
		"$(echo "$(stat -c %s "$tmp/bin/$p.stripped") / 1000000" | bc -l)"
done
echo "GoMLX or ONNX Runtime linked into (go version -m):"
for p in ingest train score; do
	n=$(go version -m "$tmp/bin/$p" | grep -cE 'github.com/gomlx/|onnxruntime' || true)
	printf '  %-7s %s modules\n' "$p" "$n"
done
