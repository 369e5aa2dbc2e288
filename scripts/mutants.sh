#!/usr/bin/env bash
# Mutation testing, two ways.
#
# 1. gremlins v0.6.0 (installed into $(go env GOPATH)/bin when missing) on
#    the Beam-free packages: it flips operators one at a time (arithmetic,
#    comparisons, increments, negations) and runs the package's tests. The
#    table gives, per package, the mutants killed, lived and not covered,
#    the efficacy (killed / (killed + lived)) and the mutator coverage
#    ((killed + lived) / all). Targets: efficacy 100%, coverage ≥ 90%.
# 2. The semantic mutants of scripts/mutants.txt: one-line bugs that matter
#    to a user (an inverted label, a swapped colour channel, a changed hash
#    tag, ...). Each is applied in a scratch copy of the working tree
#    (tracked and untracked files that git does not ignore) and its
#    package's tests must fail.
#
# The script exits non-zero when a semantic mutant survives, when a line of
# mutants.txt is no longer found exactly once (the list is stale), or when
# a package misses the gremlins targets.
#
# Usage: scripts/mutants.sh [--semantic | --gremlins] [name-or-package ...]
#   --semantic  only the semantic mutants (names from mutants.txt select some)
#   --gremlins  only gremlins (packages such as labels select some)
# Environment: GREMLINS_WORKERS, the mutants gremlins tests at once (default 1).
# Runs under nice; a full run takes about 15 minutes on 2 idle cores with
# GREMLINS_WORKERS=2 (1.5 of them the semantic mutants), most of it gremlins
# on preprocess.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
root=$(pwd)

mode=all
case "${1:-}" in
--semantic) mode=semantic; shift ;;
--gremlins) mode=gremlins; shift ;;
esac
select=("$@")

# The Beam-free packages and the files gremlins leaves out: jpeg_turbo.go is
# compiled only with -tags turbojpeg, so no default-build test can run it
# (scripts/test.sh runs its tests in the turbojpeg build).
gremlins_pkgs=(labels preprocess example tfrecord split evaluate)
gremlins_exclude=(--exclude-files 'jpeg_turbo\.go$')

status=0

