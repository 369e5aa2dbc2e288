#!/usr/bin/env bash
# Fault matrix of the three pipeline binaries (issue 27 item 6): each case
# provokes one fault on generated fixtures, asserts its outcome, and the
# script prints a table of case, outcome (pass, or FAIL and why on one line)
# and seconds, then the total time. It exits 1 when a case failed.
#
# Every failure of a binary is asserted to be at most 5 lines on stderr, the
# cause on the last line, with no panic or Go stack dump; for failures in the
# middle of a run, the lines counted are those after the last progress line
# (train's "epoch i/n" lines, ingest's per-split lines). Nothing is lost: a
# rerun after the fault must give output identical (sha256) to an
# uninterrupted run's.
#
# Disks that fill up and read-only outputs are small tmpfs mounts (root is
# needed: as root, file modes do not stop a write). Without root, those cases
# are reported as skip.
#
# Usage: scripts/faults.sh [CASE_REGEXP]
#   BIN=DIR   use the ingest, train, score and genfixtures binaries in DIR
#             instead of building them
#   KEEP=1    keep the work folder (printed) for inspection
set -uo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "$0")/.."
filter=${1:-.}
eval "$(scripts/install-onnxruntime.sh 2>/dev/null)" || true
t_start=$(date +%s.%N)
work=$(mktemp -d /tmp/faults.XXXXXX)
mounts=()
bgpids=()
cleanup() {
	for p in "${bgpids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null; done
	for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done
	if [ -n "${KEEP:-}" ]; then echo "faults.sh: work folder $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

bin=${BIN:-$work/bin}
if [ -z "${BIN:-}" ]; then
	tags=""
	[ -f /usr/include/turbojpeg.h ] && tags=turbojpeg
	echo "faults.sh: building the binaries into $bin" >&2
	nice -n 10 go build ${tags:+-tags "$tags"} -o "$bin/" ./pipelines/ingest ./pipelines/train ./pipelines/score ./scripts/genfixtures ./scripts/fakegcsd || exit 1
fi
root=no
[ "$(id -u)" = 0 ] && root=yes

# Sizes: small enough that the matrix runs in minutes.
ING=(--image_size=32)
TRN=(--epochs=3 --input_size=32 --batch=16 --backbone=cnn-xs --seed=1)
SCO=(--faces=whole)

"$bin/genfixtures" -out "$work/in" -n 200 -size 64 >/dev/null || exit 1
"$bin/genfixtures" -out "$work/in10" -n 2000 -size 64 >/dev/null || exit 1
# References: uninterrupted runs.
"$bin/ingest" --input="$work/in" --output="$work/ref/ds" "${ING[@]}" >/dev/null 2>&1 || { echo "faults.sh: reference ingest failed" >&2; exit 1; }
"$bin/ingest" --input="$work/in10" --output="$work/ref/ds10" "${ING[@]}" >/dev/null 2>&1 || { echo "faults.sh: reference ingest (10x) failed" >&2; exit 1; }
"$bin/train" --data="$work/ref/ds" --out="$work/ref/m" "${TRN[@]}" >/dev/null 2>&1 || { echo "faults.sh: reference train failed" >&2; exit 1; }
"$bin/score" --input="$work/in" --model="$work/ref/m" --output="$work/ref/sc" "${SCO[@]}" >/dev/null 2>&1 || { echo "faults.sh: reference score failed" >&2; exit 1; }
"$bin/score" --input="$work/in10" --model="$work/ref/m" --output="$work/ref/sc10" "${SCO[@]}" >/dev/null 2>&1 || { echo "faults.sh: reference score (10x) failed" >&2; exit 1; }

# ---- helpers ---------------------------------------------------------------

why="" # set by fail; a case passes when it stays empty
fail() { [ -n "$why" ] || why="$*"; }

# sums DIR [FIND_ARGS...]: sha256 of the files under DIR, by relative path,
# without the lock and the reports that hold times or paths.
sums() {
	local d=$1
	shift
	(cd "$d" && find . -type f ! -name .facepipe.lock ! -name report.html ! -name summary.json ! -name manifest.json ! -name '*.png' "$@" | LC_ALL=C sort | xargs -r sha256sum)
	[ ! -f "$d/manifest.json" ] || manifest_core "$d/manifest.json"
}

# manifest_core FILE: what a manifest says of the data (splits, shards with
# their sha256, counts), without the output's path and the report's hash.
manifest_core() {
	python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(json.dumps([m.get("splits"), m.get("counts")], sort_keys=True))' "$1" | sha256sum | sed 's/-$/manifest.json (splits, counts)/'
}

# same_as REF DIR [FIND_ARGS...]: DIR's files equal REF's.
same_as() {
	local ref=$1 d=$2
	shift 2
	if ! cmp -s <(sums "$ref" "$@") <(sums "$d" "$@"); then
		fail "output differs from the uninterrupted run's: $(diff <(sums "$ref" "$@") <(sums "$d" "$@") | grep -c '^[<>]') lines of sums differ"
	fi
}

# no_partial REF DIR: every file DIR holds under a final name is whole: the
# reference run's file of that name, byte for byte.
no_partial() {
	local ref=$1 d=$2 f
	while read -r f; do
		if [ ! -f "$ref/$f" ] || ! cmp -s "$ref/$f" "$d/$f"; then
			fail "partial or foreign file under a final name: $f"
			return
		fi
	done < <(cd "$d" && find . -type f ! -name .facepipe.lock ! -name '*.tmp-*' ! -name report.html ! -name summary.json ! -name manifest.json ! -name '*.png' | sed 's|^\./||')
}

# no_temps DIR: no temporary file, checkpoint being written, or lock left.
no_temps() {
	local left
	left=$(find "$1" \( -name '*.tmp-*' -o -name '*.new-*' -o -name .facepipe.lock \) 2>/dev/null | head -3 | tr '\n' ' ')
	[ -z "$left" ] || fail "left behind: $left"
}

# short_err FILE: a failure's stderr: no panic or stack dump, at most 5 lines
# after the last progress line, the last one non-empty. Sets $last.
last=""
short_err() {
	local f=$1 n
	if grep -qE '^panic:|^fatal error:|^goroutine [0-9]+ \[|runtime\.gopanic|SIGSEGV' "$f"; then
		fail "crash on stderr: $(grep -m1 -E '^panic:|^fatal error:|^goroutine|SIGSEGV' "$f")"
		return
	fi
	tr '\r' '\n' <"$f" | grep -v '^$' >"$f.lines"
	n=$(awk '/^epoch [0-9]+\/[0-9]+|^  (train|valid|test) /{k=NR} END{print NR-k}' "$f.lines")
	last=$(tail -1 "$f.lines")
	[ "$n" -le 5 ] || fail "$n lines on stderr after the progress: $(head -1 "$f.lines" | cut -c1-60)…"
	[ -n "$last" ] || fail "nothing on stderr"
}

# want_fail RC FILE PATTERN: the binary failed (exit not 0 nor a signal's),
# shortly, its last line matching PATTERN.
want_fail() {
	local rc=$1 f=$2 pat=$3
	[ "$rc" != 0 ] || { fail "exit 0, want a failure"; return; }
	[ "$rc" -lt 128 ] || fail "exit $rc (killed by a signal?)"
	short_err "$f"
	grep -qiE -- "$pat" <<<"$last" || fail "last line does not match /$pat/: ${last:0:100}"
}

# tmpfs DIR SIZE [ro]: mounts a tmpfs of SIZE at DIR.
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$1" || return 1
	mounts+=("$1")
}
unmount() { umount -l "$1" 2>/dev/null; }

