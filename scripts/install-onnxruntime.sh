#!/usr/bin/env bash
# Puts the ONNX Runtime shared library (CPU build; GPU build with --gpu, see
# below) that GoMLX's onnx backend
# (github.com/gomlx/compute-onnx) loads into a cache directory, then prints the
# environment to use it. Progress goes to stderr, the export lines to stdout:
#
#   eval "$(scripts/install-onnxruntime.sh)"
#   GOMLX_BACKEND="onnx:cpu,intra_threads=2" go run ./...
#
# Environment:
#   ORT_DIR      target directory (default $HOME/.cache/facepipe/onnxruntime)
#   ORT_VERSION  ONNX Runtime version (default 1.30.0)
#   ORT_SOURCE   auto (default) | npm | github
#                auto: the official GitHub release tarball when github.com
#                answers within 5 s, else (or if that download fails) the
#                onnxruntime-node package from the npm registry.
#
# Idempotent: if $ORT_DIR/libonnxruntime.so.1 exists it only prints the exports.
# Delete the directory (or the file) to force a reinstall.
#
# Sources:
#   npm:    `npm pack onnxruntime-node@$ORT_VERSION` contains
#           package/bin/napi-v6/linux/{x64,arm64}/libonnxruntime.so.1 (45 MB
#           for x64, a plain file, SONAME libonnxruntime.so.1, needing only
#           glibc/libstdc++ -- no companion libraries).
#   github: https://github.com/microsoft/onnxruntime/releases/download/
#           v$ORT_VERSION/onnxruntime-linux-{x64,aarch64}-$ORT_VERSION.tgz,
#           lib/libonnxruntime.so.1 (a symlink to libonnxruntime.so.$ORT_VERSION,
#           copied dereferenced) plus libonnxruntime_providers_shared.so.
#
# GoMLX's own auto-install (an alternative only where GitHub is reachable):
# leave ONNXRUNTIME_SHARED_LIBRARY_PATH and GOMLX_NO_AUTO_INSTALL unset, and the
# first onnx backend creation downloads the *latest* release into
# ~/.local/lib/onnxruntime/libonnxruntime.so (and reuses it afterwards). To pin
# the version from Go instead: onnxruntime.Install("1.30.0", false, "", dir, false)
# from github.com/gomlx/compute-onnx/support/onnxruntime. Without GitHub access
# that auto-install fails within milliseconds, hence this script and
# GOMLX_NO_AUTO_INSTALL=1.
#
# GPU build (--gpu): ONNX Runtime's CUDA execution provider is not on npm, so
# --gpu takes the official release archive from GitHub,
#   onnxruntime-linux-x64-gpu_cuda{12,13}-$ORT_VERSION.tgz (older releases:
#   onnxruntime-linux-x64-gpu-$ORT_VERSION.tgz, CUDA 12),
# checks its sha256 and puts lib/libonnxruntime.so.1 with its provider
# libraries (libonnxruntime_providers_{shared,cuda}.so) into
# $ORT_GPU_DIR (default $HOME/.cache/facepipe/onnxruntime-gpu), where the
# binaries look for it when asked for --backend=onnx:cuda.
#
#   scripts/install-onnxruntime.sh --gpu [--cuda=12|13] [--sha256=HEX] [--archive=FILE]
#
#   --cuda=N       the CUDA major version of the build (default: that of the
#                  libcudart.so the loader finds, else the one nvidia-smi
#                  reports, else 12). The machine needs that CUDA runtime,
#                  cuBLAS, cuFFT and cuDNN 9: the archive does not carry them.
#   --sha256=HEX   the archive's digest, as the release page lists it. Needed
#                  when the table below has none for the archive: the script
#                  refuses to install an archive it can't check.
#   --archive=FILE an archive downloaded elsewhere (for a machine that can't
#                  reach github.com); checked the same way.
set -euo pipefail

ORT_VERSION=${ORT_VERSION:-1.30.0}
ORT_DIR=${ORT_DIR:-$HOME/.cache/facepipe/onnxruntime}
ORT_GPU_DIR=${ORT_GPU_DIR:-$HOME/.cache/facepipe/onnxruntime-gpu}
ORT_SOURCE=${ORT_SOURCE:-auto}

log() { echo "install-onnxruntime: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

gpu=false cuda="" want_sha256="" archive=""
for arg in "$@"; do
	case $arg in
	--gpu) gpu=true ;;
	--cuda=*) cuda=${arg#--cuda=} ;;
	--sha256=*) want_sha256=${arg#--sha256=} ;;
	--archive=*) archive=${arg#--archive=} ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
		exit 0
		;;
	*) die "unknown argument '$arg' (see --help)" ;;
	esac
done
if ! $gpu && [[ -n "$cuda$want_sha256$archive" ]]; then
	die "--cuda, --sha256 and --archive go with --gpu"
fi
if $gpu; then
	ORT_DIR=$ORT_GPU_DIR
fi
lib="$ORT_DIR/libonnxruntime.so.1"

print_exports() {
	echo "export ONNXRUNTIME_SHARED_LIBRARY_PATH=$lib"
	echo "export GOMLX_NO_AUTO_INSTALL=1"
}

