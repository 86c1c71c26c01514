"""ONNX for a trained network, with standard operators only (opset 13), exact in float32.

Input ``x``: float32 (N, n_inputs), each value -1 or +1, or for an input declared
``values lo..hi`` an integer in that range (float32 holds every declared value exactly).
Outputs ``class_index`` (int64 (N,), the index into ``classes``) and ``scores`` (float32
(N, n_outputs): the output neurons' pre-activations).  Each group's pre-activation is a sum
over its sources: a ``MatMul`` with a -1/0/+1 matrix for dense sources and slices (a ``Slice``
or ``Gather`` picks the slice; a ternary group's zeros are zeros of the matrix), a ``Gather`` of
the window units, ``Mul`` and ``ReduceSum`` for windows, plus the bias.  The sums are integers;
float32 holds them exactly below 2**24, and a network whose pre-activation bound
(``Network.preactivation_bound``, reached only with wide integer inputs) is beyond that computes
in float64 instead (``x`` is cast; ``scores`` are then float64).  Values outside the declared
ones are not checked: the graph computes the same sums with them.  The activation is
``Where(GreaterOrEqual(z, 0), 1, -1)`` (ONNX ``Sign`` would give 0 for 0; the network's rule is
``sign(0) = +1``); several outputs predict ``ArgMax`` with ``select_last_index=0``, the lowest
index among equal maxima, one output ``z >= 0``.  The class labels, the spec and the producer
go in the model's metadata (``classes`` as JSON).

Needs the ``onnx`` package (``pip install -e ".[onnx]"`` in the clone); ``onnxruntime`` runs
the result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qubonn.errors import ExportError
from qubonn.export._files import write_files
from qubonn.export.c import DEFAULT_NAME, check_c_name, labels_of
from qubonn.export.plan import check_model_weights
from qubonn.modelfile import TrainedModel

OPSET = 13
#: float32 holds every integer of magnitude up to 2**24 exactly.
FLOAT32_EXACT = 1 << 24


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ExportError(
            "the ONNX export needs the onnx package: pip install \"onnx>=1.16\" "
            "(in the clone of qubonn: pip install -e \".[onnx]\")"
        ) from None
    return onnx


class _Graph:
    """Collects nodes and initializers with unique names."""

    def __init__(self, onnx, dtype: type[np.floating] = np.float32):
        self.onnx = onnx
        self.dtype = dtype
        self.helper = onnx.helper
        self.nodes: list = []
        self.inits: list = []
        self._count = 0

    def fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, stem: str, array: np.ndarray) -> str:
        name = self.fresh(stem)
        self.inits.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, kind: str, inputs: list[str], stem: str, **attrs) -> str:
        out = self.fresh(stem)
        self.nodes.append(self.helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out


def _columns(graph: _Graph, tensor: str, cols: np.ndarray, width: int, stem: str) -> str:
    """``tensor[:, cols]``: the tensor itself, a Slice for a contiguous run, else a Gather."""
    if cols.size == width and np.array_equal(cols, np.arange(width)):
        return tensor
    if np.array_equal(cols, np.arange(cols[0], cols[0] + cols.size)):
        starts = graph.const("start", np.array([cols[0]], np.int64))
        ends = graph.const("end", np.array([cols[0] + cols.size], np.int64))
        axes = graph.const("axis", np.array([1], np.int64))
        return graph.op("Slice", [tensor, starts, ends, axes], stem)
    return graph.op("Gather", [tensor, graph.const("cols", cols.astype(np.int64))], stem, axis=1)


def _source_term(graph, tensor, width, units, arcs, valid, w, stem) -> str:
    """The contribution (N, size) of one source group: ``units`` (size, f) are its unit
    indices (local to the source) seen by each neuron, ``arcs`` their arc ids."""
    weights = np.where(valid, w[arcs], 0).astype(graph.dtype)
    if np.all(units == units[0]) and np.all(valid == valid[0]):
        cols = units[0][valid[0]]
        piece = _columns(graph, tensor, cols, width, f"{stem}_in")
        matrix = graph.const(f"{stem}_w", np.ascontiguousarray(weights[:, valid[0]].T))
        return graph.op("MatMul", [piece, matrix], f"{stem}_dot")
    gathered = graph.op(  # (N, size, f): each neuron's own units (windows)
        "Gather", [tensor, graph.const(f"{stem}_idx", units.astype(np.int64))], stem, axis=1
    )
    prod = graph.op("Mul", [gathered, graph.const(f"{stem}_w", weights)], f"{stem}_prod")
    axes = graph.const("axis", np.array([2], np.int64))
    return graph.op("ReduceSum", [prod, axes], f"{stem}_sum", keepdims=0)


def _group_terms(graph, model, blk, tensors, w) -> list[str]:
    """The pre-activation terms of one block: one per source group, then the bias."""
    net = model.network
    group = net.groups[int(net.group_of[blk.lo])]
    valid = np.arange(blk.src.shape[1])[None, :] < blk.fan_in[:, None]
    terms = []
    seen: list[str] = []
    for source in group.sources:
        if source.group in seen:  # two slices of one group: one term covers both
            continue
        seen.append(source.group)
        tensor, first, width = tensors[source.group]
        inside = valid & (blk.src >= first) & (blk.src < first + width)
        if not inside.any():
            continue
        order = np.argsort(~inside, axis=1, kind="stable")  # this source's arcs first, in order
        f = int(inside.sum(axis=1).max())
        pick = order[:, :f]
        take = np.take_along_axis(inside, pick, axis=1)
        units = np.where(take, np.take_along_axis(blk.src, pick, axis=1) - first, 0)
        arcs = np.take_along_axis(blk.arcs, pick, axis=1)
        terms.append(_source_term(graph, tensor, width, units, arcs, take, w, group.name))
    b = np.asarray(model.weights.b)[blk.lo : blk.hi]
    if group.bias:
        terms.append(graph.const(f"{group.name}_bias", b.astype(graph.dtype)))
    return terms


def generate_onnx(model: TrainedModel, name: str = DEFAULT_NAME) -> bytes:
    """The serialized ONNX model of ``model`` (graph name ``name``)."""
    onnx = _require_onnx()
    name = check_c_name(name)
    check_model_weights(model)
    net = model.network
    wide = net.n_neurons and int(net.preactivation_bound.max()) >= FLOAT32_EXACT
    graph = _Graph(onnx, np.float64 if wide else np.float32)
    w = np.append(np.asarray(model.weights.w), 0)
    x = "x"
    if wide:  # sums beyond float32's integers: compute in float64
        x = graph.op("Cast", ["x"], "x_double", to=onnx.TensorProto.DOUBLE)
    tensors: dict[str, tuple[str, int, int]] = {}  # name -> (tensor, first unit, units)
    first = 0
    for inp in net.inputs:
        cols = np.arange(first, first + inp.size)
        tensors[inp.name] = (_columns(graph, x, cols, net.n_inputs, inp.name), first, inp.size)
        first += inp.size
    one, minus_one = graph.const("one", graph.dtype(1)), graph.const("minus_one", graph.dtype(-1))
    zero = graph.const("zero", graph.dtype(0))
    scores = []
    for blk in net.blocks:
        group = net.groups[int(net.group_of[blk.lo])]
        terms = _group_terms(graph, model, blk, tensors, w)
        z = graph.op("Sum", terms, f"{group.name}_z") if len(terms) > 1 else terms[0]
        fires = graph.op("GreaterOrEqual", [z, zero], f"{group.name}_fires")
        a = graph.op("Where", [fires, one, minus_one], f"{group.name}_a")  # sign(0) = +1
        tensors[group.name] = (a, net.n_inputs + blk.lo, blk.hi - blk.lo)
        if group.output:
            scores.append(z)
    helper = onnx.helper
    nodes = graph.nodes
    score = scores[0] if len(scores) == 1 else graph.op("Concat", scores, "scores_cat", axis=1)
    nodes.append(helper.make_node("Identity", [score], ["scores"], name="scores"))
    if net.n_outputs == 1:
        fires = graph.op("GreaterOrEqual", [score, zero], "class_fires")
        flat = graph.op("Reshape", [fires, graph.const("flat", np.array([-1], np.int64))], "flat")
        nodes.append(helper.make_node("Cast", [flat], ["class_index"], to=onnx.TensorProto.INT64))
    else:  # the first maximum: the lowest index among equal maxima
        nodes.append(
            helper.make_node(
                "ArgMax", [score], ["class_index"], axis=1, keepdims=0, select_last_index=0
            )
        )
    g = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", net.n_inputs])],
        [
            helper.make_tensor_value_info("class_index", onnx.TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info(
                "scores",
                onnx.TensorProto.DOUBLE if wide else onnx.TensorProto.FLOAT,
                ["N", net.n_outputs],
            ),
        ],
        initializer=graph.inits,
    )
    opset = [helper.make_opsetid("", OPSET)]
    proto = helper.make_model(
        g,
        producer_name="qubonn",
        opset_imports=opset,
        ir_version=helper.find_min_ir_version_for(opset),
    )
    classes = model.metadata.get("classes")
    classes = list(range(len(labels_of(model)))) if classes is None else list(classes)
    helper.set_model_props(proto, {"classes": json.dumps(classes), "spec": net.to_text()})
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def export_onnx(
    model: TrainedModel, out_dir: str | Path, name: str = DEFAULT_NAME, *, overwrite: bool = False
) -> Path:
    """Write ``NAME.onnx`` of ``model`` into ``out_dir``; returns its path."""
    data = generate_onnx(model, name)
    return write_files(out_dir, {f"{name}.onnx": data}, overwrite=overwrite)[0]
