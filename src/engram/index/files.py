"""The file format of a persisted partition index: named arrays behind a JSON header.

Layout: the magic ``ENGRAMIX``, the header length (8 bytes, little-endian), the
JSON header (the caller's fields plus each array's dtype, shape and offset),
then the arrays, each 64-byte aligned. :func:`unpack` maps the file privately
(copy-on-write), so loading reads little beyond the header until arrays are
used, and writes to the arrays never reach the file. Only the array names and
dtypes in :data:`DTYPES` are accepted: a planted or damaged file is refused
(``ValueError``), never trusted, and no pickle is ever read.

The same layout holds a faiss graph (:mod:`engram.index.ann_faiss`: the
``graph_*`` arrays).

These files are never database files (see ``tests/test_rawfile_guard.py``):
:mod:`engram.store.sqlite_index_files` names them, beside the database.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DTYPES", "MAGIC", "is_packed", "pack", "unpack", "write_atomically"]

MAGIC = b"ENGRAMIX"
ALIGN = 64
#: dtype of every array a file may hold (anything else: the file is refused)
DTYPES = {
    "vecs": "<f4", "alive": "|b1", "ids": "|u1", "type": "|i1", "status": "|i1",
    "kind": "<i2", "agent": "<i4", "session": "<i4", "event": "<f8", "created": "<f8",
    "expired": "<f8", "keys": "<i8", "codes": "|u1", "lex_terms": "|u1",
    "lex_offsets": "<i8", "lex_rows": "<i8", "lex_tf": "<f4", "lex_doclen": "<f4",
    "vhash": "<u8", "graph_labels": "<i8", "graph_bits": "|u1", "graph_faiss": "|u1",
    "fwd_terms": "|u1", "fwd_offsets": "<i8", "fwd_fp": "<u8",
    "card_bytes": "|u1", "card_offsets": "<i8", "card_has": "|b1", "card_layout": "|u1",
}


def write_atomically(path: Path, chunks: Iterable[bytes | memoryview]) -> None:
    """``chunks`` into ``path`` atomically (a ``0600`` temporary file, then renamed)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fp:
            for chunk in chunks:
                fp.write(chunk)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def pack(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> list[bytes | memoryview]:
    """The file: magic, header length, JSON header (array dtypes, shapes, offsets), arrays."""
    layout: dict[str, list[Any]] = {}
    offset = 0
    for name, arr in arrays.items():
        layout[name] = [arr.dtype.str, list(arr.shape), offset]
        offset += -(-arr.nbytes // ALIGN) * ALIGN
    head = json.dumps({**header, "arrays": layout}).encode()
    start = -(-(len(MAGIC) + 8 + len(head)) // ALIGN) * ALIGN
    out: list[bytes | memoryview] = [
        MAGIC, len(head).to_bytes(8, "little"), head,
        b"\0" * (start - len(MAGIC) - 8 - len(head)),
    ]
    for arr in arrays.values():
        data = np.ascontiguousarray(arr)
        out.append(memoryview(data.reshape(-1).view(np.uint8)))  # type: ignore[arg-type]
        out.append(b"\0" * (-data.nbytes % ALIGN))
    return out


def is_packed(path: Path) -> bool:
    """Whether ``path`` starts with :data:`MAGIC` (a :func:`pack` file; a graph file
    written by voyager does not). ``OSError`` when it cannot be read."""
    with open(path, "rb") as fp:
        return fp.read(len(MAGIC)) == MAGIC


def unpack(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header and arrays of a :func:`pack` file, the arrays on a private (copy-on-write)
    memory map: pages are read when used and writes never reach the file."""
    with open(path, "rb") as fp:
        if fp.read(len(MAGIC)) != MAGIC:
            raise ValueError("not an Engram index file")
        size = int.from_bytes(fp.read(8), "little")
        if size > 1 << 24:
            raise ValueError("header too large")
        header = json.loads(fp.read(size))
        start = -(-(len(MAGIC) + 8 + size) // ALIGN) * ALIGN
        mm = mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_COPY)
    arrays: dict[str, np.ndarray] = {}
    for name, (dtype, shape, offset) in header.pop("arrays").items():
        if DTYPES.get(name) != dtype:
            raise ValueError(f"unexpected array {name!r} of type {dtype!r}")
        count = int(np.prod(shape)) if shape else 1
        arrays[name] = np.frombuffer(mm, dtype=dtype, count=count,
                                     offset=start + int(offset)).reshape(shape)
    return header, arrays