if [[ -f "$lib" ]] && { ! $gpu || [[ -f "$ORT_DIR/libonnxruntime_providers_cuda.so" ]]; }; then
	log "$lib already present (cached); nothing to do"
	print_exports
	exit 0
fi

[[ "$(uname -s)" == Linux ]] || die "only Linux is supported (got $(uname -s))"
case "$(uname -m)" in
x86_64 | amd64) npm_arch=x64 gh_arch=x64 ;;
aarch64 | arm64) npm_arch=arm64 gh_arch=aarch64 ;;
*) die "unsupported CPU architecture $(uname -m)" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Copies $1 (the main library, dereferenced) and any companion libonnxruntime*.so*
# found next to it into $ORT_DIR, checking that the loader can resolve everything.
install_from() {
	local src=$1 srcdir f
	srcdir=$(dirname "$src")
	[[ -f "$src" ]] || die "library not found in the archive at ${src#"$tmp"/}"
	local missing
	missing=$(ldd "$src" 2>&1 | grep 'not found' || true)
	[[ -z "$missing" ]] || die "$(basename "$src") needs libraries that are missing here:
$missing"
	# Explicit "|| die": errexit is off inside a function called as "f || g".
	mkdir -p "$ORT_DIR" || die "cannot create $ORT_DIR"
	# Companions first (e.g. libonnxruntime_providers_shared.so from the GitHub
	# tarball); the npm package has none.
	for f in "$srcdir"/libonnxruntime*.so*; do
		[[ -e "$f" ]] || continue
		case "$(basename "$f")" in
		libonnxruntime.so | libonnxruntime.so.1 | libonnxruntime.so.[0-9]*.*) continue ;;
		esac
		cp -L "$f" "$ORT_DIR/$(basename "$f")" || die "copying $(basename "$f") failed"
		log "companion $(basename "$f") installed"
	done
	# Atomic: the cache check above only ever sees a complete file.
	cp -L "$src" "$ORT_DIR/.libonnxruntime.so.1.partial" &&
		chmod 0755 "$ORT_DIR/.libonnxruntime.so.1.partial" &&
		mv -f "$ORT_DIR/.libonnxruntime.so.1.partial" "$lib" ||
		die "copying $(basename "$src") into $ORT_DIR failed"
	# For loaders that ask for the unversioned name (e.g. yalue/onnxruntime_go users).
	ln -sfn libonnxruntime.so.1 "$ORT_DIR/libonnxruntime.so" || die "symlink failed"
	echo "$ORT_VERSION" >"$ORT_DIR/VERSION" || die "writing VERSION failed"
	log "installed $lib ($(du -h "$lib" | cut -f1))"
}

from_github() {
	local name="onnxruntime-linux-$gh_arch-$ORT_VERSION"
	local url="https://github.com/microsoft/onnxruntime/releases/download/v$ORT_VERSION/$name.tgz"
	log "downloading $url"
	curl -sfL --retry 2 --max-time 300 -o "$tmp/ort.tgz" "$url" || return 1
	tar -xzf "$tmp/ort.tgz" -C "$tmp" "$name/lib" || return 1
	install_from "$tmp/$name/lib/libonnxruntime.so.1"
}

