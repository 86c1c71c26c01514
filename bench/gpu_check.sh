#!/usr/bin/env bash
# GPU check of the native annealer, for a lent GPU machine (Python 3.12, cupy-cuda13x, numpy,
# pytest; no dimod/pyqubo/openjij/numba and no network).  Nothing is installed: the repository is
# used in place through PYTHONPATH, and the tests/bench register `qubonn.backends` as a bare
# package when dimod is missing (backends/__init__.py imports the registry, which needs dimod).
#
#   bash bench/gpu_check.sh            # writes the log to $OUT/gpu_check.txt when $OUT is set
#
# 1. CuPy vs numpy: identical samples for the same seed (SA kernel, SA array code, MA; float32
#    and float64; sparse and dense), plus a ground-state check (tests/test_native_gpu.py).
# 2. Benchmark: flip attempts/s and best energies on G22 and a dense random +-1 model
#    (bench/solvers.py --gpu).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python3}"
LOG="${OUT:-/tmp}/gpu_check.txt"
{
  echo "== environment"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  "$PY" -c "import sys, numpy, cupy; print(sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__, 'gpu', cupy.cuda.is_available())"
  echo "== tests (CuPy vs numpy)"
  timeout 240 "$PY" -m pytest -q --noconftest -p no:cacheprovider -o addopts="" -m gpu -rs \
    tests/test_native_gpu.py
  echo "tests exit: $?"
  echo "== benchmark"
  timeout 240 "$PY" bench/solvers.py --gpu
  echo "bench exit: $?"
} 2>&1 | tee "$LOG"
