#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the arm64 cross tests need.
# Idempotent and fast when everything is present: apt-get runs only for what is missing.
#   scripts/setup.sh          build + tests (x86 and arm64 under qemu)
#   scripts/setup.sh --peers  also the peers: oneDNN, OpenBLAS and a venv (.venv) with PyPI onnxruntime,
#                             onnx, ml_dtypes, numpy, sympy and onnx_ir (tests compare against ONNX Runtime;
#                             they skip without it; sympy is what ORT's transformer optimizer needs, onnx_ir
#                             its MatMulNBits quantizer); and Debian's python3-torch and python3-torchvision,
#                             with which the test build exports the tiny PyTorch test models
#                             (scripts/export_models.py, scripts/export_vision_models.py)
#   scripts/setup.sh --exports  only python3-torch and python3-torchvision of those
#   scripts/setup.sh --fuzz   also clang (libFuzzer, for scripts/fuzz.sh)
#   scripts/setup.sh --arm64  also the arm64 libraries for the whole-project cross build (scripts/test-arm64-full.sh):
#                             adds the arm64 architecture, installs libprotobuf-dev, libfmt-dev, libhwloc-dev and
#                             libonnx1 :arm64, and unpacks libonnx-dev:arm64 into $ORTKIT_ARM64_PREFIX (default
#                             /opt/ortkit-arm64): it cannot be installed next to the amd64 one (its dependency
#                             libonnxifi ships /usr/lib/libonnxifi.so outside the multiarch directory). Refuses to
#                             go on if apt would remove any package.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config git
      libprotobuf-dev protobuf-compiler libonnx-dev libcli11-dev libfmt-dev nlohmann-json3-dev
      libhwloc-dev hwloc catch2 libonnx-testdata
      g++-aarch64-linux-gnu qemu-user
      python3 python3-venv python3-numpy python3-onnx)
PEER_PKGS=(libdnnl-dev libopenblas-dev python3-torch python3-torchvision)
ARM64_PKGS=(libprotobuf-dev:arm64 libfmt-dev:arm64 libhwloc-dev:arm64 libonnx1:arm64)
# Unpacked, not installed: libonnx-dev:arm64 and what its CMake config names (see --arm64 above).
ARM64_ONNX_DEBS=(libonnx-dev:arm64 libonnxifi:arm64 libonnx1:arm64)
ARM64_PREFIX=${ORTKIT_ARM64_PREFIX:-/opt/ortkit-arm64}

want=("${PKGS[@]}")
peers=0
arm64=0
for arg in "$@"; do
  case "$arg" in
    --peers) peers=1; want+=("${PEER_PKGS[@]}") ;;
    --exports) want+=(python3-torch python3-torchvision) ;;
    --fuzz) want+=(clang) ;;
    --arm64) arm64=1; want+=("${ARM64_PKGS[@]}") ;;
    *) echo "setup: unknown option $arg (use --peers, --exports, --arm64, --fuzz)" >&2; exit 2 ;;
  esac
done

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
updated=0
if ((arm64)) && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup: adding the arm64 architecture"
  $SUDO dpkg --add-architecture arm64
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  updated=1
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  ((updated)) || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Multi-Arch packages must match the installed amd64 versions: apt may upgrade amd64 packages to get
  # there, but must never remove one.
  removals=$(apt-get install -s --no-install-recommends "${missing[@]}" | awk '$1 == "Remv" {print $2}')
  if [[ -n "$removals" ]]; then
    echo "setup: refusing: installing ${missing[*]} would remove $(echo $removals)" >&2
    exit 1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

if ((arm64)) && [[ ! -f "$ARM64_PREFIX/usr/lib/aarch64-linux-gnu/cmake/ONNX/ONNXConfig.cmake" ]]; then
  echo "setup: unpacking ${ARM64_ONNX_DEBS[*]} into $ARM64_PREFIX"
  debs=$(mktemp -d)
  chmod 755 "$debs"
  id _apt >/dev/null 2>&1 && $SUDO chown _apt "$debs"  # apt-get download drops privileges to _apt
  (cd "$debs" && apt-get download -q "${ARM64_ONNX_DEBS[@]}" >/dev/null)
  staging="$ARM64_PREFIX.tmp.$$"
  $SUDO mkdir -p "$staging"
  for deb in "$debs"/*.deb; do $SUDO dpkg-deb -x "$deb" "$staging"; done
  rm -rf "$debs"
  $SUDO rm -rf "$ARM64_PREFIX"
  $SUDO mv "$staging" "$ARM64_PREFIX"
fi

if ((peers)); then
  # PyPI peers in a venv of their own: ONNX Runtime's quantizer needs onnx >= 1.13 and ml_dtypes, so
  # the venv must not see Debian's python3-onnx 1.12 (torch exports use /usr/bin/python3 instead).
  if [[ ! -x .venv/bin/python ]]; then
    /usr/bin/python3 -m venv .venv
  fi
  .venv/bin/python -c "import onnxruntime, onnx, ml_dtypes, numpy, sympy, onnx_ir" 2>/dev/null ||
    .venv/bin/pip install -q onnxruntime onnx ml_dtypes numpy sympy onnx_ir ||
    echo "setup: PyPI peers unavailable (tests that need them skip)"
fi