# wait_for GLOB SECONDS: waits until a file matches GLOB (in a folder tree).
wait_for() {
	local dir=$1 name=$2 t=$3 i
	for ((i = 0; i < t * 100; i++)); do
		[ -n "$(find "$dir" -name "$name" 2>/dev/null | head -1)" ] && return 0
		sleep 0.01
	done
	return 1
}

manifest_counts() {
	python3 - "$1" <<'EOF' 2>/dev/null || jq -r '"\(.counts.inputs) \(.counts.written) \(.counts.rejected)"' "$1"
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
print(c["inputs"], c["written"], c["rejected"])
EOF
}

# ---- cases -----------------------------------------------------------------

# The tmpfs cases need root and a mount that works (not in every container).
mountable=no
if [ $root = yes ] && mkdir -p "$work/probe" && mount -t tmpfs -o size=64k tmpfs "$work/probe" 2>/dev/null; then
	umount "$work/probe" && mountable=yes
fi
needs_root() { [ $mountable = yes ] || { why="skip: needs root and a tmpfs mount (mount -t tmpfs failed or not root)"; return 1; }; }

case_ro_output_ingest() {
	needs_root || return
	mount_tmpfs "$c/out" 1m ro || { fail "cannot mount"; return; }
	"$bin/ingest" --input="$work/in" --output="$c/out/ds" "${ING[@]}" >/dev/null 2>"$c/err"
	want_fail $? "$c/err" 'read-only'
	grep -q -- "$c/out/ds" <<<"$last" || fail "last line does not name the output: ${last:0:100}"
	note="${last:0:110}"
}

