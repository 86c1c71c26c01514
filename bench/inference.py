"""Benchmark: plain (einsum) vs bit-packed (XNOR-popcount) forward pass.

Run with ``python bench/inference.py [--batch 10000] [--repeats 7]``.  Prints the median time of
each path over the repeats and the speed-up, after checking that both give the same activations.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qubonn.inference import forward_packed
from qubonn.language import load_spec
from qubonn.network import Network, NetworkBuilder, Source

ROOT = Path(__file__).resolve().parent.parent


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def networks() -> dict[str, Network]:
    """The benchmarked networks: the digits example, a wider dense net, a windowed net."""
    return {
        "examples/digits.qnn (64-4-1)": load_spec(ROOT / "examples" / "digits.qnn"),
        "wide 256-64-10": NetworkBuilder()
        .input("x", 256)
        .hidden("h", 64, "x")
        .output("y", 10, "h")
        .build(),
        "local 16x16 window 4x4 stride 2 -> 10": NetworkBuilder()
        .input("x", (16, 16))
        .hidden("loc", (7, 7), Source("x", window=(4, 4), stride=(2, 2)))
        .output("y", 10, "loc")
        .build(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"batch {args.batch}, median of {args.repeats} repeats")
    print(f"{'network':40s} {'plain ms':>10s} {'packed ms':>10s} {'speed-up':>9s}")
    for name, net in networks().items():
        weights = net.random_weights(1)
        X = rng.choice(np.array([-1, 1], dtype=np.int8), size=(args.batch, net.n_inputs))
        if not np.array_equal(net.forward(X, weights), forward_packed(net, X, weights)):
            raise SystemExit(f"{name}: packed and plain activations differ")
        plain = _median_seconds(lambda: net.forward(X, weights), args.repeats)  # noqa: B023
        packed = _median_seconds(lambda: forward_packed(net, X, weights), args.repeats)  # noqa: B023
        print(f"{name:40s} {plain * 1e3:10.2f} {packed * 1e3:10.2f} {plain / packed:8.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
