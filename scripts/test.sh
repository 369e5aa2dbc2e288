#!/usr/bin/env bash
# The test suite: what CI runs (.ci/run calls this script after installing
# libjpeg-turbo's headers and Debian's python3-pil). It installs ONNX Runtime
# when it is missing (the ONNX export and onnx backend tests need it) and
# fetches face-api.js's six demo photos (scripts/demo-photos.sh), then
# runs every test of the default build, the libjpeg-turbo build's tests when
# its headers are installed (apt-get install libturbojpeg0-dev), and the XLA
# build's (-tags xla; tests that need a PJRT plugin or a GPU skip, saying
# why).
# It also runs the race detector on ingest, dataset, score and evaluate.
# Extra arguments go to each go test, e.g. scripts/test.sh -count=1.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
eval "$(scripts/install-onnxruntime.sh)"
# The six photos of face-api.js's demo, for faces.TestDemoPhotos (npm pack,
# 13 MB, once); without npm or the registry that test skips, saying why.
if [ -z "${FACEPIPE_DEMO_PHOTOS:-}" ] && photos=$(scripts/demo-photos.sh); then
	export FACEPIPE_DEMO_PHOTOS=$photos
fi

go test "$@" ./...
# The race detector on the packages that run goroutines of their own
# (ingest's shard writers, the dataset reader, scoring, evaluation): about 4
# minutes on 2 busy cores (2026-12-06). -race turns on checkptr, which
# aborts in GoMLX's compute package (its pointer arithmetic), so checkptr is
# off there only. TestRetryAfterInjectedFailure is skipped: Beam's SDK
# harness races in its data channel when a bundle fails
# (core/runtime/harness/datamgr.go), outside this module's code.
go test -race "$@" -gcflags='github.com/gomlx/compute/...=-d=checkptr=0' -skip '^TestRetryAfterInjectedFailure$' \
	./transforms/ingest ./dataset ./transforms/score ./evaluate
if [ -f /usr/include/turbojpeg.h ]; then
	go test -tags turbojpeg "$@" ./preprocess/... ./transforms/...
else
	echo "test.sh: libturbojpeg0-dev is not installed: skipping the -tags turbojpeg tests" >&2
fi
go vet -tags xla ./pipelines/... ./model/... ./training/... ./scripts/...
go test -tags xla "$@" ./model/... ./internal/pjrtinstall/