case_ro_output_score() {
	needs_root || return
	mount_tmpfs "$c/out" 1m ro || { fail "cannot mount"; return; }
	"$bin/score" --input="$work/in" --model="$work/ref/m" --output="$c/out/sc" "${SCO[@]}" >/dev/null 2>"$c/err"
	want_fail $? "$c/err" 'read-only'
	grep -q -- "$c/out/sc" <<<"$last" || fail "last line does not name the output: ${last:0:100}"
	note="${last:0:110}"
}

case_disk_full_ingest() {
	needs_root || return
	mount_tmpfs "$c/out" 1m || { fail "cannot mount"; return; }
	"$bin/ingest" --input="$work/in" --output="$c/out/ds" "${ING[@]}" >/dev/null 2>"$c/err"
	want_fail $? "$c/err" 'no space left'
	note="${last:0:110}"
	no_temps "$c/out/ds"
	no_partial "$work/ref/ds" "$c/out/ds"
	[ ! -f "$c/out/ds/manifest.json" ] || fail "a manifest after a failed run"
	mount -o remount,size=64m "$c/out"
	"$bin/ingest" --input="$work/in" --output="$c/out/ds" "${ING[@]}" >/dev/null 2>"$c/err2" || fail "rerun with space failed: $(tail -1 "$c/err2")"
	same_as "$work/ref/ds" "$c/out/ds"
}

case_disk_full_train_checkpoint() {
	needs_root || return
	mount_tmpfs "$c/out" 64m || { fail "cannot mount"; return; }
	local args=(--data="$work/ref/ds10" --out="$c/out/m" --epochs=6 --input_size=32 --batch=16 --backbone=cnn-xs --seed=1)
	"$bin/train" "${args[@]}" >/dev/null 2>"$c/err" &
	local pid=$!
	bgpids+=($pid)
	wait_for "$c/out/m" resume.json 30 || { fail "no first checkpoint within 30 s"; kill -9 $pid; return; }
	# Fill the disk: the next epoch's checkpoint finds no space.
	dd if=/dev/zero of="$c/out/fill" bs=64k >/dev/null 2>&1
	wait $pid
	local rc=$?
	want_fail $rc "$c/err" 'no space left'
	note="${last:0:110}"
	no_temps "$c/out/m"
	rm -f "$c/out/fill"
	"$bin/train" "${args[@]}" --resume >/dev/null 2>"$c/err2" || fail "--resume after the disk was freed failed: $(tail -1 "$c/err2")"
	[ -f "$c/out/m/model.json" ] || fail "no model.json after --resume"
}

