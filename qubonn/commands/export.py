"""qubonn export MODEL --format c|onnx --out DIR: a trained network for inference elsewhere."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from qubonn.commands._output import add_force_argument, check_output
from qubonn.errors import OutputError

FORMATS_HELP = """\
formats:
  c     NAME.h and NAME.c: plain C99 with no heap, no floating point and nothing beyond
        <stdint.h>; const weight tables (flash), XNOR-popcount over 32- or 64-bit words.
        Needs only a C99 compiler on your side (e.g. cc -std=c99 -O2 -c NAME.c); the header
        declares int NAME_predict(const int8_t *x), NAME_predict_scores(x, scores) and
        NAME_predict_packed(const uint8_t *bits) and states the flash and RAM the model needs.
        Networks with integer inputs ('values lo..hi') take const int16_t *x instead (checked
        against the declared values; NAME_first_bad_input(x) says which is out of range).
        --style and --word-bits apply here.
  onnx  NAME.onnx: standard operators (opset 13): MatMul, Gather, GreaterOrEqual/Where
        (sign(0) = +1), ArgMax (lowest index among ties); input x float32 (N, inputs) of -1/+1
        or the declared integer values, outputs class_index and scores. Needs the onnx
        package: pip install -e ".[onnx]" (clone); run it with onnxruntime (pip install
        onnxruntime).

Both compute exactly what the model's forward pass computes; the zeros of ternary groups are
dropped (only the links that remain count). Existing files in --out are replaced only with
--force; --out is created if its parent folder exists.
"""


def add_parser(subparsers) -> None:
    from qubonn.export.c import DEFAULT_NAME, STYLES

    p = subparsers.add_parser(
        "export",
        help="export a trained model as dependency-free C or ONNX",
        description="Write a trained model (a file from qubonn train) as code for inference "
        "elsewhere: C for microcontrollers and any C toolchain, or ONNX for runtimes.",
        epilog=FORMATS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="model file written by qubonn train")
    p.add_argument(
        "--format", choices=("c", "onnx"), default="c", help="what to write (default %(default)s)"
    )
    p.add_argument("--out", required=True, help="folder for the files (created if missing)")
    p.add_argument(
        "--name",
        default=DEFAULT_NAME,
        help="base name of the files and, in C, prefix of every symbol; a C identifier "
        "(default %(default)s)",
    )
    p.add_argument(
        "--style",
        choices=STYLES,
        default="tables",
        help="C only: tables (compact const tables and one loop; smaller) or code "
        "(straight-line code, weights as immediates; faster, larger) (default %(default)s)",
    )
    p.add_argument(
        "--word-bits",
        type=int,
        choices=(32, 64),
        default=32,
        help="C only: machine word of the bit-packed state (default %(default)s; 64 is faster "
        "on 64-bit CPUs)",
    )
    add_force_argument(p)
    p.set_defaults(func=run)


def _check_out_dir(out: str, names: list[str], model_path: str, force: bool) -> Path:
    """The --out folder: an existing writable folder, or one to create in an existing one;
    the files to write there must not exist (unless --force) nor be the model file."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--out {folder} is a file; give a folder for the exported files")
    if folder.is_dir():
        for fname in names:
            check_output(folder / fname, [("model file", model_path)], force=force)
        return folder
    parent = folder.parent if str(folder.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"--out {folder}: the folder '{parent}' does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"--out {folder}: the folder '{parent}' is not writable")
    return folder


def run(args: argparse.Namespace) -> int:
    import qubonn
    from qubonn.export.c import check_c_name

    name = check_c_name(args.name)
    names = [f"{name}.h", f"{name}.c"] if args.format == "c" else [f"{name}.onnx"]
    model = qubonn.load_model(args.model)
    folder = _check_out_dir(args.out, names, args.model, args.force)
    if args.format == "c":
        from qubonn.export.c import generate_c

        made = generate_c(
            model, name, style=args.style, word_bits=args.word_bits, origin=Path(args.model).name
        )
        files: dict[str, str | bytes] = dict(made.files())
        summary = (
            f"{made.links} links; {made.data_bytes} bytes of const data (flash) plus code, "
            f"{made.stack_bytes} bytes of stack; style {args.style}, {args.word_bits}-bit words"
        )
    else:
        from qubonn.export.onnx import generate_onnx

        files = {names[0]: generate_onnx(model, name)}
        summary = f"{len(files[names[0]])} bytes, opset 13"
    from qubonn.export._files import write_files

    try:
        folder.mkdir(exist_ok=True)
    except OSError as e:
        raise OutputError(f"--out {folder}: cannot create the folder: {e.strerror}") from None
    paths = write_files(folder, files, overwrite=True)
    net = model.network
    n_classes = 2 if net.n_outputs == 1 else net.n_outputs
    print(f"wrote {', '.join(str(p) for p in paths)}")
    kind = "integer inputs" if net.has_integer_inputs else "inputs"
    print(f"model: {net.n_inputs} {kind}, {n_classes} classes; {summary}")
    return 0
