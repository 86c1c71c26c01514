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
    source = _source(plan, name, style, labels, body)
    return CSource(name, header, source, data_bytes, stack_bytes)


def _comment_text(text: str) -> str:
    """Printable ASCII that cannot end a C comment."""
    safe = "".join(c if " " <= c <= "~" else "?" for c in text)
    return safe.replace("*/", "* /")


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
    n_bytes = -(-plan.n_inputs // 8)
    guard = f"{name}_H_INCLUDED"
    return f"""\
/* {name}.h: a binary neural network exported by qubonn {qubonn.__version__}{origin_text}.
 * Generated code: do not edit; export the model again instead.
 *
 * The network, in qubonn's description language:
{spec}
 *
 * {name}_predict(x): x holds the {plan.n_inputs} inputs, each -1 or +1, in the spec's order (input
 * groups as declared, each row-major). Returns the class index 0..{plan.n_classes - 1}, whose
 * label is {name}_class_labels[index], or -1 when a value of x is neither -1 nor +1.
 * {name}_predict_packed(bits): the same inputs as bits, input i in bit i % 8 of bits[i / 8]
 * (1 for +1, 0 for -1; LSB first, as numpy.packbits(x > 0, bitorder="little")),
 * {name}_N_INPUT_BYTES bytes; bits past the last input are ignored.
 * Rules, as qubonn's forward pass: sign(0) = +1; one output predicts class 1 when it fires;
 * several predict the largest pre-activation, the lowest index among equal maxima.
{no_classes} *
 * Memory: {data_bytes} bytes of const data (flash) {code_note};
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

#define {name}_N_INPUTS {plan.n_inputs}
#define {name}_N_INPUT_BYTES {n_bytes}
#define {name}_N_CLASSES {plan.n_classes}

extern const char *const {name}_class_labels[{name}_N_CLASSES];

int {name}_predict(const int8_t *x);
int {name}_predict_packed(const uint8_t *bits);

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


def _source(plan: BitPlan, name: str, style: str, labels: list[str], body: str) -> str:
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
    label_list = ",\n    ".join(_c_string(s) for s in labels)
    return f"""\
/* {name}.c: generated by qubonn with {name}.h (see there); do not edit. Style: {style}. */
#include "{name}.h"

typedef uint{wb}_t {name}_word_t;
#define {name}_WORD_BITS {wb}u
#define {name}_STATE_WORDS {plan.state_words}u

const char *const {name}_class_labels[{name}_N_CLASSES] = {{
    {label_list}
}};

{_popcount_block(name, wb)}
{body}
int {name}_predict(const int8_t *x)
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
    return bad ? -1 : {name}_run(s);
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
    return {name}_run(s);
}}
"""


def _uint_type(max_value: int) -> tuple[str, int]:
    for bits in (8, 16, 32):
        if max_value < (1 << bits):
            return f"uint{bits}_t", bits // 8
    raise ExportError(f"a table value {max_value} does not fit 32 bits")


class _Emitter:
    """Writes the ``NAME_run(state)`` function of a plan, in either style."""

    def __init__(self, plan: BitPlan, name: str):
        self.plan = plan
        self.name = name
        self.table_bytes = 0
        self.full = (1 << plan.word_bits) - 1
        self.hex_digits = plan.word_bits // 4

    def _word(self, value: int) -> str:
        text = f"0x{int(value):0{self.hex_digits}x}"
        return f"{text}u" if self.plan.word_bits == 32 else f"UINT64_C({text})"

    def _array(self, ctype: str, ident: str, values, fmt) -> str:
        items = [fmt(v) for v in values]
        per_line = 6 if self.plan.word_bits == 64 and ctype.endswith("word_t") else 10
        lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return f"static const {ctype} {ident}[{len(items)}] = {{\n    " + ",\n    ".join(
            lines
        ) + "\n};\n"

    def _output_bit(self) -> int:
        """The state bit of the one output neuron (one-output networks)."""
        g = next(g for g in self.plan.groups if g.output)
        return g.bit

    def tables_body(self) -> str:
        """Tables for every group and a loop over them."""
        p, n = self.plan, self.name
        idx_t, idx_size = _uint_type(max(int(g.word.max()) for g in p.groups))
        lim_t, lim_size = _uint_type(max(int(g.limit.max()) for g in p.groups))
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
                f"{neuron_at}u, {g.bit}u, {int(g.output)}u}}, /* {g.name} */"
            )
            seg_at += g.word.size
            weight_at += g.weight.size
            neuron_at += g.size
        self.table_bytes = (
            seg_at * (idx_size + word_size)
            + weight_at * word_size
            + neuron_at * lim_size
            + len(p.groups) * 8 * 4
        )
        tables = (
            self._array(idx_t, f"{n}_word_index", np.concatenate(rows), str)
            + self._array(f"{n}_word_t", f"{n}_mask", np.concatenate(masks), self._word)
            + self._array(f"{n}_word_t", f"{n}_weight", np.concatenate(weights), self._word)
            + self._array(lim_t, f"{n}_limit", np.concatenate(limits), str)
        )
        multi = p.n_outputs > 1
        out_vars = "    int32_t best = 0;\n    int cls = 0, seen = 0;\n" if multi else ""
        out_step = (
            """
            if (grp->output) {
                int32_t z = (int32_t)limit - 2 * (int32_t)m;
                if (seen == 0 || z > best) {
                    best = z;
                    cls = seen;
                }
                seen++;
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
        return f"""\
/* The plan (see qubonn/export/plan.py): per group, per neuron, the state words it reads
 * (word_index), which of their bits are its fan-in (mask) and its weight bits there. Groups
 * whose neurons read the same words with the same masks share one row of word_index and mask.
 * A neuron fires iff 2 * mismatches <= limit (fan-in + bias); z = limit - 2 * mismatches. */
{tables}
struct {n}_group {{
    uint32_t size, segments, shared, segment, weight, neuron, bit, output;
}};

static const struct {n}_group {n}_groups[{len(p.groups)}] = {{
{chr(10).join(descs)}
}};

static int {n}_run({n}_word_t *s)
{{
    uint32_t g, j, k;
{out_vars}    for (g = 0; g < {len(p.groups)}u; g++) {{
        const struct {n}_group *grp = &{n}_groups[g];
        {n}_word_t acc = 0;
        for (j = 0; j < grp->size; j++) {{
            uint32_t row = grp->segment + (grp->shared ? 0u : j * grp->segments);
            const {n}_word_t *w = &{n}_weight[grp->weight + j * grp->segments];
            uint32_t limit = {n}_limit[grp->neuron + j];
            uint32_t bit = grp->bit + j;
            uint32_t m = 0;
            for (k = 0; k < grp->segments; k++)
                m += {n}_POPCOUNT((s[{n}_word_index[row + k]] & {n}_mask[row + k]) ^ w[k]);
            acc |= ({n}_word_t)(2u * m <= limit) << (j % {n}_WORD_BITS);
            if (j % {n}_WORD_BITS == {n}_WORD_BITS - 1u || j + 1u == grp->size) {{
                s[bit / {n}_WORD_BITS] = acc; /* groups start on a word: assign, never zero */
                acc = 0;
            }}{out_step}
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
        if not terms:
            return ["    m = 0;"]
        return [f"    m = {terms[0]};", *(f"    m += {t};" for t in terms[1:])]

    def _neuron_code(self, g: GroupPlan, j: int, seen: int) -> list[str]:
        """Neuron j of group g: its mismatches, its state bit, and (outputs) the class rule;
        ``seen`` is the number of outputs before it."""
        n, wb = self.name, self.plan.word_bits
        lines = self._mismatches(g, j)
        half = int(g.limit[j]) // 2  # 2m <= limit  <=>  m <= floor(limit / 2)
        bit = g.bit + j
        shift = f" << {bit % wb}" if bit % wb else ""
        op = "=" if bit % wb == 0 else "|="  # groups start on a word: assign, never zero
        lines.append(f"    s[{bit // wb}] {op} ({n}_word_t)(m <= {half}u){shift};")
        if g.output and self.plan.n_outputs == 1:
            lines.append(f"    cls = (int)(m <= {half}u);")
        elif g.output:
            lines.append(f"    z = (int32_t){int(g.limit[j])} - 2 * (int32_t)m;")
            if seen == 0:
                lines.append("    best = z;")
            else:  # a strict '>': the lowest index among equal maxima
                lines.append(f"    if (z > best) {{ best = z; cls = {seen}; }}")
        return lines

    def code_body(self) -> str:
        """One statement per segment; the weights as immediates."""
        n = self.name
        multi = self.plan.n_outputs > 1
        lines = [f"static int {n}_run({n}_word_t *s)", "{", "    uint32_t m;"]
        lines.append("    int32_t z, best = 0;\n    int cls = 0;" if multi else "    int cls = 0;")
        seen = 0
        for g in self.plan.groups:
            lines.append(f"    /* {g.name}: {g.size} neuron(s) */")
            for j in range(g.size):
                lines += self._neuron_code(g, j, seen)
                seen += int(g.output)
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