case_disk_full_score() {
	needs_root || return
	mount_tmpfs "$c/out" 48k || { fail "cannot mount"; return; }
	"$bin/score" --input="$work/in" --model="$work/ref/m" --output="$c/out/sc" "${SCO[@]}" >/dev/null 2>"$c/err"
	want_fail $? "$c/err" 'no space left'
	note="${last:0:110}"
	no_temps "$c/out/sc"
	no_partial "$work/ref/sc" "$c/out/sc"
	mount -o remount,size=64m "$c/out"
	"$bin/score" --input="$work/in" --model="$work/ref/m" --output="$c/out/sc" "${SCO[@]}" >/dev/null 2>"$c/err2" || fail "rerun with space failed: $(tail -1 "$c/err2")"
	same_as "$work/ref/sc" "$c/out/sc" -path './predictions/*'
}

# An input changes under a running ingest: accepted outcomes are a run that
# counts every input (written + rejected = inputs) or one short failure
# naming the file; never a crash, a temporary file or a partial shard.
input_changes() {
	local what=$1
	cp -r "$work/in10" "$c/in"
	"$bin/ingest" --input="$c/in" --output="$c/ds" "${ING[@]}" >/dev/null 2>"$c/err" &
	local pid=$!
	bgpids+=($pid)
	wait_for "$c/ds" '*.tmp-*' 30 || true
	local files
	mapfile -t files < <(find "$c/in" -name '*.jpg' | sort | tail -1000)
	if [ "$what" = deleted ]; then rm -f "${files[@]}"; else truncate -s 100 "${files[@]}"; fi
	wait $pid
	local rc=$?
	no_temps "$c/ds"
	if [ $rc = 0 ]; then
		read -r inputs written rejected < <(manifest_counts "$c/ds/manifest.json")
		[ "$inputs" = $((written + rejected)) ] || fail "inputs $inputs != written $written + rejected $rejected"
		note="exit 0: $inputs inputs, $written written, $rejected rejected"
	else
		want_fail $rc "$c/err" "$c/in|input"
		[ -f "$c/ds/manifest.json" ] && fail "a manifest after a failed run"
		note="exit $rc: ${last:0:90}"
	fi
}
case_input_deleted() { input_changes deleted; }
case_input_truncated() { input_changes truncated; }

# signal BINARY SIG: SIGINT or SIGTERM in the middle of a run: exit 130/143,
# no temporary file nor lock left, a line saying how to continue, and the
# rerun that line gives ends like an uninterrupted run.
signal_case() {
	local b=$1 sig=$2 want pid rc args rerun ref cmp=()
	[ "$sig" = INT ] && want=130 || want=143
	case $b in
	ingest)
		args=(--input="$work/in10" --output="$c/out" "${ING[@]}") rerun=("${args[@]}") ref=$work/ref/ds10 ;;
	score)
		args=(--input="$work/in10" --model="$work/ref/m" --output="$c/out" "${SCO[@]}") rerun=("${args[@]}") ref=$work/ref/sc10 cmp=(-path './predictions/*') ;;
	train)
		args=(--data="$work/ref/ds10" --out="$c/out" --epochs=4 --input_size=32 --batch=16 --backbone=cnn-xs --seed=1) rerun=("${args[@]}" --resume) ref="" ;;
	esac
	# Signalled once the run writes (a lock, then a moment), sooner on a
	# retry when the run ended before the signal.
	local delay
	for delay in 0.4 0.1 0; do
		rm -rf "$c/out"
		"$bin/$b" "${args[@]}" >/dev/null 2>"$c/err" &
		pid=$!
		bgpids+=($pid)
		case $b in
		train) wait_for "$c/out" resume.json 30 || true ;;
		*) wait_for "$c/out" .facepipe.lock 30 && sleep $delay ;;
		esac
		kill -"$sig" $pid
		wait $pid
		rc=$?
		[ $rc = 0 ] || break
	done
	[ $rc = "$want" ] || fail "exit $rc, want $want (the run may have ended before the signal)"
	no_temps "$c/out"
	short_err "$c/err"
	grep -qiE -- '--resume|again|rerun|continue' "$c/err" || fail "no line saying how to continue: ${last:0:80}"
	"$bin/$b" "${rerun[@]}" >/dev/null 2>"$c/err2" || fail "the rerun failed: $(tail -1 "$c/err2")"
	[ -z "$ref" ] || same_as "$ref" "$c/out" "${cmp[@]}"
	note="last line: ${last:0:90}"
}
case_sigint_ingest() { signal_case ingest INT; }
case_sigterm_ingest() { signal_case ingest TERM; }
case_sigint_train() { signal_case train INT; }
case_sigterm_train() { signal_case train TERM; }
case_sigint_score() { signal_case score INT; }
case_sigterm_score() { signal_case score TERM; }

