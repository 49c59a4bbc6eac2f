"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) rewritten as ONNX.

The network is ``anet_type`` of dlib's ``examples/dnn_face_recognition_ex.cpp``::

    loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

with ``ares<N>`` = relu(x + block(x)) and ``ares_down<N>`` = relu(avg_pool2x2(x) + block_stride2(x)),
``block`` = affine(con3x3(relu(affine(con3x3(x))))). ``NETWORK`` spells that type out layer by layer,
input first, with dlib's tags and skips, so that the reader checks every field against it and the ONNX
graph is built by the same walk.

How dlib writes it (``dnn/core.h``): the loss layer (version, its details), then each ``add_layer``,
tag and skip as its version number from the outside in, then the input layer, then, from the inside out,
each ``add_layer``'s details followed by three bools and its (empty) cached tensors. The layers' details
(``dnn/layers.h``, ``dnn/input.h``, ``dnn/loss.h``) are read in ``_details``.

What the graph computes, as dlib does:
- input: uint8 chips (batch, 150, 150, 3) RGB; ``(pixel - channel mean) / 256`` (``input_rgb_image``);
- ``con`` + ``affine``: one Conv whose weights and bias carry the affine's per-channel scale and shift
  (folded in float64: the same function, rounded once instead of twice);
- ``add_prev`` where the two inputs differ in size: dlib's ``tt::add`` makes the output as large as the
  larger input in each dimension and adds what overlaps, so both are zero-padded at the end first
  (``ares_down``: 32 channels of the pooled input plus 64 of the block; at 8x8 in, a 4x4 pool plus a
  3x3 convolution, since dlib pads neither);
