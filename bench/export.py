"""Benchmark: the exported C against numpy's forward passes, and the model's bytes.

Run with ``python bench/export.py [--batch 10000] [--repeats 7] [--quick]``.  On one core
(numpy and BLAS limited to one thread, the C single-threaded), per network:

* inferences per second: the exported C (``NAME_predict`` on int8 inputs, one sample per call,
  each style and word size, ``cc -O2``; CPU time by ``clock()``), numpy's bit-packed forward
  pass and its plain forward pass (each on a whole batch, their best case), medians over the
  repeats; every path's predictions are checked equal before timing;
* bytes: the compiled object (text + data, x86-64 ``-O2``; Cortex-M4 ``-Os`` where
  ``arm-none-eabi-gcc`` is installed), the JSON model file, the ONNX file (where ``onnx`` is
  installed) and a float32 network of the same shape (4 bytes a parameter).

Ratios are printed against numpy's bit-packed pass (speed) and the float32 network (bytes).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from qubonn.export.c import generate_c  # noqa: E402
from qubonn.export.toolchain import compile_c, find_c_compiler  # noqa: E402
from qubonn.inference import PackedForward  # noqa: E402
from qubonn.language import load_spec  # noqa: E402
from qubonn.modelfile import TrainedModel, save_model  # noqa: E402
from qubonn.network import Network, NetworkBuilder, Source  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: (style, word bits, x86-64 flags): portable -O2 (SWAR popcount), then the CPU's own popcount
VARIANTS = (
    ("tables", 32, "-O2"),
    ("tables", 64, "-O2"),
    ("code", 32, "-O2"),
    ("code", 64, "-O2"),
    ("tables", 32, "-O2 -march=native"),
    ("tables", 64, "-O2 -march=native"),
    ("code", 32, "-O2 -march=native"),
    ("code", 64, "-O2 -march=native"),
)

HARNESS = """\
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "m.h"

/* argv: N repeats rounds; stdin: N rows of m_N_INPUTS int8, then the same rows packed
   (m_N_INPUT_BYTES each). Prints the first round's classes, then per round the CPU seconds of
   `repeats` passes over the N samples through m_predict and through m_predict_packed. */
int main(int argc, char **argv)
{
    long n, reps, rounds, r, k, i;
    int8_t *x;
    uint8_t *b;
    unsigned long sum = 0;
    if (argc < 4) return 2;
    n = atol(argv[1]); reps = atol(argv[2]); rounds = atol(argv[3]);
    x = malloc((size_t)n * m_N_INPUTS);
    b = malloc((size_t)n * m_N_INPUT_BYTES);
    if (!x || fread(x, 1, (size_t)n * m_N_INPUTS, stdin) != (size_t)n * m_N_INPUTS) return 3;
    if (!b || fread(b, 1, (size_t)n * m_N_INPUT_BYTES, stdin) != (size_t)n * m_N_INPUT_BYTES)
        return 4;
    for (i = 0; i < n; i++) printf("%d ", m_predict(x + i * m_N_INPUTS));
    printf("\\n");
    for (i = 0; i < n; i++) printf("%d ", m_predict_packed(b + i * m_N_INPUT_BYTES));
    printf("\\n");
    for (r = 0; r < rounds; r++) {
        clock_t t0 = clock(), t1;
        for (k = 0; k < reps; k++)
            for (i = 0; i < n; i++) sum += (unsigned long)m_predict(x + i * m_N_INPUTS);
        t1 = clock();
        for (k = 0; k < reps; k++)
            for (i = 0; i < n; i++) sum += (unsigned long)m_predict_packed(b + i * m_N_INPUT_BYTES);
        printf("%.9f %.9f\\n", (double)(t1 - t0) / CLOCKS_PER_SEC,
               (double)(clock() - t1) / CLOCKS_PER_SEC);
    }
    fprintf(stderr, "checksum %lu\\n", sum);
    free(x);
    free(b);
    return 0;
}
"""


def networks() -> dict[str, Network]:
    """The shipped examples and the two larger networks of bench/inference.py."""
    nets = {
        f"examples/{f}.qnn": load_spec(ROOT / "examples" / f"{f}.qnn")
        for f in ("digits", "digits10", "digits10_local", "skip")
    }
    nets["wide 256-64-10"] = (
        NetworkBuilder().input("x", 256).hidden("h", 64, "x").output("y", 10, "h").build()
    )
    nets["local 16x16 w4x4 s2 -> 10"] = (
        NetworkBuilder()
        .input("x", (16, 16))
        .hidden("loc", (7, 7), Source("x", window=(4, 4), stride=(2, 2)))
        .output("y", 10, "loc")
        .build()
    )
    return nets


def _median_rate(fn, n: int, repeats: int) -> float:
    """Samples per second of ``fn`` (which scores n samples), median over repeats (CPU time)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return n / max(statistics.median(times), 1e-9)


def _object_bytes(size_tool: str, obj: Path) -> int:
    """text + data of an object file, as binutils' size reports them."""
    out = subprocess.run([size_tool, str(obj)], capture_output=True, text=True, check=True)
    text, data = out.stdout.splitlines()[1].split()[:2]
    return int(text) + int(data)


