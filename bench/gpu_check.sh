#!/usr/bin/env bash
# GPU check of the native annealer, in one command within 5 minutes, for a lent GPU machine
# (Python 3.12, cupy-cuda13x, numpy, pytest; no numba/dimod/pyqubo/openjij and no network).
# Nothing is installed there beyond the wheels that bench/gpu_prepare.sh put in bench/.carry
# (pass carry=["bench/.carry"]); the repository is used in place through PYTHONPATH.
#
#   bash bench/gpu_prepare.sh                 # first, on the CPU machine: cases, CPU rates, wheels
#   bash bench/gpu_check.sh                   # on the GPU machine; log in $OUT/gpu_check.txt
#   bash bench/gpu_check.sh --emulate         # no GPU: the same CUDA sources on the CPU emulator
#   bash bench/gpu_check.sh --full            # also the long side-by-side with neal (~10 min)
#
# 1. tests/test_native_gpu.py: CuPy against numpy sample for sample (skipped when emulating:
#    tests/test_cuda_emulated.py covers it in the default suite).
# 2. bench/gpu_check.py: the table. GPU == CPU on the exported cases (the numba path's samples),
#    structured moves/s on digits and MNIST at 1024 and 4096 replicas, spin flips/s on G22 and a
#    10^4-variable sparse instance, each against the 2-core CPU (and neal).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python3}"
LOG="${OUT:-/tmp}/gpu_check.txt"
EMULATE=""
FULL=""
for arg in "$@"; do
  case "$arg" in
    --emulate) EMULATE="--emulate" ;;
    --full) FULL=1 ;;
    *) echo "gpu_check.sh: error: unknown argument $arg (use --emulate, --full)" >&2; exit 2 ;;
  esac
done
if [ ! -d bench/.carry/cases ]; then
  echo "gpu_check.sh: error: bench/.carry/cases is missing: run bench/gpu_prepare.sh first" >&2
  exit 2
fi
{
  echo "== environment"
  if [ -z "$EMULATE" ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    "$PY" -c "import sys, numpy, cupy; print(sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__, 'gpu', cupy.cuda.is_available())"
    if [ -d bench/.carry/wheels ]; then
      "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site bench/.carry/wheels/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/site"
    fi
    echo "== tests (CuPy vs numpy)"
    timeout 90 "$PY" -m pytest -q --noconftest -p no:cacheprovider -o addopts="" -m gpu -rs \
      tests/test_native_gpu.py
    echo "tests exit: $?"
  else
    "$PY" -c "import sys, numpy; print(sys.version.split()[0], 'numpy', numpy.__version__, 'no GPU: CUDA emulator')"
  fi
  echo "== the table"
  timeout 190 "$PY" bench/gpu_check.py --carry bench/.carry $EMULATE
  echo "table exit: $?"
  if [ -n "$FULL" ] && [ -z "$EMULATE" ] && [ -f bench/.carry/bnn-1000.npz ]; then
    echo "== side by side with neal (time-to-target)"
    timeout 420 "$PY" bench/solvers.py --gset G22 --no-bnn --problem bench/.carry/bnn-1000.npz \
      --solvers native-gpu native-gpu-ma neal --seeds 3 --ttt-budget 15 --ttt-min-time 0
    echo "side-by-side exit: $?"
  fi
} 2>&1 | tee "$LOG"
