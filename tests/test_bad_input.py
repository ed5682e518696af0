"""Bad input raises a specific EngramError subclass and changes nothing in the database."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dbdump import dump

from engram import (
    Engram,
    EngramError,
    ImportFormatError,
    InvalidInput,
    Message,
    ModelMismatch,
    NaiveDatetime,
    NotFound,
    ScopeRequired,
    SearchFilters,
    TextTooLong,
)
from engram.embed.base import Embedder
from engram.models import Scope

NAIVE = datetime(2024, 1, 1, 12, 0)
LIMIT = 200  # max_text_bytes of the engine under test


class Ctx:
    def __init__(self, eg: Engram, path: Path, memory_id: str, episode_id: str) -> None:
        self.eg = eg
        self.path = path
        self.mid = memory_id
        self.eid = episode_id


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Ctx]:
    path = tmp_path_factory.mktemp("bad") / "bad.db"
    eg = Engram(path, embedder=embedder, max_text_bytes=LIMIT)
    res = eg.add("I live in Berlin", user_id="u")
    m = eg.remember("Likes tea", user_id="u")
    eg._flush_touches()
    yield Ctx(eg, path, m.id, res.episodes[0].id)
    eg.close()


def _valid_export(c: Ctx) -> list[str]:
    return [json.dumps(r) for r in c.eg.export_records(user_id="u")]


def _exported(c: Ctx, kind: str) -> dict[str, Any]:
    """The first exported record of ``kind`` ("episode", "memory", "version")."""
    return next(r for r in map(json.loads, _valid_export(c)) if r["type"] == kind)


def _import(c: Ctx, lines: list[str]) -> Any:
    return c.eg.import_(io.StringIO("\n".join(lines) + "\n"), user_id="fresh-user")


CASES: list[tuple[str, type[EngramError], Callable[[Ctx], Any]]] = [
    ("empty text", InvalidInput, lambda c: c.eg.add("", user_id="u")),
    ("whitespace text", InvalidInput, lambda c: c.eg.add("  \n\t ", user_id="u")),
    ("empty list", InvalidInput, lambda c: c.eg.add([], user_id="u")),
    ("text over limit", TextTooLong, lambda c: c.eg.add("x" * (LIMIT + 1), user_id="u")),
    ("multibyte over limit", TextTooLong, lambda c: c.eg.add("é" * (LIMIT // 2 + 1), user_id="u")),
    ("bad message among good ones", InvalidInput,
     lambda c: c.eg.add(["good one", "good two", "   "], user_id="u")),
    ("long message among good ones", TextTooLong,
     lambda c: c.eg.add(["good one", "y" * (LIMIT + 5)], user_id="u")),
    ("NUL in text", InvalidInput, lambda c: c.eg.add("a\x00b", user_id="u")),
    ("lone surrogate", InvalidInput, lambda c: c.eg.add("a\ud800b", user_id="u")),
    ("no scope", ScopeRequired, lambda c: c.eg.add("hello")),
    ("session only", ScopeRequired, lambda c: c.eg.add("hello", session_id="s")),
    ("control char in user id", InvalidInput, lambda c: c.eg.add("hi", user_id="u\x01")),
    ("naive occurred_at", NaiveDatetime, lambda c: c.eg.add("hi", user_id="u", occurred_at=NAIVE)),
    ("naive message time", NaiveDatetime,
     lambda c: c.eg.add([Message("ok"), Message("hi", occurred_at=NAIVE)], user_id="u")),
    ("naive time string", NaiveDatetime,
     lambda c: c.eg.add({"text": "hi", "occurred_at": "2024-01-01T00:00:00"}, user_id="u")),
    ("unknown message field", InvalidInput,
     lambda c: c.eg.add({"text": "hi", "colour": "red"}, user_id="u")),
    ("bad role", InvalidInput, lambda c: c.eg.add(Message("hi", role="wizard"), user_id="u")),
    ("repeated id in a call", InvalidInput,
     lambda c: c.eg.add([Message("a", id="k"), Message("b", id="k")], user_id="u")),
    ("metadata not JSON", InvalidInput,
     lambda c: c.eg.add("hi", user_id="u", metadata={"s": {1, 2}})),
    ("metadata NaN", InvalidInput,
     lambda c: c.eg.add("hi", user_id="u", metadata={"x": float("nan")})),
    ("unknown id get", NotFound, lambda c: c.eg.get("mem_nope", user_id="u")),
    ("other user's id", NotFound, lambda c: c.eg.get(c.mid, user_id="v")),
    ("other user's episode", NotFound, lambda c: c.eg.get(c.eid, user_id="v")),
    ("unknown id update", NotFound, lambda c: c.eg.update("mem_nope", "x", user_id="u")),
    ("unknown id delete", NotFound, lambda c: c.eg.delete("mem_nope", user_id="u")),
    ("unknown id history", NotFound, lambda c: c.eg.history("mem_nope", user_id="u")),
    ("update nothing", InvalidInput, lambda c: c.eg.update(c.mid, user_id="u")),
    ("update empty text", InvalidInput, lambda c: c.eg.update(c.mid, " ", user_id="u")),
    ("update too long", TextTooLong, lambda c: c.eg.update(c.mid, "z" * (LIMIT + 1), user_id="u")),
    ("update naive valid_to", NaiveDatetime,
     lambda c: c.eg.update(c.mid, "Likes green tea", valid_to=NAIVE, user_id="u")),
    ("update bad importance", InvalidInput,
     lambda c: c.eg.update(c.mid, importance=3.0, user_id="u")),
    ("remember bad kind", InvalidInput, lambda c: c.eg.remember("x", user_id="u", kind="gossip")),
    ("remember naive valid_from", NaiveDatetime,
     lambda c: c.eg.remember("x", user_id="u", valid_from=NAIVE)),
    ("search empty", InvalidInput, lambda c: c.eg.search(" ", user_id="u")),
    ("search limit 0", InvalidInput, lambda c: c.eg.search("tea", user_id="u", limit=0)),
    ("search limit huge", InvalidInput, lambda c: c.eg.search("tea", user_id="u", limit=10**6)),
    ("search limit str", InvalidInput, lambda c: c.eg.search("tea", user_id="u", limit="5")),
    ("search limit bool", InvalidInput, lambda c: c.eg.search("tea", user_id="u", limit=True)),
    ("search bad kind", InvalidInput, lambda c: c.eg.search("tea", user_id="u", kinds=["gossip"])),
    ("search filters not SearchFilters", InvalidInput,
     lambda c: c.eg.search("tea", user_id="u", filters={"kinds": ["fact"]})),
    ("search naive start", NaiveDatetime, lambda c: c.eg.search("tea", user_id="u", start=NAIVE)),
    ("search naive filter as_of", NaiveDatetime,
     lambda c: c.eg.search("tea", user_id="u", filters=SearchFilters(as_of=NAIVE))),
    ("search naive now", NaiveDatetime, lambda c: c.eg.search("tea", user_id="u", now=NAIVE)),
    ("search bad metadata", InvalidInput,
     lambda c: c.eg.search("tea", user_id="u", metadata={"k": object()})),
    ("search no scope", ScopeRequired, lambda c: c.eg.search("tea")),
    ("scope not a Scope", InvalidInput, lambda c: c.eg.search("tea", scope="u")),
    ("context bad budget", InvalidInput,
     lambda c: c.eg.context("tea", user_id="u", max_tokens=0)),
    ("list bad type", InvalidInput, lambda c: c.eg.list(user_id="u", type="thing")),
    ("list bad limit", InvalidInput, lambda c: c.eg.list(user_id="u", limit=0)),
    ("list limit bool", InvalidInput, lambda c: c.eg.list(user_id="u", limit=True)),
    ("list bad cursor", InvalidInput, lambda c: c.eg.list(user_id="u", cursor="garbage")),
    ("list bad kind", InvalidInput, lambda c: c.eg.list(user_id="u", kinds=["gossip"])),
    ("import not JSON", ImportFormatError,
     lambda c: _import(c, [*_valid_export(c), "{not json"])),
    ("import missing field", ImportFormatError,
     lambda c: _import(c, [*_valid_export(c), json.dumps({"type": "episode", "id": "x"})])),
    ("import naive time", ImportFormatError,
     lambda c: _import(c, [json.dumps({**json.loads(_valid_export(c)[0]),
                                       "occurred_at": "2024-01-01T00:00:00", "id": "new"})])),
    ("import null occurred_at", ImportFormatError,
     lambda c: _import(c, [json.dumps({**_exported(c, "episode"), "occurred_at": None,
                                       "id": "new"})])),
    ("import null created_at", ImportFormatError,
     lambda c: _import(c, [json.dumps({**_exported(c, "episode"), "created_at": None,
                                       "id": "new"})])),
    ("import memory null created_at", ImportFormatError,
     lambda c: _import(c, [json.dumps({**_exported(c, "memory"), "created_at": None,
                                       "updated_at": None, "id": "new"})])),
    ("import version null recorded_at", ImportFormatError,
     lambda c: _import(c, [json.dumps({**_exported(c, "version"), "recorded_at": None})])),
    ("import unknown type", ImportFormatError,
     lambda c: _import(c, [*_valid_export(c), json.dumps({"type": "thing"})])),
    ("import text too long", ImportFormatError,
     lambda c: _import(c, [json.dumps({**json.loads(_valid_export(c)[0]),
                                       "text": "q" * (LIMIT + 1), "id": "new"})])),
    ("store vector of another dimension", ModelMismatch,
     lambda c: c.eg.store.vector_search(Scope(user_id="u"), np.ones(16, np.float32) / 4,
                                        c.eg.embedder().model_id, SearchFilters(), 5)),
]


@pytest.mark.parametrize(("name", "error", "call"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_and_changes_nothing(
    ctx: Ctx, name: str, error: type[EngramError], call: Callable[[Ctx], Any]
) -> None:
    before = dump(ctx.path)
    with pytest.raises(error) as info:
        call(ctx)
    assert isinstance(info.value, EngramError)
    assert info.value.code and str(info.value)
    ctx.eg._flush_touches()
    assert dump(ctx.path) == before


def test_import_errors_report_line_numbers(ctx: Ctx) -> None:
    good = _valid_export(ctx)
    lines = [good[0], "{broken", good[1], "", json.dumps({"type": "memory", "id": "m"}), "[]"]
    before = dump(ctx.path)
    with pytest.raises(ImportFormatError) as info:
        _import(ctx, lines)
    assert [n for n, _ in info.value.errors] == [2, 5, 6]
    assert "line 2" in str(info.value)
    assert dump(ctx.path) == before


def test_wrong_model_engine_raises_and_changes_nothing(ctx: Ctx, embedder: Embedder) -> None:
    from test_engine import Renamed

    before = dump(ctx.path)
    other = Engram(ctx.path, embedder=Renamed(embedder))
    try:
        with pytest.raises(ModelMismatch):
            other.add("I live in Rome", user_id="u")
        with pytest.raises(ModelMismatch):
            other.remember("note", user_id="u")
        with pytest.raises(ModelMismatch):
            other.search("Rome", user_id="u")
    finally:
        other.close()
    assert dump(ctx.path) == before
