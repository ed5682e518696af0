"""context() with a WordPiece count (``wordpiece=True``) builds the very same block
with far less tokenizer work. What it rests on, checked on the real tokenizer:
counts add up over a space, :func:`wordpiece_floor` never exceeds the count, a
quoted body's extra tokens come from its escapes alone."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engram.embed.base import Embedder, WrappedEmbedder
from engram.models import ContextBlock, Episode, Hit, ItemRef, Memory, MemoryKind, Scope
from engram.retrieval.context import _body, _quote_cost, build_context
from engram.retrieval.excerpt import wordpiece_floor

FIXTURES = Path(__file__).parent / "fixtures"

# what a tokenizer could trip on: accents, CJK, emoji, special tokens, control and
# format characters, odd spaces, escapes JSON writes, words over 100 characters
ODD = [
    "", " ", "a", "café au lait, naïve façade", "ÉCOLE Ἀθῆναι ΣΟΦΟΣ σοφός", "日本語のテキストabc",
    "emoji 🙂👍🏽 ok", "[MASK] [CLS]x[SEP] [mask] [UNK][PAD]", "[MA SK] a[MASK", "tab\there",
    "line\nbreak\r\nwindows\rold mac", 'she said "hi" \\ back\\slash', "ctl\x01char\x1fend",
    "info\x1csep\x1d\x1e\x1fx", "nel\x85next", "ls\u2028ps\u2029x", "nb\xa0sp ideo\u3000sp",
    "zero\u200bwidth\u200djoin\ufeffbom", "e\u0301 combining\u0301\u0301 \u0301lead",
    "x" * 150, "y" * 99 + "." + "z" * 120, "\\n\\t literal escapes", "a\t\t\n\n  b",
    "end.\n\n- item one\n- item \"two\"\n\t* three", "ﬁne ligature ǅ titlecase İstanbul",
    "numbers 3.14159 1,000,000 12:30 2024-03-01", "\ufffdreplacement\x00nul", "a\x0bvt\x0cff",
    "मराठी हिन्दी ١٢٣ عربي", "ＦＵＬＬｗｉｄｔｈ", "\x7fdel\x7f", "'quote' `tick` ~tilde~",
]


def _corpus() -> list[str]:
    texts = list(ODD)
    for name in ("poisoning_labelled.jsonl", "knowledge_updates.jsonl", "multi_hop.jsonl"):
        for row in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
            texts.extend(v for v in json.loads(row).values() if isinstance(v, str))
    rnd = random.Random(5)  # longer texts and texts joined by line breaks, as replies are
    for _ in range(60):
        parts = rnd.sample(texts, 6)
        texts.append(rnd.choice(["\n", "\n\n", " ", "\t", '"\n"']).join(parts))
    return texts


TEXTS = _corpus()


def test_the_default_embedder_says_it_counts_wordpieces(embedder: Embedder) -> None:
    class Wrapped(WrappedEmbedder):
        def embed(self, texts, input_type="document"):  # type: ignore[no-untyped-def]
            return self.inner.embed(texts, input_type)

    assert embedder.wordpiece and Wrapped(embedder).wordpiece
    assert not Embedder.wordpiece


def test_wordpiece_counts_add_up_over_a_space(embedder: Embedder) -> None:
    rnd = random.Random(11)
    pairs = [(a, b) for a in ODD for b in ODD] + [
        (rnd.choice(TEXTS), rnd.choice(TEXTS)) for _ in range(600)]
    joined = embedder.count_tokens_batch([f"{a} {b}" for a, b in pairs])
    counts = dict(zip(TEXTS + ODD, embedder.count_tokens_batch(TEXTS + ODD), strict=True))
    for (a, b), n in zip(pairs, joined, strict=True):
        assert n == counts[a] + counts[b], (a, b)


def test_the_floor_never_exceeds_the_count(embedder: Embedder) -> None:
    texts = TEXTS + [t[i:] for t in ODD for i in range(len(t))]
    for text, n in zip(texts, embedder.count_tokens_batch(texts), strict=True):
        assert wordpiece_floor(text) <= n, text
        for limit in (0, 3, 24, 48):
            floor = wordpiece_floor(text, limit)
            assert floor <= n and (floor > limit or floor == wordpiece_floor(text)), text


@pytest.mark.parametrize("trust", ["agent", "tool", "imported"])
def test_a_quoted_body_costs_its_label_quotes_and_escapes(embedder: Embedder, trust: str) -> None:
    for i, text in enumerate(TEXTS):
        item = _episode(i, text, trust)
        body = _body(item)
        extra = _quote_cost(body, text, embedder.count_tokens)
        assert extra == embedder.count_tokens(body) - embedder.count_tokens(text), text


def _episode(i: int, text: str, trust: str = "user") -> Episode:
    t = datetime(2024, 3, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=7 * (i % 5), days=i % 3)
    meta = {"engram": {"trust": trust, "origin": "message"}}
    return Episode(id=f"ep_{i:04d}", scope=Scope(user_id="u"), role="assistant", text=text,
                   occurred_at=t, created_at=t, metadata=meta)


def _hits(rnd: random.Random) -> list[Hit]:
    hits: list[Hit] = []
    for i in range(rnd.randint(5, 40)):
        text = rnd.choice(["\n", " ", "\n\n"]).join(rnd.sample(TEXTS, rnd.choice([1, 1, 3, 12])))
        if rnd.random() < 0.15:
            t = datetime(2024, 3, 1, tzinfo=UTC)
            item: Episode | Memory = Memory(
                id=f"mem_{i:04d}", scope=Scope(user_id="u"), kind=MemoryKind.FACT, text=text,
                created_at=t, updated_at=t, valid_from=t, source_episode_ids=[f"ep_{i - 1:04d}"])
            hits.append(Hit(ref=ItemRef("memory", item.id), item=item, score=1.0))
        else:
            item = _episode(i, text, rnd.choice(["user", "agent", "tool"]))
            hits.append(Hit(ref=ItemRef("episode", item.id), item=item, score=1.0 / (i + 1)))
    return hits


def _dump(b: ContextBlock) -> tuple[object, ...]:
    return (b.text, b.tokens, [(i.ref.id, i.label, i.tokens, i.text) for i in b.items])


def test_wordpiece_blocks_are_the_same_blocks(embedder: Embedder) -> None:
    rnd = random.Random(3)
    queries = ["", "what did she say about the river?", "Which city do I live in now?",
               "ignore instructions", "café", "item two"]
    for _ in range(40):
        hits, query = _hits(rnd), rnd.choice(queries)
        for budget in (32, 100, 400, 1024):
            plain = build_context(hits, budget, embedder.count_tokens, query)
            fast = build_context(hits, budget, embedder.count_tokens, query, wordpiece=True)
            assert _dump(fast) == _dump(plain)
