"""In-memory rewrite of the MiniLM ONNX graph to run its matrix products in int8.

The published ``model.onnx`` stores each weight matrix as int8 plus a per-column
float scale, and rebuilds the float matrix in the graph (``Cast`` then ``Mul``).
onnxruntime folds that into a constant at load, so the products run in float32.
:func:`int8_matmul_model` turns every ``MatMul(x, Mul(Cast(w_q), scale))`` into
integer products with the same int8 weights, in one of two ways:

* ``residual=False``: ``com.microsoft.DynamicQuantizeMatMul(x, w_q, scale)``:
  activations are quantised to uint8 (one scale per tensor) per call. About 1.7x
  faster than float on one thread, but the rounding of the activations moves the
  vectors (cosine to the float result down to ~0.94 on LoCoMo turns).
* ``residual=True``: two integer products per weight. ``x`` is quantised
  (``DynamicQuantizeLinear``), what the rounding lost (``x - dequantised``) is
  quantised again with its own, ~255x finer scale, and both go through the same
  int8 weights: ``MatMulIntegerToFloat(x_q, w_q) + MatMulIntegerToFloat(r_q, w_q)``
  with ``r_q`` the quantised ``x - x_hat`` (products reading one input, such as
  query, key and value, share its quantisation). The activations then carry ~16
  bits and, the weights being exactly the stored int8 ones, the result matches the
  float products (lowest cosine over the 4,124 LoCoMo dev turns .9999995); about
  1.3x faster than float on one core (``python -m tools.bench_embed --locomo``).

Both also hand each product the bias of the ``Add`` that only reads it (the
integer kernels add it while they write the result: one pass less over the
tensor) and fuse the exact GELU written out in five nodes into one
``com.microsoft.Gelu``: ~8% of a pass, the same function (measured A/B).

It edits the protobuf wire format directly (the few fields it needs are stable
parts of ``onnx.proto``), so it needs no ``onnx`` package; every field it does
not touch is copied byte for byte. A graph that does not have the expected
shape is returned unchanged (``rewritten == 0``).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from ._onnx_wire import (
    _FLOAT,
    _GRAPH_INITIALIZER,
    _GRAPH_NODE,
    _GRAPH_OUTPUT,
    _INT8,
    _MODEL_GRAPH,
    _MODEL_OPSET_IMPORT,
    _MS_DOMAIN,
    _NODE_DOMAIN,
    _NODE_INPUT,
    _NODE_NAME,
    _NODE_OP_TYPE,
    _NODE_OUTPUT,
    _OPSET_DOMAIN,
    _OPSET_VERSION,
    _TENSOR_DATA_TYPE,
    _TENSOR_DIMS,
    _TENSOR_FLOAT_DATA,
    _TENSOR_NAME,
    _TENSOR_RAW_DATA,
    _VALUEINFO_NAME,
    Field,
    _ints,
    _node,
    _parse,
    _serialize,
    _str_field,
    _string,
    _strings,
)

__all__ = ["RewriteResult", "int8_matmul_model"]


@dataclass(frozen=True)
class RewriteResult:
    """The rewritten model bytes and how many ``MatMul`` nodes were replaced."""

    model: bytes
    rewritten: int


def _replacement(name: str, x: str, w_q: str, scale: str, bias: str, outputs: list[str],
                 residual: bool, quantized: dict[str, tuple[str, ...]]) -> list[list[Field]]:
    """The nodes computing ``x @ (w_q * scale) + bias`` in integers (module
    docstring; ``bias`` may be ``""``: none). ``quantized``: the two-term
    quantisation of each ``x`` made so far (products sharing an input, such as
    query, key and value, quantise it once)."""
    tail = [bias] if bias else []
    if not residual:
        return [_node("DynamicQuantizeMatMul", [x, w_q, scale, "", *tail], outputs,
                      name + "_int8", _MS_DOMAIN)]
    p = name + "_int8x2"
    nodes: list[list[Field]] = []
    if x not in quantized:
        q = p + "/x"
        x_q, x_s, x_z, x_hat, rest = q + "_q", q + "_scale", q + "_zero", q + "_hat", q + "_rest"
        r_q, r_s, r_z = q + "_rest_q", q + "_rest_scale", q + "_rest_zero"
        nodes += [
            _node("DynamicQuantizeLinear", [x], [x_q, x_s, x_z], q + "/quantize"),
            _node("DequantizeLinear", [x_q, x_s, x_z], [x_hat], q + "/dequantize"),
            _node("Sub", [x, x_hat], [rest], q + "/rest"),
            _node("DynamicQuantizeLinear", [rest], [r_q, r_s, r_z], q + "/quantize_rest"),
        ]
        quantized[x] = (x_q, x_s, x_z, r_q, r_s, r_z)
    x_q, x_s, x_z, r_q, r_s, r_z = quantized[x]
    hi, lo = p + "/hi", p + "/lo"
    return nodes + [
        _node("MatMulIntegerToFloat", [x_q, w_q, x_s, scale, x_z, "", *tail], [hi],
              p + "/hi", _MS_DOMAIN),
        _node("MatMulIntegerToFloat", [r_q, w_q, r_s, scale, r_z], [lo], p + "/lo", _MS_DOMAIN),
        _node("Add", [hi, lo], outputs, p + "/sum"),
    ]


def _float_scalar(tensor: list[Field]) -> float | None:
    """The value of a one-element float initializer, else ``None``."""
    dtype = _ints(tensor, _TENSOR_DATA_TYPE)
    if dtype != [_FLOAT] or any(d != 1 for d in _ints(tensor, _TENSOR_DIMS)):
        return None
    for num, wt, payload in tensor:
        if (num == _TENSOR_RAW_DATA or (num == _TENSOR_FLOAT_DATA and wt == 2)) and \
                len(payload) == 4:
            return float(struct.unpack("<f", payload)[0])
        if num == _TENSOR_FLOAT_DATA and wt == 5:
            return float(struct.unpack("<f", payload)[0])
    return None


def _fuse_gelu(nodes: list[list[Field]], alive: list[bool], scalars: dict[str, float],
               keep: set[str]) -> int:
    """Replace each exact GELU written out in five nodes, ``x * (0.5 * (erf(x /
    sqrt 2) + 1))`` (factors in either order), by one ``com.microsoft.Gelu(x)``
    (the same function, one pass over the tensor instead of five). ``keep``:
    names read outside the nodes (graph outputs). Returns how many were fused."""
    producer: dict[str, int] = {}
    readers: dict[str, int] = {}
    for k, node in enumerate(nodes):
        if not alive[k]:
            continue
        for out in _strings(node, _NODE_OUTPUT):
            producer[out] = k
        for name in _strings(node, _NODE_INPUT):
            readers[name] = readers.get(name, 0) + 1

    def op(k: int) -> str:
        return "" if _string(nodes[k], _NODE_DOMAIN) else _string(nodes[k], _NODE_OP_TYPE)

    def step(name: str, kind: str, const: float) -> tuple[int, str] | None:
        """The node ``kind`` making ``name`` from one input and the constant
        ``const`` (either side for Add and Mul): (its index, the other input)."""
        k = producer.get(name)
        if k is None or op(k) != kind or readers.get(name) != 1 or name in keep:
            return None
        ins = _strings(nodes[k], _NODE_INPUT)
        if len(ins) != 2:
            return None
        sides = [(1, 0)] if kind == "Div" else [(1, 0), (0, 1)]
        for c, other in sides:
            value = scalars.get(ins[c])
            if value is not None and abs(value - const) <= 1e-6 * max(1.0, abs(const)):
                return k, ins[other]
        return None

    fused = 0
    for k, node in enumerate(nodes):
        if not alive[k] or op(k) != "Mul":
            continue
        ins, outs = _strings(node, _NODE_INPUT), _strings(node, _NODE_OUTPUT)
        if len(ins) != 2:
            continue
        for x, half_name in ((ins[0], ins[1]), (ins[1], ins[0])):
            half = step(half_name, "Mul", 0.5)
            plus = step(half[1], "Add", 1.0) if half else None
            erf_k = producer.get(plus[1]) if plus else None
            if half is None or plus is None or erf_k is None or op(erf_k) != "Erf" \
                    or readers.get(plus[1]) != 1:
                continue
            div = step(_strings(nodes[erf_k], _NODE_INPUT)[0], "Div", math.sqrt(2.0))
            if div is None or div[1] != x:
                continue
            for dead in (half[0], plus[0], erf_k, div[0]):
                alive[dead] = False
            nodes[k] = _node("Gelu", [x], outs, _string(node, _NODE_NAME) + "_gelu", _MS_DOMAIN)
            fused += 1
            break
    return fused


def int8_matmul_model(model: bytes, *, residual: bool = False) -> RewriteResult:
    """Return ``model`` with weight ``MatMul`` nodes replaced by int8 products
    (``residual``: two products per weight, the float result to ~16 bits; see the
    module docstring)."""
    top = _parse(model)
    graph_idx = next((i for i, f in enumerate(top) if f[0] == _MODEL_GRAPH), None)
    if graph_idx is None:
        return RewriteResult(model, 0)
    graph = _parse(top[graph_idx][2])

    # initializers: name -> (data_type, dims); only header fields are decoded
    inits: dict[str, tuple[int, list[int]]] = {}
    scalars: dict[str, float] = {}  # one-element float initializers: their values
    for num, _, payload in graph:
        if num == _GRAPH_INITIALIZER:
            t = _parse(payload)
            dtype = _ints(t, _TENSOR_DATA_TYPE)
            name = _string(t, _TENSOR_NAME)
            inits[name] = (dtype[0] if dtype else 0, _ints(t, _TENSOR_DIMS))
            value = _float_scalar(t)
            if value is not None:
                scalars[name] = value
    graph_outputs = {_string(_parse(p), _VALUEINFO_NAME) for n, _, p in graph if n == _GRAPH_OUTPUT}

    node_pos = [i for i, f in enumerate(graph) if f[0] == _GRAPH_NODE]
    nodes = [_parse(graph[i][2]) for i in node_pos]
    producer: dict[str, int] = {}
    readers: dict[str, list[int]] = {}
    for k, node in enumerate(nodes):
        for out in _strings(node, _NODE_OUTPUT):
            producer[out] = k
        for name in _strings(node, _NODE_INPUT):
            readers.setdefault(name, []).append(k)

    def weight_of(name: str) -> tuple[str, str, int] | None:
        """(int8 weight, scale, columns) when ``name`` is ``Mul(Cast(w_q), scale)``."""
        mul_k = producer.get(name)
        if mul_k is None or _string(nodes[mul_k], _NODE_OP_TYPE) != "Mul":
            return None
        mul_in = _strings(nodes[mul_k], _NODE_INPUT)
        if len(mul_in) != 2:
            return None
        cast_k = producer.get(mul_in[0])
        if cast_k is None or _string(nodes[cast_k], _NODE_OP_TYPE) != "Cast":
            return None
        (w_q,) = _strings(nodes[cast_k], _NODE_INPUT)[:1] or [""]
        scale = mul_in[1]
        if w_q not in inits or scale not in inits:
            return None
        q_type, q_dims = inits[w_q]
        s_dims = inits[scale][1]
        if q_type != _INT8 or len(q_dims) != 2:
            return None
        if s_dims not in ([q_dims[1]], [1, q_dims[1]]):
            return None
        return w_q, scale, q_dims[1]

    def bias_of(out: str, columns: int) -> tuple[int, str] | None:
        """(the node, the bias) when ``out`` is only read by ``Add(out, bias)`` with
        a float initializer of ``columns`` values: the product takes the bias."""
        (k, *more) = readers.get(out, [-1])
        if more or k < 0 or out in graph_outputs or _string(nodes[k], _NODE_DOMAIN) \
                or _string(nodes[k], _NODE_OP_TYPE) != "Add":
            return None
        ins = _strings(nodes[k], _NODE_INPUT)
        bias = ins[1] if ins[:1] == [out] else ins[0]
        if len(ins) != 2 or out not in ins or bias == out:
            return None
        if inits.get(bias) != (_FLOAT, [columns]):
            return None
        return k, bias

    # each node becomes a list of nodes (a replacement may need several)
    rewritten = 0
    out_nodes: list[list[list[Field]]] = [[node] for node in nodes]
    quantized: dict[str, tuple[str, ...]] = {}
    for k, node in enumerate(nodes):
        if _string(node, _NODE_OP_TYPE) != "MatMul" or _string(node, _NODE_DOMAIN):
            continue
        inputs = _strings(node, _NODE_INPUT)
        found = weight_of(inputs[1]) if len(inputs) == 2 else None
        if found is None:
            continue
        w_q, scale, columns = found
        outputs = _strings(node, _NODE_OUTPUT)
        add = bias_of(outputs[0], columns) if len(outputs) == 1 else None
        bias = ""
        if add is not None:
            bias, outputs = add[1], _strings(nodes[add[0]], _NODE_OUTPUT)
            out_nodes[add[0]] = []
        out_nodes[k] = _replacement(_string(node, _NODE_NAME) or f"matmul{k}", inputs[0],
                                    w_q, scale, bias, outputs, residual, quantized)
        rewritten += 1
    if not rewritten:
        return RewriteResult(model, 0)
    nodes = [n for group in out_nodes for n in group]
    alive = [True] * len(nodes)
    _fuse_gelu(nodes, alive, scalars, graph_outputs)

    # drop the Cast/Mul pairs nobody reads any more (else they are folded into
    # float constants that waste memory); repeat until stable
    changed = True
    while changed:
        changed = False
        consumed: set[str] = set(graph_outputs)
        for k, node in enumerate(nodes):
            if alive[k]:
                consumed.update(_strings(node, _NODE_INPUT))
        for k, node in enumerate(nodes):
            if not alive[k] or _string(node, _NODE_OP_TYPE) not in ("Cast", "Mul"):
                continue
            if not any(o in consumed for o in _strings(node, _NODE_OUTPUT)):
                alive[k] = False
                changed = True

    # the nodes (in order) where the old ones were, every other field as it was
    new_graph: list[Field] = []
    for i, (num, wt, payload) in enumerate(graph):
        if num != _GRAPH_NODE:
            new_graph.append((num, wt, payload))
        elif i == node_pos[0]:
            new_graph += [(num, 2, _serialize(n)) for n, keep in zip(nodes, alive, strict=True)
                          if keep]
    top[graph_idx] = (_MODEL_GRAPH, 2, _serialize(new_graph))

    domains = {_string(_parse(p), _OPSET_DOMAIN) for n, _, p in top if n == _MODEL_OPSET_IMPORT}
    if _MS_DOMAIN not in domains:
        opset = _serialize([_str_field(_OPSET_DOMAIN, _MS_DOMAIN), (_OPSET_VERSION, 0, b"\x01")])
        top.append((_MODEL_OPSET_IMPORT, 2, opset))
    return RewriteResult(_serialize(top), rewritten)