run_gremlins() {
	local bin
	bin="$(go env GOPATH)/bin/gremlins"
	# gremlins --version says "dev" when built by go install: ask the build
	# information instead.
	if [ ! -x "$bin" ] || ! go version -m "$bin" 2>/dev/null | grep -qE '^\s+mod\s+github.com/go-gremlins/gremlins\s+v0\.6\.0'; then
		echo "mutants.sh: installing gremlins v0.6.0" >&2
		nice -n 19 go install github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
	fi
	local pkgs=("${gremlins_pkgs[@]}")
	[ ${#select[@]} -gt 0 ] && pkgs=("${select[@]}")
	local out
	out=$(mktemp -d)
	printf '%-24s %7s %6s %12s %9s %9s %9s\n' package killed lived "not covered" "timed out" efficacy coverage
	for p in "${pkgs[@]}"; do
		local log="$out/$(basename "$p").log"
		# A generous timeout: on a loaded machine a mutant's run is much
		# slower than the coverage run gremlins times, and a mutant that
		# times out counts as neither killed nor lived.
		nice -n 19 "$bin" unleash --workers "${GREMLINS_WORKERS:-1}" --test-cpu 1 --timeout-coefficient 20 "${gremlins_exclude[@]}" \
			-o "$out/$(basename "$p").json" "./$p" >"$log" 2>&1 || true
		# The summary lines: "Killed: K, Lived: L, Not covered: N",
		# "Test efficacy: E%", "Mutator coverage: C%".
		local k l n e c to
		k=$(sed -n 's/^Killed: \([0-9]*\), Lived: \([0-9]*\), Not covered: \([0-9]*\).*/\1/p' "$log")
		l=$(sed -n 's/^Killed: \([0-9]*\), Lived: \([0-9]*\), Not covered: \([0-9]*\).*/\2/p' "$log")
		n=$(sed -n 's/^Killed: \([0-9]*\), Lived: \([0-9]*\), Not covered: \([0-9]*\).*/\3/p' "$log")
		e=$(sed -n 's/^Test efficacy: \([0-9.]*\)%.*/\1/p' "$log")
		c=$(sed -n 's/^Mutator coverage: \([0-9.]*\)%.*/\1/p' "$log")
		to=$(sed -n 's/^Timed out: \([0-9]*\),.*/\1/p' "$log")
		if [ -z "$k" ]; then
			echo "mutants.sh: gremlins failed on $p:" >&2
			tail -20 "$log" >&2
			status=1
			continue
		fi
		printf '%-24s %7s %6s %12s %9s %8s%% %8s%%\n' "$p" "$k" "$l" "$n" "$to" "$e" "$c"
		if [ "$l" != 0 ] || awk -v c="$c" 'BEGIN { exit !(c < 90) }'; then
			grep -E '^ *LIVED' "$log" | sed "s|^|    $p: |" || true
			status=1
		fi
	done
	rm -rf "$out"
}

run_semantic() {
	local scratch
	scratch=$(mktemp -d)
	trap 'rm -rf "$scratch"' RETURN
	# The working tree as git sees it, without ignored build outputs.
	git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$scratch"
	eval "$(scripts/install-onnxruntime.sh 2>/dev/null)" || true
	python3 - "$scratch" "$root/scripts/mutants.txt" "${select[@]}" <<'PY'
import os, shlex, subprocess, sys, time

scratch, listing, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
mutants, cur = [], None
for raw in open(listing, encoding="utf-8"):
    line = raw.rstrip("\n")
    if line.startswith("## "):
        cur = {"name": line[3:].strip()}
        mutants.append(cur)
    elif cur is not None and ": " in line and line.split(": ", 1)[0] in ("file", "test", "from", "to", "why"):
        key, val = line.split(": ", 1)
        if key in ("from", "to"):
            cur.setdefault(key, []).append(val.strip())
        else:
            cur[key] = val.strip()
failed = 0
print(f"{'mutant':44} {'where':44} result")
for m in mutants:
    if wanted and m["name"] not in wanted:
        continue
    path = os.path.join(scratch, m["file"])
    with open(path, encoding="utf-8") as f:
        src = f.read().split("\n")
    mutated, lines, stale = list(src), [], None
    for old, new in zip(m["from"], m["to"]):
        hits = [i for i, l in enumerate(src) if l.strip() == old]
        if len(hits) != 1:
            stale = f"the line is found {len(hits)} times: {old}"
            break
        i = hits[0]
        lines.append(str(i + 1))
        indent = src[i][: len(src[i]) - len(src[i].lstrip())]
        mutated[i] = indent + new
    where = m["file"] + ":" + ",".join(lines)
    if stale or len(m["from"]) != len(m["to"]):
        print(f'{m["name"]:44} {where:44} STALE: {stale or "from and to lines differ in number"}')
        failed += 1
        continue
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(mutated))
    t0 = time.time()
    args = ["nice", "-n", "10", "go", "test", "-count=1"] + shlex.split(m["test"])
    r = subprocess.run(args, cwd=scratch, capture_output=True, text=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(src))
    secs = time.time() - t0
    if r.returncode == 0:
        print(f'{m["name"]:44} {where:44} SURVIVED ({secs:.0f} s): go test {m["test"]} passed')
        failed += 1
    elif "build failed" in r.stdout + r.stderr or "[setup failed]" in r.stdout:
        print(f'{m["name"]:44} {where:44} BROKEN ({secs:.0f} s): the mutant does not compile')
        print(r.stdout[-2000:] + r.stderr[-2000:])
        failed += 1
    else:
        fails = [l.strip() for l in r.stdout.split("\n") if l.strip().startswith("--- FAIL")]
        print(f'{m["name"]:44} {where:44} killed ({secs:.0f} s) by {", ".join(fails[:3]) or "a failing test binary"}')
sys.exit(1 if failed else 0)
PY
}

if [ "$mode" != gremlins ]; then
	echo "== semantic mutants (scripts/mutants.txt)"
	run_semantic || status=1
fi
if [ "$mode" != semantic ]; then
	echo "== gremlins v0.6.0"
	run_gremlins
fi
exit $status
