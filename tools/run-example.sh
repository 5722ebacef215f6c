#!/usr/bin/env bash
# The main job on the bundled example: build the CPU configuration if needed, show the example
# model's module tree and its forward graph as PyTorch prints it, then run it on the bundled
# input with the C interpreter and check the output against PyTorch's recorded output.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j"$(nproc)" >/dev/null
qg=build/default/quantgraph
model=examples/tiny_cnn.safetensors
out=${TMPDIR:-/tmp}/quantgraph-example-out.safetensors
echo "== quantgraph info $model"
"$qg" info "$model" | head -n 12
echo "   ..."
echo
echo "== quantgraph print $model --method forward --no-source"
"$qg" print "$model" --method forward --no-source
echo
echo "== quantgraph run $model (CPU reference), checked against PyTorch's output"
time "$qg" run "$model" --input examples/tiny_cnn_input.safetensors -o "$out" \
  --check examples/tiny_cnn_expected.safetensors
echo "outputs written to $out"
