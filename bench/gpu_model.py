"""A model of the structured kernel's speed on paper: bytes per move, and the rate they allow.

For each problem of bench/gpu_check.py's rate rows (written by ``gpu_check.py --export``), the
bytes one move of ``_kernels_structured_cuda`` reads and writes, counted from its access pattern
on the model's state (every sample's pre-activation and source; the output's loss arrays; the
samples whose sign changes carry into the neurons below, their share measured at a random
network and at an annealed one), for a rejected move and for an accepted one (which reads the
samples again and writes them).  Then the moves/s that a memory bandwidth allows:

* an H200's 4.8 TB/s, at 1024 replicas (and whether their state fits its 50 MB L2: then DRAM
  is not what limits it);
* this machine's own bandwidth (a numpy copy of 256 MB, read + write), against which the CPU
  kernel's measured rate (from the export) is set.

    python bench/gpu_model.py --carry bench/.carry
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from gpu_check import BETAS, load_model  # noqa: E402

from qubonn.backends.native import structured  # noqa: E402

H200_BANDWIDTH = 4.8e12
H200_L2 = 50 * 2**20


def copy_bandwidth(size: int = 256 * 2**20, repeats: int = 5) -> float:
    """Bytes/s of a numpy copy (read + write), the best of ``repeats``."""
    a = np.ones(size // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best


def _output_bytes(model, j: int) -> int:
    """Bytes the loss terms of neuron j read per sample (terms(), mc_loss())."""
    if model.mc[j]:
        return 2 * (4 + 4 * model.mc_outs.size) + 4 + 4  # two mc_loss, ycls, bucket
    if model.clamped[j]:
        return 16  # lo, hi, ysign, bucket
    if model.out01[j]:
        return 8  # ysign, bucket
    return 0


def move_bytes(model, params: np.ndarray) -> tuple[float, float]:
    """(bytes of a rejected move, bytes of an accepted one), averaged over every parameter of
    the network ``params``, from the kernel's reads and writes (4-byte z, 1-byte inputs)."""
    state = structured.state_from_params(model, params[None, :])
    z = state.z[0].astype(np.int64)  # (J, N)
    n_in, N = model.network.n_inputs, model.n_samples
    rejected = accepted = 0.0
    for p in range(model.n_params):
        j, s = int(model.param_neuron[p]), int(model.param_src[p])
        if s < 0:  # a bias: no source read
            src_bytes, src = 0, 1
        elif s < n_in:
            src_bytes, src = 1, model.XT[s].astype(np.int64)
        else:
            src_bytes, src = 4, np.where(z[s - n_in] >= 0, 1, -1)
        zn = z[j] - 2 * params[p] * src
        flips = int(np.count_nonzero((z[j] >= 0) != (zn >= 0)))
        has_out = model.out_ptr[j + 1] > model.out_ptr[j]
        carry = 0
        if has_out:  # each flipped sample reads the z and loss arrays of the neurons fed
            dst = model.out_dst[model.out_ptr[j]:model.out_ptr[j + 1]]
            carry = flips * sum(4 + _output_bytes(model, int(k)) for k in np.unique(dst))
        evaluate = N * (4 + src_bytes + _output_bytes(model, j)) + carry
        rejected += evaluate
        accepted += evaluate + N * (4 + src_bytes + 4) + flips * 8 * int(has_out)
    return rejected / model.n_params, accepted / model.n_params


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--carry", default="bench/.carry", help="a folder written by --export")
    args = ap.parse_args(argv)
    paths = sorted((pathlib.Path(args.carry) / "cases").glob("rate-structured-*.npz"))
    if not paths:
        ap.error(f"--carry {args.carry}: no rate-structured-*.npz; run gpu_check.py --export")
    bw = copy_bandwidth()
    print(f"this machine's copy bandwidth (numpy, 256 MB, read + write): {bw / 1e9:.1f} GB/s\n")
    print("| problem | state | bytes/move rejected | accepted | H200 bound at 4.8 TB/s "
          "(moves/s) | state of 1024 replicas | CPU bound (moves/s) | CPU measured | "
          "CPU / bound |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        model, d = load_model(path)
        cpu = float(d["cpu_rate"])
        rng = np.random.default_rng(0)
        random = np.where(rng.random(model.n_params) < 0.5, 1, -1).astype(np.int8)
        annealed = structured.anneal_structured(
            model, device="cpu", num_reads=2, num_sweeps=30, seed=0, beta_range=BETAS
        ).params[0]
        working = 1024 * model.n_neurons * model.n_samples * 4
        fits = "fits L2" if working < H200_L2 else "over L2"
        for label, params in (("random", random), ("annealed", annealed)):
            rej, acc = move_bytes(model, params)
            print(f"| {d['name']} | {label} | {rej:.0f} | {acc:.0f} | "
                  f"{H200_BANDWIDTH / acc:.3g} - {H200_BANDWIDTH / rej:.3g} | "
                  f"{working / 2**20:.1f} MB, {fits} | {bw / acc:.3g} - {bw / rej:.3g} | "
                  f"{cpu:.3g} | {cpu / (bw / rej):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