# SIGKILL of training at a random moment, then --resume: the final weights
# and validation figures against an uninterrupted run with the same seed.
case_sigkill_train_resume() {
	local args=(--data="$work/ref/ds10" --epochs=4 --input_size=32 --batch=16 --backbone=cnn-xs --seed=1)
	local t0 t1 d
	t0=$(date +%s.%N)
	"$bin/train" "${args[@]}" --out="$c/ref" >/dev/null 2>"$c/err0" || { fail "uninterrupted run failed"; return; }
	t1=$(date +%s.%N)
	d=$(awk -v a="$t0" -v b="$t1" -v r=$RANDOM 'BEGIN{printf "%.2f", 0.3 + (b - a - 0.6) * r / 32767}')
	"$bin/train" "${args[@]}" --out="$c/m" >/dev/null 2>"$c/err" &
	local pid=$!
	bgpids+=($pid)
	sleep "$d"
	kill -9 $pid
	wait $pid 2>/dev/null
	local epochs=0
	[ -f "$c/m/resume.json" ] && epochs=$(tr '\r' '\n' <"$c/err" | grep -cE '^epoch [0-9]+/[0-9]+:')
	if [ -f "$c/m/resume.json" ]; then
		"$bin/train" "${args[@]}" --out="$c/m" --resume >/dev/null 2>"$c/err2" || { fail "--resume failed: $(tail -1 "$c/err2")"; return; }
	else
		# Killed before the first epoch's checkpoint: nothing to resume.
		"$bin/train" "${args[@]}" --out="$c/m" >/dev/null 2>"$c/err2" ||
			"$bin/train" "${args[@]}" --out="$c/m" --overwrite >/dev/null 2>>"$c/err2" || { fail "rerun failed: $(tail -1 "$c/err2")"; return; }
	fi
	# The checkpoint files also hold a training metric (the loss's moving
	# average, under a name with a fresh uuid): the weights are compared
	# through the ONNX export, which holds them all and nothing else.
	local wa wb ma mb
	wa=$(sha256sum <"$c/ref/model.onnx" | cut -c1-12)
	wb=$(sha256sum <"$c/m/model.onnx" | cut -c1-12)
	ma=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["valid_metrics"], c.get("test_metrics"))' "$c/ref/model.json")
	mb=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["valid_metrics"], c.get("test_metrics"))' "$c/m/model.json")
	[ "$ma" = "$mb" ] || fail "metrics differ: $ma vs $mb"
	if [ "$wa" = "$wb" ]; then
		note="killed after ${d}s, $epochs epochs saved: weights identical (model.onnx $wa), metrics identical: $ma"
	else
		fail "killed after ${d}s, $epochs epochs saved: weights differ (model.onnx $wa vs $wb)"
	fi
}

# Two runs into one output: the second stops at its start on one line naming
# the holder; the first completes unharmed.
case_two_writers_ingest() {
	"$bin/ingest" --input="$work/in10" --output="$c/out" "${ING[@]}" >/dev/null 2>"$c/err1" &
	local pid=$!
	bgpids+=($pid)
	wait_for "$c/out" .facepipe.lock 30 || { fail "no lock within 30 s"; return; }
	"$bin/ingest" --input="$work/in" --output="$c/out" "${ING[@]}" >/dev/null 2>"$c/err"
	local rc=$?
	want_fail $rc "$c/err" 'in use by'
	[ "$(grep -c . "$c/err")" = 1 ] || fail "$(grep -c . "$c/err") lines, want 1"
	grep -qE "pid $pid|$pid" <<<"$last" || fail "does not name the holder's pid $pid: ${last:0:100}"
	wait $pid || fail "the first run failed: $(tail -1 "$c/err1")"
	same_as "$work/ref/ds10" "$c/out"
	note="${last:0:110}"
}

