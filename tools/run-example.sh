#!/usr/bin/env bash
# The main job on the bundled example: build the CPU configuration if needed, then show the
# example model's module tree and its graphs as PyTorch prints them.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j"$(nproc)" >/dev/null
qg=build/default/quantgraph
model=examples/tiny_cnn.safetensors
echo "== quantgraph info $model"
"$qg" info "$model"
echo
echo "== quantgraph print $model --no-source"
"$qg" print "$model" --no-source
