"""The bit-level plan of a trained network, the one form that every code generator emits.

Every unit (input or neuron) has one bit in a *state* of machine words (``1`` for +1, ``0`` for
-1): the inputs fill bits ``0 .. n_inputs-1``, then each neuron group starts on a word boundary
of its own, in topological order.  A neuron reads its +-1 fan-in as *segments*: one per state
word that holds some of its source units, with a ``mask`` of those units' bits and its
``weight`` bits placed at the same positions.  Its mismatches are

    m = sum over segments of popcount((state[word] & mask) ^ weight)

and, with ``L`` links in the segments and bias ``b``, ``z = b + sum w v = b + L - 2 m``.  So the
neuron fires (``sign(0) = +1``) exactly when ``2 m <= limit`` with ``limit = L + b``, and an
output's pre-activation is ``limit - 2 m``.  Because each segment carries its own mask, skip
connections, slices and windows need no gathering: they are just other words and other masks.

The wider domains of the language (see docs/export.md):

* a *ternary* weight 0 is a link that does not remain: its mask bit is cleared and it is not
  in ``L``, so every count (limit, table bytes, the header's links) covers the kept links only;
  a group whose neurons then have different masks keeps one row of words and masks per neuron;
* *integer* input units (``values lo..hi``) are not in the segments: a neuron that reads some
  adds ``sum x[plus] - sum x[minus]`` (its +1 and -1 links to them, as input indices) to
  ``limit - 2 m`` -- a plain integer multiply-free accumulate, exact in 32 bits when the
  pre-activation bound fits (checked).  Their state bits are set (``x > 0``) but never read.

:meth:`BitPlan.run` replays the plan with numpy, so the plan itself is checked against the
forward pass on any machine, with or without a C compiler.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qubonn.errors import ExportError
from qubonn.modelfile import TrainedModel
from qubonn.network import Network

#: The word widths the generators emit: 32 (any 32-bit microcontroller) or 64.
WORD_BITS = (32, 64)
#: The largest |pre-activation| the generated C accumulates (int32_t).
MAX_PREACTIVATION = (1 << 31) - 1


@dataclass(frozen=True)
class GroupPlan:
    """One neuron group: where its bits live and the segments each neuron reads.

    ``word`` and ``mask`` are (rows, segments) with one row when every neuron reads the same
    words with the same masks (dense sources, slices, binary weights: ``shared``), else one row
    per neuron (windows, ternary zeros).  ``weight`` is (size, segments); unused segments have
    mask 0 and weight 0.  ``int_count`` (size, 2) and ``int_index`` hold each neuron's links to
    integer input units: its ``int_count[j, 0]`` +1 links then ``int_count[j, 1]`` -1 links, as
    input indices, neuron after neuron (both empty when the group reads no integer input)."""

    name: str
    lo: int  # first neuron, in the network's topological numbering
    size: int
    bit: int  # first state bit of the group's activations (a multiple of the word size)
    output: bool
    word: np.ndarray  # (rows, segments) int64
    mask: np.ndarray  # (rows, segments) uint64
    weight: np.ndarray  # (size, segments) uint64
    limit: np.ndarray  # (size,) int64: kept +-1 links + bias; z = limit - 2 m (+ integer terms)
    int_count: np.ndarray  # (size, 2) int64, or (0, 2) for a group without integer sources
    int_index: np.ndarray  # (sum of int_count,) int64: input indices

    @property
    def shared(self) -> bool:
        return self.word.shape[0] == 1

    @property
    def segments(self) -> int:
        return self.word.shape[1]

    @property
    def integer(self) -> bool:
        """The group reads integer input units (its neurons add their integer terms)."""
        return self.int_count.shape[0] > 0

    @property
    def links(self) -> int:
        """The links its neurons keep (bits in the masks, integer terms), biases excluded."""
        return int(np.bitwise_count(self.mask).sum() * (self.size if self.shared else 1)) + int(
            self.int_index.size
        )


@dataclass(frozen=True)
class BitPlan:
    """A trained network as state words and segments (see the module docstring)."""

    word_bits: int
    n_inputs: int
    state_words: int
    n_outputs: int
    groups: tuple[GroupPlan, ...]
    integer_inputs: bool  # the network declares integer inputs: the C API takes int16_t values
    links: int  # the links the model keeps: nonzero weights and biases

    @property
    def n_classes(self) -> int:
        return 2 if self.n_outputs == 1 else self.n_outputs

    def run(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class index per sample, the outputs' pre-activations (N, n_outputs)) of inputs X
        (N, n_inputs) of the declared values, computed from the plan alone: the numpy twin of
        the generated code."""
        X = np.asarray(X).astype(np.int64)
        state = np.zeros((X.shape[0], self.state_words), dtype=np.uint64)
        _set_bits(state, 0, X > 0, self.word_bits)
        out_z: list[np.ndarray] = []
        for g in self.groups:
            read = state[:, g.word] & g.mask  # (N, rows, segments)
            m = np.bitwise_count(read ^ g.weight).sum(axis=2, dtype=np.int64)  # (N, size)
            z = g.limit - 2 * m
            if g.integer:
                z = z + X @ _dense_integer_weights(g, self.n_inputs).T
            _set_bits(state, g.bit, z >= 0, self.word_bits)
            if g.output:
                out_z.append(z)
        z = np.concatenate(out_z, axis=1)
        if self.n_outputs == 1:
            return (z[:, 0] >= 0).astype(np.int64), z
        return np.argmax(z, axis=1).astype(np.int64), z

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class index per sample (see :meth:`run`)."""
        return self.run(X)[0]


def _dense_integer_weights(g: GroupPlan, n_inputs: int) -> np.ndarray:
    """(size, n_inputs) int64: the group's integer terms as a weight matrix."""
    dense = np.zeros((g.size, n_inputs), dtype=np.int64)
    at = 0
    for j, (n_plus, n_minus) in enumerate(g.int_count.tolist()):
        dense[j, g.int_index[at : at + n_plus]] = 1
        dense[j, g.int_index[at + n_plus : at + n_plus + n_minus]] = -1
        at += n_plus + n_minus
    return dense