case_two_writers_train() {
	local args=(--data="$work/ref/ds10" --epochs=4 --input_size=32 --batch=16 --backbone=cnn-xs --seed=1 --out="$c/m")
	"$bin/train" "${args[@]}" >/dev/null 2>"$c/err1" &
	local pid=$!
	bgpids+=($pid)
	wait_for "$c/m" .facepipe.lock 30 || { fail "no lock within 30 s"; return; }
	"$bin/train" "${args[@]}" >/dev/null 2>"$c/err"
	want_fail $? "$c/err" 'in use by'
	[ "$(grep -c . "$c/err")" = 1 ] || fail "$(grep -c . "$c/err") lines, want 1"
	wait $pid || fail "the first run failed: $(tail -1 "$c/err1")"
}

# train over a finished model stops; --overwrite replaces it.
case_finished_model() {
	cp -r "$work/ref/m" "$c/m"
	rm -f "$c/m/.facepipe.lock"
	local before
	before=$(sums "$c/m")
	"$bin/train" --data="$work/ref/ds" --out="$c/m" --epochs=1 --input_size=32 --batch=16 --backbone=cnn-xs --seed=2 --task=gender >/dev/null 2>"$c/err"
	want_fail $? "$c/err" '--overwrite'
	[ "$(sums "$c/m")" = "$before" ] || fail "the finished model was changed"
	"$bin/train" --data="$work/ref/ds" --out="$c/m" --epochs=1 --input_size=32 --batch=16 --backbone=cnn-xs --seed=2 --task=gender --overwrite >/dev/null 2>"$c/err2" ||
		{ fail "--overwrite failed: $(tail -1 "$c/err2")"; return; }
	grep -q '"task": "gender"' "$c/m/model.json" || fail "--overwrite did not replace the model"
	note="${last:0:110}"
}

# A 10x input set under --memory_limit_mb: peak RSS, same output.
case_memory_limit_10x() {
	local rss
	[ -x /usr/bin/time ] || { why="skip: no /usr/bin/time to measure the peak RSS"; return; }
	/usr/bin/time -f '%M' -o "$c/rss" "$bin/ingest" --input="$work/in10" --output="$c/ds" "${ING[@]}" --memory_limit_mb=100 >/dev/null 2>"$c/err" ||
		{ fail "exit $?: $(tail -1 "$c/err")"; return; }
	rss=$(tail -1 "$c/rss")
	/usr/bin/time -f '%M' -o "$c/rss0" "$bin/ingest" --input="$work/in10" --output="$c/ds0" "${ING[@]}" --memory_limit_mb=0 >/dev/null 2>&1
	same_as "$work/ref/ds10" "$c/ds"
	note="2031 inputs: peak RSS $((rss / 1024)) MB with --memory_limit_mb=100, $(($(tail -1 "$c/rss0") / 1024)) MB with 0 (no limit)"
}

