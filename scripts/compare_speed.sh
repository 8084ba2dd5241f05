#!/usr/bin/env bash
# unroll against PyTorch on this machine, one after the other:
# `scripts/compare_speed.sh [quick] [--threads N]` (both sides on N threads; default one per core).
# Needs a local PyTorch (pip install torch). Prints both tables; compare the same rows.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p unroll-cli --bench speed --no-run
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
cargo bench -q -p unroll-cli --bench speed -- "$@"
echo
python3 scripts/pytorch_speed.py "$@"
