#!/usr/bin/env bash
# Compares face detection plus age and gender, end to end, on ordinary-looking
# photos: face-api.js's full pipeline (SSD MobileNet v1 and TinyFaceDetector)
# against our pipelines/score --faces=detect, on synthetic scenes with known
# faces, and the same faces scored as UTKFace crops.
#
# Scenes: scripts/genscenes pastes UTKFace crops of OUR TEST SPLIT (split from
# the content sha256 with seed SPLIT_SEED, as pipelines/ingest assigns it, so
# none of them trained our models) into procedural backgrounds with no faces:
# SCENES scenes (default 300) of 800x600 to 1920x1080 (SIZE=mixed) or
# 4000x3000 (SIZE=12mp), 1-5 faces each, each crop 48-360 px wide, rotated up
# to ±25°, feathered at its edge, not overlapping; JPEG quality 60-95. Its
# truth.csv gives each face's scene, source crop and labels, centre, size and
# angle. Deterministic for a SEED.
#
# face-api.js: @vladmandic/face-api 1.7.15 with its bundled weights, on
# TensorFlow.js's WASM backend, images decoded with sharp, run by
# scripts/faceapi/wild.js in FACEAPI_PROCS processes (default 2, one per core)
# of one thread each: detectAllFaces(img, SsdMobilenetv1Options({minConfidence:
# 0.5}) or TinyFaceDetectorOptions({inputSize: 416, scoreThreshold: 0.5}))
# .withFaceLandmarks() (68 points) .withAgeAndGender(). Ours: pipelines/score
# OURS_FLAGS (default: none, so the default --faces=auto) with the bundled default models, built
# once beforehand (-tags turbojpeg when its header is installed). Each side's
# images/s counts decoding, detection, inference and writing, not model
# loading nor the build.
#
# "The same faces as UTKFace crops": the distinct source crops listed in
# truth.csv, scored whole by ours (CROPS_FLAGS, default --faces=whole; no flag
# with a pipelines/score that predates --faces) and by face-api.js's age and
# gender net alone (scripts/faceapi/agegender.js, as bench-faceapi.sh runs
# it; FACEAPI_CROPS=0 skips it): what detection and alignment cost each side.
#
# scripts/comparewild matches each pipeline's detections to the truth, one to
# one, greedily by the distance from the box centre to the pasted crop's
# centre, accepted under 0.5 x the crop width with a box size
# (sqrt(width x height)) within a factor 2 of it, and prints per pipeline:
# faces found (recall), false positives (count and per 100 scenes), age MAE,
# gender accuracy and AUC on the faces found, images/s; recall by face size;
# the metrics on the faces every pipeline found; and the ratios of our
# images/s to face-api.js tiny's and SSD's.
#
# face-api.js's age and gender model was trained on UTKFace among 8 data sets
# (80/20 splits, per its model card), so some of these faces were probably in
# its training data: its age and gender figures are optimistic. Ours were
# trained on our train split only.
#
# Usage: scripts/bench-wild.sh
# Environment:
#   DATA           UTKFace crops to take the test split from (default
#                  ../shared/datasets/utkface-dev).
#   SCENES         number of scenes (default 300); SIZE: mixed (default) or
#                  12mp (about 1.5 s of CPU per scene to generate); SEED: the
#                  scenes' seed (default 1); SPLIT_SEED: the
#                  split's seed (default 42, ingest's default).
#   FACEAPI_PROCS  face-api.js processes (default 2).
#   FACEAPI_CROPS  1 (default) to also run face-api.js's age and gender net
#                  on the source crops, 0 not to.
#   OURS_FLAGS     flags of our run on the scenes (default: none; --faces=auto detects every face).
#   CROPS_FLAGS    flags of our run on the source crops (default --faces=whole).
#   TAGS           go build tags (default: turbojpeg when its header is installed).
#   WORK           a folder to keep everything in (scenes, outputs, logs);
#                  default: a temporary folder, removed at the end.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
data=${DATA:-../shared/datasets/utkface-dev}
scenes=${SCENES:-300}
size=${SIZE:-mixed}
seed=${SEED:-1}
split_seed=${SPLIT_SEED:-42}
procs=${FACEAPI_PROCS:-2}
faceapi_crops=${FACEAPI_CROPS:-1}
ours_flags=${OURS_FLAGS-}
crops_flags=${CROPS_FLAGS---faces=whole}
if [ -n "${WORK:-}" ]; then
	tmp=$WORK
	mkdir -p "$tmp"
	rm -rf "$tmp"/{bin,gen,crops,faceapi-ssd,faceapi-tiny,faceapi-crops,ours,ours-crops}
