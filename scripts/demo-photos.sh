#!/usr/bin/env bash
# Puts the six photos of face-api.js's demo (sample1.jpg to sample6.jpg, real
# group photos of 1920x1280 to 1920x1537 holding 22 faces, some turned
# towards profile) into a cache folder and prints the folder. They come from
# the npm package @vladmandic/face-api@1.7.15 (MIT), the same package
# scripts/bench-wild.sh compares with, fetched with `npm pack` and checked
# against its sha256. The tests that score real photos
# (faces.TestDemoPhotos) read the folder from FACEPIPE_DEMO_PHOTOS, and skip
# without it:
#
#   export FACEPIPE_DEMO_PHOTOS="$(scripts/demo-photos.sh)"
#
# Environment: DEMO_PHOTOS_DIR, the target folder (default
# $HOME/.cache/facepipe/faceapi-demo). Idempotent: where the six photos are
# there it only prints the folder. Progress goes to stderr.
set -euo pipefail

dir=${DEMO_PHOTOS_DIR:-$HOME/.cache/facepipe/faceapi-demo}
pkg=@vladmandic/face-api@1.7.15
sha256=0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031

have=0
for i in 1 2 3 4 5 6; do
	[ -s "$dir/sample$i.jpg" ] && have=$((have + 1))
done
if [ "$have" != 6 ]; then
	command -v npm >/dev/null || { echo "demo-photos: npm is needed to fetch $pkg" >&2; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	echo "demo-photos: fetching $pkg" >&2
	(cd "$tmp" && npm pack "$pkg" --silent >/dev/null)
	tgz=$(ls "$tmp"/*.tgz)
	got=$(sha256sum "$tgz" | cut -d' ' -f1)
	[ "$got" = "$sha256" ] || { echo "demo-photos: $pkg has sha256 $got, want $sha256" >&2; exit 1; }
	tar -xzf "$tgz" -C "$tmp" package/demo package/LICENSE
	mkdir -p "$dir"
	cp "$tmp"/package/demo/sample[1-6].jpg "$tmp"/package/LICENSE "$dir"/
	echo "demo-photos: 6 photos in $dir" >&2
fi
echo "$dir"
