#!/usr/bin/env bash
# Sets up a Debian 12 machine to build and test llmc, then builds it: installs
# the missing apt packages (none on a second run, so it skips apt entirely),
# configures build/ once and builds it.
#
#   bash scripts/setup.sh
#
# Environment:
#   LLMC_BUILD_DIR=DIR    build folder (default: build)
#   LLMC_SKIP_APT=1       do not install packages (report what is missing)
#   LLMC_SKIP_BUILD=1     configure only, do not build
#   LLMC_BUILD_JOBS=N     parallel build jobs (default: ninja's choice)
#   CC, CXX               compilers for a new build folder (default: clang-22,
#                         which builds llmc in about 3/4 of g++ 12's time;
#                         g++ stays installed for HLS C-simulation)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${LLMC_BUILD_DIR:-build}"
LLVM_PREFIX=/usr/lib/llvm-22

PACKAGES=(
  build-essential clang-22 cmake ninja-build git
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  libonnx-dev libprotobuf-dev protobuf-compiler
  python3 python3-dev python3-onnx python3-numpy python3-torch python3-pytest
  pybind11-dev libonnx-testdata zlib1g-dev libzstd-dev liblapack-dev
  libopenblas0-pthread
)

say() { echo "[setup] $*"; }
die() { echo "setup: error: $*" >&2; exit 2; }

# shellcheck source=/dev/null
os="$( (. /etc/os-release && echo "$ID $VERSION_ID") 2>/dev/null || true)"
if [[ "$os" != "debian 12" ]]; then
  say "warning: this script targets Debian 12, not '${os:-an unknown system}'"
fi

# --- Packages ---------------------------------------------------------------
missing=()
for package in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null || true)"
  [[ "$status" == ii* ]] || missing+=("$package")
done

if (( ${#missing[@]} == 0 )); then
  say "all ${#PACKAGES[@]} apt packages are installed"
elif [[ "${LLMC_SKIP_APT:-0}" == 1 ]]; then
  say "warning: LLMC_SKIP_APT=1 but these packages are missing: ${missing[*]}"
else
  if (( EUID == 0 )); then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    die "missing packages (${missing[*]}) and not root, with no sudo: install them as root"
  fi
  say "installing ${#missing[@]} apt packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

for tool in cmake ninja c++ "$LLVM_PREFIX/bin/lit" "$LLVM_PREFIX/bin/FileCheck"; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found after installing packages"
done
[[ -d "$LLVM_PREFIX/lib/cmake/mlir" ]] || die "$LLVM_PREFIX/lib/cmake/mlir not found (libmlir-22-dev)"

# --- Configure --------------------------------------------------------------
if [[ -f "$BUILD_DIR/build.ninja" ]]; then
  say "$BUILD_DIR/ is configured"
else
  say "configuring $BUILD_DIR/"
  compilers=()
  if [[ -z "${CXX:-}" ]] && command -v clang++-22 >/dev/null 2>&1; then
    compilers=(-DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22)
  fi
  cmake -G Ninja -S . -B "$BUILD_DIR" "${compilers[@]}" \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
    -DCMAKE_BUILD_TYPE=Release
fi

# --- Build ------------------------------------------------------------------
if [[ "${LLMC_SKIP_BUILD:-0}" == 1 ]]; then
  say "LLMC_SKIP_BUILD=1: not building"
else
  say "building $BUILD_DIR/"
  jobs=()
  [[ -n "${LLMC_BUILD_JOBS:-}" ]] && jobs=(--parallel "$LLMC_BUILD_JOBS")
  cmake --build "$BUILD_DIR" "${jobs[@]}"
  say "tools in $BUILD_DIR/bin: $(cd "$BUILD_DIR/bin" 2>/dev/null && echo llm-*)"
fi
say "done"
