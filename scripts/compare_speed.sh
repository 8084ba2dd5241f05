#!/usr/bin/env bash
# unroll against PyTorch on this machine, one after the other:
# `scripts/compare_speed.sh [quick] [gated|stacks|bidirectional|feeding] [lstm|gru] [--threads N]`
# (both sides on N threads; default one per core). `ROUNDS=3 scripts/compare_speed.sh stacks`
# runs three rounds, unroll then PyTorch in each, so that a drift of a noisy host reaches both
# sides. Needs a local PyTorch (pip install torch; `PYTHON` names another interpreter). Prints
# both tables a round, then the rows both ran against issue 32's and 35's targets
# (`scripts/speed_targets.py`: the ratio, the products alone on this host, the target, met), and
# after several rounds every row's range and how many rounds met its target.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p unroll-cli --bench speed --no-run
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
outputs=$(mktemp -d)
trap 'rm -rf "$outputs"' EXIT
pairs=()
for round in $(seq 1 "${ROUNDS:-1}"); do
    echo "#### round $round"
    cargo bench -q -p unroll-cli --bench speed -- "$@" | tee "$outputs/unroll-$round"
    echo
    "${PYTHON:-python3}" scripts/pytorch_speed.py "$@" | tee "$outputs/pytorch-$round"
    echo
    python3 scripts/speed_targets.py "$outputs/unroll-$round" "$outputs/pytorch-$round"
    echo
    pairs+=("$outputs/unroll-$round" "$outputs/pytorch-$round")
done
if [ "${ROUNDS:-1}" -gt 1 ]; then
    python3 scripts/speed_targets.py "${pairs[@]}" | sed -n '/^over /,$p'
fi
