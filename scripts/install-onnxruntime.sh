#!/usr/bin/env bash
# Puts the ONNX Runtime shared library (CPU build) that GoMLX's onnx backend
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
set -euo pipefail

ORT_VERSION=${ORT_VERSION:-1.30.0}
ORT_DIR=${ORT_DIR:-$HOME/.cache/facepipe/onnxruntime}
ORT_SOURCE=${ORT_SOURCE:-auto}
lib="$ORT_DIR/libonnxruntime.so.1"

log() { echo "install-onnxruntime: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

print_exports() {
	echo "export ONNXRUNTIME_SHARED_LIBRARY_PATH=$lib"
	echo "export GOMLX_NO_AUTO_INSTALL=1"
}

if [[ -f "$lib" ]]; then
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
