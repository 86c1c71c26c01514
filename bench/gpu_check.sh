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
# 3. Where bench/gpu_prepare.sh ran first (carry=["bench/.carry"]): the side-by-side table of
#    native on the GPU (SA and MA, 512 replicas) against neal on this machine's CPU, time-to-target
#    and flip rates on G22 and on the BNN QUBO with N = 1000.
# 4. With the carry too: the structured annealer, GPU samples against the CPU's (computed by
#    gpu_prepare.sh) and moves/s at 1024 and 4096 replicas against the 2-core CPU's
#    (bench/structured_gpu.py).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python3}"
LOG="${OUT:-/tmp}/gpu_check.txt"
{
  echo "== environment"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  "$PY" -c "import sys, numpy, cupy; print(sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__, 'gpu', cupy.cuda.is_available())"
  if [ -d bench/.carry/wheels ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site bench/.carry/wheels/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/site"
  fi
  echo "== tests (CuPy vs numpy)"
  timeout 180 "$PY" -m pytest -q --noconftest -p no:cacheprovider -o addopts="" -m gpu -rs \
    tests/test_native_gpu.py
  echo "tests exit: $?"
  echo "== benchmark"
  timeout 120 "$PY" bench/solvers.py --gpu
  echo "bench exit: $?"
  if [ -d bench/.carry/wheels ] && [ -f bench/.carry/bnn-1000.npz ]; then
    echo "== side by side with neal (time-to-target)"
    timeout 420 "$PY" bench/solvers.py --gset G22 --no-bnn --problem bench/.carry/bnn-1000.npz \
      --solvers native-gpu native-gpu-ma neal --seeds 3 --ttt-budget 15 --ttt-min-time 0
    echo "side-by-side exit: $?"
  else
    echo "== side by side with neal: skipped (run bench/gpu_prepare.sh and carry bench/.carry)"
  fi
  if [ -f bench/.carry/structured-pair.npz ]; then
    echo "== structured annealer: GPU against 2 CPU threads"
    timeout 180 "$PY" bench/structured_gpu.py --problem bench/.carry/structured-pair.npz
    echo "structured exit: $?"
  fi
} 2>&1 | tee "$LOG"
