"""The bit-level plan of a trained network, the one form that every code generator emits.

Every unit (input or neuron) has one bit in a *state* of machine words (``1`` for +1, ``0`` for
-1): the inputs fill bits ``0 .. n_inputs-1``, then each neuron group starts on a word boundary
of its own, in topological order.  A neuron reads its fan-in as *segments*: one per state word
that holds some of its source units, with a ``mask`` of those units' bits and its ``weight``
bits placed at the same positions.  Its mismatches are

    m = sum over segments of popcount((state[word] & mask) ^ weight)

and, with ``F`` arcs and bias ``b``, ``z = b + sum w v = b + F - 2 m``.  So the neuron fires
(``sign(0) = +1``) exactly when ``2 m <= limit`` with ``limit = F + b``, and an output's
pre-activation is ``limit - 2 m``.  Because each segment carries its own mask, skip connections,
slices and windows need no gathering: they are just other words and other masks.  (A ternary
weight 0 will be a cleared mask bit and one arc fewer in ``limit``; integer inputs, one plane
of bits per input bit.)

:meth:`BitPlan.predict` replays the plan with numpy, so the plan itself is checked against the
forward pass on any machine, with or without a C compiler.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qubonn.errors import ExportError
from qubonn.modelfile import TrainedModel

#: The word widths the generators emit: 32 (any 32-bit microcontroller) or 64.
WORD_BITS = (32, 64)


@dataclass(frozen=True)
class GroupPlan:
    """One neuron group: where its bits live and the segments each neuron reads.

    ``word`` and ``mask`` are (rows, segments) with one row when every neuron reads the same
    words with the same masks (dense sources, slices: ``shared``), else one row per neuron
    (windows).  ``weight`` is (size, segments); unused segments have mask 0 and weight 0."""

    name: str
    lo: int  # first neuron, in the network's topological numbering
    size: int
    bit: int  # first state bit of the group's activations (a multiple of the word size)
    output: bool
    word: np.ndarray  # (rows, segments) int64
    mask: np.ndarray  # (rows, segments) uint64
    weight: np.ndarray  # (size, segments) uint64
    limit: np.ndarray  # (size,) int64: fan-in + bias; fires iff 2 * mismatches <= limit

    @property
    def shared(self) -> bool:
        return self.word.shape[0] == 1

    @property
    def segments(self) -> int:
        return self.word.shape[1]


@dataclass(frozen=True)
class BitPlan:
    """A trained network as state words and segments (see the module docstring)."""

    word_bits: int
    n_inputs: int
    state_words: int
    n_outputs: int
    groups: tuple[GroupPlan, ...]

    @property
    def n_classes(self) -> int:
        return 2 if self.n_outputs == 1 else self.n_outputs

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class index per sample of +-1 inputs X (N, n_inputs), computed from the plan alone:
        the numpy twin of the generated code."""
        X = np.asarray(X)
        state = np.zeros((X.shape[0], self.state_words), dtype=np.uint64)
        _set_bits(state, 0, X > 0, self.word_bits)
        out_z: list[np.ndarray] = []
        out_fire: list[np.ndarray] = []
        for g in self.groups:
            read = state[:, g.word] & g.mask  # (N, rows, segments)
            m = np.bitwise_count(read ^ g.weight).sum(axis=2, dtype=np.int64)  # (N, size)
            fire = 2 * m <= g.limit
            _set_bits(state, g.bit, fire, self.word_bits)
            if g.output:
                out_z.append(g.limit - 2 * m)
                out_fire.append(fire)
        if self.n_outputs == 1:
            return np.concatenate(out_fire, axis=1)[:, 0].astype(np.int64)
        return np.argmax(np.concatenate(out_z, axis=1), axis=1).astype(np.int64)


def _set_bits(state: np.ndarray, first: int, bits: np.ndarray, word_bits: int) -> None:
    """OR the (N, k) booleans ``bits`` into ``state`` at bit positions first .. first+k-1."""
    for k in range(bits.shape[1]):
        pos = first + k
        state[:, pos // word_bits] |= bits[:, k].astype(np.uint64) << np.uint64(pos % word_bits)


def check_model_weights(model: TrainedModel) -> None:
    """Refuse what the generators cannot express, naming the field: weights other than
    -1/+1 (ternary weights are not in the model format yet), biases other than -1/+1/0."""
    net = model.network
    w = np.asarray(model.weights.w)
    b = np.asarray(model.weights.b)
    if w.shape != (net.n_arcs,) or b.shape != (net.n_neurons,):
        raise ExportError(
            f"the model has {w.size} weights and {b.size} biases; its network needs "
            f"{net.n_arcs} and {net.n_neurons}"
        )
    bad = np.flatnonzero(np.abs(w) != 1)
    if bad.size:
        raise ExportError(
            f"weights[{bad[0]}] is {w[bad[0]]}; the exporters handle weights -1 and +1 only"
        )
    ok = np.where(net.has_bias, np.abs(b) == 1, b == 0)
    if not ok.all():
        i = int(np.argmax(~ok))
        need = "-1 or +1" if net.has_bias[i] else "0 (the neuron has no bias)"
        raise ExportError(f"biases[{i}] ({net.neuron_names[i]}) is {b[i]}; it must be {need}")


def build_plan(model: TrainedModel, word_bits: int = 32) -> BitPlan:
    """The bit plan of a trained model, with ``word_bits``-bit state words (32 or 64)."""
    if word_bits not in WORD_BITS:
        raise ExportError(f"word_bits must be 32 or 64, not {word_bits!r}")
    check_model_weights(model)
    net = model.network
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
    w_bits = np.append(np.asarray(model.weights.w) > 0, False)
    b = np.asarray(model.weights.b).astype(np.int64)
    groups = tuple(
        _group_plan(net, blk, first, position, w_bits, b, word_bits)
        for blk, first in zip(blocks, firsts, strict=True)
    )
    return BitPlan(
        word_bits=word_bits,
        n_inputs=n_in,
        state_words=max(1, next_bit // word_bits),
        n_outputs=net.n_outputs,
        groups=groups,
    )


def _round_up(n: int, k: int) -> int:
    return -(-n // k) * k


def _group_plan(net, blk, first_bit, position, w_bits, b, word_bits) -> GroupPlan:
    """Segments of one block: runs of fan-in positions in the same state word (the fan-in is
    sorted by unit, and unit positions grow with the unit id, so each run is contiguous)."""
    size = blk.hi - blk.lo
    fan = blk.src.shape[1]
    valid = np.arange(fan)[None, :] < blk.fan_in[:, None]  # padded arcs only in a SubNetwork
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
    one = np.where(valid, np.uint64(1), np.uint64(0)) << shift
    np.bitwise_or.at(mask, (rows, seg), one)
    np.bitwise_or.at(weight, (rows, seg), one * w_bits[blk.arcs].astype(np.uint64))
    if np.all(word == word[0]) and np.all(mask == mask[0]):
        word, mask = word[:1], mask[:1]
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
        limit=blk.fan_in.astype(np.int64) + b[blk.lo : blk.hi],
    )
