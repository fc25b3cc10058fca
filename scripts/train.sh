#!/usr/bin/env bash
# Builds and runs the Fashion-MNIST training example; arguments go to the program
# (e.g. `scripts/train.sh --help`). STRATA_JOBS overrides the build's job count.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/install-deps.sh build data
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DSTRATA_USE_OPENMP=ON
cmake --build build/release --target train_mnist -j "${STRATA_JOBS:-$(nproc)}"
exec build/release/examples/train_mnist "$@"
