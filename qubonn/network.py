"""The network model (IR): an immutable binary neural network as a directed acyclic graph.

Two views of one network:

* the *group view* (``inputs``, ``groups``), which is what the description language and the
  builder write, kept in a canonical topological order so that equal networks compare equal;
* the *unit view* (``arc_src``, ``arc_dst``, ``has_bias``, ...), flat integer arrays that the
  formulation, the compiler and the forward pass work on.

Unit numbering: units ``0 .. n_inputs-1`` are the input units (input groups concatenated in
declaration order, each flattened row-major); unit ``n_inputs + j`` is neuron ``j``.  Neurons are
numbered in topological order, group by group.  Arcs are sorted by destination neuron, then source
unit.

Tie rule: ``sign(0) = +1``.  Pre-activations of neurons with an even fan-in can be zero; such a
neuron outputs +1.  The formulation, the forward pass and the bit-packed path all use this rule.
Class rule (:func:`class_of_outputs`): one output predicts class 1 when it fires; several predict
the arg-max of their pre-activations, the *lowest* output index among equal maxima.

This module also owns the one forward pass (:meth:`Network.forward`, block by block over
:attr:`Network.blocks`; ``packed=True`` runs the bit-packed pass of :mod:`qubonn.inference` over
the same blocks), the one input validator (:func:`check_inputs`, used by the forward passes, the
formulation and both trainers), and :class:`SubNetwork` (a dropout round's model).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from qubonn.errors import NetworkError, SourcePos

#: Limits stated in the README; a spec beyond them is refused with a clear error.
MAX_GROUP_SIZE = 1 << 16
MAX_NEURONS = 1 << 18
MAX_ARCS = 1 << 24
MAX_INPUT_UNITS = 1 << 20
#: The largest magnitude of a declared integer input value (``values lo..hi``): int16 holds them.
MAX_INPUT_VALUE = (1 << 15) - 1
#: The weight domains a group may declare: binary {-1, +1} (the default) or ternary {-1, 0, +1}.
DOMAINS = ("binary", "ternary")


def _shape_str(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


@dataclass(frozen=True)
class InputSpec:
    """An input group: data units with a shape, ``(n,)`` or ``(rows, cols)``.  ``values``
    ``(lo, hi)`` declares integer inputs in ``lo .. hi`` (raw pixels, quantised levels); None
    (the default) means the binary inputs -1 and +1."""

    name: str
    shape: tuple[int, ...]
    pos: SourcePos | None = field(default=None, compare=False, repr=False)
    values: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.values is None:
            return
        lo, hi = self.values
        if not lo < hi:
            raise NetworkError(
                f"input '{self.name}': values {lo}..{hi} is empty or a single value; "
                "write lo..hi with lo < hi",
                self.pos,
            )
        if max(abs(lo), abs(hi)) > MAX_INPUT_VALUE:
            raise NetworkError(
                f"input '{self.name}': values {lo}..{hi} exceed the limit of "
                f"+-{MAX_INPUT_VALUE}; scale or quantise the data",
                self.pos,
            )

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Source:
    """Where a group takes its inputs from.

    * ``Source("x")``: every neuron sees every unit of ``x`` (fully connected);
    * ``Source("x", slice=(a, b))``: every neuron sees units ``a .. b-1`` of ``x`` (flat index);
    * ``Source("x", window=(kh, kw), stride=(sh, sw))``: a local receptive field; ``x`` must be
      2-D, the group's shape must equal the grid of window positions, and neuron ``(r, c)`` sees
      the ``kh x kw`` window whose top-left unit is ``(r*sh, c*sw)``.
    """

    group: str
    slice: tuple[int, int] | None = None
    window: tuple[int, int] | None = None
    stride: tuple[int, int] = (1, 1)
    pos: SourcePos | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.slice is not None and self.window is not None:
            raise NetworkError(
                f"source '{self.group}': use a slice or a window, not both", self.pos
            )


@dataclass(frozen=True)
class GroupSpec:
    """A group of computing neurons with a shape, its sources, a bias switch and an output flag."""

    name: str
    shape: tuple[int, ...]
    sources: tuple[Source, ...]
    bias: bool = True
    output: bool = False
    pos: SourcePos | None = field(default=None, compare=False, repr=False)
    domain: str = "binary"

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise NetworkError(
                f"group '{self.name}': unknown weight domain '{self.domain}'; "
                f"use one of {', '.join(DOMAINS)}",
                self.pos,
            )

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Weights:
    """Trained parameters: ``w`` (one per arc) and ``b`` (one per neuron with a bias, 0 for
    neurons without one), so that ``z = b + sum w v`` for every neuron.  Values are +-1 in
    binary groups and -1, 0 or +1 in ternary ones (0: the link is removed)."""

    w: np.ndarray
    b: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Weights):
            return NotImplemented
        return np.array_equal(self.w, other.w) and np.array_equal(self.b, other.b)

    __hash__ = None  # type: ignore[assignment]


class Network:
    """An immutable, validated binary neural network.  Build one with :func:`qubonn.parse`,
    :func:`qubonn.load_spec` or :class:`NetworkBuilder`."""

    def __init__(
        self,
        inputs: Sequence[InputSpec],
        groups: Sequence[GroupSpec],
        *,
        units: UnitView | None = None,
    ):
        """A network from its group view; ``units`` gives its unit view instead of deriving it
        from the groups (what :class:`SubNetwork` does: its neurons are a subset of theirs)."""
        inputs = tuple(inputs)
        groups = _validate_and_sort(inputs, tuple(groups))
        self._inputs = inputs
        self._groups = groups
        self._set_units(units if units is not None else self._build_units())

    # -- group view -------------------------------------------------------------------------
    @property
    def inputs(self) -> tuple[InputSpec, ...]:
        return self._inputs

    @property
    def groups(self) -> tuple[GroupSpec, ...]:
        """Neuron groups in canonical topological order."""
        return self._groups

    def group(self, name: str) -> GroupSpec:
        for g in self._groups:
            if g.name == name:
                return g
        raise KeyError(f"no neuron group named '{name}'")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return self._inputs == other._inputs and self._groups == other._groups

    def __hash__(self) -> int:
        return hash((self._inputs, self._groups))

    def __repr__(self) -> str:
        return (
            f"<Network inputs={self.n_inputs} neurons={self.n_neurons} arcs={self.n_arcs} "
            f"parameters={self.n_parameters} outputs={self.n_outputs}>"
        )

    def __str__(self) -> str:
        return self.to_text()

    def to_text(self) -> str:
        """Description-language source that parses back to an equal network."""
        from qubonn.language.printer import to_text

        return to_text(self)

    # -- unit view --------------------------------------------------------------------------
    def _set_units(self, u: UnitView) -> None:
        if u.arc_src.size > MAX_ARCS:
            raise NetworkError(f"the network has {u.arc_src.size} arcs, over the limit {MAX_ARCS}")
        self._n_inputs = u.n_inputs
        self._n_neurons = u.n_neurons
        self._arc_src = u.arc_src.astype(np.int64)
        self._arc_dst = u.arc_dst.astype(np.int64)
        self._has_bias = np.asarray(u.has_bias, dtype=bool)
        self._is_output = np.asarray(u.is_output, dtype=bool)
        self._group_of = np.asarray(u.group_of)
        self._neuron_names = tuple(u.neuron_names)
        for a in (self._arc_src, self._arc_dst, self._has_bias, self._is_output, self._group_of):
            a.setflags(write=False)

    def _build_units(self) -> UnitView:
        shapes = {spec.name: spec.shape for spec in (*self._inputs, *self._groups)}
        arcs = 0
        for g in self._groups:  # counted before any array is built
            arcs += _check_arcs(g, [shapes[s.group] for s in g.sources], arcs)
        offsets: dict[str, tuple[int, tuple[int, ...]]] = {}
        unit = 0
        for inp in self._inputs:
            offsets[inp.name] = (unit, inp.shape)
            unit += inp.size
        n_inputs = unit
        src_parts: list[np.ndarray] = []
        dst_parts: list[np.ndarray] = []
        has_bias: list[np.ndarray] = []
        is_output: list[np.ndarray] = []
        names: list[str] = []
        group_of: list[np.ndarray] = []
        neuron = 0
        for gi, g in enumerate(self._groups):
            offsets[g.name] = (n_inputs + neuron, g.shape)
            srcs_per_neuron = [
                _source_units(s, offsets[s.group][0], offsets[s.group][1], g) for s in g.sources
            ]
            per_neuron = np.concatenate(srcs_per_neuron, axis=1)  # (size, fan) unit ids
            per_neuron.sort(axis=1)
            if per_neuron.shape[1] > 1 and np.any(per_neuron[:, 1:] == per_neuron[:, :-1]):
                dup_row = int(np.nonzero(np.any(per_neuron[:, 1:] == per_neuron[:, :-1], 1))[0][0])
                raise NetworkError(
                    f"group '{g.name}': neuron {dup_row} is connected to the same unit twice "
                    "(overlapping sources)",
                    g.pos,
                )
            fan = per_neuron.shape[1]
            src_parts.append(per_neuron.reshape(-1))
            dst_parts.append(np.repeat(np.arange(neuron, neuron + g.size), fan))
            has_bias.append(np.full(g.size, g.bias))
            is_output.append(np.full(g.size, g.output))
            group_of.append(np.full(g.size, gi))
            names.extend(f"{g.name}[{_index_str(k, g.shape)}]" for k in range(g.size))
            neuron += g.size
        return UnitView(
            n_inputs=n_inputs,
            n_neurons=neuron,
            arc_src=np.concatenate(src_parts),
            arc_dst=np.concatenate(dst_parts),
            has_bias=np.concatenate(has_bias),
            is_output=np.concatenate(is_output),
            group_of=np.concatenate(group_of),
            neuron_names=tuple(names),
        )

    @property
    def n_inputs(self) -> int:
        """Number of input units (the width of a data matrix X)."""
        return self._n_inputs

    @property
    def n_neurons(self) -> int:
        return self._n_neurons

    @property
    def n_arcs(self) -> int:
        return int(self._arc_src.size)

    @property
    def n_biases(self) -> int:
        return int(self._has_bias.sum())

    @property
    def n_parameters(self) -> int:
        return self.n_arcs + self.n_biases

    @property
    def arc_src(self) -> np.ndarray:
        """Source unit of each arc (an input unit if < n_inputs, else neuron src - n_inputs)."""
        return self._arc_src

    @property
    def arc_dst(self) -> np.ndarray:
        """Destination neuron of each arc."""
        return self._arc_dst

    @property
    def has_bias(self) -> np.ndarray:
        return self._has_bias

    @property
    def is_output(self) -> np.ndarray:
        return self._is_output

    @property
    def group_of(self) -> np.ndarray:
        """Index into :attr:`groups` of each neuron."""
        return self._group_of

    @cached_property
    def outputs(self) -> np.ndarray:
        """Output neurons, in topological order (one per class for one-vs-rest training)."""
        out = np.nonzero(self._is_output)[0]
        out.setflags(write=False)
        return out

    @cached_property
    def hidden(self) -> np.ndarray:
        h = np.nonzero(~self._is_output)[0]
        h.setflags(write=False)
        return h

    @property
    def n_outputs(self) -> int:
        return int(self._is_output.sum())

    @cached_property
    def fan_in(self) -> np.ndarray:
        """K_j: number of incoming arcs plus one if the neuron has a bias."""
        k = np.bincount(self._arc_dst, minlength=self._n_neurons) + self._has_bias
        k.setflags(write=False)
        return k

    @cached_property
    def ternary(self) -> np.ndarray:
        """(n_neurons,) bool: the neuron's group declares ternary weights (its arcs and bias
        take -1, 0 or +1)."""
        per_group = np.array([g.domain == "ternary" for g in self._groups], dtype=bool)
        t = per_group[self._group_of] if self._n_neurons else np.zeros(0, dtype=bool)
        t.setflags(write=False)
        return t

    @cached_property
    def parameter_ternary(self) -> np.ndarray:
        """(n_parameters,) bool, in parameter order (arcs, then biases): a ternary parameter."""
        t = np.concatenate([self.ternary[self._arc_dst], self.ternary[self._has_bias]])
        t.setflags(write=False)
        return t

    @property
    def has_ternary(self) -> bool:
        return bool(self.ternary.any())

    @cached_property
    def input_values(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) per input unit, int64: the declared integer range, or (-1, 1) for binary
        units (which take only -1 and +1, see :attr:`input_binary`)."""
        ranges = [(i.values or (-1, 1), i.size) for i in self._inputs]
        lo = np.concatenate([np.full(n, v[0], dtype=np.int64) for v, n in ranges])
        hi = np.concatenate([np.full(n, v[1], dtype=np.int64) for v, n in ranges])
        for a in (lo, hi):
            a.setflags(write=False)
        return lo, hi

    @cached_property
    def input_binary(self) -> np.ndarray:
        """(n_inputs,) bool: the unit takes only -1 and +1 (no ``values`` declared)."""
        b = np.concatenate([np.full(i.size, i.values is None) for i in self._inputs])
        b.setflags(write=False)
        return b

    @property
    def has_integer_inputs(self) -> bool:
        return any(i.values is not None for i in self._inputs)

    @property
    def is_binary(self) -> bool:
        """+-1 inputs and +-1 weights everywhere: what every backend and export takes."""
        return not (self.has_integer_inputs or self.has_ternary)

    @cached_property
    def source_bound(self) -> np.ndarray:
        """(n_arcs,) int64: the largest |value| the source of each arc takes (1 for neurons)."""
        lo, hi = self.input_values
        unit_bound = np.concatenate(
            [np.maximum(np.abs(lo), np.abs(hi)), np.ones(self._n_neurons, dtype=np.int64)]
        )
        out = unit_bound[self._arc_src]
        out.setflags(write=False)
        return out

    @cached_property
    def preactivation_bound(self) -> np.ndarray:
        """(n_neurons,) int64: the largest |z_j| any inputs and weights give; the fan-in
        ``K_j`` on a network of +-1 inputs."""
        k = np.bincount(self._arc_dst, weights=self.source_bound, minlength=self._n_neurons)
        k = k.astype(np.int64) + self._has_bias
        k.setflags(write=False)
        return k

    def n_links(self, weights: Weights) -> int:
        """The links a trained network keeps: nonzero arc weights and biases."""
        weights = self.check_weights(weights)
        return int(np.count_nonzero(weights.w) + np.count_nonzero(weights.b))

    def check_inputs(
        self, X: np.ndarray, *, what: str = "X", single: bool = False, empty: bool = False
    ) -> np.ndarray:
        """:func:`check_inputs` against this network's declared input values."""
        return check_inputs(
            X, self._n_inputs, what=what, single=single, empty=empty, network=self
        )

    @property
    def neuron_names(self) -> tuple[str, ...]:
        return self._neuron_names

    def unit_name(self, unit: int) -> str:
        if unit >= self._n_inputs:
            return self._neuron_names[unit - self._n_inputs]
        for inp in self._inputs:
            if unit < inp.size:
                return f"{inp.name}[{_index_str(unit, inp.shape)}]"
            unit -= inp.size
        raise IndexError(unit)

    def summary(self) -> dict[str, int]:
        return {
            "inputs": self.n_inputs,
            "neurons": self.n_neurons,
            "hidden": int(self.hidden.size),
            "outputs": self.n_outputs,
            "arcs": self.n_arcs,
            "biases": self.n_biases,
            "parameters": self.n_parameters,
        }

    # -- inference --------------------------------------------------------------------------
    def random_weights(self, seed: int | np.random.Generator | None = None) -> Weights:
        """Uniformly random weights of the network's domains (-1/+1, or -1/0/+1 in ternary
        groups)."""
        rng = np.random.default_rng(seed)
        w = rng.choice(np.array([-1, 1], dtype=np.int8), size=self.n_arcs)
        b = np.where(
            self._has_bias, rng.choice(np.array([-1, 1], dtype=np.int8), self.n_neurons), 0
        )
        if self.has_ternary:
            arc_t = self.ternary[self._arc_dst]
            w[arc_t] = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=int(arc_t.sum()))
            bias_t = self.ternary & self._has_bias
            b[bias_t] = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=int(bias_t.sum()))
        return Weights(w=w, b=b.astype(np.int8))

    def check_weights(self, weights: Weights) -> Weights:
        """Validate shapes and values of ``weights`` against this network (and its groups'
        weight domains)."""
        w = np.asarray(weights.w)
        b = np.asarray(weights.b)
        if w.shape != (self.n_arcs,):
            raise ValueError(f"weights.w has shape {w.shape}; this network needs ({self.n_arcs},)")
        if b.shape != (self.n_neurons,):
            raise ValueError(
                f"weights.b has shape {b.shape}; this network needs ({self.n_neurons},)"
            )
        arc_t = self.ternary[self._arc_dst]
        bad_w = ~((np.abs(w) == 1) | (arc_t & (w == 0)))
        if np.any(bad_w):
            e = int(np.argmax(bad_w))
            allowed = "-1, 0 and +1 (ternary)" if arc_t[e] else "-1 and +1"
            raise ValueError(
                f"weights.w[{e}] is {w[e]}; the arc into {self._neuron_names[self._arc_dst[e]]} "
                f"takes only {allowed}"
            )
        ok_b = np.where(self._has_bias, (np.abs(b) == 1) | (self.ternary & (b == 0)), b == 0)
        if not np.all(ok_b):
            raise ValueError(
                "weights.b must be +-1 for neurons with a bias (-1, 0 or +1 in ternary groups) "
                "and 0 for the others"
            )
        return Weights(w=w.astype(np.int8), b=b.astype(np.int8))

    def preactivations(self, X: np.ndarray, weights: Weights, *, packed: bool = False):
        """Pre-activations z (N x n_neurons, int) of a batch of +-1 inputs X (N x n_inputs).

        ``packed``: compute them with the bit-packed XNOR-popcount pass
        (:mod:`qubonn.inference`), equal to the plain one, faster on large batches."""
        return self._forward(X, weights, packed)[0]

    def forward(self, X: np.ndarray, weights: Weights, *, packed: bool = False) -> np.ndarray:
        """Activations a = sign(z) (N x n_neurons, int8, sign(0) = +1) of +-1 inputs X
        (``packed``: by the bit-packed pass, with the same result)."""
        return self._forward(X, weights, packed)[1]

    def predict_outputs(
        self, X: np.ndarray, weights: Weights, *, packed: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(activations, pre-activations) of the output neurons only."""
        z, a = self._forward(X, weights, packed)
        return a[:, self.outputs], z[:, self.outputs]

    def predict_classes(
        self, X: np.ndarray, weights: Weights, *, packed: bool = False
    ) -> np.ndarray:
        """Predicted class index per sample, by :func:`class_of_outputs` (the one class rule
        of the trainers, the model files and the objective)."""
        return class_of_outputs(*self.predict_outputs(X, weights, packed=packed))

    @cached_property
    def blocks(self) -> tuple[Block, ...]:
        """The neurons in topological blocks (runs of one group) that a forward pass computes
        together, with their fan-in as (size, fan) unit and arc ids (padded, see :class:`Block`)."""
        counts = np.bincount(self._arc_dst, minlength=self._n_neurons)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])  # arcs are sorted by destination
        cuts = np.flatnonzero(np.diff(self._group_of)) + 1
        bounds = np.concatenate([[0], cuts, [self._n_neurons]]).astype(np.int64)
        src_ext = np.append(self._arc_src, self._n_inputs + self._n_neurons)
        out = []
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            fan = int(counts[lo:hi].max()) if hi > lo else 0
            k = np.arange(fan)[None, :]
            valid = k < counts[lo:hi, None]
            arcs = np.where(valid, first[lo:hi, None] + k, self.n_arcs)
            out.append(Block(lo, hi, src_ext[arcs], arcs, counts[lo:hi].astype(np.int32)))
        return tuple(out)

    def _forward(
        self, X: np.ndarray, weights: Weights, packed: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """The one forward pass: block by block, z = b + sum w v over each neuron's fan-in."""
        if packed:
            from qubonn.inference import PackedForward

            return PackedForward(self, weights).run(X)
        X = self.check_inputs(X, single=True, empty=True)
        weights = self.check_weights(weights)
        n, n_in = X.shape[0], self.n_inputs
        values = np.zeros((n, n_in + self.n_neurons + 1), dtype=np.int32)  # last: padding unit
        values[:, :n_in] = X
        z = np.empty((n, self.n_neurons), dtype=np.int32)
        w = np.zeros(self.n_arcs + 1, dtype=np.int32)  # the last, padding arc has weight 0
        w[:-1] = weights.w
        b = weights.b.astype(np.int32)
        for blk in self.blocks:
            lo, hi = blk.lo, blk.hi
            zg = np.einsum("nkf,kf->nk", values[:, blk.src], w[blk.arcs], dtype=np.int32)
            zg += b[lo:hi]
            z[:, lo:hi] = zg
            values[:, n_in + lo : n_in + hi] = np.where(zg >= 0, 1, -1)
        a = values[:, n_in : n_in + self.n_neurons].astype(np.int8)
        return z, a


def class_of_outputs(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Class index per sample from the outputs' activations and pre-activations (N, n_out):
    one output: 1 if it fires (+1), else 0; several: the arg-max of z, the lowest index among
    equal maxima (a strict winner under the multiclass loss at zero loss, margin >= 1)."""
    if a.shape[1] == 1:
        return (a[:, 0] > 0).astype(np.int64)
    return np.argmax(z, axis=1).astype(np.int64)  # numpy's argmax: the first maximum


@dataclass(frozen=True)
class UnitView:
    """The unit view of a network: what :class:`Network` derives from its groups."""

    n_inputs: int
    n_neurons: int
    arc_src: np.ndarray
    arc_dst: np.ndarray
    has_bias: np.ndarray
    is_output: np.ndarray
    group_of: np.ndarray
    neuron_names: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """Neurons ``lo .. hi-1`` of one group, computed together.  ``src`` and ``arcs`` are
    (size, fan) unit and arc ids of each neuron's fan-in; a neuron with fewer arcs than ``fan``
    (only in a :class:`SubNetwork`) is padded with the unit ``n_inputs + n_neurons`` (always 0)
    and the arc ``n_arcs`` (weight 0).  ``fan_in`` is each neuron's real arc count."""

    lo: int
    hi: int
    src: np.ndarray
    arcs: np.ndarray
    fan_in: np.ndarray


def check_inputs(
    X: np.ndarray,
    width: int,
    *,
    what: str = "X",
    single: bool = False,
    empty: bool = False,
    network: Network | None = None,
) -> np.ndarray:
    """The one input validator: inputs ``X`` (N, width) as int8 (+-1), or as int16 when a
    ``network`` declares integer inputs; otherwise a ValueError that says how to fix them.
    ``single``: a 1-D ``X`` is one sample; ``empty``: N = 0 is allowed.

    Binary units take only -1 and +1 (binarise 0/1 or real data first, e.g. with
    :func:`qubonn.datasets.binarize`); units of an input declared ``values lo..hi`` take the
    integers in that range.  Every path (forward passes, formulation, trainers) agrees."""
    X = np.asarray(X)
    if X.ndim == 1 and single:
        X = X[None, :]
    if X.ndim == 1:
        raise ValueError(
            f"{what} is 1-D; pass a 2-D array with one row per sample "
            "(X.reshape(1, -1) for a single sample, X.reshape(len(X), -1) for images)"
        )
    if X.ndim != 2 or X.shape[1] != width:
        raise ValueError(
            f"{what} has shape {X.shape}; the network has {width} input units ({width} inputs "
            f"per sample), so pass (N, {width}) inputs"
        )
    if X.shape[0] == 0 and not empty:
        raise ValueError(f"{what} has 0 samples; pass at least one")
    if network is not None and network.has_integer_inputs:
        return _check_integer_inputs(X, network, what)
    if not np.all((X == 1) | (X == -1)):
        raise ValueError(
            f"{what} must contain only -1 and +1; binarise your data first, e.g. "
            "np.where(X > threshold, 1, -1) (inputs are -1/+1 values), or declare integer "
            "inputs in the spec ('input x[16] values 0..255')"
        )
    return X.astype(np.int8)


def inputs_in_range(
    X: np.ndarray, lo: np.ndarray, hi: np.ndarray, binary: np.ndarray
) -> np.ndarray:
    """(N, width) bool: each entry is a value its column takes, an integer in ``lo..hi`` (only
    -1 or +1 in ``binary`` columns).  The one rule of the declared input values: the input
    validator and the data files' loaders both apply it."""
    X = np.asarray(X)
    with np.errstate(invalid="ignore"):
        ok = (X >= lo) & (X <= hi) & ~(binary & (X == 0))
        if X.dtype.kind == "f":
            ok &= X == np.round(X)
    return ok


def _check_integer_inputs(X: np.ndarray, network: Network, what: str) -> np.ndarray:
    """Integer inputs within each unit's declared values (binary units: -1 or +1), as int16;
    the error names the first bad entry, its column's unit and the declared range."""
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{what} has dtype {X.dtype}; pass integer inputs")
    lo, hi = network.input_values
    binary = network.input_binary
    ok = inputs_in_range(X, lo, hi, binary)
    if not np.all(ok):
        n, col = (int(v[0]) for v in np.nonzero(~ok))
        declared = "-1 or +1" if binary[col] else f"an integer in {lo[col]}..{hi[col]}"
        raise ValueError(
            f"{what}[{n}, {col}] is {X[n, col].item()!r}: column {col} is input "
            f"{network.unit_name(col)}, which takes {declared} (as the spec declares)"
        )
    return X.astype(np.int16)


def _index_str(k: int, shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return str(k)
    return ",".join(str(i) for i in np.unravel_index(k, shape))


def _check_arcs(g: GroupSpec, src_shapes: list[tuple[int, ...]], arcs_before: int) -> int:
    """The arc count of group ``g`` (neurons x fan-in), counted before any array is built: a
    group, or the network, over :data:`MAX_ARCS` is an error at the group's position (a
    ``[1024x1024]`` input fully connected to 1024 outputs would need 8 GiB of indices)."""
    fan = 0
    for s, shape in zip(g.sources, src_shapes, strict=True):
        if s.window is not None:
            fan += max(0, s.window[0]) * max(0, s.window[1])
        elif s.slice is not None:
            fan += max(0, min(s.slice[1], math.prod(shape)) - max(s.slice[0], 0))
        else:
            fan += math.prod(shape)
    arcs = g.size * fan
    if arcs > MAX_ARCS:
        raise NetworkError(
            f"group '{g.name}' has {g.size:,} neurons x {fan:,} inputs each = {arcs:,} arcs, "
            f"over the limit {MAX_ARCS:,}; use fewer neurons, a slice or a window",
            g.pos,
        )
    if arcs_before + arcs > MAX_ARCS:
        raise NetworkError(
            f"the network has more than {MAX_ARCS:,} arcs (the limit) once group '{g.name}' "
            f"adds its {arcs:,}; use fewer neurons, slices or windows",
            g.pos,
        )
    return arcs


def _source_units(s: Source, offset: int, src_shape: tuple[int, ...], g: GroupSpec) -> np.ndarray:
    """Unit ids seen by each neuron of ``g`` through source ``s``: an array (g.size, fan)."""
    size = math.prod(src_shape)
    if s.window is not None:
        if len(src_shape) != 2:
            raise NetworkError(
                f"window on '{s.group}' needs a 2-D source; '{s.group}' has shape "
                f"[{_shape_str(src_shape)}]",
                s.pos,
            )
        (h, w), (kh, kw), (sh, sw) = src_shape, s.window, s.stride
        if kh < 1 or kw < 1 or sh < 1 or sw < 1:
            raise NetworkError("window and stride sizes must be positive", s.pos)
        if kh > h or kw > w:
            raise NetworkError(f"window {kh}x{kw} is out of bounds of '{s.group}' [{h}x{w}]", s.pos)
        grid = ((h - kh) // sh + 1, (w - kw) // sw + 1)
        if g.shape != grid and not (len(g.shape) == 1 and g.size == grid[0] * grid[1]):
            raise NetworkError(
                f"group '{g.name}' has shape [{_shape_str(g.shape)}] but window {kh}x{kw} stride "
                f"{sh}x{sw} on '{s.group}' [{h}x{w}] gives a {grid[0]}x{grid[1]} grid; "
                f"declare '{g.name}[{grid[0]}x{grid[1]}]'",
                s.pos,
            )
        rows = np.arange(grid[0])[:, None, None, None] * sh + np.arange(kh)[None, None, :, None]
        cols = np.arange(grid[1])[None, :, None, None] * sw + np.arange(kw)[None, None, None, :]
        units = offset + rows * w + cols
        return units.reshape(grid[0] * grid[1], kh * kw)
    if s.slice is not None:
        a, b = s.slice
        if not (0 <= a < b <= size):
            raise NetworkError(
                f"slice [{a}:{b}] is out of bounds of '{s.group}', which has {size} units "
                f"(valid: 0 <= start < stop <= {size})",
                s.pos,
            )
        units = np.arange(offset + a, offset + b)
    else:
        units = np.arange(offset, offset + size)
    return np.broadcast_to(units, (g.size, units.size))


def _validate_and_sort(
    inputs: tuple[InputSpec, ...], groups: tuple[GroupSpec, ...]
) -> tuple[GroupSpec, ...]:
    seen: dict[str, SourcePos | None] = {}
    if not inputs:
        raise NetworkError("the network has no input; declare one, e.g. 'input x[16]'")
    n_input_units = 0
    for spec in (*inputs, *groups):
        if spec.name in seen:
            raise NetworkError(f"'{spec.name}' is declared twice", spec.pos)
        seen[spec.name] = spec.pos
        if len(spec.shape) not in (1, 2) or any(int(s) < 1 for s in spec.shape):
            raise NetworkError(
                f"'{spec.name}' needs a shape [n] or [rows x cols] of sizes >= 1", spec.pos
            )
        limit = MAX_INPUT_UNITS if isinstance(spec, InputSpec) else MAX_GROUP_SIZE
        if spec.size > limit:
            raise NetworkError(
                f"'{spec.name}' has {spec.size} units, over the limit {limit}", spec.pos
            )
        if isinstance(spec, InputSpec):
            n_input_units += spec.size
    if n_input_units > MAX_INPUT_UNITS:
        raise NetworkError(
            f"the inputs have {n_input_units} units, over the limit {MAX_INPUT_UNITS}"
        )
    if not groups:
        raise NetworkError("the network has no neuron group; declare one, e.g. 'output y[1] <- x'")
    if sum(g.size for g in groups) > MAX_NEURONS:
        raise NetworkError(f"the network has more than {MAX_NEURONS} neurons")
    input_names = {i.name for i in inputs}
    by_name = {g.name: g for g in groups}
    for g in groups:
        if not g.sources:
            raise NetworkError(f"group '{g.name}' has no inputs; connect it with '<- NAME'", g.pos)
        for s in g.sources:
            if s.group not in input_names and s.group not in by_name:
                raise NetworkError(f"'{s.group}' is not defined ({_known(s.group, seen)})", s.pos)
            if s.group == g.name:
                raise NetworkError(f"group '{g.name}' is connected to itself (a cycle)", s.pos)
    if not any(g.output for g in groups):
        raise NetworkError("the network has no output group; mark one with 'output'")

    done = _topological_order(groups, by_name)

    # every input and every hidden group must feed an output, or its parameters are meaningless
    feeds: dict[str, set[str]] = {name: set() for name in seen}
    for g in groups:
        for s in g.sources:
            feeds[s.group].add(g.name)
    useful = {g.name for g in groups if g.output}
    frontier = list(useful)
    while frontier:
        name = frontier.pop()
        for s in by_name[name].sources:
            if s.group not in useful:
                useful.add(s.group)
                if s.group in by_name:
                    frontier.append(s.group)
    for spec in (*inputs, *groups):
        if spec.name not in useful:
            what = "input" if isinstance(spec, InputSpec) else "group"
            raise NetworkError(
                f"{what} '{spec.name}' does not reach any output; connect it or remove it", spec.pos
            )
    return tuple(done)


def _known(name: str, seen: Iterable[str], limit: int = 10) -> str:
    """The names that are defined, for an error about ``name``: all of them when few, else
    the closest ones and the count."""
    names = sorted(seen)
    if len(names) <= limit:
        return "defined: " + (", ".join(names) or "none")
    import difflib

    close = difflib.get_close_matches(name, names, n=3)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return f"{hint}{len(names)} names are defined"


def _topological_order(
    groups: tuple[GroupSpec, ...], by_name: dict[str, GroupSpec]
) -> list[GroupSpec]:
    """Kahn's algorithm in O((groups + arcs) log groups), ties broken by declaration order so
    that an already-sorted spec stays put.  A cycle is a :class:`NetworkError` naming it."""
    deps = {g.name: {s.group for s in g.sources if s.group in by_name} for g in groups}
    users: dict[str, list[int]] = {g.name: [] for g in groups}
    missing = [len(deps[g.name]) for g in groups]
    for i, g in enumerate(groups):
        for d in deps[g.name]:
            users[d].append(i)
    ready = [i for i, n in enumerate(missing) if n == 0]
    heapq.heapify(ready)
    done: list[GroupSpec] = []
    while ready:
        i = heapq.heappop(ready)
        done.append(groups[i])
        for j in users[groups[i].name]:
            missing[j] -= 1
            if missing[j] == 0:
                heapq.heappush(ready, j)
    if len(done) < len(groups):
        placed = {g.name for g in done}
        cyc = _find_cycle(deps, {g.name for g in groups if g.name not in placed})
        raise NetworkError("cycle: " + " -> ".join([*cyc, cyc[0]]), by_name[cyc[0]].pos)
    return done


def _find_cycle(deps: dict[str, set[str]], names: set[str]) -> list[str]:
    """A cycle among ``names`` (groups none of which could be placed: each has a dependency
    among them), walking from the smallest name to its smallest unplaced dependency."""
    start = min(names)
    path = [start]
    index = {start: 0}
    while True:
        nxt = min(d for d in deps[path[-1]] if d in names)
        if nxt in index:
            return path[index[nxt] :]
        index[nxt] = len(path)
        path.append(nxt)


class NetworkBuilder:
    """Build a :class:`Network` from Python, the same model the language produces.

    >>> net = (NetworkBuilder().input("x", 16).hidden("h", 4, "x")
    ...        .output("y", 1, "h", "x").build())
    """

    def __init__(self) -> None:
        self._inputs: list[InputSpec] = []
        self._groups: list[GroupSpec] = []

    def input(
        self, name: str, shape: int | Iterable[int], values: tuple[int, int] | None = None
    ) -> NetworkBuilder:
        self._inputs.append(InputSpec(name, _as_shape(shape), values=values))
        return self

    def hidden(
        self, name: str, shape: int | Iterable[int], *sources: str | Source, bias: bool = True,
        domain: str = "binary",
    ) -> NetworkBuilder:
        return self._group(name, shape, sources, bias, output=False, domain=domain)

    def output(
        self, name: str, shape: int | Iterable[int], *sources: str | Source, bias: bool = True,
        domain: str = "binary",
    ) -> NetworkBuilder:
        return self._group(name, shape, sources, bias, output=True, domain=domain)

    def _group(self, name, shape, sources, bias, output, domain) -> NetworkBuilder:
        srcs = tuple(s if isinstance(s, Source) else Source(s) for s in sources)
        self._groups.append(
            GroupSpec(name, _as_shape(shape), srcs, bias=bias, output=output, domain=domain)
        )
        return self

    def build(self) -> Network:
        return Network(self._inputs, self._groups)


def _as_shape(shape: int | Iterable[int]) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer):
        return (int(shape),)
    return tuple(int(s) for s in shape)


class SubNetwork(Network):
    """A network with some hidden neurons dropped, with their arcs (a dropout round's model).

    A real :class:`Network` (built through its constructor, with the parent's group view and
    its own unit view, numbered afresh): forward passes, plain and bit-packed, and the
    formulation work on it as on any network.  ``parameter_map`` says which parent parameter
    (arcs, then biases) each of its parameters is."""

    def __init__(self, parent: Network, keep_hidden: np.ndarray):
        keep = np.ones(parent.n_neurons, dtype=bool)
        keep_hidden = np.asarray(keep_hidden, dtype=bool)
        if keep_hidden.shape != parent.hidden.shape:
            raise ValueError(
                f"keep_hidden needs one flag per hidden neuron ({parent.hidden.size}), "
                f"not shape {keep_hidden.shape}"
            )
        keep[parent.hidden] = keep_hidden
        n_in = parent.n_inputs
        new_index = np.cumsum(keep) - 1
        src, dst = parent.arc_src, parent.arc_dst
        src_kept = (src < n_in) | keep[np.maximum(src - n_in, 0)]
        arcs = np.nonzero(keep[dst] & src_kept)[0]
        new_src = np.where(
            src[arcs] < n_in, src[arcs], n_in + new_index[np.maximum(src[arcs] - n_in, 0)]
        )
        units = UnitView(
            n_inputs=n_in,
            n_neurons=int(keep.sum()),
            arc_src=new_src,
            arc_dst=new_index[dst[arcs]],
            has_bias=parent.has_bias[keep],
            is_output=parent.is_output[keep],
            group_of=parent.group_of[keep],
            neuron_names=tuple(np.asarray(parent.neuron_names, dtype=object)[keep]),
        )
        super().__init__(parent.inputs, parent.groups, units=units)
        self._parent = parent
        self.kept_neurons = np.nonzero(keep)[0]
        parent_bias_pos = np.cumsum(parent.has_bias) - 1
        self.parameter_map = np.concatenate(
            [arcs, parent.n_arcs + parent_bias_pos[self.kept_neurons[self._has_bias]]]
        ).astype(np.int64)

    @property
    def parent(self) -> Network:
        return self._parent

    def connected_outputs(self) -> bool:
        """Whether every output still has a path from the inputs (not just its bias)."""
        n_in = self._n_inputs
        reach = np.zeros(self._n_neurons, dtype=bool)
        for e in np.argsort(self._arc_dst, kind="stable"):
            s = self._arc_src[e]
            if s < n_in or reach[s - n_in]:
                reach[self._arc_dst[e]] = True
        return bool(np.all(reach[self.outputs]))

    def to_text(self) -> str:
        """Description-language source of this subnetwork: one group per kept neuron (named
        ``GROUP__K`` after its parent neuron), which parses back to a network with the same
        units, arcs (in the same order), biases and outputs.  Raises :class:`NetworkError`
        where the language cannot state it: a neuron left without arcs, or one that no longer
        reaches an output."""
        from qubonn.language.printer import to_text

        groups = []
        names = [self._neuron_label(j) for j in range(self._n_neurons)]
        for j in range(self._n_neurons):
            arcs = np.nonzero(self._arc_dst == j)[0]
            sources = self._unit_sources(self._arc_src[arcs], names)
            bias, output = bool(self._has_bias[j]), bool(self._is_output[j])
            groups.append(GroupSpec(names[j], (1,), sources, bias=bias, output=output))
        return to_text(Network(self.inputs, groups))

    def _neuron_label(self, j: int) -> str:
        parent_j = int(self.kept_neurons[j])
        group = self.groups[int(self._group_of[j])]
        first = int(np.searchsorted(self._parent.group_of, self._group_of[j]))
        return f"{group.name}__{parent_j - first}"

    def _unit_sources(self, units: np.ndarray, names: list[str]) -> tuple[Source, ...]:
        """Sources that reach exactly ``units`` (sorted): slices of inputs, neurons by name."""
        out: list[Source] = []
        offset = 0
        for inp in self.inputs:
            mine = units[(units >= offset) & (units < offset + inp.size)] - offset
            runs = np.split(mine, np.flatnonzero(np.diff(mine) != 1) + 1) if mine.size else []
            for run in runs:
                a, b = int(run[0]), int(run[-1]) + 1
                full = a == 0 and b == inp.size
                out.append(Source(inp.name) if full else Source(inp.name, slice=(a, b)))
            offset += inp.size
        out += [Source(names[int(u) - self._n_inputs]) for u in units[units >= self._n_inputs]]
        return tuple(out)

    def __str__(self) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"<SubNetwork of {self._parent!r}: {self._n_neurons} neurons, {self.n_arcs} arcs>"

