#!/usr/bin/env bash
# unroll against PyTorch on this machine, one after the other:
# `scripts/compare_speed.sh [quick] [gated|stacks|bidirectional|feeding] [--threads N]` (both
# sides on N threads; default one per core). `ROUNDS=3 scripts/compare_speed.sh stacks` runs
# three rounds, unroll then PyTorch in each, so that a drift of a noisy host reaches both sides.
# Needs a local PyTorch (pip install torch; `PYTHON` names another interpreter). Prints both
# tables a round, then the rows both ran against issue 32's and 35's targets
# (`scripts/speed_targets.py`: the ratio, the products alone on this host, the target, met).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p unroll-cli --bench speed --no-run
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
ours=$(mktemp) theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT
for round in $(seq 1 "${ROUNDS:-1}"); do
    echo "#### round $round"
    cargo bench -q -p unroll-cli --bench speed -- "$@" | tee "$ours"
    echo
    "${PYTHON:-python3}" scripts/pytorch_speed.py "$@" | tee "$theirs"
    echo
    python3 scripts/speed_targets.py "$ours" "$theirs"
    echo
done
