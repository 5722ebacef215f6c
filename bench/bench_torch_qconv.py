#!/usr/bin/env python3
"""PyTorch baseline for bench_qconv.c: the same shapes through torch's own quantized ops
(quantized::conv2d_relu, quantized::linear, quantized::linear_dynamic, prepacked once) and the
float ops, single thread, best of N. Run with the torch 2.x venv (engine fbgemm):

    /tmp/torch2/bin/python bench/bench_torch_qconv.py [repeats]
"""
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.backends.quantized.engine = "fbgemm"
Q = torch.ops.quantized
REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 20


def best_ms(fn):
    fn()
    best = 1e30
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


print(f"# torch {torch.__version__}, engine {torch.backends.quantized.engine}, 1 thread")
print("case,shape,float_ms,int8_ms,float_over_int8")
for ch, hw, stride in [(64, 56, 1), (128, 28, 1), (256, 14, 1), (512, 7, 1), (64, 56, 2)]:
    x = torch.rand(1, ch, hw, hw) - 0.5
    w = torch.rand(ch, ch, 3, 3) - 0.5
    b = torch.rand(ch) - 0.5
    xq = torch.quantize_per_tensor(x, 0.05, 60, torch.quint8)
    wq = torch.quantize_per_tensor(w, 0.01, 0, torch.qint8)
    p = Q.conv2d_prepack(wq, b, [stride, stride], [1, 1], [1, 1], 1)
    f = best_ms(lambda: F.conv2d(x, w, b, stride, 1))
    q = best_ms(lambda: Q.conv2d_relu(xq, p, 0.5, 64))
    print(f"conv3x3_relu,{ch}x{hw}x{hw}/s{stride},{f:.3f},{q:.3f},{f / q:.2f}")
for m, k, n in [(1, 1024, 1024), (64, 1024, 1024), (128, 768, 3072)]:
    x = torch.rand(m, k) - 0.5
    w = torch.rand(n, k) - 0.5
    b = torch.rand(n) - 0.5
    xq = torch.quantize_per_tensor(x, 0.05, 60, torch.quint8)
    p = Q.linear_prepack(torch.quantize_per_tensor(w, 0.01, 0, torch.qint8), b)
    f = best_ms(lambda: F.linear(x, w, b))
    q = best_ms(lambda: Q.linear(xq, p, 0.5, 64))
    d = best_ms(lambda: Q.linear_dynamic(x, p, True))
    print(f"linear,{m}x{k}x{n},{f:.3f},{q:.3f},{f / q:.2f}")
    print(f"linear_dynamic,{m}x{k}x{n},{f:.3f},{d:.3f},{f / d:.2f}")
