"""Dependency-free C99 for a trained network: ``NAME.h`` and ``NAME.c``.

The generated code uses no heap, no floating point and nothing beyond ``<stdint.h>``; the
weights are ``const`` (flash on a microcontroller) and the activations one bit each in a state
array on the stack.  It runs the plan of :mod:`qubonn.export.plan` (XNOR-popcount over 32- or
64-bit words) in one of two styles:

* ``tables`` (the default): the segments as compact ``const`` tables walked by one small loop;
  flash grows by the table bytes only.
* ``code``: straight-line code, one statement per segment with the weights as immediates; no
  loop overhead, larger.

``bench/export.py`` measures both (docs/export.md); the popcount is portable (SWAR), or the
compiler's builtin where the target has the instruction (``__POPCNT__``), or the caller's own
``NAME_POPCOUNT`` macro.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qubonn.errors import ExportError
from qubonn.export._files import write_files
from qubonn.export.plan import BitPlan, GroupPlan, build_plan
from qubonn.modelfile import TrainedModel

STYLES = ("tables", "code")
DEFAULT_NAME = "qubonn_model"

#: C99, C11 and C23 keywords: a model name may not be one of them.
C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic
    _Generic _Noreturn _Static_assert _Thread_local alignas alignof bool constexpr false nullptr
    static_assert thread_local true typeof typeof_unqual _BitInt _Decimal32 _Decimal64
    _Decimal128""".split()
)


def check_c_name(name: Any) -> str:
    """``name`` if it can prefix the generated identifiers and name the files: a C identifier,
    not a keyword, not reserved to the implementation (``_X...``, ``__...``)."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ExportError(
            f"--name {name!r} is not a C identifier; use letters, digits and '_', not starting "
            f"with a digit (e.g. {DEFAULT_NAME})"
        )
    if name in C_KEYWORDS:
        raise ExportError(f"--name {name!r} is a C keyword; choose another name")
    if re.match(r"_[A-Z_]", name):
        raise ExportError(
            f"--name {name!r} starts with '_' and a capital or a second '_', which C reserves "
            "for the compiler and its library; choose another name"
        )
    return name


@dataclass(frozen=True)
class CSource:
    """The generated files and what the model needs on the target."""

    name: str
    header: str
    source: str
    data_bytes: int  # const tables and labels (flash), without the code
    stack_bytes: int  # the activation state on the stack (RAM), without a few locals
    links: int  # the links the model keeps (nonzero weights and biases): what the tables hold

    def files(self) -> dict[str, str]:
        return {f"{self.name}.h": self.header, f"{self.name}.c": self.source}


def labels_of(model: TrainedModel) -> list[str]:
    """The class labels as text (numbers as JSON writes them); the indices without classes."""
    classes = model.metadata.get("classes")
    n = 2 if model.network.n_outputs == 1 else model.network.n_outputs
    if classes is None:
        return [str(i) for i in range(n)]
    return [c if isinstance(c, str) else json.dumps(c) for c in classes]


def generate_c(
    model: TrainedModel,
    name: str = DEFAULT_NAME,
    *,
    style: str = "tables",
    word_bits: int = 32,
    origin: str = "",
) -> CSource:
    """The C header and source of ``model`` (``origin``: where it came from, for the comment)."""
    name = check_c_name(name)
    if style not in STYLES:
        raise ExportError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    plan = build_plan(model, word_bits)
    labels = labels_of(model)
    emit = _Emitter(plan, name)
    body = emit.tables_body() if style == "tables" else emit.code_body()
    # the labels' text and one pointer each (4 bytes on a 32-bit target)
    label_bytes = sum(len(s.encode("utf-8")) + 1 + 4 for s in labels)
    data_bytes = emit.table_bytes + label_bytes
    stack_bytes = plan.state_words * word_bits // 8
    header = _header(model, plan, name, style, origin, labels, data_bytes, stack_bytes)
    popcount = _popcount_block(name, word_bits) if emit.uses_popcount else ""
    source = _source(model, plan, name, style, labels, popcount + body)
    return CSource(name, header, source, data_bytes, stack_bytes, plan.links)


def _comment_text(text: str) -> str:
    """Printable ASCII that cannot end a C comment."""
    safe = "".join(c if " " <= c <= "~" else "?" for c in text)
    return safe.replace("*/", "* /")


def _input_ranges(net) -> list[tuple[str, int, int, int | None, int | None]]:
    """(name, first index, size, lo, hi) per input group; lo/hi None for -1/+1 inputs."""
    out, first = [], 0
    for inp in net.inputs:
        lo, hi = inp.values if inp.values is not None else (None, None)
        out.append((inp.name, first, inp.size, lo, hi))
        first += inp.size
    return out


def _api_text(net, plan: BitPlan, name: str) -> str:
    """The header comment's description of the functions and the inputs they take."""
    rules = (
        " * Rules, as qubonn's forward pass: sign(0) = +1; one output predicts class 1 when it "
        "fires;\n * several predict the largest pre-activation, the lowest index among equal "
        "maxima.\n"
        f" * {name}_predict_scores(x, scores): the same class, and the {plan.n_outputs} output "
        "neurons'\n * pre-activations z in scores[0..N_OUTPUTS-1] (scores may be 0: not written; "
        "not written on\n * a bad input)."
    )
    if not plan.integer_inputs:
        return f"""\
 * {name}_predict(x): x holds the {plan.n_inputs} inputs, each -1 or +1, in the spec's order (input
 * groups as declared, each row-major). Returns the class index 0..{plan.n_classes - 1}, whose
 * label is {name}_class_labels[index], or -1 when a value of x is neither -1 nor +1.
 * {name}_predict_packed(bits): the same inputs as bits, input i in bit i % 8 of bits[i / 8]
 * (1 for +1, 0 for -1; LSB first, as numpy.packbits(x > 0, bitorder="little")),
 * {name}_N_INPUT_BYTES bytes; bits past the last input are ignored.
{rules}"""
    ranges = []
    for inp, first, size, lo, hi in _input_ranges(net):
        declared = "-1 or +1" if lo is None else f"integers {lo}..{hi}"
        ranges.append(
            f" *   x[{first}..{first + size - 1}]: input {_comment_text(inp)}, {declared}"
        )
    return f"""\
 * {name}_predict(x): x holds the {plan.n_inputs} inputs as int16_t, in the spec's order (input
 * groups as declared, each row-major), each in its declared values:
{chr(10).join(ranges)}
 * Returns the class index 0..{plan.n_classes - 1}, whose label is {name}_class_labels[index], or -1
 * when a value of x is outside its declared values ({name}_first_bad_input(x) says which: the
 * index of the first such value, or -1 when all are in range). The network was trained on
 * these values only: scale or clip your data to them before the call.
 * The first layer adds the integer inputs (z = b + sum of x over +1 links - sum over -1 links,
 * in int32_t); every later layer is XNOR-popcount over bit-packed activations.
{rules}"""


