#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the arm64 cross tests need.
# Idempotent and fast when everything is present: apt-get runs only for what is missing.
#   scripts/setup.sh          build + tests (x86 and arm64 under qemu)
#   scripts/setup.sh --peers  also the peers: oneDNN, OpenBLAS and a venv (.venv) with PyPI onnxruntime,
#                             onnx, ml_dtypes and numpy (tests compare against ONNX Runtime; they skip without it)
#   scripts/setup.sh --exports  also Debian's python3-torch, to re-export tests/data/torch (rarely needed)
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config git
      libprotobuf-dev protobuf-compiler libonnx-dev libcli11-dev libfmt-dev nlohmann-json3-dev
      libhwloc-dev hwloc catch2 libonnx-testdata
      g++-aarch64-linux-gnu qemu-user
      python3 python3-venv python3-numpy python3-onnx)
PEER_PKGS=(libdnnl-dev libopenblas-dev)

want=("${PKGS[@]}")
peers=0
for arg in "$@"; do
  case "$arg" in
    --peers) peers=1; want+=("${PEER_PKGS[@]}") ;;
    --exports) want+=(python3-torch) ;;
    *) echo "setup: unknown option $arg (use --peers, --exports)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

if ((peers)); then
  # PyPI peers in a venv of their own: ONNX Runtime's quantizer needs onnx >= 1.13 and ml_dtypes, so
  # the venv must not see Debian's python3-onnx 1.12 (torch exports use /usr/bin/python3 instead).
  if [[ ! -x .venv/bin/python ]]; then
    /usr/bin/python3 -m venv .venv
  fi
  .venv/bin/python -c "import onnxruntime, onnx, ml_dtypes, numpy" 2>/dev/null ||
    .venv/bin/pip install -q onnxruntime onnx ml_dtypes numpy ||
    echo "setup: PyPI peers unavailable (tests that need them skip)"
fi
