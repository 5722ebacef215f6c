#!/usr/bin/env python3
"""PyTorch baseline for the float CPU latency benchmark: a torchvision model, scripted, eval,
fixed random input, single thread by default; prints and optionally writes JSON (median, p90,
min in ms). Run with Debian's /usr/bin/python3 (torch 1.13).

    /usr/bin/python3 bench/bench_torch.py resnet18 --shape 1,3,224,224 --iters 30 --json out.json
"""
import argparse
import json
import statistics
import time

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--shape", default="1,3,224,224")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torch.jit.script(getattr(torchvision.models, args.model)().eval())
    x = torch.randn(*[int(s) for s in args.shape.split(",")])
    times = []
    with torch.no_grad():
        for _ in range(args.warmup):
            model(x)
        for _ in range(args.iters):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    res = {
        "name": f"torch/{args.model}",
        "torch_version": torch.__version__,
        "threads": args.threads,
        "iterations": args.iters,
        "median_ms": statistics.median(times),
        "p90_ms": times[int(0.9 * (len(times) - 1))],
        "min_ms": times[0],
    }
    print(f"torch {args.model}: median {res['median_ms']:.2f} ms, p90 {res['p90_ms']:.2f} ms, "
          f"min {res['min_ms']:.2f} ms ({args.threads} thread(s), {args.iters} runs)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