else
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
fi
log() { echo "bench-wild: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}
[ -d "$data" ] || die "no dataset at $data (set DATA)"

eval "$(scripts/install-onnxruntime.sh 2>/dev/null)"
if [ ! -d scripts/faceapi/node_modules ]; then
	log "installing face-api.js and its dependencies from the npm registry (npm ci)"
	(cd scripts/faceapi && npm ci --no-audit --no-fund) >&2
fi

if [ -z "${TAGS+x}" ]; then
	TAGS=""
	[ -f /usr/include/turbojpeg.h ] && TAGS=turbojpeg
fi
mkdir -p "$tmp/bin"
log "building scripts/genscenes, scripts/comparewild and pipelines/score"
go build -o "$tmp/bin/genscenes" ./scripts/genscenes
go build -o "$tmp/bin/comparewild" ./scripts/comparewild
# Ours may not build while its face detection is under way: the face-api.js
# half runs all the same.
ours_problem=""
if ! go build ${TAGS:+-tags "$TAGS"} -o "$tmp/bin/score" ./pipelines/score 2>"$tmp/score-build.log"; then
	ours_problem="pipelines/score does not build (go build ${TAGS:+-tags $TAGS} ./pipelines/score: $(head -n 3 "$tmp/score-build.log" | tr '\n' ' '))"
	log "$ours_problem"
fi
has_faces_flag=0
# The help is read whole first: grep -q stops at the first match, and under
# pipefail the writer's SIGPIPE would make the pipeline fail.
if [ -z "$ours_problem" ] && grep -q -- '-faces\b' <<<"$("$tmp/bin/score" -help 2>&1 || true)"; then
	has_faces_flag=1
fi

log "generating $scenes $size scenes from the test split of $data (seed $seed, split seed $split_seed)"
"$tmp/bin/genscenes" --data="$data" --out="$tmp/gen" --scenes="$scenes" --size="$size" \
	--seed="$seed" --split_seed="$split_seed" 2>"$tmp/genscenes.log" ||
	{ cat "$tmp/genscenes.log" >&2; die "genscenes failed"; }
cat "$tmp/genscenes.log" >&2
find "$tmp/gen/scenes" -name '*.jpg' | LC_ALL=C sort >"$tmp/scenes.list"
n=$(wc -l <"$tmp/scenes.list")
[ "$n" -gt 0 ] || die "no scenes"

# The source crops, linked into one flat folder under their own names.
mkdir "$tmp/crops"
"$tmp/bin/comparewild" sources -truth="$tmp/gen/truth.csv" | xargs -d '\n' ln -s -t "$tmp/crops" -- ||
	die "could not link every source crop into one folder (two crops with the same name?)"
find "$tmp/crops" -mindepth 1 | LC_ALL=C sort >"$tmp/crops.list"
ncrops=$(wc -l <"$tmp/crops.list")
cat "$tmp/gen/scenes"/*.jpg >/dev/null # warm the page cache for every run
find -L "$tmp/crops" -type f -exec cat {} + >/dev/null

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
compare_args=(-truth="$tmp/gen/truth.csv")
for det in ssd tiny; do
	log "running face-api.js ($det) on $n scenes ($procs processes)"
	node scripts/faceapi/wild.js --list="$tmp/scenes.list" --out="$tmp/faceapi-$det" --procs="$procs" \
		--detector="$det" >"$tmp/faceapi-$det.log" 2>&1 ||
		{ cat "$tmp/faceapi-$det.log" >&2; die "face-api.js ($det) failed"; }
	cat "$tmp/faceapi-$det.log" >&2
	compare_args+=(-faceapi="$tmp/faceapi-$det")
done

# score_run NAME INPUT OUTPUT FLAGS... runs our pipeline and prints its wall
# time ("score: done in" of its summary), or returns 1 with the reason in
# $tmp/NAME.why.
score_run() {
	local name=$1 input=$2 output=$3
	shift 3
	if ! "$tmp/bin/score" --input="$input" --output="$output" "$@" >"$tmp/$name.log" 2>&1; then
		echo "pipelines/score $* failed: $(grep -v '^\s*$' "$tmp/$name.log" | tail -n 3 | tr '\n' ' ')(log: $tmp/$name.log)" >"$tmp/$name.why"
		return 1
	fi
	local wall
	wall=$(sed -n 's/^score: done in \([^:]*\):.*/\1/p' "$tmp/$name.log")
	if [ -z "$wall" ]; then
		echo "no 'score: done in' line in the output of pipelines/score $*" >"$tmp/$name.why"
		return 1
	fi
	echo "$wall"
}

