#!/usr/bin/env bash
# unroll against PyTorch on this machine, one after the other:
# `scripts/compare_speed.sh [quick] [--threads N]` (both sides on N threads; default one per core).
# Needs a local PyTorch (pip install torch). Prints both tables; compare the same rows.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example speed
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
./target/release/examples/speed "$@"
echo
python3 scripts/pytorch_speed.py "$@"
