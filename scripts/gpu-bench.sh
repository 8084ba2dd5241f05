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
    # The benchmark is a bench target of crates/cli; cargo names the binary it builds.
    built=$(cargo bench -p unroll-cli --bench speed --features wgpu,cuda --no-run 2>&1 |
      tee /dev/stderr | sed -n 's/.*Executable .*(\(.*\))$/\1/p')
    mkdir -p gpu-bench
    cp "$built" gpu-bench/speed
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