def _set_bits(state: np.ndarray, first: int, bits: np.ndarray, word_bits: int) -> None:
    """OR the (N, k) booleans ``bits`` into ``state`` at bit positions first .. first+k-1."""
    for k in range(bits.shape[1]):
        pos = first + k
        state[:, pos // word_bits] |= bits[:, k].astype(np.uint64) << np.uint64(pos % word_bits)


def check_model_weights(model: TrainedModel) -> None:
    """Refuse weights outside each group's domain, naming the field and the group: -1/+1 in
    binary groups, -1/0/+1 in ternary ones; biases the same, or 0 without a bias."""
    net = model.network
    w = np.asarray(model.weights.w)
    b = np.asarray(model.weights.b)
    if w.shape != (net.n_arcs,) or b.shape != (net.n_neurons,):
        raise ExportError(
            f"the model has {w.size} weights and {b.size} biases; its network needs "
            f"{net.n_arcs} and {net.n_neurons}"
        )
    arc_t = net.ternary[net.arc_dst]
    bad = np.flatnonzero(~((np.abs(w) == 1) | (arc_t & (w == 0))))
    if bad.size:
        e = int(bad[0])
        raise ExportError(
            f"weights[{e}] is {w[e]}; the arc into {net.neuron_names[net.arc_dst[e]]} is in "
            f"{_domain_text(net, int(net.arc_dst[e]))}"
        )
    ok = np.where(net.has_bias, (np.abs(b) == 1) | (net.ternary & (b == 0)), b == 0)
    if not ok.all():
        i = int(np.argmax(~ok))
        need = _domain_text(net, i) if net.has_bias[i] else "a group without biases: 0"
        raise ExportError(f"biases[{i}] ({net.neuron_names[i]}) is {b[i]}; it is in {need}")


def _domain_text(net: Network, neuron: int) -> str:
    group = net.groups[int(net.group_of[neuron])]
    if group.domain == "ternary":
        return f"ternary group '{group.name}', which takes -1, 0 or +1"
    return (
        f"binary group '{group.name}', which takes -1 or +1 (declare it 'ternary' in the spec "
        "to keep zeros)"
    )


def check_preactivation_bounds(net: Network, limit: int, what: str) -> None:
    """Refuse a network whose pre-activations can exceed ``limit`` in magnitude, naming the
    group and the integer inputs it reads (``what``: the exporter's arithmetic)."""
    bound = net.preactivation_bound
    over = np.flatnonzero(bound > limit)
    if not over.size:
        return
    j = int(over[np.argmax(bound[over])])
    group = net.groups[int(net.group_of[j])]
    read = {s.group for s in group.sources}
    wide = [i.name for i in net.inputs if i.values is not None and i.name in read]
    raise ExportError(
        f"group '{group.name}': its pre-activations reach {int(bound[j])} ({net.neuron_names[j]}), "
        f"beyond {what} ({limit}); narrow the declared values of input "
        f"{', '.join(repr(n) for n in wide) or '(none)'} or the group's fan-in"
    )


def build_plan(model: TrainedModel, word_bits: int = 32) -> BitPlan:
    """The bit plan of a trained model, with ``word_bits``-bit state words (32 or 64)."""
    if word_bits not in WORD_BITS:
        raise ExportError(f"word_bits must be 32 or 64, not {word_bits!r}")
    check_model_weights(model)
    net = model.network
    check_preactivation_bounds(net, MAX_PREACTIVATION, "32-bit integers")
    n_in = net.n_inputs
    # state bit of every unit; groups start on word boundaries, in neuron (topological) order
    position = np.empty(n_in + net.n_neurons + 1, dtype=np.int64)
    position[:n_in] = np.arange(n_in)
    next_bit = _round_up(n_in, word_bits)
    blocks = net.blocks
    firsts = []
    for blk in blocks:
        firsts.append(next_bit)
        position[n_in + blk.lo : n_in + blk.hi] = next_bit + np.arange(blk.hi - blk.lo)
        next_bit += _round_up(blk.hi - blk.lo, word_bits)
    position[-1] = 0  # the padding unit of a SubNetwork's blocks: masked out below
    w = np.append(np.asarray(model.weights.w), 0).astype(np.int64)  # the padding arc: no link
    b = np.asarray(model.weights.b).astype(np.int64)
    # units whose +-1 bit a segment reads: binary inputs and neurons (not the padding unit)
    bit_unit = np.concatenate([net.input_binary, np.ones(net.n_neurons, bool), [False]])
    groups = tuple(
        _group_plan(net, blk, first, position, w, b, bit_unit, word_bits)
        for blk, first in zip(blocks, firsts, strict=True)
    )
    return BitPlan(
        word_bits=word_bits,
        n_inputs=n_in,
        state_words=max(1, next_bit // word_bits),
        n_outputs=net.n_outputs,
        groups=groups,
        integer_inputs=net.has_integer_inputs,
        links=int(np.count_nonzero(w) + np.count_nonzero(b)),
    )


def _round_up(n: int, k: int) -> int:
    return -(-n // k) * k


def _group_plan(net, blk, first_bit, position, w, b, bit_unit, word_bits) -> GroupPlan:
    """Segments of one block: runs of fan-in positions in the same state word (the fan-in is
    sorted by unit, and unit positions grow with the unit id, so each run is contiguous)."""
    size = blk.hi - blk.lo
    fan = blk.src.shape[1]
    wa = w[blk.arcs]  # (size, fan); 0 for ternary zeros and padding arcs
    link = (wa != 0) & bit_unit[blk.src]  # the +-1 links the segments count
    pos = position[blk.src]
    words = pos // word_bits
    shift = (pos % word_bits).astype(np.uint64)
    new = np.ones((size, fan), dtype=bool)
    new[:, 1:] = words[:, 1:] != words[:, :-1]
    seg = np.cumsum(new, axis=1) - 1
    n_seg = int(seg.max()) + 1 if fan else 1
    rows = np.repeat(np.arange(size), fan).reshape(size, fan)
    word = np.zeros((size, n_seg), dtype=np.int64)
    word[rows, seg] = words  # every position of a segment has the same word
    mask = np.zeros((size, n_seg), dtype=np.uint64)
    weight = np.zeros((size, n_seg), dtype=np.uint64)
    one = np.where(link, np.uint64(1), np.uint64(0)) << shift
    np.bitwise_or.at(mask, (rows, seg), one)
    np.bitwise_or.at(weight, (rows, seg), one * (wa > 0).astype(np.uint64))
    if np.all(word == word[0]) and np.all(mask == mask[0]):
        word, mask = word[:1], mask[:1]
    int_count, int_index = _integer_terms(net, blk, wa)
    group = net.groups[int(net.group_of[blk.lo])]
    return GroupPlan(
        name=group.name,
        lo=blk.lo,
        size=size,
        bit=first_bit,
        output=bool(net.is_output[blk.lo]),
        word=word,
        mask=mask,
        weight=weight,
        limit=link.sum(axis=1).astype(np.int64) + b[blk.lo : blk.hi],
        int_count=int_count,
        int_index=int_index,
    )


def _integer_terms(net: Network, blk, wa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each neuron's +1 then -1 links to integer input units (see :class:`GroupPlan`)."""
    n_in = net.n_inputs
    src = blk.src
    is_int = (src < n_in) & ~net.input_binary[np.minimum(src, n_in - 1)] if n_in else src < 0
    if not is_int.any():
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    plus = is_int & (wa > 0)
    minus = is_int & (wa < 0)
    count = np.stack([plus.sum(axis=1), minus.sum(axis=1)], axis=1).astype(np.int64)
    index = [np.concatenate([src[j][plus[j]], src[j][minus[j]]]) for j in range(src.shape[0])]
    return count, np.concatenate(index).astype(np.int64)
