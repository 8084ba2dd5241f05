#!/usr/bin/env bash
# The GPU benchmark, in two halves, since a machine with a GPU may have no Rust toolchain:
#
#   scripts/gpu-bench.sh build        # here: a stripped release binary with wgpu and cuda, in gpu-bench/
#   scripts/gpu-bench.sh run [quick]  # on the GPU machine, from the repository root: unroll's rows
#                                     # (patterns 1 and 2, H 256/batch 64/window 100 and
#                                     # H 1024/batch 256/window 128, on wgpu and cuda), then
#                                     # PyTorch's for the same configurations (cuDNN)
#
# Without a GPU, `run` says so for each backend and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  build)
    cargo build --release --example speed --features wgpu,cuda
    mkdir -p gpu-bench
    cp target/release/examples/speed gpu-bench/speed
    strip gpu-bench/speed
    ls -l gpu-bench/speed
    ;;
  run)
    shift
    status=0
    ./gpu-bench/speed gpu "$@" || status=$?
    echo
    python3 scripts/pytorch_speed.py gpu "$@" || status=$?
    exit "$status"
    ;;
  *)
    echo "usage: scripts/gpu-bench.sh build | run [quick]" >&2
    exit 2
    ;;
esac
