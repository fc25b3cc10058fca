#!/usr/bin/env bash
# Installs the Debian packages strata needs, only those that are missing (one `apt-get update`, only then).
#
#   scripts/install-deps.sh [SET...]     SET: build (default), data, torch, mpi
#     build  compiler, CMake, Eigen, Catch2, Google Benchmark, zlib, CLI11, valgrind (memcheck test), xmllint (SVG check)
#     data   the Fashion-MNIST data set (/usr/share/datasets/fashion-mnist), for data tests and training
#     torch  PyTorch for python3 (/usr/bin/python3), only to regenerate tests/fixtures
#     fuzz   clang and its libFuzzer runtime, for fuzz/run.sh
#     mpi    Open MPI (optional): builds strata::distributed and its tests (docs/distributed.md)
set -euo pipefail

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }

packages=()
sets=("$@")
[[ ${#sets[@]} -eq 0 ]] && sets=(build)
for set in "${sets[@]}"; do
    case "$set" in
        build) packages+=(g++ cmake make libeigen3-dev catch2 libbenchmark-dev zlib1g-dev libcli11-dev valgrind libxml2-utils) ;;
        data) packages+=(dataset-fashion-mnist) ;;
        torch) packages+=(python3-torch python3-torchvision) ;;
        fuzz) packages+=(clang libclang-rt-14-dev) ;;
        mpi) packages+=(libopenmpi-dev openmpi-bin) ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install-deps.sh: unknown package set '$set' (want build, data, torch or mpi)" >&2; usage >&2; exit 2 ;;
    esac
done

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps.sh: all ${#packages[@]} packages for '${sets[*]}' are installed"
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "install-deps.sh: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
