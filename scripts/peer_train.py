#!/usr/bin/env python3
"""The PyTorch peer of scripts/benchtrain: the same architecture (the recipe
CNN), a training step with AdamW and L1 loss on random data, and inference,
on PyTorch's CPU backend with 2 threads. Run with Debian's /usr/bin/python3."""
import argparse
import statistics
import time

import torch
from torch import nn

from peer_score import cnn_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--infer", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    net = cnn_s()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=0.05)
    x = torch.rand(a.batch, 3, a.size, a.size)
    y = torch.randint(1, 100, (a.batch, 1)).float()
    loss_fn = nn.L1Loss()

    def step():
        net.train()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x) * 10 + 29, y)
        loss.backward()
        opt.step()

    def timed(n, f):
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts)

    for _ in range(3):
        step()
    train = timed(a.steps, step)
    net.eval()

    def infer():
        with torch.inference_mode():
            net(x)

    for _ in range(3):
        infer()
    inf = timed(a.infer, infer)
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    print(f"peer: cnn-s {a.size}x{a.size} batch {a.batch} torch {torch.__version__} {a.threads} threads, {params} parameters: "
          f"train step {train * 1000:.1f} ms (median of {a.steps}), inference {a.batch / inf:.0f} images/s (median of {a.infer})")


if __name__ == "__main__":
    main()
