#!/usr/bin/env bash
# Checks, on a machine with an NVIDIA GPU, that training and scoring run on
# the GPU backends, how fast, and that their predictions agree with onnx:cpu.
#
#   scripts/gpu-check.sh [--images=DIR] [--ort-gpu-sha256=HEX] [--no-install] [--work=DIR]
#
# It prints the GPU, the driver and the CUDA version; installs what is
# missing (ONNX Runtime's CPU build, its GPU build when a digest is known or
# given, XLA's PJRT CUDA plugin; --no-install skips that); builds the
# binaries once with -tags xla; ingests 2,000 images (the first 2,000 of
# --images, else a generated sample) at 224×224 float32; then on each GPU
# backend that opens (onnx:cuda, xla:cuda):
#   - times a training step and inference of cnn-s and resnet-s at 224×224
#     (scripts/benchtrain: steady state, after warm-up), and the same on
#     onnx:cpu (fewer steps: the CPU is slow at 224);
#   - trains cnn-s (age) and resnet-s (gender) for 1 epoch at
#     --input_size=224 (the epoch's images/s includes compiling the graphs);
#     on onnx:cpu the same runs are capped at --cpu_steps steps;
#   - scores the images with the two models on that backend and on onnx:cpu,
#     and compares the predictions (scripts/predcompare): at most
#     --age_tol years (0.25) and --p_tol (0.01) apart, since GPUs multiply
#     float32 in TF32.
# It exits 1 when no GPU backend could run or predictions disagree. On a
# machine without an NVIDIA GPU it exits 1 at once, saying so.
#
# Options (defaults in brackets): --n=N images [2000], --size=S [224],
# --batch=B [128], --cpu_steps=K [4], --age_tol=Y [0.25], --p_tol=P [0.01],
# --work=DIR [/tmp/facepipe-gpu-check, emptied first; its shards and
# images are removed at the end, the logs, models and predictions kept],
# --backends=LIST [onnx:cuda,xla:cuda]. --cpu-only runs every step without a
# GPU, for testing this script: the candidates default to xla:cpu and go,
# on a small run, e.g. --cpu-only --n=200 --size=32 --batch=16.
set -euo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "$0")/.."

