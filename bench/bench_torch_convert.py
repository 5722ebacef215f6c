#!/usr/bin/env python3
"""PyTorch's whole graph-mode quantize flow on torchvision ResNet-18 / ResNet-50, and the int8
inference latency of the converted ResNet-18, per quantized engine.

    /usr/bin/python3 bench/bench_torch_convert.py          # torch 1.13: qnnpack, onednn
    /tmp/torch2/bin/python bench/bench_torch_convert.py    # torch 2.x: fbgemm, x86
        [--engines E,...] [--models resnet18,resnet50] [--flow-runs 3] [--runs 30]
        [--threads 1,2] [--latency-models resnet18,resnet50] [--json out.json]

Models are built like bench/make_models.py (torchvision, random weights, torch.manual_seed(0),
eval, torch.jit.script). For each engine E (torch.backends.quantized.engine = E, qconfig dict
{"": get_default_qconfig(E)}):

  flow      wall time of prepare_jit (not in place: clone + FoldConvBatchNorm + observers),
            calibration (forward of the prepared model on 2 batches 1x3x224x224,
            torch.manual_seed(1) randn, no_grad) and convert_jit (not in place: InsertQuantDeQuant
            + Finalize: QuantFusion, freezing, prepack folding), and their sum; the first run
            also scripts the observer classes ("cold"), the median is over the --flow-runs runs
            after it; run with --flow-threads threads (default 2)
  latency   the converted --latency-models (default ResNet-18; and the float scripted models,
            for reference) on one 1x3x224x224 input (torch.manual_seed(2) randn), batch 1, for
            each --threads count:
            5 warm-up calls, then the median (and min) of --runs timed calls, no_grad

The converted model's quantized::conv2d / conv2d_relu / add_relu / linear counts are printed as
a check that the flow produced an int8 model.
"""
import argparse
import json
import re
import statistics
import time
import warnings

import torch
import torchvision
from torch.ao.quantization import get_default_qconfig
from torch.ao.quantization.quantize_jit import convert_jit, prepare_jit

DEFAULT_ENGINES = {"1": "qnnpack,onednn", "2": "fbgemm,x86"}
COUNTED_OPS = ("quantized::conv2d(", "quantized::conv2d_relu(", "quantized::add_relu(",
               "quantized::add(", "quantized::linear(", "aten::quantize_per_tensor(")


def _ms(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1e3


def build(name):
    torch.manual_seed(0)
    return torch.jit.script(getattr(torchvision.models, name)().eval())


def flow(model, engine, runs, batches):
    """[(prepare, calibrate, convert) ms] for 1 + runs runs; the last converted model."""
    qdict = {"": get_default_qconfig(engine)}
    times, conv = [], None
    for _ in range(runs + 1):
        prepared, tp = _ms(lambda: prepare_jit(model, qdict))
        with torch.no_grad():
            _, tc = _ms(lambda: [prepared(*b) for b in batches])
        conv, tv = _ms(lambda: convert_jit(prepared))
        times.append((tp, tc, tv))
    return times, conv


def latency(model, x, threads, runs):
    torch.set_num_threads(threads)
    with torch.no_grad():
        for _ in range(5):
            model(x)
        ts = [_ms(lambda: model(x))[1] for _ in range(runs)]
    return {"threads": threads, "median_ms": statistics.median(ts), "min_ms": min(ts),
            "runs": runs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", help="default: qnnpack,onednn (torch 1.x), fbgemm,x86 (2.x)")
    ap.add_argument("--models", default="resnet18,resnet50")
    ap.add_argument("--flow-runs", type=int, default=3)
    ap.add_argument("--flow-threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--latency-models", default="resnet18",
                    help="models whose int8 and float latency is timed (default: resnet18)")
    ap.add_argument("--json")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    engines = (args.engines or DEFAULT_ENGINES[torch.__version__[0]]).split(",")
    threads = [int(t) for t in args.threads.split(",")]
    torch.manual_seed(1)
    batches = [(torch.randn(1, 3, 224, 224),) for _ in range(2)]
    torch.manual_seed(2)
    x = torch.randn(1, 3, 224, 224)
    res = {"torch_version": torch.__version__, "flow_threads": args.flow_threads,
           "flow_runs": args.flow_runs, "flow": [], "latency": [], "ops": {}}
    models = {name: build(name) for name in args.models.split(",") if name}
    for engine in engines:
        torch.backends.quantized.engine = engine
        for name, model in models.items():
            torch.set_num_threads(args.flow_threads)
            times, conv = flow(model, engine, args.flow_runs, batches)
            rest = times[1:] or times
            row = {"engine": engine, "model": name}
            for i, step in enumerate(("prepare", "calibrate_2x1x3x224x224", "convert")):
                row[step + "_ms"] = statistics.median(t[i] for t in rest)
            row["total_ms"] = statistics.median(sum(t) for t in rest)
            row["cold_total_ms"] = sum(times[0])
            res["flow"].append(row)
            text = str(conv.graph)
            res["ops"]["%s/%s" % (engine, name)] = {
                op: len(re.findall(re.escape(op), text)) for op in COUNTED_OPS}
            if name in args.latency_models.split(","):
                for t in threads:
                    res["latency"].append(dict({"engine": engine, "model": name + " int8"},
                                               **latency(conv, x, t, args.runs)))
    for name in args.latency_models.split(","):
        if name not in models:
            continue
        for t in threads:
            res["latency"].append(dict({"engine": "-", "model": name + " float"},
                                       **latency(models[name], x, t, args.runs)))
    print("torch %s; flow: %d thread(s), median of %d run(s) after a cold one"
          % (res["torch_version"], args.flow_threads, args.flow_runs))
    print("%-8s %-9s %10s %10s %10s %10s %10s" % ("engine", "model", "prepare", "calib 2x",
                                                  "convert", "total ms", "cold ms"))
    for r in res["flow"]:
        print("%-8s %-9s %10.0f %10.0f %10.0f %10.0f %10.0f"
              % (r["engine"], r["model"], r["prepare_ms"], r["calibrate_2x1x3x224x224_ms"],
                 r["convert_ms"], r["total_ms"], r["cold_total_ms"]))
    for k, v in res["ops"].items():
        print("%-18s %s" % (k, ", ".join("%s %d" % (op.rstrip("("), n) for op, n in v.items())))
    print("latency, batch 1, median of %d: %-16s %-8s %8s %10s %10s"
          % (args.runs, "model", "engine", "threads", "median ms", "min ms"))
    for r in res["latency"]:
        print("%38s %-16s %-8s %8d %10.2f %10.2f" % ("", r["model"], r["engine"], r["threads"],
                                                   r["median_ms"], r["min_ms"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