- ``avg_pool_everything``: GlobalAveragePool; ``fc_no_bias``: MatMul by the (inputs x outputs) weights;
- ``loss_metric`` only copies the fc output out: the descriptor is not L2-normalised (its length is
  about 1.2 to 1.5; tests/embed/test_dlib_onnx.py checks it against dlib's own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from openlfr.embed.dlib_format import DlibReader, view
from openlfr.errors import ModelCorruptError

CONVERTER_VERSION = 1
"""Bump when the graph this module writes changes: cached models carry it in their name."""

INPUT_NAME = "chips"
OUTPUT_NAME = "descriptors"
OPSET = 17

Kind = Literal["con", "affine", "relu", "max_pool", "avg_pool", "add_prev", "fc"]


@dataclass(frozen=True, slots=True)
class Layer:
    """One ``add_layer``: its kind and what the network type fixes (filters, window, stride, tag)."""

    kind: Kind
    n: int = 0
    size: int = 0
    stride: int = 1
    tag: int = 0


@dataclass(frozen=True, slots=True)
class Tag:
    id: int


@dataclass(frozen=True, slots=True)
class Skip:
    id: int


Node = Layer | Tag | Skip


def _block(n: int, stride: int) -> list[Node]:
    return [
        Layer("con", n, 3, stride),
        Layer("affine"),
        Layer("relu"),
        Layer("con", n, 3, 1),
        Layer("affine"),
    ]


def _ares(n: int) -> list[Node]:
    return [Tag(1), *_block(n, 1), Layer("add_prev", tag=1), Layer("relu")]


def _ares_down(n: int) -> list[Node]:
    pool = Layer("avg_pool", size=2, stride=2)
    return [Tag(1), *_block(n, 2), Tag(2), Skip(1), pool, Layer("add_prev", tag=2), Layer("relu")]


NETWORK: tuple[Node, ...] = (
    Layer("con", 32, 7, 2),
    Layer("affine"),
    Layer("relu"),
    Layer("max_pool", size=3, stride=2),
    *(node for _ in range(3) for node in _ares(32)),  # alevel4
    *_ares_down(64),  # alevel3
    *(node for _ in range(3) for node in _ares(64)),
    *_ares_down(128),  # alevel2
    *(node for _ in range(2) for node in _ares(128)),
    *_ares_down(256),  # alevel1
    *(node for _ in range(2) for node in _ares(256)),
    *_ares_down(256),  # alevel0
    Layer("avg_pool", size=0, stride=1),  # avg_pool_everything
    Layer("fc", 128),
)
"""``anet_type``, input side first."""


@dataclass(slots=True)
class Parsed:
    """What the file holds: the input's channel means and size, and each layer's fields, in NETWORK's order."""

    means: tuple[float, float, float] = (0.0, 0.0, 0.0)
    size: int = 0
    layers: list[dict[str, Any]] = field(default_factory=list)


def read_network(data: bytes, source: str) -> Parsed:
    """Parse a ``.dat`` written by dlib for ``anet_type``; ModelCorruptError naming the byte where it differs."""
    r = DlibReader(data, source)
    r.expect_integer("the loss layer's version", (1,))
    version = r.expect_string(("loss_metric_2", "loss_metric_"))
    if version == "loss_metric_2":
        r.floating(), r.floating()  # margin and distance threshold: training only
    layers = [node for node in NETWORK if isinstance(node, Layer)]
    versions: list[int] = []
    for node in reversed(NETWORK):  # headers, from the outside in
        if isinstance(node, Layer):
            allowed = (2, 3) if node is layers[0] else (1, 2)
            versions.append(r.expect_integer(f"the {node.kind} layer's version", allowed))
        else:
            r.expect_integer(f"the {type(node).__name__.lower()} layer's version", (1,))
    versions.reverse()
    parsed = Parsed()
    r.expect_string(("input_rgb_image_sized",))
    parsed.means = (r.floating(), r.floating(), r.floating())
    rows, cols = r.integer(), r.integer()
    if rows != cols:
        raise r.fail(f"the input is {rows}x{cols}, expected a square chip")
    parsed.size = rows
    for i, node in enumerate(layers):
        parsed.layers.append(_details(r, node))
        for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, get_output..._disabled
            r.boolean()
        r.tensor(), r.tensor()  # x_grad, cached_output
        if i == 0:
            r.tensor()  # grad_final
            if versions[0] == 3:
                r.integer()  # _sample_expansion_factor
        elif versions[i] == 2:
            r.tensor()  # params_grad
    if not r.at_end:
        raise r.fail("bytes are left after the network")
    return parsed


def _details(r: DlibReader, node: Layer) -> dict[str, Any]:
    """One layer's fields as ``dnn/layers.h`` writes them, checked against what ``node`` fixes."""
    if node.kind == "con":
        r.expect_string(("con_4",))
        params = r.tensor()
        n, rows, cols, sy, sx, py, px = (r.integer() for _ in range(7))
        filters, biases = r.alias(), r.alias()
        for _ in range(4):
            r.floating()  # learning-rate and weight-decay multipliers
        if (n, rows, cols, sy, sx) != (node.n, node.size, node.size, node.stride, node.stride):
            raise r.fail(f"a con layer of {n} {rows}x{cols} filters, stride {sy}x{sx}; expected {node}")
        weights = view(params, filters, 0)
        return {"w": weights, "b": view(params, biases, weights.size).reshape(-1), "pads": (py, px)}
    if node.kind == "affine":
        version = r.expect_string(("affine_", "affine_2"))
        params = r.tensor()
        gamma, beta = r.alias(), r.alias()
        mode = r.integer()
        if version == "affine_2" and r.boolean():
            raise r.fail("a disabled affine layer")
        if mode != 0 or gamma[2:] != (1, 1):
            raise r.fail(f"an affine layer in fc mode (mode {mode}, gamma {gamma}); expected conv mode")
        g = view(params, gamma, 0).reshape(-1)
        return {"gamma": g, "beta": view(params, beta, g.size).reshape(-1)}
    if node.kind == "relu":
        r.expect_string(("relu_",))
        return {}
    if node.kind in ("max_pool", "avg_pool"):
        r.expect_string((f"{node.kind}_2",))
        rows, cols, sy, sx, py, px = (r.integer() for _ in range(6))
        if (rows, cols, sy, sx, py, px) != (node.size, node.size, node.stride, node.stride, 0, 0):
            raise r.fail(f"a {node.kind} of {rows}x{cols}, stride {sy}x{sx}, padding {py}x{px}; expected {node}")
        return {}
    if node.kind == "add_prev":
        r.expect_string(("add_prev_",))
        return {}
    r.expect_string(("fc_2",))
    outputs, inputs = r.integer(), r.integer()
    params = r.tensor()
    weights_alias, biases_alias = r.alias(), r.alias()
    bias_mode = r.integer()  # 0: FC_HAS_BIAS, 1: FC_NO_BIAS
    for _ in range(4):
        r.floating()
    if outputs != node.n:
        raise r.fail(f"an fc layer of {outputs} outputs; expected {node.n}")
    weights = view(params, weights_alias, 0).reshape(inputs, outputs)
    bias = view(params, biases_alias, weights.size).reshape(-1) if bias_mode == 0 else None
    return {"w": weights, "b": bias}


def to_onnx(parsed: Parsed, metadata: dict[str, str]) -> bytes:
    """The network as a serialised ONNX model: uint8 chips (batch, size, size, 3) RGB in, descriptors out."""
    from onnx import TensorProto, helper

    g = _Graph()
    mean = np.array(parsed.means, dtype=np.float32).reshape(1, 3, 1, 1)
    x = g.op("Cast", [INPUT_NAME], "as_float", to=TensorProto.FLOAT)
    x = g.op("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    x = g.op("Sub", [x, g.const("channel_means", mean)], "centred")
    x = g.op("Mul", [x, g.const("scale", np.array(1.0 / 256.0, dtype=np.float32))], "input")
    shape: tuple[int, ...] = (3, parsed.size, parsed.size)  # (channels, rows, columns) of x
    tags: dict[int, tuple[str, tuple[int, ...]]] = {}
    layers = iter(parsed.layers)
    pending: dict[str, Any] | None = None  # a con waiting for the affine that follows it
    for i, node in enumerate(NETWORK):
        if isinstance(node, Tag):
            tags[node.id] = (x, shape)
            continue
        if isinstance(node, Skip):
            x, shape = tags[node.id]
            continue
        fields = {**next(layers), "name": f"{i:03d}_{node.kind}", "stride": node.stride}
        nxt = NETWORK[i + 1] if i + 1 < len(NETWORK) else None
        if node.kind == "con" and isinstance(nxt, Layer) and nxt.kind == "affine":
            pending = fields
        elif node.kind == "affine":
            if pending is None:
                raise ModelCorruptError("an affine layer that follows no convolution is not supported")
            x, pending = g.conv(x, pending, fields), None
        elif node.kind == "con":
            x = g.conv(x, fields, None)
        elif node.kind == "add_prev":
            x, shape = g.add(x, shape, *tags[node.tag], fields["name"])
            continue
        else:
            x = g.simple(x, node, fields)
        shape = _shape(node, shape, fields)
    g.nodes.append(helper.make_node("Identity", [x], [OUTPUT_NAME], name="output"))
    size, dim = parsed.size, NETWORK[-1].n  # type: ignore[union-attr]
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, ["batch", size, size, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", dim])],
        initializer=g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="openlfr")
    model.ir_version = 8
    helper.set_model_props(model, metadata)
    return bytes(model.SerializeToString())


def _shape(node: Layer, shape: tuple[int, ...], fields: dict[str, Any]) -> tuple[int, ...]:
    """The (channels, rows, columns) after ``node``, as dlib and ONNX (floor) compute it."""
    c, h, w = shape
    if node.kind == "con":
        (py, px), k, s = fields["pads"], node.size, node.stride
        return node.n, (h + 2 * py - k) // s + 1, (w + 2 * px - k) // s + 1
    if node.kind in ("max_pool", "avg_pool") and node.size > 0:
        return c, (h - node.size) // node.stride + 1, (w - node.size) // node.stride + 1
    if node.kind == "avg_pool":
        return c, 1, 1
    if node.kind == "fc":
        return node.n, 1, 1
    return shape


class _Graph:
    """The nodes and weights of the ONNX graph being built."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def const(self, name: str, value: NDArray[Any]) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], name: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(kind, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x: str, con: dict[str, Any], affine: dict[str, Any] | None) -> str:
        """A Conv; with ``affine``, its scale folded into the weights and its shift into the bias."""
        w, b = con["w"].astype(np.float64), con["b"].astype(np.float64)
        if affine is not None:
            gamma, beta = affine["gamma"].astype(np.float64), affine["beta"].astype(np.float64)
            w, b = w * gamma[:, None, None, None], b * gamma + beta
        (py, px), name = con["pads"], con["name"]
        weights = self.const(f"{name}_w", w.astype(np.float32))
        bias = self.const(f"{name}_b", b.astype(np.float32))
        attrs = {"kernel_shape": list(w.shape[2:]), "strides": [con["stride"]] * 2, "pads": [py, px, py, px]}
        return self.op("Conv", [x, weights, bias], name, **attrs)

    def add(
        self, x: str, shape: tuple[int, ...], other: str, other_shape: tuple[int, ...], name: str
    ) -> tuple[str, tuple[int, ...]]:
        """dlib's add_prev: ``tt::add`` makes the output as large as the larger input in each dimension and
        adds what overlaps (ares_down adds a 4x4 average pool to a 3x3 convolution), so pad both to that."""
        full = tuple(max(a, b) for a, b in zip(shape, other_shape, strict=True))
        x = self._pad_to(x, shape, full, f"{name}_a")
        other = self._pad_to(other, other_shape, full, f"{name}_b")
        return self.op("Add", [x, other], name), full

    def _pad_to(self, x: str, shape: tuple[int, ...], full: tuple[int, ...], name: str) -> str:
        if shape == full:
            return x
        ends = [f - s for f, s in zip(full, shape, strict=True)]
        return self.op("Pad", [x, self.const(f"{name}_pads", np.array([0, 0, 0, 0, 0, *ends]))], f"{name}_pad")

    def simple(self, x: str, node: Layer, fields: dict[str, Any]) -> str:
        """relu, the pools and fc."""
        name = fields["name"]
        if node.kind == "relu":
            return self.op("Relu", [x], name)
        if node.kind == "avg_pool" and node.size == 0:
            return self.op("GlobalAveragePool", [x], name)
        if node.kind in ("max_pool", "avg_pool"):
            kind = "MaxPool" if node.kind == "max_pool" else "AveragePool"
            return self.op(kind, [x], name, kernel_shape=[node.size] * 2, strides=[node.stride] * 2)
        x = self.op("Flatten", [x], f"{name}_flat", axis=1)
        x = self.op("MatMul", [x, self.const(f"{name}_w", fields["w"])], name)
        if fields["b"] is not None:
            x = self.op("Add", [x, self.const(f"{name}_b", fields["b"])], f"{name}_bias")
        return x


def convert(dat: Path, metadata: dict[str, str]) -> bytes:
    """The ONNX model for dlib's ``.dat`` at ``dat``."""
    return to_onnx(read_network(dat.read_bytes(), str(dat)), metadata)
