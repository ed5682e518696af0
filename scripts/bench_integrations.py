"""Throughput of the importers and the LangGraph store over a fresh SQLite file.

* import: a synthetic ChatGPT export (``--conversations`` x ``--turns`` user and
  assistant messages of everyday sentences) through
  :func:`engram.importers.import_file` with rule derivation on, then the same file
  again (idempotent: nothing new); messages per second for both;
* LangGraph: ``--items`` ``EngramStore.put`` of new keys, then as many ``get``,
  ``search(query=...)`` and ``search(filter=...)``; milliseconds per call.

Usage::

    python scripts/bench_integrations.py [--conversations 20] [--turns 25] [--items 200]

The LangGraph part is skipped when the extra is not installed.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from engram import Engram
from engram.importers import import_file

SENTENCES = [
    "I moved to {city} last {month}.", "My sister {name} works as a {job}.",
    "Can you suggest a recipe with {food}?", "I am training for a race in {city}.",
    "We adopted a dog called {name}.", "My favourite food is {food}.",
    "I started a new job as a {job} in {month}.", "Remind me to call {name} on Friday.",
]
FILL = {"city": ["Lisbon", "Porto", "Berlin", "Oslo", "Kyoto"], "month": ["May", "June", "March"],
        "name": ["Marta", "Leo", "Ines", "Tom"], "job": ["nurse", "teacher", "pilot", "chef"],
        "food": ["rice", "lentils", "salmon", "tofu"]}


def _sentence(rng: random.Random) -> str:
    return rng.choice(SENTENCES).format(**{k: rng.choice(v) for k, v in FILL.items()})


def chatgpt_export(conversations: int, turns: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    out = []
    for c in range(conversations):
        mapping: dict[str, dict[str, object]] = {"root": {"id": "root", "message": None,
                                                          "parent": None, "children": []}}
        parent = "root"
        for t in range(turns * 2):
            nid = f"c{c}-m{t}"
            role = "user" if t % 2 == 0 else "assistant"
            text = _sentence(rng) if role == "user" else "Noted, " + _sentence(rng).lower()
            mapping[nid] = {"id": nid, "parent": parent, "children": [], "message": {
                "id": nid, "author": {"role": role}, "create_time": 1.7e9 + c * 86400 + t * 60,
                "content": {"content_type": "text", "parts": [text]}}}
            mapping[parent]["children"] = [nid]  # type: ignore[index]
            parent = nid
        out.append({"title": f"chat {c}", "create_time": 1.7e9 + c * 86400, "mapping": mapping,
                    "current_node": parent, "conversation_id": f"conv-{c}"})
    return json.dumps(out)


def bench_import(tmp: Path, conversations: int, turns: int) -> None:
    path = tmp / "conversations.json"
    path.write_text(chatgpt_export(conversations, turns), encoding="utf-8")
    n = conversations * turns * 2
    with Engram(tmp / "import.db") as eg:
        eg.embedder()  # load the model outside the timing
        t0 = time.perf_counter()
        first = import_file(eg, "chatgpt", path, user_id="bench")
        t1 = time.perf_counter()
        again = import_file(eg, "chatgpt", path, user_id="bench")
        t2 = time.perf_counter()
        print(f"import chatgpt: {n} messages in {t1 - t0:.2f}s ({n / (t1 - t0):.0f} msg/s), "
              f"{first.messages_created} new, {eg.stats().memories} memories derived")
        print(f"re-import: {t2 - t1:.2f}s ({n / (t2 - t1):.0f} msg/s), "
              f"{again.messages_created} new")


def bench_langgraph(tmp: Path, items: int) -> None:
    try:
        from engram.integrations.langgraph import EngramStore
    except ImportError:
        print("langgraph: skipped (pip install 'engramdb[langgraph]')")
        return
    rng = random.Random(3)
    with Engram(tmp / "lg.db") as eg:
        eg.embedder()
        store = EngramStore(eg, user_id="bench")
        timings: dict[str, float] = {}

        def timed(name: str, fn: object) -> None:
            t0 = time.perf_counter()
            for i in range(items):
                fn(i)  # type: ignore[operator]
            timings[name] = (time.perf_counter() - t0) * 1000 / items

        timed("put", lambda i: store.put(("notes", f"u{i % 10}"), f"k{i}",
                                         {"text": _sentence(rng), "n": i}))
        timed("get", lambda i: store.get(("notes", f"u{i % 10}"), f"k{i}"))
        timed("search query", lambda i: store.search(("notes",), query=_sentence(rng), limit=5))
        timed("search filter", lambda i: store.search(("notes",), filter={"n": {"$gt": i}},
                                                      limit=5))
        print(f"langgraph store, {items} items: " + ", ".join(
            f"{k} {v:.1f} ms" for k, v in timings.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=20)
    ap.add_argument("--turns", type=int, default=25)
    ap.add_argument("--items", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        bench_import(Path(d), args.conversations, args.turns)
        bench_langgraph(Path(d), args.items)


if __name__ == "__main__":
    main()
