#!/usr/bin/env python3
"""PyTorch baseline for bench_qconv.c: the same shapes through torch's own quantized ops
(quantized::conv2d_relu, quantized::linear, quantized::linear_dynamic, prepacked once) and the
float ops, single thread, best of N, for one quantized engine (fbgemm, x86 or onednn with the
torch 2.x venv; qnnpack or onednn with Debian's torch 1.13):

    /tmp/torch2/bin/python bench/bench_torch_qconv.py [repeats] [engine]
"""
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.backends.quantized.engine = sys.argv[2] if len(sys.argv) > 2 else "fbgemm"
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
# cin, cout, input size, kernel, stride (padding k // 2): the list of bench_qconv.c
CONVS = [(3, 64, 224, 7, 2), (64, 64, 56, 3, 1), (64, 128, 56, 3, 2), (64, 128, 56, 1, 2), (128, 128, 28, 3, 1),
         (256, 256, 14, 3, 1), (512, 512, 7, 3, 1), (256, 64, 56, 1, 1), (64, 256, 56, 1, 1), (512, 128, 28, 1, 1),
         (1024, 256, 14, 1, 1), (256, 1024, 14, 1, 1), (2048, 512, 7, 1, 1), (512, 2048, 7, 1, 1)]
for ci, co, hw, k, stride in CONVS:
    x = torch.rand(1, ci, hw, hw) - 0.5
    w = torch.rand(co, ci, k, k) - 0.5
    b = torch.rand(co) - 0.5
    xq = torch.quantize_per_tensor(x, 0.05, 60, torch.quint8)
    wq = torch.quantize_per_tensor(w, 0.01, 0, torch.qint8)
    p = Q.conv2d_prepack(wq, b, [stride, stride], [k // 2, k // 2], [1, 1], 1)
    f = best_ms(lambda: F.conv2d(x, w, b, stride, k // 2))
    q = best_ms(lambda: Q.conv2d_relu(xq, p, 0.5, 64))
    print(f"conv{k}x{k}_relu,{ci}->{co}x{hw}x{hw}/s{stride},{f:.3f},{q:.3f},{f / q:.2f}")
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
