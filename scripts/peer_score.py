#!/usr/bin/env python3
"""The PyTorch peer of pipelines/score, for scripts/bench-score.sh.

It does the same job end to end on the same images: decode each file with
Pillow, resize bilinearly to the stored size (--stored) then by area
averaging (BOX) to the input size (--size), and run the same networks as the
default models (random weights) in batches of 64 on PyTorch's CPU backend,
with 2 decode workers: --networks=two, the recipe CNN for age and one for
gender, or --networks=both:K, K recipe CNNs each with an age head (DLDL: a
softmax over 117 ages and its expected value) and a gender head, averaged.
Run it with Debian's python (/usr/bin/python3) and python3-torch.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
from PIL import Image
from torch import nn


def cnn_s():
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        *block(32, 64), nn.MaxPool2d(2),
        *block(64, 128), *block(128, 128), nn.MaxPool2d(2),
        *block(128, 256), *block(256, 256), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3),
        nn.Linear(256, 128), nn.ReLU(inplace=True), nn.Dropout(0.15), nn.Linear(128, 1),
    )


class Both(nn.Module):
    """The recipe CNN's trunk with an age head (DLDL, 117 ages) and a gender head."""

    def __init__(self):
        super().__init__()
        layers = list(cnn_s().children())
        self.trunk = nn.Sequential(*layers[:-5])  # up to global average pooling and Flatten
        def head(n):
            return nn.Sequential(nn.Dropout(0.3), nn.Linear(256, 128), nn.ReLU(inplace=True), nn.Dropout(0.15), nn.Linear(128, n))
        self.age, self.gender = head(117), head(1)
        self.register_buffer("ages", torch.arange(117, dtype=torch.float32))

    def forward(self, x):
        f = self.trunk(x)
        return torch.softmax(self.age(f), dim=1) @ self.ages, torch.sigmoid(self.gender(f))[:, 0]


class Files(torch.utils.data.Dataset):
    def __init__(self, paths, stored, size):
        self.paths, self.stored, self.size = paths, stored, size

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = Image.open(self.paths[i]).convert("RGB").resize((self.stored, self.stored), Image.BILINEAR)
        img = img.resize((self.size, self.size), Image.BOX)
        return torch.from_numpy(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--networks", default="two", help="two (age and gender CNNs) or both:K (K two-headed CNNs, averaged)")
    ap.add_argument("--stored", type=int, default=224)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    paths = sorted(os.path.join(args.input, f) for f in os.listdir(args.input))
    if args.limit:
        paths = paths[: args.limit]
    torch.manual_seed(0)
    if args.networks == "two":
        age, gender = cnn_s().eval(), cnn_s().eval()
        def predict(x):
            return age(x)[:, 0] * 10 + 29, torch.sigmoid(gender(x))[:, 0]
    else:
        k = int(args.networks.split(":")[1])
        nets = [Both().eval() for _ in range(k)]
        def predict(x):
            outs = [m(x) for m in nets]
            return sum(o[0] for o in outs) / k, sum(o[1] for o in outs) / k
    start = time.time()
    loader = torch.utils.data.DataLoader(Files(paths, args.stored, args.size), batch_size=args.batch, num_workers=args.workers)
    n = 0
    checksum = 0.0
    with torch.inference_mode():
        for x in loader:
            a, p = predict(x)
            checksum += float(a.sum()) + float(p.sum())
            n += x.shape[0]
    wall = time.time() - start
    print(f"peer: {n} images in {wall:.2f} s ({n / wall:.0f} images/s), torch {torch.__version__}, "
          f"{args.threads} threads, {args.workers} decode workers, networks {args.networks} (checksum {checksum:.1f})")


if __name__ == "__main__":
    sys.exit(main())