def _range_macros(net, name: str) -> str:
    """#defines of each input group's first index and size, and of an integer input's
    declared values (integer networks; input names that cannot be part of a C identifier get
    none)."""
    lines = []
    for inp, first, size, lo, hi in _input_ranges(net):
        if not re.fullmatch(r"[A-Za-z0-9_]+", inp):
            continue
        lines += [f"#define {name}_{inp}_FIRST {first}", f"#define {name}_{inp}_SIZE {size}"]
        if lo is not None:  # -1/+1 inputs have no range: 0 is not a value of theirs
            lines += [f"#define {name}_{inp}_MIN ({lo})", f"#define {name}_{inp}_MAX ({hi})"]
    return "\n".join(lines) + "\n"


def _header(model, plan: BitPlan, name, style, origin, labels, data_bytes, stack_bytes) -> str:
    import qubonn

    net = model.network
    spec = "\n".join(f" *   {_comment_text(line)}" for line in net.to_text().strip().splitlines())
    origin_text = f" from {_comment_text(origin)}" if origin else ""
    no_classes = (
        " *\n * The model names no classes: the labels are the class indices.\n"
        if model.metadata.get("classes") is None
        else ""
    )
    code_note = (
        "plus the table walker's code\n"
        " * (350-460 bytes on Cortex-M0/M4 at arm-none-eabi-gcc 12 -Os, measured on qubonn's "
        "examples)"
        if style == "tables"
        else "(the labels: the weights are immediates in the\n"
        " * code, whose size is the rest of the flash)"
    )
    n_params = net.n_arcs + net.n_biases
    links = (
        f" * Links: {plan.links} of {n_params} weights and biases remain (the zeros of ternary "
        "groups are\n * dropped: the tables and the code hold only the links that remain).\n"
        if net.has_ternary
        else ""
    )
    n_bytes = -(-plan.n_inputs // 8)
    guard = f"{name}_H_INCLUDED"
    if plan.integer_inputs:
        in_t = "int16_t"
        defines = f"#define {name}_N_INPUTS {plan.n_inputs}\n" + _range_macros(net, name)
        extra = f"int32_t {name}_first_bad_input(const int16_t *x);\n"
    else:
        in_t = "int8_t"
        defines = (
            f"#define {name}_N_INPUTS {plan.n_inputs}\n"
            f"#define {name}_N_INPUT_BYTES {n_bytes}\n"
        )
        extra = f"int {name}_predict_packed(const uint8_t *bits);\n"
    kind = "a neural network with integer inputs" if plan.integer_inputs else (
        "a binary neural network"
    )
    return f"""\
/* {name}.h: {kind} exported by qubonn {qubonn.__version__}{origin_text}.
 * Generated code: do not edit; export the model again instead.
 *
 * The network, in qubonn's description language:
{spec}
 *
{_api_text(net, plan, name)}
{no_classes} *
{links} * Memory: {data_bytes} bytes of const data (flash) {code_note};
 * RAM: {stack_bytes} bytes of stack for the activations ({plan.state_words} words of \
{plan.word_bits} bits) and a few
 * words of locals; no static RAM, no heap. Style: {style}. Plain C99, reentrant.
 */
#ifndef {guard}
#define {guard}

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

{defines}#define {name}_N_CLASSES {plan.n_classes}
#define {name}_N_OUTPUTS {plan.n_outputs}

extern const char *const {name}_class_labels[{name}_N_CLASSES];

int {name}_predict(const {in_t} *x);
int {name}_predict_scores(const {in_t} *x, int32_t *scores);
{extra}
#ifdef __cplusplus
}}
#endif

#endif /* {guard} */
"""


def _c_string(text: str) -> str:
    """A C string literal of ``text`` (UTF-8 bytes; octal escapes, no trigraphs)."""
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _popcount_block(name: str, word_bits: int) -> str:
    if word_bits == 32:
        builtin = "__builtin_popcount"
        swar = """\
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    return (uint32_t)((x * 0x01010101u) >> 24);"""
    else:
        builtin = "__builtin_popcountll"
        swar = """\
    x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
    x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
    x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
    return (uint32_t)((x * UINT64_C(0x0101010101010101)) >> 56);"""
    return f"""\
/* Bits set in a word: the caller's {name}_POPCOUNT if defined, else the compiler's builtin where
 * the target has the instruction, else portable bit arithmetic (SWAR). */
#ifndef {name}_POPCOUNT
#if defined(__GNUC__) && defined(__POPCNT__)
#define {name}_POPCOUNT(x) ((uint32_t){builtin}(x))
#else
static uint32_t {name}_popcount(uint{word_bits}_t x)
{{
{swar}
}}
#define {name}_POPCOUNT(x) {name}_popcount(x)
#endif
#endif
"""


def _source(model, plan: BitPlan, name: str, style: str, labels: list[str], body: str) -> str:
    wb = plan.word_bits
    label_list = ",\n    ".join(_c_string(s) for s in labels)
    if plan.integer_inputs:
        entry = _integer_entry(model.network, plan, name)
    else:
        entry = _binary_entry(plan, name)
    return f"""\
/* {name}.c: generated by qubonn with {name}.h (see there); do not edit. Style: {style}. */
#include "{name}.h"

typedef uint{wb}_t {name}_word_t;
#define {name}_WORD_BITS {wb}u
#define {name}_STATE_WORDS {plan.state_words}u

const char *const {name}_class_labels[{name}_N_CLASSES] = {{
    {label_list}
}};

{body}
{entry}"""


def _binary_entry(plan: BitPlan, name: str) -> str:
    """The public functions of a network with -1/+1 inputs: int8_t values or packed bits."""
    wb = plan.word_bits
    n_bytes = -(-plan.n_inputs // 8)
    rest = plan.n_inputs % 8
    last_line = (  # bits past the last input are ignored
        f"            if (at == {n_bytes - 1}u) byte = (uint8_t)(byte & "
        f"0x{(1 << rest) - 1:02x}u);\n"
        if rest
        else ""
    )
    input_words = -(-plan.n_inputs // wb)
    return f"""\
int {name}_predict_scores(const int8_t *x, int32_t *scores)
{{
    {name}_word_t s[{name}_STATE_WORDS];
    uint32_t i, k, bad = 0;
    /* Every state word is assigned before it is read: no zeroing, which compilers may turn
     * into a call to memset. Branch-free, a word at a time: x + 1 is 2 for +1 and 0 for -1,
     * anything else is bad. */
    for (i = 0; i < {plan.n_inputs}u; i += {name}_WORD_BITS) {{
        {name}_word_t word = 0;
        uint32_t n = {plan.n_inputs}u - i;
        if (n > {name}_WORD_BITS) n = {name}_WORD_BITS;
        for (k = 0; k < n; k++) {{
            uint8_t t = (uint8_t)(x[i + k] + 1);
            bad |= t & 0xfdu;
            word |= ({name}_word_t)(t >> 1) << k;
        }}
        s[i / {name}_WORD_BITS] = word;
    }}
    return bad ? -1 : {name}_run(s, scores);
}}

int {name}_predict(const int8_t *x)
{{
    return {name}_predict_scores(x, (int32_t *)0);
}}

int {name}_predict_packed(const uint8_t *bits)
{{
    {name}_word_t s[{name}_STATE_WORDS];
    uint32_t i, k;
    for (i = 0; i < {input_words}u; i++) {{
        {name}_word_t word = 0;
        for (k = 0; k < {wb // 8}u; k++) {{
            uint32_t at = i * {wb // 8}u + k;
            uint8_t byte = at < {n_bytes}u ? bits[at] : 0u;
{last_line}            word |= ({name}_word_t)byte << (8u * k);
        }}
        s[i] = word;
    }}
    return {name}_run(s, (int32_t *)0);
}}
"""


def _range_checks(net) -> str:
    """One loop per input group that returns the first index outside its declared values."""
    out = []
    for inp, first, size, lo, hi in _input_ranges(net):
        where = f"{first}u; i < {first + size}u; i++"
        note = _comment_text(inp)
        if lo is None:
            out.append(
                f"    for (i = {where}) /* {note}: -1 or +1 */\n"
                "        if (x[i] != -1 && x[i] != 1) return (int32_t)i;"
            )
            continue
        # int16_t holds -32768..32767 and lo >= -32767: a test against 32767 would always be
        # false (and -Wtype-limits says so), so it is left out
        test = f"x[i] < {lo}" + (f" || x[i] > {hi}" if hi < 32767 else "")
        out.append(
            f"    for (i = {where}) /* {note}: {lo}..{hi} */\n"
            f"        if ({test}) return (int32_t)i;"
        )
    return "\n".join(out)


def _integer_entry(net, plan: BitPlan, name: str) -> str:
    """The public functions of a network with integer inputs: int16_t values, range-checked."""
    return f"""\
int32_t {name}_first_bad_input(const int16_t *x)
{{
    uint32_t i;
{_range_checks(net)}
    return -1;
}}

int {name}_predict_scores(const int16_t *x, int32_t *scores)
{{
    {name}_word_t s[{name}_STATE_WORDS];
    uint32_t i, k;
    if ({name}_first_bad_input(x) >= 0) return -1;
    /* the -1/+1 inputs' bits (x > 0); integer inputs get one too, which no neuron reads.
     * Every state word is assigned before it is read: no zeroing (no memset). */
    for (i = 0; i < {plan.n_inputs}u; i += {name}_WORD_BITS) {{
        {name}_word_t word = 0;
        uint32_t n = {plan.n_inputs}u - i;
        if (n > {name}_WORD_BITS) n = {name}_WORD_BITS;
        for (k = 0; k < n; k++) word |= ({name}_word_t)(x[i + k] > 0) << k;
        s[i / {name}_WORD_BITS] = word;
    }}
    return {name}_run(s, x, scores);
}}

int {name}_predict(const int16_t *x)
{{
    return {name}_predict_scores(x, (int32_t *)0);
}}
"""


def _uint_type(max_value: int) -> tuple[str, int]:
    for bits in (8, 16, 32):
        if max_value < (1 << bits):
            return f"uint{bits}_t", bits // 8
    raise ExportError(f"a table value {max_value} does not fit 32 bits")


def _int_type(min_value: int, max_value: int) -> tuple[str, int]:
    """The narrowest C type of a table: unsigned unless a value is negative."""
    if min_value >= 0:
        return _uint_type(max_value)
    for bits in (8, 16, 32):
        if -(1 << (bits - 1)) <= min_value and max_value < (1 << (bits - 1)):
            return f"int{bits}_t", bits // 8
    raise ExportError(f"a table value {min_value} does not fit 32 bits")


#: Fields of a group's entry in the tables style (each a uint32_t).
_GROUP_FIELDS = ("size", "segments", "shared", "segment", "weight", "neuron", "bit", "output",
                 "integer")


class _Emitter:
    """Writes the ``NAME_run(state[, x], scores)`` function of a plan, in either style."""

    def __init__(self, plan: BitPlan, name: str):
        self.plan = plan
        self.name = name
        self.table_bytes = 0
        self.uses_popcount = False  # the code style may have no segment at all
        self.full = (1 << plan.word_bits) - 1
        self.hex_digits = plan.word_bits // 4
        self.signature = (
            f"static int {name}_run({name}_word_t *s, "
            + ("const int16_t *x, " if plan.integer_inputs else "")
            + "int32_t *scores)"
        )

    def _word(self, value: int) -> str:
        text = f"0x{int(value):0{self.hex_digits}x}"
        return f"{text}u" if self.plan.word_bits == 32 else f"UINT64_C({text})"

    def _array(self, ctype: str, ident: str, values, fmt) -> str:
        items = [fmt(v) for v in values] or ["0"]  # C has no empty arrays
        per_line = 6 if self.plan.word_bits == 64 and ctype.endswith("word_t") else 10
        lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return f"static const {ctype} {ident}[{len(items)}] = {{\n    " + ",\n    ".join(
            lines
        ) + "\n};\n"

    def _output_bit(self) -> int:
        """The state bit of the one output neuron (one-output networks)."""
        g = next(g for g in self.plan.groups if g.output)
        return g.bit

    def _integer_tables(self) -> tuple[str, str, str]:
        """(tables, locals, loop step) of the integer terms; empty without integer inputs."""
        p, n = self.plan, self.name
        if not p.integer_inputs:
            return "", "", ""
        counts = np.concatenate([g.int_count.ravel() for g in p.groups if g.integer])
        index = np.concatenate([g.int_index for g in p.groups if g.integer])
        cnt_t, cnt_size = _uint_type(int(counts.max(initial=0)))
        idx_t, idx_size = _uint_type(max(p.n_inputs - 1, 0))
        self.table_bytes += counts.size * cnt_size + max(index.size, 1) * idx_size
        tables = self._array(cnt_t, f"{n}_int_count", counts, str) + self._array(
            idx_t, f"{n}_int_index", index, str
        )
        local = (
            f"    const {cnt_t} *ic = {n}_int_count;\n    const {idx_t} *ip = {n}_int_index;\n"
        )
        step = """
            if (grp->integer) { /* + the inputs of its +1 links, - those of its -1 links */
                uint32_t n_plus = *ic++, n_minus = *ic++;
                for (k = 0; k < n_plus; k++) z += x[*ip++];
                for (k = 0; k < n_minus; k++) z -= x[*ip++];
            }"""
        return tables, local, step

    def tables_body(self) -> str:
        """Tables for every group and a loop over them."""
        p, n = self.plan, self.name
        self.uses_popcount = True
        idx_t, idx_size = _uint_type(max(int(g.word.max()) for g in p.groups))
        lim_t, lim_size = _int_type(
            min(int(g.limit.min()) for g in p.groups), max(int(g.limit.max()) for g in p.groups)
        )
        word_size = p.word_bits // 8
        rows, masks, weights, limits, descs = [], [], [], [], []
        seg_at = weight_at = neuron_at = 0
        for g in p.groups:
            rows.append(g.word.ravel())
            masks.append(g.mask.ravel())
            weights.append(g.weight.ravel())
            limits.append(g.limit)
            descs.append(
                f"    {{{g.size}u, {g.segments}u, {int(g.shared)}u, {seg_at}u, {weight_at}u, "
                f"{neuron_at}u, {g.bit}u, {int(g.output)}u, {int(g.integer)}u}}, /* "
                f"{_comment_text(g.name)} */"
            )
            seg_at += g.word.size
            weight_at += g.weight.size
            neuron_at += g.size
        self.table_bytes = (
            seg_at * (idx_size + word_size)
            + weight_at * word_size
            + neuron_at * lim_size
            + len(p.groups) * len(_GROUP_FIELDS) * 4
        )
        int_tables, int_locals, int_step = self._integer_tables()
        tables = (
            self._array(idx_t, f"{n}_word_index", np.concatenate(rows), str)
            + self._array(f"{n}_word_t", f"{n}_mask", np.concatenate(masks), self._word)
            + self._array(f"{n}_word_t", f"{n}_weight", np.concatenate(weights), self._word)
            + self._array(lim_t, f"{n}_limit", np.concatenate(limits), str)
            + int_tables
        )
        multi = p.n_outputs > 1
        out_vars = "    int32_t best = 0;\n    int cls = 0;\n" if multi else ""
        pick = (
            """
                if (seen == 0 || z > best) {
                    best = z;
                    cls = (int)seen;
                }"""
            if multi
            else ""
        )
        bit = self._output_bit()
        result = (
            "cls"
            if multi
            else f"(int)((s[{bit // p.word_bits}] >> {bit % p.word_bits}u) & 1u)"
        )
        fields = ", ".join(_GROUP_FIELDS)
        return f"""\
/* The plan (see qubonn/export/plan.py): per group, per neuron, the state words it reads
 * (word_index), which of their bits are its -1/+1 links (mask) and its weight bits there.
 * Groups whose neurons read the same words with the same masks share one row of word_index
 * and mask. z = limit - 2 * mismatches (limit: links + bias), plus the integer inputs of a
 * group that reads some (int_count: +1 then -1 links per neuron; int_index: their inputs);
 * the neuron fires iff z >= 0. */
{tables}
struct {n}_group {{
    uint32_t {fields};
}};

static const struct {n}_group {n}_groups[{len(p.groups)}] = {{
{chr(10).join(descs)}
}};

{self.signature}
{{
    uint32_t g, j, k, seen = 0;
{out_vars}{int_locals}    for (g = 0; g < {len(p.groups)}u; g++) {{
        const struct {n}_group *grp = &{n}_groups[g];
        {n}_word_t acc = 0;
        for (j = 0; j < grp->size; j++) {{
            uint32_t row = grp->segment + (grp->shared ? 0u : j * grp->segments);
            const {n}_word_t *w = &{n}_weight[grp->weight + j * grp->segments];
            uint32_t bit = grp->bit + j;
            uint32_t m = 0;
            int32_t z;
            for (k = 0; k < grp->segments; k++)
                m += {n}_POPCOUNT((s[{n}_word_index[row + k]] & {n}_mask[row + k]) ^ w[k]);
            z = (int32_t){n}_limit[grp->neuron + j] - 2 * (int32_t)m;{int_step}
            acc |= ({n}_word_t)(z >= 0) << (j % {n}_WORD_BITS);
            if (j % {n}_WORD_BITS == {n}_WORD_BITS - 1u || j + 1u == grp->size) {{
                s[bit / {n}_WORD_BITS] = acc; /* groups start on a word: assign, never zero */
                acc = 0;
            }}
            if (grp->output) {{
                if (scores) scores[seen] = z;{pick}
                seen++;
            }}
        }}
    }}
    return {result};
}}
"""

    def _mismatches(self, g: GroupPlan, j: int) -> list[str]:
        """Statements summing neuron j's mismatches into m, one per segment."""
        row = 0 if g.shared else j
        terms = []
        for k in range(g.segments):
            mask, weight = int(g.mask[row, k]), int(g.weight[j, k])
            if mask == 0:
                continue
            read = f"s[{int(g.word[row, k])}]"
            if mask != self.full:
                read = f"({read} & {self._word(mask)})"
            if weight:
                read = f"{read} ^ {self._word(weight)}"
            terms.append(f"{self.name}_POPCOUNT({read})")
        self.uses_popcount |= bool(terms)
        if not terms:
            return ["    m = 0;"]
        return [f"    m = {terms[0]};", *(f"    m += {t};" for t in terms[1:])]

    @staticmethod
    def _integer_code(g: GroupPlan, j: int, at: int) -> list[str]:
        """Statements adding neuron j's integer terms (from ``int_index[at]`` on) to z; the
        first term is cast to int32_t, so that the sum is 32-bit even where int is 16 bits."""
        if not g.integer:
            return []
        n_plus, n_minus = (int(v) for v in g.int_count[j])
        lines = []
        for op, idx in (("+=", g.int_index[at : at + n_plus]),
                        ("-=", g.int_index[at + n_plus : at + n_plus + n_minus])):
            for c in range(0, idx.size, 12):
                terms = [f"x[{int(i)}]" for i in idx[c : c + 12]]
                terms[0] = f"(int32_t){terms[0]}"
                lines.append(f"    z {op} {' + '.join(terms)};")
        return lines

    def _neuron_code(self, g: GroupPlan, j: int, seen: int, at: int) -> list[str]:
        """Neuron j of group g: its mismatches, its integer terms (``at``: the first in
        ``int_index``), its state bit, and (outputs) the class rule; ``seen`` is the number of
        outputs before it."""
        n, wb = self.name, self.plan.word_bits
        lines = self._mismatches(g, j)
        limit = int(g.limit[j])
        if g.integer or g.output:
            lines.append(f"    z = (int32_t){limit} - 2 * (int32_t)m;")
            lines += self._integer_code(g, j, at)
            fires = "z >= 0"
        elif limit >= 0:
            fires = f"m <= {limit // 2}u"  # 2m <= limit  <=>  m <= floor(limit / 2)
        else:
            fires = "0"  # links 0, bias -1: z = -1 whatever the inputs (m is 0 then)
        bit = g.bit + j
        shift = f" << {bit % wb}" if bit % wb else ""
        op = "=" if bit % wb == 0 else "|="  # groups start on a word: assign, never zero
        lines.append(f"    s[{bit // wb}] {op} ({n}_word_t)({fires}){shift};")
        if g.output:
            lines.append(f"    if (scores) scores[{seen}] = z;")
        if g.output and self.plan.n_outputs == 1:
            lines.append("    cls = (int)(z >= 0);")
        elif g.output:
            if seen == 0:
                lines.append("    best = z;")
            else:  # a strict '>': the lowest index among equal maxima
                lines.append(f"    if (z > best) {{ best = z; cls = {seen}; }}")
        return lines

    def code_body(self) -> str:
        """One statement per segment and per integer term; the weights as immediates."""
        lines = [self.signature, "{", "    uint32_t m;"]
        if self.plan.integer_inputs:  # when every integer link is 0, no statement reads x
            lines.insert(2, "    (void)x;")
        multi = self.plan.n_outputs > 1
        lines.append("    int32_t z, best = 0;\n    int cls = 0;" if multi else
                     "    int32_t z;\n    int cls = 0;")
        seen = 0
        for g in self.plan.groups:
            lines.append(f"    /* {_comment_text(g.name)}: {g.size} neuron(s) */")
            at = 0
            for j in range(g.size):
                lines += self._neuron_code(g, j, seen, at)
                seen += int(g.output)
                at += int(g.int_count[j].sum()) if g.integer else 0
        lines += ["    return cls;", "}", ""]
        return "\n".join(lines)


def export_c(
    model: TrainedModel,
    out_dir: str | Path,
    name: str = DEFAULT_NAME,
    *,
    style: str = "tables",
    word_bits: int = 32,
    overwrite: bool = False,
    origin: str = "",
) -> CSource:
    """Write ``NAME.h`` and ``NAME.c`` of ``model`` into ``out_dir``; returns what was written."""
    generated = generate_c(model, name, style=style, word_bits=word_bits, origin=origin)
    write_files(out_dir, generated.files(), overwrite=overwrite)
    return generated
