#!/usr/bin/env python3
"""PyTorch baseline for the load benchmark: torch.jit.load of the same scripted torchvision
model (saved once with torch.jit.save), median over runs. Run with /usr/bin/python3.

    /usr/bin/python3 bench/bench_torch_load.py resnet50 --runs 20
"""
import argparse
import os
import statistics
import tempfile
import time

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.pt")
        torch.jit.save(torch.jit.script(getattr(torchvision.models, args.model)().eval()), path)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            torch.jit.load(path)
            times.append((time.perf_counter() - t0) * 1e3)
    print(f"torch.jit.load {args.model}: median {statistics.median(times):.2f} ms, "
          f"min {min(times):.2f} ms ({args.runs} runs, torch {torch.__version__})")


if __name__ == "__main__":
    main()