# The gs:// emulator killed in the middle of a run and restarted: the run
# fails on one line (or retries), and the rerun's output is identical.
case_gcs_emulator_killed() {
	[ -x "$bin/fakegcsd" ] || { why="skip: no fakegcsd binary"; return; }
	command -v curl >/dev/null || { why="skip: no curl to read the emulator's objects"; return; }
	local port=$((20000 + RANDOM % 20000))
	"$bin/fakegcsd" -addr "127.0.0.1:$port" -bucket faults -dir "$work/in10" -prefix in >"$c/gcs.log" 2>&1 &
	local gpid=$!
	bgpids+=($gpid)
	wait_for "$c" gcs.ready 0 || true
	for _ in $(seq 100); do grep -q serving "$c/gcs.log" && break; sleep 0.05; done
	export STORAGE_EMULATOR_HOST=127.0.0.1:$port
	"$bin/ingest" --input=gs://faults/in --output=gs://faults/ds "${ING[@]}" >/dev/null 2>"$c/err" &
	local pid=$!
	bgpids+=($pid)
	sleep 0.8
	kill -0 $pid 2>/dev/null || fail "the run ended before the emulator was killed"
	kill -9 $gpid
	wait $gpid 2>/dev/null
	sleep 0.5
	"$bin/fakegcsd" -addr "127.0.0.1:$port" -bucket faults -dir "$work/in10" -prefix in >"$c/gcs2.log" 2>&1 &
	gpid=$!
	bgpids+=($gpid)
	for _ in $(seq 100); do grep -q serving "$c/gcs2.log" && break; sleep 0.05; done
	wait $pid
	local rc=$?
	if [ $rc = 0 ]; then
		local w ref_w
		w=$(sed -nE 's/.*images read, ([0-9]+) written.*/\1/p' "$c/err")
		ref_w=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["written"])' "$work/ref/ds10/manifest.json")
		note="the run retried and completed: $w written"
		# A read cut by the outage is a read_error reject: exit 0 with
		# fewer records than an uninterrupted run.
		if [ "$w" != "$ref_w" ]; then
			curl -s -o "$c/rejects.parquet" "http://127.0.0.1:$port/download/storage/v1/b/faults/o/ds%2Frejects.parquet?alt=media"
			fail "exit 0 with $w written, not $ref_w: $(grep -E 'rejected read_error' "$c/err" | tr -s ' ' | head -1) during the outage ($(strings "$c/rejects.parquet" | grep -m1 -iE 'refused|EOF|reset|status|error' | cut -c1-80))"
		fi
	else
		short_err "$c/err"
		note="exit $rc: ${last:0:90}"
	fi
	# The restarted emulator is empty but for the inputs: rerun, then compare.
	"$bin/ingest" --input=gs://faults/in --output=gs://faults/ds "${ING[@]}" >/dev/null 2>"$c/err2" || { fail "the rerun failed: $(tail -1 "$c/err2")"; unset STORAGE_EMULATOR_HOST; return; }
	curl -s "http://127.0.0.1:$port/storage/v1/b/faults/o?prefix=ds/tfrecords/" | grep -o '"name": *"[^"]*"' >"$c/names" || true
	mkdir -p "$c/dl/tfrecords"
	local n
	while read -r n; do
		n=${n#*\"name\"*\"}
		n=${n%\"}
		curl -s -o "$c/dl/tfrecords/$(basename "$n")" "http://127.0.0.1:$port/download/storage/v1/b/faults/o/$(sed 's|/|%2F|g' <<<"$n")?alt=media"
	done <"$c/names"
	unset STORAGE_EMULATOR_HOST
	same_as "$work/ref/ds10/tfrecords" "$c/dl/tfrecords"
	[ -s "$c/names" ] || fail "no shard listed on the emulator"
}

# ---- run -------------------------------------------------------------------

cases=(ro_output_ingest ro_output_score disk_full_ingest disk_full_train_checkpoint disk_full_score
	input_deleted input_truncated
	sigint_ingest sigterm_ingest sigint_train sigterm_train sigint_score sigterm_score
	sigkill_train_resume two_writers_ingest two_writers_train finished_model memory_limit_10x gcs_emulator_killed)
printf '%-28s %-7s %6s  %s\n' case outcome seconds detail
failed=0
for name in "${cases[@]}"; do
	[[ $name =~ $filter ]] || continue
	c=$work/case/$name
	mkdir -p "$c"
	why="" note="" last=""
	t0=$(date +%s.%N)
	"case_$name"
	for m in "${mounts[@]}"; do unmount "$m"; done
	mounts=()
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}')
	if [[ $why == skip:* ]]; then
		outcome=skip detail=${why#skip: }
	elif [ -n "$why" ]; then
		outcome=FAIL detail=$why failed=1
	else
		outcome=pass detail=$note
	fi
	printf '%-28s %-7s %6s  %s\n' "$name" "$outcome" "$secs" "${detail:0:140}"
done
printf 'faults.sh: total %.0f s (building and references included)\n' "$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')"
exit $failed
