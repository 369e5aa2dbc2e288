#!/usr/bin/env bash
# Measures how close Preprocess is to Pillow: Pillow decodes and resizes N real
# UTKFace images (bilinear, to 224×224, /255), then TestPillowParity compares
# the Go output with them and prints the mean absolute difference.
# Usage: scripts/pillow-parity.sh [N] [dataset dir]
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
n=${1:-500}
data=${2:-../shared/datasets/utkface-dev}
ref=$(mktemp -d)
trap 'rm -rf "$ref"' EXIT
/usr/bin/python3 - "$data" "$ref" "$n" <<'PY'
import os, sys
import numpy as np
from PIL import Image
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(os.listdir(src))
step = max(1, len(names) // n)
for name in names[::step][:n]:
    path = os.path.join(src, name)
    img = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    os.symlink(os.path.abspath(path), os.path.join(dst, name))
    arr.astype("<f4").tofile(os.path.join(dst, name + ".f32"))
print(f"Pillow {Image.__version__}: {min(n, len(names[::step]))} references in {dst}", file=sys.stderr)
PY
PILLOW_REF_DIR="$ref" go test ${TAGS:+-tags "$TAGS"} -count=1 -v -run 'TestPillowParity$' ./preprocess | grep -E 'parity|PASS|FAIL|ok'
