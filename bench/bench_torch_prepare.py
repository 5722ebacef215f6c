#!/usr/bin/env python3
"""PyTorch baseline for the prepare / calibrate / convert benchmark and for observer
throughput. Run with Debian's /usr/bin/python3 (torch 1.13 + torchvision).

    /usr/bin/python3 bench/bench_torch_prepare.py [--models resnet18,resnet50] [--runs 5]
        [--threads N] [--engine E] [--json out.json]

Models are built like bench/make_models.py (torchvision, random weights, torch.manual_seed(0),
eval, torch.jit.script). For each model and each qconfig dict, median (and min, and the first
"cold" run, which also scripts the observer classes) over --runs runs of:

  prepare   prepare_jit(m, {"": get_default_qconfig("fbgemm")}) ("fbgemm": HistogramObserver
            activations, per-channel weights), prepare_jit(m, {"": default_qconfig})
            ("default": MinMaxObserver) and prepare_dynamic_jit(m, {"": default_dynamic_qconfig})
            ("dynamic"); not in place, so each run includes the clone and FoldConvBatchNorm
  calibrate forward of the prepared model on 2 batches of 1x3x224x224 (torch.manual_seed(1)
            randn), on a freshly prepared model each run (observer state starts empty)
  convert   convert_jit (static) / convert_dynamic_jit of the calibrated model, not in place;
            quantized prepack ops need an engine: --engine (default fbgemm when this torch has
            it, else qnnpack)
  With --inplace, prepare and convert run with inplace=True instead (prepare on a
  copy.deepcopy of the model made outside the timing), to compare with quantgraph's in-place
  qg_prepare / `quantgraph convert`; PyTorch's prepare still clones inside FoldConvBatchNorm.

Observer throughput: forward() of eager MinMaxObserver, PerChannelMinMaxObserver (ch_axis 0 and
1) and HistogramObserver (default arguments) on one 64 MiB float32 tensor of shape
(64, 256, 32, 32) (torch.manual_seed(0) randn), after one warm-up call on the same tensor (for
the histogram this sets its range, so the timed calls take the same-range path); GB/s =
bytes / median seconds / 1e9. Compare with bench/bench_observer.c.
"""
import argparse
import copy
import json
import statistics
import time
import warnings

import torch
import torchvision
from torch.ao.quantization import (HistogramObserver, MinMaxObserver, PerChannelMinMaxObserver,
                                   default_dynamic_qconfig, default_qconfig, get_default_qconfig)
from torch.ao.quantization.quantize_jit import (convert_dynamic_jit, convert_jit,
                                                prepare_dynamic_jit, prepare_jit)

QCONFIGS = [("fbgemm", lambda: get_default_qconfig("fbgemm"), False),
            ("default", lambda: default_qconfig, False),
            ("dynamic", lambda: default_dynamic_qconfig, True)]


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1e3


def _stats(times):
    return {"first_ms": times[0], "median_ms": statistics.median(times[1:] or times),
            "min_ms": min(times[1:] or times), "runs": len(times) - 1}


def bench_model(name, runs, inplace):
    torch.manual_seed(0)
    model = torch.jit.script(getattr(torchvision.models, name)().eval())
    torch.manual_seed(1)
    batches = [(torch.randn(1, 3, 224, 224),) for _ in range(2)]
    rows = []
    for tag, make_qc, dynamic in QCONFIGS:
        qdict = {"": make_qc()}
        prep, calib, conv = [], [], []
        for _ in range(runs + 1):  # the first run is the cold one
            src = copy.deepcopy(model) if inplace else model
            prepared, t = _timed(lambda: (prepare_dynamic_jit if dynamic else prepare_jit)(
                src, qdict, inplace=inplace))
            prep.append(t)
            with torch.no_grad():
                _, t = _timed(lambda: [prepared(*b) for b in batches])
            calib.append(t)
            _, t = _timed(lambda: (convert_dynamic_jit if dynamic else convert_jit)(
                prepared, inplace=inplace))
            conv.append(t)
        for step, times in (("prepare", prep), ("calibrate_2x1x3x224x224", calib),
                            ("convert", conv)):
            rows.append(dict({"model": name, "qconfig": tag, "step": step}, **_stats(times)))
    return rows


def bench_observers(runs):
    torch.manual_seed(0)
    x = torch.randn(64, 256, 32, 32)
    nbytes = x.numel() * x.element_size()
    rows = []
    for tag, make in (("MinMaxObserver", MinMaxObserver),
                      ("PerChannelMinMaxObserver(ch_axis=0)",
                       lambda: PerChannelMinMaxObserver(ch_axis=0)),
                      ("PerChannelMinMaxObserver(ch_axis=1)",
                       lambda: PerChannelMinMaxObserver(ch_axis=1)),
                      ("HistogramObserver", HistogramObserver)):
        obs = make()
        obs(x)
        times = []
        for _ in range(runs):
            _, t = _timed(lambda: obs(x))
            times.append(t)
        med = statistics.median(times)
        rows.append({"observer": tag, "bytes": nbytes, "median_ms": med, "min_ms": min(times),
                     "runs": runs, "gb_per_s": nbytes / (med / 1e3) / 1e9})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet18,resnet50")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--engine", help="quantized engine for convert (default: fbgemm if "
                                     "available, else qnnpack)")
    ap.add_argument("--no-models", action="store_true", help="observer throughput only")
    ap.add_argument("--inplace", action="store_true", help="prepare and convert with inplace=True")
    ap.add_argument("--json")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    engines = torch.backends.quantized.supported_engines
    engine = args.engine or ("fbgemm" if "fbgemm" in engines else "qnnpack")
    torch.backends.quantized.engine = engine
    res = {"torch_version": torch.__version__, "threads": torch.get_num_threads(),
           "engine": engine, "runs": args.runs, "inplace": args.inplace, "models": [], "observers": []}
    if not args.no_models:
        for name in [m for m in args.models.split(",") if m]:
            res["models"].extend(bench_model(name, args.runs, args.inplace))
    res["observers"] = bench_observers(args.runs)
    print("torch %s, %d thread(s), engine %s, median of %d run(s) after a cold one"
          % (res["torch_version"], res["threads"], engine, args.runs))
    if res["models"]:
        print("%-9s %-8s %-24s %10s %10s %10s" % ("model", "qconfig", "step", "median ms",
                                                  "min ms", "cold ms"))
        for r in res["models"]:
            print("%-9s %-8s %-24s %10.1f %10.1f %10.1f" % (r["model"], r["qconfig"], r["step"],
                                                           r["median_ms"], r["min_ms"],
                                                           r["first_ms"]))
    print("%-37s %10s %10s" % ("observer forward, 64 MiB f32", "median ms", "GB/s"))
    for r in res["observers"]:
        print("%-37s %10.2f %10.2f" % (r["observer"], r["median_ms"], r["gb_per_s"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