n=2000 size=224 batch=128 cpu_steps=4 age_tol=0.25 p_tol=0.01
images="" work="" ort_sha="" install=true cpu_only=false backends="onnx:cuda,xla:cuda"
for arg in "$@"; do
	case $arg in
	--images=*) images=${arg#*=} ;;
	--work=*) work=${arg#*=} ;;
	--ort-gpu-sha256=*) ort_sha=${arg#*=} ;;
	--no-install) install=false ;;
	--cpu-only) cpu_only=true ;;
	--n=*) n=${arg#*=} ;;
	--size=*) size=${arg#*=} ;;
	--batch=*) batch=${arg#*=} ;;
	--cpu_steps=*) cpu_steps=${arg#*=} ;;
	--age_tol=*) age_tol=${arg#*=} ;;
	--p_tol=*) p_tol=${arg#*=} ;;
	--backends=*) backends=${arg#*=} ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "gpu-check: unknown argument '$arg' (see --help)" >&2
		exit 2
		;;
	esac
done
if $cpu_only && [[ "$backends" == "onnx:cuda,xla:cuda" ]]; then
	backends="xla:cpu,go"
fi

start=$SECONDS
say() { printf '[%3ds] %s\n' $((SECONDS - start)) "$*"; }
die() {
	echo "gpu-check: $*" >&2
	exit 1
}

# The GPU, or one line and exit 1.
if ! $cpu_only; then
	if ! command -v nvidia-smi >/dev/null 2>&1 || ! gpus=$(nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader 2>/dev/null) || [[ -z "$gpus" ]]; then
		die "no NVIDIA GPU on this machine (nvidia-smi is missing or lists no GPU): this check needs one"
	fi
	cuda_version=$(nvidia-smi | awk 'match($0, /CUDA Version: *[0-9.]+/) { s = substr($0, RSTART, RLENGTH); sub(/.*: */, "", s); print s; exit }')
	say "GPU (index, name, memory, driver): $gpus"
	say "CUDA version (driver): ${cuda_version:-unknown}"
	say "CUDA libraries the loader finds: $( { ldconfig -p 2>/dev/null || true; } | awk '$1 ~ /^lib(cudart|cublas|cudnn)\.so\.[0-9]+$/ { printf "%s ", $1 }')"
fi
command -v go >/dev/null 2>&1 || die "go is not installed (https://go.dev/dl)"
say "cores: $(nproc), $(go version)"

if [[ -z "$work" ]]; then
	# A fixed folder, emptied first; its 1.2 GB of shards and images go at the
	# end, the logs, models and predictions stay for a look.
	work=${TMPDIR:-/tmp}/facepipe-gpu-check
	rm -rf "$work"
	trap 'rm -rf "$work/ingest" "$work/images"' EXIT
fi
mkdir -p "$work/logs" "$work/bin"
bin=$work/bin
logs=$work/logs

# run NAME CMD...: runs CMD with its output in logs/NAME.log; on failure,
# prints the log's last lines and returns 1.
run() {
	local name=$1
	shift
	if ! "$@" >"$logs/$name.log" 2>&1; then
		echo "  $name failed: $*" >&2
		tail -n 5 "$logs/$name.log" | sed 's/^/    /' >&2
		return 1
	fi
}

say "building the binaries (-tags xla)"
run build go build -tags xla -o "$bin/" ./pipelines/ingest ./pipelines/train ./pipelines/score \
	./scripts/benchtrain ./scripts/predcompare ./scripts/installpjrt ./scripts/genfixtures ||
	die "the build failed (log: $logs/build.log)"
say "built"

if $install; then
	say "installing what is missing"
	if out=$(scripts/install-onnxruntime.sh 2>"$logs/install-ort-cpu.log"); then
		say "  ONNX Runtime CPU build: ok"
	else
		say "  ONNX Runtime CPU build: $(tail -n 1 "$logs/install-ort-cpu.log")"
	fi
	if ! $cpu_only; then
		if scripts/install-onnxruntime.sh --gpu ${ort_sha:+--sha256="$ort_sha"} >/dev/null 2>"$logs/install-ort-gpu.log"; then
			say "  ONNX Runtime GPU build: ok"
		else
			say "  ONNX Runtime GPU build: not installed: $(grep -h error "$logs/install-ort-gpu.log" | tail -n 1)"
		fi
		if "$bin/installpjrt" cuda 2>"$logs/install-pjrt.log" >&2; then
			say "  XLA PJRT CUDA plugin: ok"
		else
			say "  XLA PJRT CUDA plugin: not installed: $(tail -n 1 "$logs/install-pjrt.log")"
		fi
	fi
fi
export GOMLX_NO_AUTO_INSTALL=1 # the binaries use what is installed, never download
ort_cpu=$HOME/.cache/facepipe/onnxruntime/libonnxruntime.so.1
[[ -f "$ort_cpu" ]] || die "ONNX Runtime's CPU build is not installed ($ort_cpu), the reference: run scripts/install-onnxruntime.sh"
export ONNXRUNTIME_SHARED_LIBRARY_PATH=$ort_cpu # onnx:cuda takes the GPU build by itself
ref="onnx:cpu,intra_threads=$(nproc)"

# The images: the first $n of --images, else a generated sample.
if [[ -n "$images" ]]; then
	[[ -d "$images" ]] || die "--images=$images is not a folder"
	mkdir -p "$work/images"
	find "$images" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | sort | head -n "$n" |
		while IFS= read -r f; do cp "$f" "$work/images/"; done
	say "images: the first $(find "$work/images" -type f | wc -l) of $images"
else
	run genfixtures "$bin/genfixtures" -out "$work/images" -n "$n" -bad=false -odd_names=false -duplicates=false ||
		die "generating the sample failed"
	say "images: $n generated (scripts/genfixtures)"
fi
run ingest "$bin/ingest" --input="$work/images" --output="$work/ingest" --image_size="$size" --encoding=float32 ||
	die "ingest failed"
say "ingested at ${size}×${size} float32: $(grep -h 'done\|written' "$logs/ingest.log" | tail -n 1)"

# The backends to check: those of --backends that open here.
candidates=()
for b in ${backends//,/ }; do
	if d=$("$bin/benchtrain" -backend "$b" -describe 2>&1); then
		say "backend $b: $d"
		candidates+=("$b")
	else
		say "backend $b: not available: ${d#benchtrain: }"
	fi
done
[[ ${#candidates[@]} -gt 0 ]] || die "none of $backends opens here (see above)"
say "reference backend $ref: $("$bin/benchtrain" -backend "$ref" -describe 2>&1)"

field() { sed -n "s|.*$1 \([0-9.]*\) $2.*|\1|p" | head -n 1; }
# epoch_rate DIR: images/s of the first epoch in a model folder's learning curve.
epoch_rate() { awk -F, 'NR == 2 { printf "%.0f", $9 }' "$1/learning_curve.csv"; }
# score_rate LOG: images/s that the score binary printed.
score_rate() { sed -n 's|.*(\([0-9]*\) images/s).*|\1|p' "$1" | tail -n 1; }

declare -A step infer epoch scorerate
# bench BACKEND TAG STEPS: benchtrain of both backbones.
bench() {
	local b=$1 tag=$2 steps=$3 bb out
	for bb in cnn-s resnet-s; do
		if run "bench-$tag-$bb" "$bin/benchtrain" -backend "$b" -backbone "$bb" -size "$size" -batch "$batch" \
			-steps "$steps" -infer "$steps" -peak=false; then
			out=$(cat "$logs/bench-$tag-$bb.log")
			step[$tag/$bb]=$(echo "$out" | field "train step" ms)
			infer[$tag/$bb]=$(echo "$out" | field "inference" images/s)
		fi
	done
}
# trainboth BACKEND TAG [EXTRA FLAGS]: cnn-s for age, resnet-s for gender.
trainboth() {
	local b=$1 tag=$2 task bb
	shift 2
	for spec in age/cnn-s gender/resnet-s; do
		task=${spec%/*} bb=${spec#*/}
		if run "train-$tag-$bb" "$bin/train" --data="$work/ingest" --task="$task" --backbone="$bb" \
			--input_size="$size" --batch="$batch" --epochs=1 --backend="$b" --out="$work/models/$tag/$task" "$@"; then
			epoch[$tag/$bb]=$(epoch_rate "$work/models/$tag/$task")
		else
			return 1
		fi
	done
}
# score BACKEND MODELTAG ONTAG: scores the images with MODELTAG's two models.
score() {
	local b=$1 mt=$2 on=$3
	run "score-$mt-on-$on" "$bin/score" --input="$work/images" --output="$work/scored/$mt-on-$on" \
		--model="$work/models/$mt/age,$work/models/$mt/gender" --backend="$b" --batch="$batch" --tta=false --faces=whole || return 1
	scorerate[$mt/$on]=$(score_rate "$logs/score-$mt-on-$on.log")
}

status=0
say "onnx:cpu (reference): benchtrain, 2 steps"
bench "$ref" cpu 2
say "onnx:cpu: training, capped at $cpu_steps steps"
trainboth "$ref" cpu --max_steps="$cpu_steps" --recalibrate=256 || status=1
agree=()
for b in "${candidates[@]}"; do
	tag=${b//[:,=]/_}
	say "$b: benchtrain"
	bench "$b" "$tag" 10
	say "$b: training cnn-s (age) and resnet-s (gender), 1 epoch"
	extra=()
	if $cpu_only; then extra=(--max_steps="$cpu_steps" --recalibrate=256); fi
	if ! trainboth "$b" "$tag" "${extra[@]}"; then
		status=1
		agree+=("$b: training failed (log: $logs)")
		continue
	fi
	say "$b: scoring on $b and on onnx:cpu"
	if score "$b" "$tag" "$tag" && score "$ref" "$tag" cpu; then
		if "$bin/predcompare" -age_tol "$age_tol" -p_tol "$p_tol" "$work/scored/$tag-on-$tag" "$work/scored/$tag-on-cpu" >"$logs/compare-$tag.log" 2>&1; then
			agree+=("$b vs onnx:cpu, same models: agree")
		else
			agree+=("$b vs onnx:cpu, same models: DISAGREE")
			status=1
		fi
		while IFS= read -r l; do agree+=("    $l"); done <"$logs/compare-$tag.log"
	else
		status=1
		agree+=("$b: scoring failed (log: $logs)")
	fi
done

echo
echo "gpu-check: $n images at ${size}×${size}, batch $batch, $(nproc) cores"
row() { printf '%-28s %-9s %12s %12s %12s %12s\n' "$@"; }
row backend backbone "train img/s" "epoch img/s" "infer img/s" "score img/s"
row "" "" "(step)" "(1 epoch)" "(benchtrain)" "(pipeline)"
rate() { if [[ -n "${1:-}" ]]; then awk -v ms="$1" -v b="$batch" 'BEGIN { printf "%.0f", b * 1000 / ms }'; else echo -; fi; }
first=${candidates[0]//[:,=]/_}
for b in "$ref" "${candidates[@]}"; do
	tag=${b//[:,=]/_} on=${b//[:,=]/_}
	if [[ $b == "$ref" ]]; then tag=cpu mt=$first on=cpu; else mt=$tag; fi
	for bb in cnn-s resnet-s; do
		s=-
		if [[ $bb == cnn-s ]]; then s=${scorerate[$mt/$on]:--}; fi
		row "$b" "$bb" "$(rate "${step[$tag/$bb]:-}")" "${epoch[$tag/$bb]:--}" "${infer[$tag/$bb]:--}" "$s"
	done
done
echo "(train img/s: a training step after warm-up; epoch img/s: the 1-epoch run, graph compilation included,"
echo " on onnx:cpu capped at $cpu_steps steps; score img/s: scoring the $n images with the age and the gender model,"
echo " start-up and compilation included, --tta=false)"
echo
echo "predictions (the models trained on each backend, scored there and on onnx:cpu; tolerance $age_tol years, $p_tol p_female):"
printf '  %s\n' "${agree[@]}"
say "done in $((SECONDS - start)) s; logs in $logs"
exit $status
