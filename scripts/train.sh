#!/usr/bin/env bash
# Builds and runs the Fashion-MNIST training example; arguments go to the program
# (e.g. `scripts/train.sh --help`). STRATA_JOBS overrides the build's job count.
# It builds for this machine's CPU (-march=native); STRATA_MARCH= (empty) builds a portable binary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/install-deps.sh build data
cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release -DSTRATA_USE_OPENMP=ON -DSTRATA_MARCH="${STRATA_MARCH-native}"
cmake --build build/native --target train_mnist -j "${STRATA_JOBS:-$(nproc)}"
exec build/native/examples/train_mnist "$@"
