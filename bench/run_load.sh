#!/usr/bin/env bash
# Foundation benchmark: load + parse + lint of exported torchvision models (scripted), and the
# no-copy check on the ~100 MB ResNet-50 bundle. Needs PyTorch to export the models once
# (bench/make_models.py, run with Debian's /usr/bin/python3); results go to $OUT (default
# bench/out) as JSON and to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench/out}
mkdir -p "$out"
preset=${PRESET:-default}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target bench_load >/dev/null
if [[ ! -f bench/models/resnet50.script.safetensors ]]; then
  /usr/bin/python3 bench/make_models.py
fi
for m in resnet18 resnet50 mobilenet_v2; do
  "build/$preset/bench/bench_load" "bench/models/$m.script.safetensors" --repeat 50 --json "$out/load_$m.json"
  echo
done
