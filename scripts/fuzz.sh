#!/usr/bin/env bash
# Runs every fuzz target of the repository (func FuzzX in a _test.go file)
# for MINUTES each (default 2), one after the other, and prints a table:
# target, package, executions, new corpus entries, outcome, time.
#
# A failing input is kept where Go's fuzzer writes it,
# <package>/testdata/fuzz/<FuzzX>/<hash>: once committed, it is a regression
# case that every `go test` runs (CI runs the seed corpora and these files
# only, never the fuzzer). The script lists the new ones and exits 1 when a
# target failed.
#
# Usage: scripts/fuzz.sh [MINUTES] [TARGET_REGEXP]
#   scripts/fuzz.sh            # every target, 2 minutes each
#   scripts/fuzz.sh 10 Manifest
# Environment: FUZZ_WORKERS, the fuzzing processes per target (default: one
# per core).
set -euo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "$0")/.."
minutes=${1:-2}
filter=${2:-.}
[[ $minutes =~ ^[0-9]+$ ]] && [ "$minutes" -ge 1 ] || { echo "fuzz.sh: MINUTES must be a whole number ≥ 1, not '$minutes'" >&2; exit 2; }
eval "$(scripts/install-onnxruntime.sh 2>/dev/null)" || true

# pkg<TAB>target for every fuzz target, outside generated and vendored trees.
mapfile -t targets < <(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . |
	grep -v -e '^./out/' -e '/node_modules/' | sort | while read -r f; do
		for t in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
			printf '%s\t%s\n' "./$(dirname "${f#./}")" "$t"
		done
	done | grep -E "$filter")
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz target matches '$filter'" >&2; exit 2; }

before=$(mktemp)
trap 'rm -f "$before"' EXIT
find . -path '*/testdata/fuzz/*' -type f -not -path './out/*' | sort >"$before"

printf '%-22s %-28s %12s %8s %-8s %6s\n' target package execs new outcome time
failed=0
for entry in "${targets[@]}"; do
	pkg=${entry%%$'\t'*} target=${entry#*$'\t'}
	start=$(date +%s)
	log=$(mktemp)
	if go test -run='^$' -fuzz="^${target}\$" -fuzztime="${minutes}m" -parallel="${FUZZ_WORKERS:-$(nproc)}" "$pkg" >"$log" 2>&1; then
		outcome=ok
	else
		outcome=FAILED failed=1
	fi
	last=$(grep -E '^fuzz: elapsed' "$log" | tail -1)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	new=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	printf '%-22s %-28s %12s %8s %-8s %5ss\n' "$target" "$pkg" "${execs:-?}" "${new:-?}" "$outcome" $(($(date +%s) - start))
	if [ "$outcome" = FAILED ]; then
		grep -E -- '--- FAIL|panic:|Failing input|fuzz_test.go|_test.go:[0-9]+' "$log" | head -8 | sed 's/^/    /'
	fi
	rm -f "$log"
done

added=$(comm -13 "$before" <(find . -path '*/testdata/fuzz/*' -type f -not -path './out/*' | sort))
if [ -n "$added" ]; then
	echo "fuzz.sh: new failing inputs, regression cases once committed:"
	sed 's/^/  /' <<<"$added"
fi
exit $failed