def _c_run(folder: Path, model, X: np.ndarray, variant: tuple, repeats: int, cc):
    """(inferences per second from int8 inputs, from packed bytes, x86 object bytes, Cortex-M4
    object bytes or None) of one variant;
    checks the C's predictions against the model first."""
    style, bits, cflags = variant
    flags = tuple(cflags.split())
    made = generate_c(model, "m", style=style, word_bits=bits)
    for fname, text in made.files().items():
        (folder / fname).write_text(text)
    (folder / "main.c").write_text(HARNESS)
    exe = compile_c([folder / "main.c", folder / "m.c"], folder / "main", flags=flags, compiler=cc)
    obj = compile_c([folder / "m.c"], folder / "m.o", flags=flags, compiler=cc, object_only=True)
    arm = None
    if shutil.which("arm-none-eabi-gcc") and shutil.which("arm-none-eabi-size"):
        arm_obj = compile_c(
            [folder / "m.c"],
            folder / "m_arm.o",
            flags=("-Os", "-mcpu=cortex-m4", "-mthumb"),
            compiler=["arm-none-eabi-gcc"],
            object_only=True,
        )
        arm = _object_bytes("arm-none-eabi-size", arm_obj)
    n = len(X)
    reps = max(1, 200_000 // n)
    packed = np.packbits(X > 0, axis=1, bitorder="little")
    done = subprocess.run(
        [str(exe), str(n), str(reps), str(repeats)],
        input=X.astype(np.int8).tobytes() + packed.tobytes(),
        capture_output=True,
        check=True,
    )
    lines = done.stdout.decode().splitlines()
    want = model.network.predict_classes(X, model.weights)
    for line in lines[:2]:
        if not np.array_equal(np.array(line.split(), dtype=np.int64), want):
            raise SystemExit(f"the exported C ({variant}) disagrees with the model")
    times = np.array([line.split() for line in lines[2:]], dtype=float)
    rates = n * reps / np.maximum(np.median(times, axis=0), 1e-9)
    return rates[0], rates[1], _object_bytes("size", obj), arm


def _onnx_bytes(model) -> int | None:
    try:
        from qubonn.export.onnx import generate_onnx

        return len(generate_onnx(model))
    except Exception:  # the onnx package is optional
        return None


def bench_network(name: str, net: Network, args, cc, folder: Path) -> list[str]:
    """The table rows of one network."""
    weights = net.random_weights(1)
    model = TrainedModel(net, weights, {"classes": list(range(max(2, net.n_outputs)))})
    X = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (args.batch, net.n_inputs))
    packed = PackedForward(net, weights)
    want = net.predict_classes(X, weights)
    if not np.array_equal(want, net.predict_classes(X, weights, packed=True)):
        raise SystemExit(f"{name}: packed and plain forward passes differ")
    plain_rate = _median_rate(lambda: net.forward(X, weights), len(X), args.repeats)
    packed_rate = _median_rate(lambda: packed.run(X), len(X), args.repeats)
    json_bytes = save_model(folder / "m.json", model).stat().st_size
    float_bytes = 4 * net.n_parameters
    onnx_bytes = _onnx_bytes(model)
    rows = [
        f"| {name} | numpy plain | {plain_rate:,.0f} | {plain_rate / packed_rate:.2f}x | | | |",
        f"| {name} | numpy bit-packed | {packed_rate:,.0f} | 1.00x | | | |",
    ]
    for variant in VARIANTS if not args.quick else VARIANTS[:1]:
        rate, rate_packed, x86, arm = _c_run(
            folder, model, X[: args.c_batch], variant, args.repeats, cc
        )
        arm_text = f"{arm:,}" if arm is not None else "n/a"
        style, bits, cflags = variant
        rows.append(
            f"| {name} | C {style} {bits}-bit `{cflags}` | {rate:,.0f} | "
            f"{rate / packed_rate:.1f}x | {rate_packed:,.0f} | {x86:,} | {arm_text} |"
        )
    onnx_text = f"{onnx_bytes:,}" if onnx_bytes is not None else "n/a"
    sizes = (
        f"| {name} | {net.n_parameters:,} | {json_bytes:,} | {onnx_text} | {float_bytes:,} |"
    )
    return rows + [sizes]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=10_000, help="samples for numpy (default 10000)")
    ap.add_argument("--c-batch", type=int, default=1000, help="distinct samples the C loops over")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="one C variant, for a smoke test")
    ap.add_argument("--only", help="run only the networks whose name contains this text")
    args = ap.parse_args(argv)
    if args.batch < 1 or args.c_batch < 1 or args.repeats < 1:
        ap.error("--batch, --c-batch and --repeats must be at least 1")
    cc = find_c_compiler()
    if cc is None:
        print("no C compiler found (cc, gcc, clang or $CC): nothing to measure", file=sys.stderr)
        return 1
    speed = [
        "| network | path | inferences/s | vs numpy bit-packed | from packed bytes /s "
        "| x86-64 bytes | Cortex-M4 -Os bytes |",
        "|---|---|---|---|---|---|---|",
    ]
    sizes = [
        "| network | parameters | JSON bytes | ONNX bytes | float32 bytes |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="qubonn-bench-export-") as tmp:
        for name, net in networks().items():
            if args.only and args.only not in name:
                continue
            rows = bench_network(name, net, args, cc, Path(tmp))
            speed += rows[:-1]
            sizes.append(rows[-1])
            print(f"done: {name}", file=sys.stderr, flush=True)
    print(
        f"one core; numpy on batches of {args.batch}, the C one sample per call over "
        f"{args.c_batch} samples; medians of {args.repeats}; compiler {' '.join(cc)}"
    )
    print("\n".join(speed))
    print()
    print("\n".join(sizes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
