#!/usr/bin/env bash
# GPU check, for a machine WITH an NVIDIA GPU: builds the `cuda` preset, reports the device,
# runs the CUDA tests (which must not skip there), the whole test suite, and the GPU
# benchmarks (bench_cuda_* / bench_gpu_*, when they exist). One script, a few minutes.
#
# Usage: tools/gpu-check.sh [--quick]
#   --quick   only the CUDA tests, not the whole suite
# Environment:
#   OUT                    where results go (default ./out): results.json (summary),
#                          device.json, test_cuda.json (Criterion), ctest-junit.xml,
#                          nvidia-smi.txt, gpu-check.log (every command's output). At most
#                          these 6 files, so a runner that returns only a few files gets all.
#   QG_CUDA_ARCHITECTURES  override CMAKE_CUDA_ARCHITECTURES (e.g. 90-real for an H100 only)
#   QG_JOBS                parallel build/test jobs (default: number of cores)
#   QG_ALLOW_NO_GPU=1      exit 0 when everything passed but no GPU was found (for trying the
#                          script on a CPU machine)
#   QG_BENCH_TIMEOUT       seconds per benchmark (default 120)
# Exit status: 0 all passed on a GPU; 1 a step failed; 2 no usable GPU (rest passed);
#              3 build prerequisites missing (no Criterion: the library, the device query
#              and the kernel self-test still run, tests do not).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "gpu-check.sh: unknown argument '$arg'" >&2; exit 1 ;;
  esac
done

OUT=${OUT:-$root/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/{results.json,device.json,test_cuda.json,ctest-junit.xml,nvidia-smi.txt,gpu-check.log}
log=$OUT/gpu-check.log
jobs=${QG_JOBS:-$(nproc 2>/dev/null || echo 4)}
build=$root/build/cuda
start=$SECONDS

say() { printf '%s\n' "$*" | tee -a "$log"; }

# JSON string literal of $1 (quotes, backslashes and control characters escaped).
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

steps_json=""
failed=0
# step NAME CMD...: runs CMD with its output appended to the log; records status and time.
step() {
  local name=$1
  shift
  local t0=$SECONDS rc
  say "== $name: $*"
  "$@" >>"$log" 2>&1
  rc=$?
  local dt=$((SECONDS - t0)) st=ok
  if ((rc != 0)); then st=failed; failed=1; fi
  say "   $name: $st (exit $rc, ${dt}s)"
  steps_json+="${steps_json:+,}{\"name\":$(json_str "$name"),\"status\":\"$st\",\"exit\":$rc,\"seconds\":$dt}"
  return $rc
}

gpu_present=false
no_gpu_reason=""
smi=""
device_json=null
cuda_counts=null
ctest_json=null
result=""

write_results() {
  local commit
  commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
  cat >"$OUT/results.json" <<JSON
{
  "tool": "tools/gpu-check.sh",
  "date": $(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),
  "host": $(json_str "$(hostname 2>/dev/null || echo unknown)"),
  "commit": $(json_str "$commit"),
  "result": $(json_str "$result"),
  "gpu_present": $gpu_present,
  "no_gpu_reason": $(json_str "$no_gpu_reason"),
  "nvidia_smi": $(json_str "$smi"),
  "device": $device_json,
  "cuda_tests": $cuda_counts,
  "ctest": $ctest_json,
  "steps": [$steps_json],
  "seconds": $((SECONDS - start))
}
JSON
  say "results: $OUT/results.json"
}

finish() {
  result=$1
  write_results
  case "$result" in
    pass) say "gpu-check: PASS on ${smi:-the GPU} in $((SECONDS - start))s"; exit 0 ;;
    no-gpu)
      say "gpu-check: NO GPU: $no_gpu_reason"
      if [[ "${QG_ALLOW_NO_GPU:-0}" == 1 ]]; then exit 0; fi
      exit 2 ;;
    missing-deps) say "gpu-check: FAIL: build prerequisites missing"; exit 3 ;;
    incomplete)
      local dev="not usable: $no_gpu_reason"
      [[ $gpu_present == true ]] && dev="usable, self-test passed"
      say "gpu-check: INCOMPLETE: device $dev; tests not run (libcriterion-dev missing)"
      exit 3 ;;
    *) say "gpu-check: FAIL (see $log)"; exit 1 ;;
  esac
}

say "gpu-check: $(date -u) on $(hostname 2>/dev/null), $jobs jobs, results in $OUT"

# ---- 1. the GPU as the driver sees it -------------------------------------------------------
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true
  smi=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap \
    --format=csv,noheader 2>/dev/null | head -n 8 | paste -sd ';' -)
  say "nvidia-smi: ${smi:-no GPU listed}"
else
  say "nvidia-smi: not installed (no NVIDIA driver?)"
fi

# ---- 2. prerequisites -----------------------------------------------------------------------
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
if ! command -v nvcc >/dev/null 2>&1 && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  missing+=(nvcc)
fi
if command -v pkg-config >/dev/null 2>&1; then
  pkg-config --exists criterion || missing+=(libcriterion-dev)
else
  missing+=(pkg-config)
