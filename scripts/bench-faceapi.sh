#!/usr/bin/env bash
# Compares face-api.js's age and gender network with our scoring pipeline on
# the same images: age MAE, gender accuracy and AUC side by side, overall and
# by age band (0-9 ... 70+), with both rates in images/s and their ratio.
#
# face-api.js: @vladmandic/face-api 1.7.15 with its bundled weights, on
# TensorFlow.js's WASM backend, images decoded with sharp, no face detection
# (UTKFace images are aligned crops: each whole image is the face), run by
# scripts/faceapi/agegender.js in FACEAPI_PROCS processes (default 2, one per
# core) of one thread each. Ours: pipelines/score with its default flags but
# --faces=whole (the bundled default models, flip averaging as their card
# says; no face detection, as face-api.js's side), built once beforehand.
# scripts/bench-wild.sh compares the full pipelines, detection included. Both rates
# count decoding, inference and writing, not model loading nor the build.
# Both sides' metrics come from package evaluate (scripts/comparefaces).
#
# face-api.js's model was trained on UTKFace among 8 datasets (80/20 splits,
# per its model card), so its figures on UTKFace are optimistic.
#
# Usage: scripts/bench-faceapi.sh [folder]
#   folder: any folder of UTKFace-named images (listed recursively). Default:
#   our test split, the written test images of an ingest of DATA (default
#   ../shared/datasets/utkface-dev) with --image_size=64 --encoding=uint8 and
#   the default seed and fractions (1,930 images of the dev set).
# Environment:
#   INGEST_OUT     an ingest output folder to take the test split from; when it
#                  has no manifest.json yet the ingest is run into it first, so
#                  that later runs reuse it. Default: a fresh ingest in a
#                  temporary folder.
#   DATA           the images to ingest (see above).
#   FACEAPI_PROCS  face-api.js processes (default 2); FACEAPI_BATCH: images per
#                  inference call (default 16; the batch size does not change
#                  its predictions).
#   TAGS           go build tags (default: turbojpeg when its header is installed).
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
data=${DATA:-../shared/datasets/utkface-dev}
procs=${FACEAPI_PROCS:-2}
batch=${FACEAPI_BATCH:-16}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log() { echo "bench-faceapi: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

eval "$(scripts/install-onnxruntime.sh 2>/dev/null)"
if [ ! -d scripts/faceapi/node_modules ]; then
	log "installing face-api.js and its dependencies from the npm registry (npm ci)"
	(cd scripts/faceapi && npm ci --no-audit --no-fund) >&2
fi

if [ -z "${TAGS+x}" ]; then
	TAGS=""
	[ -f /usr/include/turbojpeg.h ] && TAGS=turbojpeg
fi
log "building pipelines/score and scripts/comparefaces"
go build ${TAGS:+-tags "$TAGS"} -o "$tmp/score" ./pipelines/score
go build -o "$tmp/comparefaces" ./scripts/comparefaces

# The image list.
if [ $# -ge 1 ]; then
	[ -d "$1" ] || die "$1 is not a folder"
	find -L "$1" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | LC_ALL=C sort >"$tmp/list"
	src="the images under $1"
else
	ingest=${INGEST_OUT:-$tmp/ingest}
	if [ ! -f "$ingest/manifest.json" ]; then
		[ -d "$data" ] || die "no folder given and no dataset at $data (set DATA, or INGEST_OUT to an ingest output)"
		log "ingesting $data into $ingest (--image_size=64 --encoding=uint8) for its test split"
		go build ${TAGS:+-tags "$TAGS"} -o "$tmp/ingest-bin" ./pipelines/ingest
		"$tmp/ingest-bin" --input="$data" --output="$ingest" --image_size=64 --encoding=uint8 >"$tmp/ingest.log" 2>&1 ||
			{ cat "$tmp/ingest.log" >&2; die "ingest failed"; }
	fi
	"$tmp/comparefaces" list -ingest="$ingest" -split=test >"$tmp/list"
	src="our test split (ingest ${INGEST_OUT:-of $data})"
fi
[ -s "$tmp/list" ] || die "no images"
# A flat folder of links to the images, read by both sides: the same files under
# the same names (ln fails on two images with one name).
mkdir "$tmp/in"
xargs -d '\n' realpath -e -- <"$tmp/list" | xargs -d '\n' ln -s -t "$tmp/in" -- ||
	die "could not link every listed image into one folder (missing file, or two with the same name?)"
find "$tmp/in" -mindepth 1 | LC_ALL=C sort >"$tmp/inputs"
n=$(wc -l <"$tmp/inputs")
find -L "$tmp/in" -type f -exec cat {} + >/dev/null # warm the page cache for both

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "running face-api.js on $n images ($procs processes)"
node scripts/faceapi/agegender.js --list="$tmp/inputs" --out="$tmp/faceapi" --procs="$procs" --batch="$batch" >"$tmp/faceapi.log" 2>&1 ||
	{ cat "$tmp/faceapi.log" >&2; die "face-api.js failed"; }
log "running pipelines/score on $n images"
t0=$(date +%s.%N)
"$tmp/score" --input="$tmp/in" --output="$tmp/scored" --faces=whole >"$tmp/score.log" 2>&1 ||
	{ cat "$tmp/score.log" >&2; die "pipelines/score failed"; }
t1=$(date +%s.%N)
ours_wall=$(sed -n 's/^score: done in \([^:]*\):.*/\1/p' "$tmp/score.log")
[ -n "$ours_wall" ] || { cat "$tmp/score.log" >&2; die "no 'score: done in' line in the output of pipelines/score"; }

versions=$(node -e 'const s = require(process.argv[1]); const v = s.versions;
console.log(`@vladmandic/face-api ${v.faceapi}, @tensorflow/tfjs ${v.tfjs} (${s.backend} backend, ${s.threads_per_proc} thread per process), sharp ${v.sharp} (libvips ${v.vips}), node ${v.node}`)' "$tmp/faceapi/summary.json")
load=$(node -e 'console.log(require(process.argv[1]).load_s.map((s) => s.toFixed(1)).join(" s, ") + " s")' "$tmp/faceapi/summary.json")

echo "bench-faceapi: $n images, $src"
echo "NOTE: face-api.js's age and gender model was trained on UTKFace (UTK is one of the 8 datasets of its model"
echo "      card, with 80/20 train/test splits), so some of these images were probably in its training data: its"
echo "      figures here are optimistic. Ours were trained on our train split only, disjoint from our test split."
echo "face-api.js: $versions;"
echo "             whole image as the face (no detection), face-api's own preprocessing; $procs processes, batch $batch"
models=$(sed -n 's/^score: models \(.*\) on backend .*/\1/p' "$tmp/score.log")
echo "ours: pipelines/score --faces=whole, otherwise default flags: ${models:-the bundled default models}; go build tags: ${TAGS:-none}"
echo "load average before the runs: $load_before ($(nproc) cores)"
echo
"$tmp/comparefaces" compare -ours="$tmp/scored" -ours_wall="$ours_wall" -theirs="$tmp/faceapi"
echo "  (face-api.js: from the start signal, after model loading, to the last process's end; ours: the"
echo "   run time its summary prints, after model loading. Not timed: face-api.js's model loading and"
echo "   warm-up, $load; our whole process including it took $(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}') s)"
own=$(sed -n 's/^ *against the labels in the names: //p' "$tmp/score.log")
if [ -n "$own" ]; then echo "pipelines/score's own metrics, a check of the join: $own"; fi
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
