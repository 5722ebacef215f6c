#!/usr/bin/env bash
# The main job on the bundled example: build the CPU configuration if needed, check that the C
# interpreter reproduces PyTorch's float output, then quantize the model to int8 exactly as
# PyTorch's quantize_jit does (prepare: conv-bn folding + observers; calibrate on the bundled
# batches; convert: quantize/dequantize, fusion into quantized ops, freezing, prepacking), run
# float and int8 on the same input and compare them.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j"$(nproc)" >/dev/null
qg=build/default/quantgraph
model=examples/tiny_cnn.safetensors
tmp=${TMPDIR:-/tmp}/quantgraph-example
mkdir -p "$tmp"
echo "== the float model: forward as PyTorch prints it"
"$qg" print "$model" --method forward --no-source
echo
echo "== quantgraph run (CPU reference), checked against PyTorch's float output"
"$qg" run "$model" --input examples/tiny_cnn_input.safetensors -o "$tmp/float_out.safetensors" \
  --check examples/tiny_cnn_expected.safetensors
echo
echo "== quantgraph prepare --qconfig fbgemm (conv-bn folding + observers)"
"$qg" prepare "$model" --qconfig fbgemm -o "$tmp/prepared.safetensors"
echo "== quantgraph calibrate (8 bundled batches)"
"$qg" calibrate "$tmp/prepared.safetensors" --data examples/tiny_cnn_calib.safetensors -o "$tmp/calibrated.safetensors"
echo "== quantgraph convert (int8)"
"$qg" convert "$tmp/calibrated.safetensors" -o "$tmp/int8.safetensors"
"$qg" print "$tmp/int8.safetensors" --method forward --no-source
echo
echo "== float vs int8 on the example input"
time "$qg" run "$model" --input examples/tiny_cnn_input.safetensors -o "$tmp/float_out.safetensors" >/dev/null
time "$qg" run "$tmp/int8.safetensors" --input examples/tiny_cnn_input.safetensors -o "$tmp/int8_out.safetensors" >/dev/null
"$qg" compare "$model" "$tmp/int8.safetensors" --input examples/tiny_cnn_input.safetensors
echo "files in $tmp"
