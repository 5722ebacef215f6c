#!/usr/bin/env python3
"""Exports the benchmark models (torchvision, random weights, fixed seed) to bench/models/.

Needs PyTorch + torchvision (Debian: apt-get install python3-torch python3-torchvision; run with
/usr/bin/python3). The files are large (ResNet-50 is ~100 MB) and are not committed.

    /usr/bin/python3 bench/make_models.py [--out bench/models]
"""
import argparse
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from export_torchscript import export  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in ["resnet18", "resnet50", "mobilenet_v2"]:
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)().eval()
        path = os.path.join(args.out, f"{name}.script.safetensors")
        export(torch.jit.script(model), path, source="script")
        print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
