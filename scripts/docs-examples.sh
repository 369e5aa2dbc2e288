#!/usr/bin/env bash
# Runs the example each page of docs/ opens with (its first ```sh block),
# exactly as written, from the repository root, in the order a reader would
# (ingest before train), and prints a table: page, exit status, seconds.
# The outputs those examples write under ./out are removed first, so that
# each runs as on a first try.
#
# gpu.md's example needs an NVIDIA GPU; without one, it must exit 1 at once
# saying so, and that counts as a pass. score.md's needs the UTKFace dev
# images (../shared/datasets/utkface-dev); without them it is skipped.
#
# Usage: scripts/docs-examples.sh [page ...]   (default: every page)
set -uo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "$0")/.."
pages=("$@")
[ ${#pages[@]} -gt 0 ] || pages=(ingest train score cloud gpu reliability benchmarks design testing)
eval "$(scripts/install-onnxruntime.sh 2>/dev/null)" || true
rm -rf ./out/sample ./out/ingest-sample ./out/models/sample ./out/scenes ./out/scored-scenes

# first_block prints the first ```sh block of a markdown file.
first_block() { awk '/^```sh$/ {on=1; next} on && /^```$/ {exit} on {print}' "$1"; }

logs=$(mktemp -d)
printf '%-12s %-6s %8s  %s\n' page outcome seconds note
failed=0
for page in "${pages[@]}"; do
	file=docs/$page.md
	block=$(first_block "$file")
	if [ -z "$block" ]; then
		printf '%-12s %-6s %8s  %s\n' "$page" FAIL - "no \`\`\`sh block in $file"
		failed=1
		continue
	fi
	if [ "$page" = score ] && [ ! -d ../shared/datasets/utkface-dev ]; then
		printf '%-12s %-6s %8s  %s\n' "$page" skip - "no ../shared/datasets/utkface-dev"
		continue
	fi
	start=$(date +%s)
	bash -euo pipefail -c "$block" >"$logs/$page.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	outcome=pass note=""
	if [ "$page" = gpu ] && ! command -v nvidia-smi >/dev/null; then
		last=$(grep -v '^\s*$' "$logs/$page.log" | tail -n 1)
		if [ $rc = 1 ] && [ "$(grep -vc '^\s*$' "$logs/$page.log")" -le 3 ]; then
			note="no GPU: exit 1 on: ${last:0:90}"
		else
			outcome=FAIL note="no GPU: want exit 1 on a line or two, got exit $rc: ${last:0:80}"
		fi
	elif [ $rc != 0 ]; then
		outcome=FAIL note="exit $rc: $(grep -v '^\s*$' "$logs/$page.log" | tail -n 1 | cut -c1-100)"
	fi
	[ "$outcome" = FAIL ] && failed=1
	printf '%-12s %-6s %8s  %s\n' "$page" "$outcome" "$secs" "$note"
done
if [ $failed = 1 ]; then
	echo "docs-examples: logs in $logs" >&2
else
	rm -rf "$logs"
fi
exit $failed
