"""EngramStore against LangGraph's store contract, with LangGraph's real classes.

The cases follow LangGraph's own store tests (libs/checkpoint-sqlite/tests/
test_store.py and libs/checkpoint/tests/test_store.py in langchain-ai/langgraph),
rewritten for Engram: scores are Engram's hybrid ranking (higher is better, not a
cosine), so assertions are on order and membership, never on score values. The
basic contract runs on every store backend; ranking cases on SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langgraph.store.base", reason="the langgraph extra is not installed")

from langgraph.store.base import (  # noqa: E402
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)

from engram import Engram  # noqa: E402
from engram.embed.base import Embedder  # noqa: E402
from engram.integrations.langgraph import EngramStore  # noqa: E402
from engram.store.base import Store  # noqa: E402


@pytest.fixture
def eg(tmp_path: Path, embedder: Embedder) -> Iterator[Engram]:
    with Engram(tmp_path / "lg.db", embedder=embedder) as engine:
        yield engine


@pytest.fixture
def lg(eg: Engram) -> EngramStore:
    return EngramStore(eg, user_id="ana")


# -- the basic contract, on every backend -------------------------------------------
def test_contract_on_every_backend(store: Store, embedder: Embedder) -> None:
    with Engram(store=store, embedder=embedder) as eg:
        s = EngramStore(eg, user_id="ana")
        s.put(("docs", "a"), "k1", {"text": "Lisbon trip notes", "tag": "travel", "n": 3})
        s.put(("docs", "b"), "k2", {"text": "grocery list", "tag": "home", "n": 1})
        item = s.get(("docs", "a"), "k1")
        assert item is not None and item.value == {"text": "Lisbon trip notes",
                                                   "tag": "travel", "n": 3}
        assert [i.key for i in s.search(("docs",), filter={"tag": "home"})] == ["k2"]
        assert [i.key for i in s.search(("docs",), filter={"n": {"$gt": 2}})] == ["k1"]
        assert s.search(("docs",), query="trip to Lisbon")[0].key == "k1"
        assert s.list_namespaces() == [("docs", "a"), ("docs", "b")]
        s.put(("docs", "a"), "k1", {"text": "Porto trip notes"})
        assert s.get(("docs", "a"), "k1").value == {"text": "Porto trip notes"}  # type: ignore[union-attr]
        s.delete(("docs", "a"), "k1")
        assert s.get(("docs", "a"), "k1") is None
        assert [i.key for i in s.search(("docs",))] == ["k2"]


# -- batch ----------------------------------------------------------------------------
def test_batch_answers_in_order_and_applies_puts(lg: EngramStore) -> None:
    lg.put(("test", "foo"), "key1", {"data": "value1"})
    lg.put(("test", "bar"), "key2", {"data": "value2"})
    results = lg.batch([
        GetOp(("test", "foo"), "key1"),
        PutOp(("test", "bar"), "key2", {"data": "value2"}),
        SearchOp(("test",), filter={"data": "value1"}, limit=10, offset=0),
        ListNamespacesOp(match_conditions=None, max_depth=None, limit=10, offset=0),
        GetOp(("test",), "key3"),
    ])
    assert len(results) == 5
    assert isinstance(results[0], Item) and results[0].value == {"data": "value1"}
    assert results[0].namespace == ("test", "foo")
    assert results[1] is None
    assert [i.key for i in results[2]] == ["key1"]  # type: ignore[union-attr]
    assert {("test", "foo"), ("test", "bar")} <= set(results[3])  # type: ignore[arg-type]
    assert results[4] is None
    again = lg.batch([
        SearchOp(("test",), limit=5),
        PutOp(("test",), "key3", {"data": "value3"}),
        GetOp(("test",), "key3"),  # reads see the state before the batch's puts
    ])
    assert len(again[0]) == 2  # type: ignore[arg-type]
    assert again[1] is None and again[2] is None
    assert lg.get(("test",), "key3").value == {"data": "value3"}  # type: ignore[union-attr]


def test_batch_puts_and_deletes(lg: EngramStore) -> None:
    results = lg.batch([
        PutOp(("test",), "key1", {"data": "value1"}),
        PutOp(("test",), "key2", {"data": "value2"}),
        PutOp(("test",), "key3", None),  # deleting a missing key does nothing
        PutOp(("test",), "key2", {"data": "value2b"}),  # the last put of a key wins
    ])
    assert results == [None, None, None, None]
    assert lg.get(("test",), "key1").value == {"data": "value1"}  # type: ignore[union-attr]
    assert lg.get(("test",), "key2").value == {"data": "value2b"}  # type: ignore[union-attr]
    assert lg.get(("test",), "key3") is None


def test_batch_searches_and_namespace_listings(lg: EngramStore) -> None:
    for ns, key, value in [
        (("test", "documents", "public"), "doc1", {"content": "public doc", "tag": "a"}),
        (("test", "documents", "private"), "doc2", {"content": "private doc", "tag": "a"}),
        (("test", "images", "public"), "img1", {"content": "public image", "tag": "b"}),
        (("prod", "documents", "public"), "doc3", {"content": "prod doc", "tag": "b"}),
    ]:
        lg.put(ns, key, value)
    found = lg.batch([
        SearchOp(("test",), filter={"tag": "a"}),
        SearchOp(("test",), limit=2),
        SearchOp(("test", "images")),
        ListNamespacesOp(),
        ListNamespacesOp(max_depth=2),
        ListNamespacesOp(match_conditions=(MatchCondition("suffix", ("public",)),)),
        ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("*", "documents")),)),
    ])
    assert sorted(i.key for i in found[0]) == ["doc1", "doc2"]  # type: ignore[union-attr]
    assert len(found[1]) == 2  # type: ignore[arg-type]
    assert [i.namespace for i in found[2]] == [("test", "images", "public")]  # type: ignore[union-attr]
    assert len(found[3]) == 4  # type: ignore[arg-type]
    assert found[4] == [("prod", "documents"), ("test", "documents"), ("test", "images")]
    assert all(ns[-1] == "public" for ns in found[5]) and len(found[5]) == 3  # type: ignore[union-attr]
    assert len(found[6]) == 3  # type: ignore[arg-type]


# -- get / put / delete -----------------------------------------------------------------
def test_namespaces_keep_items_apart(lg: EngramStore) -> None:
    lg.put(("test", "documents"), "doc1", {"title": "Test Document"})
    assert lg.get(("test", "other_documents"), "doc1") is None
    assert lg.get(("test",), "doc1") is None  # a prefix is not the namespace
    assert lg.get(("test", "documents", "x"), "doc1") is None
    lg.put(("test",), "doc1", {"title": "shallow"})
    assert lg.get(("test", "documents"), "doc1").value == {"title": "Test Document"}  # type: ignore[union-attr]


def test_update_keeps_created_at_and_history(eg: Engram, lg: EngramStore) -> None:
    lg.put(("prefs",), "theme", {"text": "dark mode"})
    first = lg.get(("prefs",), "theme")
    lg.put(("prefs",), "theme", {"text": "light mode"})
    second = lg.get(("prefs",), "theme")
    assert first is not None and second is not None
    assert second.created_at == first.created_at and second.updated_at >= first.updated_at
    mem = eg.search("light mode", user_id="ana", limit=1)[0].item
    assert [v.operation for v in eg.history(mem.id, user_id="ana")] == ["ADD", "UPDATE"]


def test_values_round_trip_exactly(lg: EngramStore) -> None:
    value: dict[str, Any] = {"nested": {"list": [1, 2.5, None, True], "s": "é ☕"},
                             "empty": {}, "text": "x"}
    lg.put(("non-ascii", "ключ"), "κλειδί", value)
    assert lg.get(("non-ascii", "ключ"), "κλειδί").value == value  # type: ignore[union-attr]


def test_invalid_namespaces_are_refused(lg: EngramStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        lg.put((), "k", {"a": 1})
    with pytest.raises(InvalidNamespaceError):
        lg.put(("langgraph", "x"), "k", {"a": 1})
    with pytest.raises(InvalidNamespaceError):
        lg.put(("a.b",), "k", {"a": 1})
    with pytest.raises(InvalidNamespaceError):
        lg.batch([GetOp(("a", ""), "k")])  # ops passed to batch directly are checked too
    with pytest.raises(NotImplementedError):
        lg.put(("a",), "k", {"a": 1}, ttl=5.0)


# -- filters ----------------------------------------------------------------------------
def test_filters_follow_langgraph_semantics(lg: EngramStore) -> None:
    docs = {
        "doc1": {"text": "red apple", "color": "red", "score": 4.5, "meta": {"a": 1}},
        "doc2": {"text": "red car", "color": "red", "score": 3.0, "tags": ["x", "y"]},
        "doc3": {"text": "green apple", "color": "green", "score": 4.0},
        "doc4": {"text": "blue car", "color": "blue", "score": 3.5},
    }
    for key, value in docs.items():
        lg.put(("test",), key, value)

    def keys(**kw: Any) -> list[str]:
        return sorted(i.key for i in lg.search(("test",), **kw))

    assert keys(filter={"color": "red"}) == ["doc1", "doc2"]
    assert keys(filter={"color": {"$eq": "red"}}) == ["doc1", "doc2"]
    assert keys(filter={"color": {"$ne": "red"}}) == ["doc3", "doc4"]
    assert keys(filter={"score": {"$gt": 3.2}}) == ["doc1", "doc3", "doc4"]
    assert keys(filter={"score": {"$gte": 4.0, "$lt": 4.5}}) == ["doc3"]
    assert keys(filter={"score": {"$lte": 3.0}}) == ["doc2"]
    assert keys(filter={"score": {"$gte": 4.0}, "color": "green"}) == ["doc3"]
    assert keys(filter={"meta": {"a": 1}}) == ["doc1"]  # nested dicts compared by key
    assert keys(filter={"tags": ["x", "y"]}) == ["doc2"]
    assert keys(filter={"tags": ["y", "x"]}) == []
    assert keys(filter={"missing": "x"}) == []
    assert keys(filter={"score": {"$gt": "not a number"}}) == []
    with pytest.raises(ValueError):
        lg.search(("test",), filter={"score": {"$regex": "x"}})
    # the same filters inside a query search
    assert [i.key for i in lg.search(("test",), query="apple", filter={"color": "red"})] \
        == ["doc1", "doc2"]
    hits = lg.search(("test",), query="a blue car", filter={"score": {"$gt": 3.2}})
    assert hits[0].key == "doc4" and sorted(i.key for i in hits) == ["doc1", "doc3", "doc4"]
    assert lg.search(("test",), query="apple", filter={"score": {"$gte": 4.0},
                                                      "color": "green"})[0].key == "doc3"


def test_search_without_query_pages_newest_first(lg: EngramStore) -> None:
    for i in range(5):
        lg.put(("pages",), f"doc{i}", {"text": f"document number {i}"})
    everything = [i.key for i in lg.search(("pages",), limit=10)]
    assert everything == ["doc4", "doc3", "doc2", "doc1", "doc0"]
    assert [i.key for i in lg.search(("pages",), limit=2, offset=2)] == ["doc2", "doc1"]
    assert lg.search(("pages",), offset=5) == []
    assert len(lg.search((), limit=10)) == 5  # the empty prefix is the whole store


# -- semantic search ----------------------------------------------------------------------
def test_query_ranks_by_meaning_and_pages(lg: EngramStore) -> None:
    lg.put(("test",), "doc1", {"text": "The quarterly budget review is on Friday"})
    lg.put(("test",), "doc2", {"text": "My dog loves long walks in the park"})
    lg.put(("test",), "doc3", {"text": "Birds migrate south in the autumn"})
    assert lg.search(("test",), query="when is the finance meeting?")[0].key == "doc1"
    assert lg.search(("test",), query="walking the puppy")[0].key == "doc2"
    page1 = lg.search(("test",), query="animals", limit=2)
    page2 = lg.search(("test",), query="animals", limit=2, offset=2)
    assert len(page1) == 2 and len(page2) == 1
    assert {i.key for i in page1}.isdisjoint(i.key for i in page2)
    assert page1[0].score is not None and page1[1].score is not None
    assert page1[0].score >= page1[1].score
    for query in ["", None]:  # no query: every item
        assert len(lg.search(("test",), query=query)) == 3
    assert len(lg.search(("test",), query="test " * 100)) == 3
    assert len(lg.search(("test",), query="test!@#$%^&*()")) == 3


def test_update_changes_ranking(lg: EngramStore) -> None:
    lg.put(("test",), "doc1", {"text": "zany zebra Xerxes"})
    lg.put(("test",), "doc2", {"text": "something about dogs"})
    assert lg.search(("test",), query="zany zebra")[0].key == "doc1"
    lg.put(("test",), "doc1", {"text": "new text about cats"})
    assert lg.search(("test",), query="cats")[0].key == "doc1"
    assert all("zany" not in str(i.value) for i in lg.search(("test",), query="zany zebra"))


def test_index_fields_choose_what_is_ranked(eg: Engram) -> None:
    s = EngramStore(eg, user_id="ana", index={"dims": 384, "embed": "ignored",
                                              "fields": ["title", "sections[*].body"]})
    s.put(("kb",), "a", {"title": "Sourdough baking", "notes": "volcanoes erupt"})
    s.put(("kb",), "b", {"title": "Misc", "sections": [{"body": "volcanoes and lava"}],
                         "notes": "bread"})
    assert s.search(("kb",), query="volcano eruption")[0].key == "b"  # notes not indexed
    assert s.search(("kb",), query="baking bread")[0].key == "a"
    s.put(("kb",), "c", {"title": "Misc", "notes": "volcanoes erupt violently"},
          index=["notes"])  # per-item fields
    assert s.search(("kb",), query="volcanoes erupt violently")[0].key == "c"


def test_unindexed_items_only_fill_a_short_page(lg: EngramStore) -> None:
    lg.put(("test",), "doc1", {"text": "new text about dogs"})
    lg.put(("test",), "doc2", {"text": "cats sleeping"})
    lg.put(("test",), "doc3", {"text": "fish swimming"})
    lg.put(("test",), "doc4", {"text": "new text about dogs"}, index=False)
    assert "doc4" not in [i.key for i in lg.search(("test",), query="dogs", limit=3)]
    page = lg.search(("test",), query="dogs", limit=10)
    assert page[-1].key == "doc4" and page[-1].score is None
    assert lg.get(("test",), "doc4") is not None
    assert len(lg.search(("test",))) == 4


# -- Engram underneath ---------------------------------------------------------------------
def test_items_are_engram_memories_of_the_scope(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "persist.db"
    with Engram(path, embedder=embedder) as eg:
        EngramStore(eg, user_id="ana").put(("memories", "ana"), "coffee",
                                           {"text": "Ana drinks her coffee black"})
        assert "coffee black" in eg.context("how does Ana take coffee?", user_id="ana").text
        other = EngramStore(eg, user_id="bo")
        assert other.get(("memories", "ana"), "coffee") is None  # scopes stay apart
        assert other.search(("memories",), query="coffee") == []
    with Engram(path, embedder=embedder) as eg:  # durable: a new process sees it
        item = EngramStore(eg, user_id="ana").get(("memories", "ana"), "coffee")
        assert item is not None and item.value["text"] == "Ana drinks her coffee black"


def test_async_methods_share_the_sync_core(lg: EngramStore) -> None:
    async def run() -> None:
        await lg.aput(("a",), "k", {"text": "hello async"})
        assert (await lg.aget(("a",), "k")).value == {"text": "hello async"}  # type: ignore[union-attr]
        assert [i.key for i in await lg.asearch(("a",), query="hello")] == ["k"]
        assert await lg.alist_namespaces() == [("a",)]
        await lg.adelete(("a",), "k")
        assert await lg.aget(("a",), "k") is None

    asyncio.run(run())


# -- a ReAct agent that remembers across threads ------------------------------------------
@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
def test_react_agent_remembers_across_threads(eg: Engram) -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.config import get_store
    from langgraph.prebuilt import create_react_agent

    class ScriptedModel(GenericFakeChatModel):
        """langchain-core's scripted chat model; tools are scripted, so binding is a no-op."""

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    @tool
    def save_memory(text: str) -> str:
        """Remember a fact about the user."""
        get_store().put(("memories", "ana"), f"m{abs(hash(text))}", {"text": text})
        return "saved"

    @tool
    def recall(query: str) -> str:
        """Search what is remembered about the user."""
        return "\n".join(i.value["text"] for i in get_store().search(("memories", "ana"),
                                                                     query=query, limit=3))

    def call(name: str, args: dict[str, Any], cid: str) -> AIMessage:
        return AIMessage("", tool_calls=[{"name": name, "args": args, "id": cid}])

    model = ScriptedModel(messages=iter([
        call("save_memory", {"text": "Ana is allergic to peanuts"}, "c1"), AIMessage("Noted."),
        call("recall", {"query": "food allergies"}, "c2"), AIMessage("No peanuts for you."),
    ]))
    agent = create_react_agent(model, [save_memory, recall], store=EngramStore(eg, user_id="ana"),
                               checkpointer=InMemorySaver())
    agent.invoke({"messages": [("user", "I'm allergic to peanuts")]},
                 {"configurable": {"thread_id": "monday"}})
    out = agent.invoke({"messages": [("user", "Any snack ideas?")]},
                       {"configurable": {"thread_id": "tuesday"}})
    tool_out = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert len(out["messages"]) == 4  # a new thread: Monday's messages are not in it
    assert tool_out[0].content == "Ana is allergic to peanuts"
    assert "peanuts" in eg.context("what is Ana allergic to?", user_id="ana").text


def test_two_writers_of_one_new_key_settle_on_one_item(eg: Engram, lg: EngramStore) -> None:
    other = EngramStore(eg, user_id="ana")  # another process's store on the same scope
    for s in (lg, other):  # both saw no item, both created one
        eg.remember("x", user_id="ana", metadata={
            "langgraph_store": "item", "langgraph_ns_0": "race", "langgraph_depth": 1,
            "langgraph_key": "k", "langgraph_index": "on",
            "langgraph": {"namespace": ["race"], "key": "k", "value": {"by": id(s)}}})
    assert lg.get(("race",), "k").value == {"by": id(other)}  # type: ignore[union-attr]
    lg.put(("race",), "k", {"text": "settled"})
    assert [i.value for i in lg.search(("race",))] == [{"text": "settled"}]
    lg.delete(("race",), "k")
    assert lg.search(("race",)) == [] and lg.get(("race",), "k") is None
