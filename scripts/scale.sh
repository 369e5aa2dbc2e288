#!/usr/bin/env bash
# Scale and bad-input runs of pipelines/ingest on real images; prints wall
# time, images/s and peak RSS of each run.
#
#  1. all the dev images at the defaults (float32, 224×224: about 12 GB out);
#  2. the same images and a 10× synthetic set at --image_size=64
#     --encoding=uint8 (to fit the disk), for linearity: the 10× set lists
#     the dev images under 10 prefixes, each copy with a JPEG comment segment
#     naming its prefix, so that its content (and sha256) differs and the
#     duplicate policy doesn't collapse the copies;
#  3. 10% bad inputs: N real images plus N/10 broken ones (truncated,
#     empty, not an image, unreadable name, age out of range, gender
#     invalid), then checks that every broken file is in rejects.parquet with
#     the right reason, and that inputs = written + rejected.
#
# Usage: scripts/scale.sh [dataset dir]   (default ../shared/datasets/utkface-dev)
# SKIP_FULL=1 skips run 1, SKIP_10X=1 run 2. Needs about 16 GB of free disk in $TMPDIR.
set -euo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "$0")/.."
data=$(realpath "${1:-../shared/datasets/utkface-dev}")
[ -d "$data" ] || { echo "scale.sh: no dataset at $data" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tags=""
[ -f /usr/include/turbojpeg.h ] && tags=turbojpeg
go build ${tags:+-tags "$tags"} -o "$tmp/ingest" ./pipelines/ingest
go build -o "$tmp/checkrejects" ./scripts/checkrejects

# measure NAME INPUT OUTPUT FLAGS...: runs ingest, prints a result line.
measure() {
	local name=$1 in=$2 out=$3
	shift 3
	rm -rf "$out"
	sync
	local t0 t1
	t0=$(date +%s.%N)
	if ! /usr/bin/time -f '%M' -o "$tmp/rss" "$tmp/ingest" --input="$in" --output="$out" "$@" >"$tmp/log" 2>&1; then
		cat "$tmp/log" >&2
		exit 1
	fi
	t1=$(date +%s.%N)
	local n
	n=$(grep -o '[0-9]* images read' "$tmp/log" | grep -o '^[0-9]*')
	echo "$n $t0 $t1 $(cat "$tmp/rss")" |
		awk -v name="$name" '{w = $3 - $2; printf "%-28s %7d images  %7.1f s  %6.0f images/s  peak RSS %5.0f MB\n", name, $1, w, $1 / w, $4 / 1024}'
}

n=$(find "$data" -maxdepth 1 -type f | wc -l)
cat "$data"/* >/dev/null # warm the page cache
echo "scale.sh: $n images in $data; ingest built with tags '${tags}'"

if [ -z "${SKIP_FULL:-}" ]; then
	measure "1x float32 224" "$data" "$tmp/out"
	rm -rf "$tmp/out"
fi

# The 10× set.
[ -z "${SKIP_10X:-}" ] && /usr/bin/python3 - "$data" "$tmp/x10" <<'EOF'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(src))
for p in range(10):
    d = os.path.join(dst, f"p{p}")
    os.makedirs(d)
    tag = f"facepipe scale copy {p}".encode()
    com = b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag
    for n in names:
        with open(os.path.join(src, n), "rb") as f:
            b = f.read()
        if b[:2] == b"\xff\xd8":
            b = b[:2] + com + b[2:]
        with open(os.path.join(d, n), "wb") as f:
            f.write(b)
EOF
small=(--image_size=64 --encoding=uint8)
if [ -z "${SKIP_10X:-}" ]; then
	measure "1x uint8 64" "$data" "$tmp/out" "${small[@]}"
	measure "10x uint8 64" "$tmp/x10" "$tmp/out" "${small[@]}"
	grep -E 'rejected|duplicate' "$tmp/log" | sed 's/^/  10x: /'
	rm -rf "$tmp/x10" "$tmp/out"
fi

# 10% bad inputs.
m=$((n < 5000 ? n : 5000))
bad=$((m / 10))
mkdir -p "$tmp/bad"
mapfile -t files < <(find "$data" -maxdepth 1 -type f -name '*.jpg' | LC_ALL=C sort) # no head: pipefail
for f in "${files[@]:0:m}"; do ln -s "$f" "$tmp/bad/"; done
/usr/bin/python3 - "$tmp/bad" "$bad" >"$tmp/expected.tsv" <<'EOF'
import os, random, sys
d, bad = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
real = sorted(f for f in os.listdir(d))
kinds = ["truncated", "empty_file", "not_an_image", "name_unparseable", "age_out_of_range", "gender_invalid"]
for i in range(bad):
    kind = kinds[i % len(kinds)]
    src = os.path.join(d, real[rng.randrange(len(real))])
    with open(src, "rb") as f:
        b = f.read()
    stem = f"{30 + i % 50}_{i % 2}_{i % 5}_2099{i:08d}"
    if kind == "truncated":
        name, b = stem + ".jpg.chip.jpg", b[: len(b) // 2 + i]  # distinct: not a duplicate of another
    elif kind == "empty_file":
        name, b = stem + ".jpg.chip.jpg", b""
    elif kind == "not_an_image":
        name, b = stem + ".jpg.chip.jpg", rng.randbytes(2048)
    elif kind == "name_unparseable":
        name = f"face_{i}.jpg"
        b = b + bytes([i % 256, i // 256 % 256])  # distinct content
    elif kind == "age_out_of_range":
        name = f"0_{i % 2}_{i % 5}_2099{i:08d}.jpg.chip.jpg"
        b = b + bytes([i % 256, i // 256 % 256])
    else:
        name = f"30_7_{i % 5}_2099{i:08d}.jpg.chip.jpg"
        b = b + bytes([i % 256, i // 256 % 256])
    with open(os.path.join(d, name), "wb") as f:
        f.write(b)
    print(f"{name}\t{kind}")
EOF
measure "10% bad ($m + $bad)" "$tmp/bad" "$tmp/out" "${small[@]}"
"$tmp/checkrejects" "$tmp/out" "$tmp/expected.tsv"
