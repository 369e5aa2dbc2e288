#!/usr/bin/env bash
# Runs ingest or score on Google Cloud Dataflow.
#
#   scripts/dataflow.sh ingest --project=P --region=R --staging_location=gs://B/staging \
#       --input='gs://B/utkface/**.jpg' --output=gs://B/ingest [ingest flags...]
#   scripts/dataflow.sh score  --project=P --region=R --staging_location=gs://B/staging \
#       --input='gs://B/new/**.jpg' --output=gs://B/scored --model=gs://B/models [score flags...]
#
# It builds the pipeline once for linux/amd64 as the worker binary
# (bin/dataflow/<pipeline>) and submits with --worker_binary, so Beam does
# not recompile the program at every submission (502 s measured here). The
# worker binary has no dynamic dependency beyond what the Beam Go SDK
# container has:
#   - ingest links libjpeg-turbo statically (-tags turbojpeg, a fully static
#     binary) when its headers and static library are installed here
#     (Debian: libturbojpeg0-dev), else it uses the pure-Go decoder;
#   - score needs cgo (GoMLX's ONNX Runtime backend loads the library
#     through it), so it is linked dynamically against glibc. It must be
#     built on linux/amd64 with a glibc no newer than the container's
#     (apache/beam_go_sdk:2.77.0 is Debian bookworm, glibc 2.36, as this
#     project's machines are). ONNX Runtime is loaded at run time: pass
#     --backend=onnx:cpu and each worker fetches it (the workers need
#     internet access), or use an --sdk_container_image that has it and sets
#     ONNXRUNTIME_SHARED_LIBRARY_PATH. Without either, score runs on the
#     pure-Go backend, which is correct but 25-60x slower for convolutions.
#
# Credentials: `gcloud auth application-default login`, or
# GOOGLE_APPLICATION_CREDENTIALS pointing at a service account key. Add
# --dry_run to build the job without submitting it: it prints a summary
# (stages, worker binary, staging path, input files) and writes the job's
# JSON to a file it names; it needs neither credentials nor the network.
set -euo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "$0")/.."

usage() {
	sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
[ $# -ge 1 ] || usage
pipeline=$1
shift
case $pipeline in
ingest | score) ;;
*) echo "dataflow.sh: unknown pipeline '$pipeline': want ingest or score" >&2 && usage ;;
esac
for flag in project region staging_location; do
	if ! printf '%s\n' "$@" | grep -q -- "^--\{0,1\}-$flag="; then
		echo "dataflow.sh: --$flag=... is required" >&2
		exit 2
	fi
done

out=bin/dataflow
mkdir -p "$out"
worker=$out/$pipeline
if [ "$pipeline" = ingest ] && [ -f /usr/include/turbojpeg.h ] && command -v gcc >/dev/null; then
	echo "dataflow.sh: building $worker (linux/amd64, libjpeg-turbo, static)" >&2
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 go build -trimpath \
		-tags turbojpeg,netgo,osusergo -ldflags '-s -w -linkmode external -extldflags "-static"' -o "$worker" "./pipelines/$pipeline"
elif [ "$pipeline" = score ]; then
	if [ "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" != linux/amd64 ]; then
		echo "dataflow.sh: the score worker needs cgo: build it on linux/amd64 (glibc 2.36 or older)" >&2
		exit 2
	fi
	echo "dataflow.sh: building $worker (linux/amd64, cgo, glibc $(ldd --version | head -1 | awk '{print $NF}'))" >&2
	CGO_ENABLED=1 go build -trimpath -ldflags '-s -w' -o "$worker" "./pipelines/$pipeline"
else
	echo "dataflow.sh: building $worker (linux/amd64, pure Go)" >&2
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags '-s -w' -o "$worker" "./pipelines/$pipeline"
fi

# The launcher is the same program built for this machine (the worker binary
# itself when this machine is linux/amd64).
launcher=$worker
if [ "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" != linux/amd64 ]; then
	launcher=$out/$pipeline-launcher
	go build -o "$launcher" "./pipelines/$pipeline"
fi
action="submitting $pipeline"
for arg in "$@"; do
	case $arg in
	-dry_run | --dry_run | -dry_run=true | --dry_run=true) action="building the $pipeline job (--dry_run: nothing is submitted)" ;;
	esac
done
echo "dataflow.sh: $action" >&2
exec "$launcher" --runner=dataflow --worker_binary="$worker" "$@"
