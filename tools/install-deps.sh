#!/usr/bin/env bash
# Installs the Debian packages quantgraph needs to build and test, if any is missing.
# Usage: tools/install-deps.sh [--with-torch]   (--with-torch: PyTorch 1.13 for regenerating fixtures)
set -euo pipefail
pkgs=(cmake make gcc pkg-config libcriterion-dev libcjson-dev libopenblas-dev)
if [[ "${1:-}" == "--with-torch" ]]; then pkgs+=(python3-torch python3-torchvision); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then exit 0; fi
echo "installing: ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
  echo "not root: run 'sudo apt-get install -y ${missing[*]}' and retry" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