from_npm() {
	command -v npm >/dev/null 2>&1 ||
		die "npm is not installed (needed to fetch onnxruntime-node@$ORT_VERSION from the npm registry); install it with: apt-get install npm"
	log "fetching onnxruntime-node@$ORT_VERSION from the npm registry"
	local tgz
	tgz=$(cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" | tail -n 1) ||
		die "npm pack onnxruntime-node@$ORT_VERSION failed"
	[[ -f "$tmp/$tgz" ]] || die "npm pack did not produce a tarball (got '$tgz')"
	local inner="package/bin/napi-v6/linux/$npm_arch"
	tar -xzf "$tmp/$tgz" -C "$tmp" "$inner" ||
		die "$inner not found in $tgz; list it with: tar tzf $tgz | grep linux"
	install_from "$tmp/$inner/libonnxruntime.so.1"
}

# The GPU build's sha256 by archive name, for the default version. The
# release pages could not be reached from here; these are the digests that
# unrelated public projects pin for the same release assets (the CUDA 12 one
# in two of them, the CUDA 13 one in one). A wrong digest fails closed (the
# archive is not installed); --sha256 overrides it, and other versions need it.
declare -A gpu_sha256=(
	[onnxruntime-linux-x64-gpu_cuda12-1.30.0.tgz]=f9886932ee7bb0b4d3fcab736a392d4ff5efaa0672b47f19f0cec03437cf64f1
	[onnxruntime-linux-x64-gpu_cuda13-1.30.0.tgz]=382d79133112388cf94ce5855789b7c9bef12bef76a08b6b277e5a317213adcd
)

# cuda_major guesses the CUDA major version the GPU build should target.
cuda_major() {
	local v
	v=$( { ldconfig -p 2>/dev/null || true; } | awk 'match($1, /^libcudart\.so\.[0-9]+$/) && !v { v = substr($1, 14) } END { print v }')
	if [[ -n "$v" ]]; then
		log "CUDA $v: the loader finds libcudart.so.$v"
		echo "$v"
		return
	fi
	v=$( { nvidia-smi 2>/dev/null || true; } | awk 'match($0, /CUDA Version: *[0-9]+/) && !v { s = substr($0, RSTART, RLENGTH); sub(/.*: */, "", s); v = s } END { print v }')
	if [[ -n "$v" ]]; then
		log "CUDA $v: the driver's version (nvidia-smi); no libcudart.so found by the loader"
		echo "$v"
		return
	fi
	log "CUDA 12: no libcudart.so and no nvidia-smi found (pass --cuda=13 for the CUDA 13 build)"
	echo 12
}

# gpu_install installs the GPU build from a checked archive.
gpu_install() {
	[[ "$(uname -s)/$(uname -m)" == Linux/x86_64 ]] ||
		die "ONNX Runtime's GPU build is published for Linux x86_64 only (this is $(uname -s)/$(uname -m))"
	[[ -n "$cuda" ]] || cuda=$(cuda_major)
	local names=()
	case $cuda in
	12) names=("onnxruntime-linux-x64-gpu_cuda12-$ORT_VERSION" "onnxruntime-linux-x64-gpu-$ORT_VERSION") ;;
	13) names=("onnxruntime-linux-x64-gpu_cuda13-$ORT_VERSION") ;;
	*) die "--cuda=$cuda: want 12 or 13" ;;
	esac
	local base="https://github.com/microsoft/onnxruntime/releases/download/v$ORT_VERSION"
	local name="" tgz
	if [[ -n "$archive" ]]; then
		[[ -f "$archive" ]] || die "--archive=$archive: no such file"
		tgz=$archive
		name=$(basename "$archive" .tgz)
	else
		curl -sfI --max-time 10 https://github.com >/dev/null 2>&1 ||
			die "github.com can't be reached: ONNX Runtime's GPU build comes only from its release archives there (${names[0]}.tgz); download it where github.com can be reached and pass it with --archive=FILE"
		local n
		for n in "${names[@]}"; do
			if curl -sfIL --max-time 30 "$base/$n.tgz" >/dev/null 2>&1; then
				name=$n
				break
			fi
		done
		[[ -n "$name" ]] || die "ONNX Runtime v$ORT_VERSION has no CUDA $cuda build for Linux x64 on GitHub (tried ${names[*]/%/.tgz}); try --cuda=12 or 13, or another ORT_VERSION"
	fi
	local want=${want_sha256:-${gpu_sha256[$name.tgz]:-}}
	want=${want,,}
	[[ -n "$want" ]] ||
		die "no sha256 is pinned for $name.tgz: pass --sha256=HEX, the digest listed for it on https://github.com/microsoft/onnxruntime/releases/tag/v$ORT_VERSION"
	[[ "$want" =~ ^[0-9a-f]{64}$ ]] || die "--sha256=$want_sha256: want 64 hexadecimal digits"
	if [[ -z "$archive" ]]; then
		tgz="$tmp/$name.tgz"
		log "downloading $base/$name.tgz"
		curl -sfL --retry 2 --max-time 900 -o "$tgz" "$base/$name.tgz" || die "downloading $base/$name.tgz failed"
	fi
	local got
	got=$(sha256sum "$tgz" | cut -d' ' -f1)
	[[ "$got" == "$want" ]] || die "$name.tgz has sha256 $got, want $want: not installed"
	log "$name.tgz: sha256 $got checked"
	local top
	top=$(tar -tzf "$tgz" | awk -F/ 'NR == 1 { print $1 }') || die "$name.tgz is not a readable archive"
	tar -xzf "$tgz" -C "$tmp" "$top/lib" || die "$top/lib not found in $name.tgz"
	[[ -f "$tmp/$top/lib/libonnxruntime_providers_cuda.so" ]] ||
		die "$name.tgz has no libonnxruntime_providers_cuda.so: not a CUDA build"
	install_from "$tmp/$top/lib/libonnxruntime.so.1"
	local missing
	missing=$(ldd "$ORT_DIR/libonnxruntime_providers_cuda.so" 2>&1 | grep 'not found' | awk '{print $1}' | tr '\n' ' ' || true)
	if [[ -n "$missing" ]]; then
		log "warning: libonnxruntime_providers_cuda.so needs libraries the loader does not find here: $missing(install CUDA $cuda and cuDNN 9, or add their folders to LD_LIBRARY_PATH); until then --backend=onnx:cuda fails at start"
	fi
}

if $gpu; then
	gpu_install
	print_exports
	exit 0
fi

case "$ORT_SOURCE" in
npm) from_npm ;;
github) from_github || die "download from GitHub failed" ;;
auto)
	if curl -sfI --max-time 5 https://github.com >/dev/null 2>&1; then
		from_github || {
			log "GitHub download failed; falling back to npm"
			from_npm
		}
	else
		log "github.com not reachable; using the npm registry"
		from_npm
	fi
	;;
*) die "ORT_SOURCE must be auto, npm or github (got '$ORT_SOURCE')" ;;
esac

print_exports