ours_line="ours on the scenes: pipelines/score ${ours_flags:-with its default flags}"
if [ -n "$ours_problem" ]; then
	ours_line="ours on the scenes: NOT RUN: $ours_problem"
elif [ "$has_faces_flag" = 0 ] && [[ "$ours_flags" == *--faces* ]]; then
	ours_line="ours on the scenes: NOT RUN: this pipelines/score has no --faces flag yet (OURS_FLAGS=$ours_flags)"
else
	log "running pipelines/score $ours_flags on $n scenes"
	# shellcheck disable=SC2086 # OURS_FLAGS is a list of flags
	if wall=$(score_run ours "$tmp/gen/scenes" "$tmp/ours" $ours_flags); then
		compare_args+=(-ours="$tmp/ours" -ours_wall="$wall" -ours_name="ours (${ours_flags:-default flags})")
	else
		ours_line="ours on the scenes: FAILED: $(cat "$tmp/ours.why")"
	fi
fi
[[ "$ours_line" == *"NOT RUN"* || "$ours_line" == *FAILED* ]] && log "$ours_line"

flags=$crops_flags
crops_name="ours, source crops ($crops_flags)"
if [ "$has_faces_flag" = 0 ] && [[ "$crops_flags" == *--faces* ]]; then
	flags=${crops_flags//--faces=whole/}
	crops_name="ours, source crops (no --faces: whole)"
fi
crops_line="ours on the source crops: pipelines/score $flags"
if [ -n "$ours_problem" ]; then
	crops_line="ours on the source crops: NOT RUN: $ours_problem"
else
	log "running pipelines/score $flags on the $ncrops source crops"
	# shellcheck disable=SC2086
	if wall=$(score_run ours-crops "$tmp/crops" "$tmp/ours-crops" $flags); then
		compare_args+=(-crops="$tmp/ours-crops" -crops_wall="$wall" -crops_name="$crops_name")
	else
		crops_line="ours on the source crops: FAILED: $(cat "$tmp/ours-crops.why")"
		log "$crops_line"
	fi
fi

if [ "$faceapi_crops" = 1 ]; then
	log "running face-api.js's age and gender net on the $ncrops source crops ($procs processes)"
	node scripts/faceapi/agegender.js --list="$tmp/crops.list" --out="$tmp/faceapi-crops" --procs="$procs" \
		>"$tmp/faceapi-crops.log" 2>&1 ||
		{ cat "$tmp/faceapi-crops.log" >&2; die "face-api.js on the crops failed"; }
	compare_args+=(-faceapi_crops="$tmp/faceapi-crops")
fi

versions=$(node -e 'const s = require(process.argv[1]); const v = s.versions;
console.log(`@vladmandic/face-api ${v.faceapi}, @tensorflow/tfjs ${v.tfjs} (${s.backend} backend, ${s.threads_per_proc} thread per process), sharp ${v.sharp} (libvips ${v.vips}), node ${v.node}`)' "$tmp/faceapi-ssd/summary.json")
load=$(node -e 'const r = process.argv.slice(1).map((f) => require(f).load_s.map((s) => s.toFixed(1)).join("/") + " s"); console.log(r.join(", "))' \
	"$tmp/faceapi-ssd/summary.json" "$tmp/faceapi-tiny/summary.json")

echo "bench-wild: $n $size scenes (seed $seed) with $(($(wc -l <"$tmp/gen/truth.csv") - 1)) faces from $ncrops crops of our test split of $data (split seed $split_seed)"
echo "NOTE: face-api.js's age and gender model was trained on UTKFace (one of the 8 datasets of its model card,"
echo "      80/20 splits), so some of these faces were probably in its training data: its age and gender figures"
echo "      are optimistic. Ours were trained on our train split only, disjoint from our test split."
echo "face-api.js: $versions; $procs processes;"
echo "             detectAllFaces(SSD minConfidence 0.5 | tiny inputSize 416 scoreThreshold 0.5).withFaceLandmarks().withAgeAndGender()"
models=$(cat "$tmp/ours.log" "$tmp/ours-crops.log" 2>/dev/null | sed -n 's/^score: models \(.*\) on backend .*/\1/p' | head -n 1 || true)
echo "$ours_line"
echo "$crops_line"
echo "ours: ${models:-the bundled default models}; go build tags: ${TAGS:-none}"
echo "load average before the runs: $load_before ($(nproc) cores)"
echo
"$tmp/bin/comparewild" compare "${compare_args[@]}"
echo "  (face-api.js: from the start signal, after model loading and a warm-up image per process, to the last"
echo "   process's end; not timed: loading and warm-up, $load (SSD, tiny). Ours: the run time its summary prints,"
echo "   after model loading)"
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