fi
[[ -f /usr/include/cjson/cJSON.h ]] || missing+=(libcjson-dev)
if ((${#missing[@]} > 0)) && [[ -x tools/install-deps.sh ]] && [[ " ${missing[*]} " != *" nvcc "* ]]; then
  say "missing: ${missing[*]}; trying tools/install-deps.sh"
  if tools/install-deps.sh >>"$log" 2>&1; then missing=(); fi
fi
# Without Criterion the library and qg_cuda_info can still be built: the device query and the
# kernel self-test still run, but the verdict is "incomplete" (exit 3).
no_tests=0
if [[ " ${missing[*]} " == *" libcriterion-dev "* ]]; then
  no_tests=1
  missing=("${missing[@]/libcriterion-dev/}")
  [[ -z "${missing[*]// /}" ]] && missing=()
  say "Criterion is missing: building without tests (QG_TESTS=OFF)"
fi
if ((${#missing[@]} > 0)); then
  say "missing build prerequisites: ${missing[*]}"
  finish missing-deps
fi
if ! command -v nvcc >/dev/null 2>&1; then export PATH=/usr/local/cuda/bin:$PATH; fi
# cuDNN from a pip wheel (nvidia-cudnn-cu13) when the toolkit has none: point FindCUDNN and
# the loader (cuDNN dlopens its sub-libraries) at it.
if [[ -z "${CUDNN_PATH:-}" && ! -f /usr/local/cuda/include/cudnn_version.h ]]; then
  wheel=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' \
    2>/dev/null || true)
  if [[ -n "$wheel" && -f "$wheel/include/cudnn_version.h" ]]; then
    export CUDNN_PATH=$wheel
    export LD_LIBRARY_PATH=$wheel/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    say "cuDNN: using the pip wheel at $wheel"
  fi
fi

# ---- 3. configure + build -------------------------------------------------------------------
# A build tree copied from another checkout path would make CMake refuse: start it afresh.
if [[ -f "$build/CMakeCache.txt" ]] &&
  ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$root" "$build/CMakeCache.txt"; then
  say "build/cuda was configured for another source tree: removing it"
  rm -rf "$build"
fi
cfg=(cmake --preset cuda)
if ((no_tests)); then cfg+=(-DQG_TESTS=OFF); fi
if [[ -n "${QG_CUDA_ARCHITECTURES:-}" ]]; then
  cfg+=("-DCMAKE_CUDA_ARCHITECTURES=$QG_CUDA_ARCHITECTURES")
fi
step configure "${cfg[@]}" || finish fail
if ! step build cmake --build --preset cuda -j "$jobs"; then
  # Still learn what we can from the GPU: build just the CUDA layer's targets, skipping
  # their dependency on the (broken) rest of the tree. The verdict stays FAIL.
  step build-cuda-only bash -c "make -C '$build' -j '$jobs' quantgraph qg_testutil &&
    make -C '$build' qg_cuda_info/fast test_cuda/fast" || finish fail
  quick=1
fi

# ---- 4. the device as quantgraph sees it ----------------------------------------------------
say "== device: $build/qg_cuda_info"
"$build/qg_cuda_info" >"$OUT/device.json" 2>>"$log"
info_rc=$?
cat "$OUT/device.json" >>"$log"
if [[ -s "$OUT/device.json" ]]; then device_json=$(cat "$OUT/device.json"); fi
case $info_rc in
  0) gpu_present=true; say "   device: ok" ;;
  2)
    no_gpu_reason=$(sed -n 's/^[[:space:]]*"error":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p' \
      "$OUT/device.json" | head -n1)
    say "   device: none (${no_gpu_reason:-unknown reason})" ;;
  *) failed=1; say "   device: FAILED (exit $info_rc): a device is present but unusable" ;;
esac

# ---- 5. CUDA tests --------------------------------------------------------------------------
if ((no_tests)); then
  say "== tests: not built (Criterion missing)"
  if ((failed)); then finish fail; fi
  finish incomplete
fi
# -j1: GPU tests should not compete for the device; each runs in its own process anyway.
step cuda-tests timeout 300 "$build/tests/test_cuda" --ascii -j1 --verbose \
  "--json=$OUT/test_cuda.json"
if [[ -f "$OUT/test_cuda.json" ]]; then
  # The first "passed": ... line is Criterion's total (suites and tests follow).
  count() { grep -m1 "^ *\"$1\": *[0-9]" "$OUT/test_cuda.json" | tr -dc '0-9'; }
  p=$(count passed) f=$(count failed) e=$(count errored) s=$(count skipped)
  cuda_counts="{\"passed\":${p:-0},\"failed\":${f:-0},\"errored\":${e:-0},\"skipped\":${s:-0}}"
  say "   CUDA tests: ${p:-0} passed, ${f:-0} failed, ${e:-0} errored, ${s:-0} skipped"
  if [[ $gpu_present == true ]] && ((${s:-0} > 0)); then
    failed=1
    say "   CUDA tests were skipped although a GPU is present: FAIL"
  fi
fi

# ---- 6. the whole suite on the CUDA build ---------------------------------------------------
if ((quick == 0)); then
  step ctest ctest --preset cuda -j "$jobs" --output-junit "$OUT/ctest-junit.xml"
  summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
  if [[ $summary =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    nf=${BASH_REMATCH[1]} nt=${BASH_REMATCH[2]}
    ctest_json="{\"passed\":$((nt - nf)),\"failed\":$nf,\"total\":$nt}"
  fi
fi

# ---- 7. GPU benchmarks (none yet; each bench_cuda_*/bench_gpu_* program is run) -------------
shopt -s nullglob
benches=("$build"/bench/bench_cuda_* "$build"/bench/bench_gpu_*)
if [[ $gpu_present == true ]]; then
  for b in "${benches[@]}"; do
    [[ -x "$b" ]] || continue
    step "bench:$(basename "$b")" timeout "${QG_BENCH_TIMEOUT:-120}" "$b"
  done
elif ((${#benches[@]} > 0)); then
  say "== benchmarks: skipped (no GPU)"
fi

# ---- verdict --------------------------------------------------------------------------------
if ((failed)); then finish fail; fi
if [[ $gpu_present != true ]]; then finish no-gpu; fi
finish pass
