"""Fault: several processes add superseding facts, and the same messages, at once.

Reproduces issue #13 items 2 and 3 with real processes on one store (a SQLite
file by default, or ``--url postgresql://...``):

1. ``--writers`` processes, released together, each add ``--adds`` messages
   "I moved to <city>" for one of two users (writers alternate users), with
   rule derivation on. Each prints ``ACK <episode id>`` once ``add`` returned,
   ``ERR <type>`` when it raised.
2. Then every writer adds the same ten messages (fixed client ids) for a third
   user at the same moment; the parent sent them once, for a fourth user, as
   the reference.

A fresh process then reads the store. It must find every acknowledged episode,
exactly one active ``lives_in`` memory per user, every acknowledged message
cited by a memory (derived, not dropped), and for the shared messages exactly
the memories one send made. Before the fix about half the adds raised
``Conflict`` and lost their message, and the shared messages were derived
once per writer.

Usage::

    python scripts/fault_concurrent_supersede.py [--url URL] [--writers 6] [--adds 8]

Prints acknowledged vs found; exit status 1 on any loss, error or duplicate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

CITIES = ["Lisbon", "Berlin", "Paris", "Madrid", "Oslo", "Rome", "Vienna", "Prague",
          "Dublin", "Athens", "Warsaw", "Zagreb"]
FRUITS = ["mangoes", "figs", "kiwis", "plums", "pears", "limes", "dates", "guavas",
          "lychees", "papayas"]

# A writer: wait for "go" on stdin, add superseding facts, then the shared messages.
WRITER = r"""
import json, sys
from engram import Engram, Message
url, user, writer, adds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cities, fruits = json.loads(sys.argv[5]), json.loads(sys.argv[6])
eg = Engram(url=url)
eg.embedder()  # load the model before the race
print("READY", flush=True)
sys.stdin.readline()
for k in range(adds):
    try:
        res = eg.add(f"I moved to {cities[k % len(cities)]} (note {writer}-{k})", user_id=user)
        print("ACK", res.episodes[0].id, flush=True)
    except Exception as exc:
        print("ERR", type(exc).__name__, str(exc).replace("\n", " ")[:200], flush=True)
print("SHARED", flush=True)
sys.stdin.readline()
try:
    eg.add([Message(f"I love {f}", id=f"shared-{n}") for n, f in enumerate(fruits)],
           user_id="shared", speaker="Sam")
    print("ACK-SHARED", flush=True)
except Exception as exc:
    print("ERR", type(exc).__name__, str(exc).replace("\n", " ")[:200], flush=True)
eg.close()
print("DONE", flush=True)
"""

# A fresh process: what the store holds per user.
READER = r"""
import json, sys
from engram import Engram
from engram.models import Scope
url, users = sys.argv[1], json.loads(sys.argv[2])
out = {}
with Engram(url=url) as eg:
    for user in users:
        every = eg.list(user_id=user, limit=1000, include_inactive=True).items
        eps = eg.list(user_id=user, type="episode", limit=1000).items
        out[user] = {
            "episodes": [e.id for e in eps],
            "active_attributes": [m.attribute for m in every
                                  if m.status == "active" and m.attribute],
            "cited": sorted({s for m in every for s in m.source_episode_ids}),
            "memory_texts": sorted(m.text for m in every),
        }
print(json.dumps(out))
"""


@dataclass
class Result:
    """Acknowledged episodes per user, errors, and what a fresh process found."""

    acked: dict[str, list[str]] = field(default_factory=dict)
    #: messages each user was sent (acknowledged or not)
    sent: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    found: dict[str, Any] = field(default_factory=dict)

    def lost(self, user: str) -> list[str]:
        have = set(self.found.get(user, {}).get("episodes", []))
        return [i for i in self.acked.get(user, []) if i not in have]

    def underived(self, user: str) -> list[str]:
        cited = set(self.found.get(user, {}).get("cited", []))
        return [i for i in self.acked.get(user, []) if i not in cited]

    @property
    def duplicated(self) -> bool:
        shared = self.found.get("shared", {}).get("memory_texts")
        return shared != self.found.get("reference", {}).get("memory_texts")

    @property
    def ok(self) -> bool:
        movers = [u for u in self.acked if u.startswith("mover")]
        return (not self.errors and not self.duplicated
                and all(len(self.found[u]["episodes"]) == n for u, n in self.sent.items())
                and all(not self.lost(u) and not self.underived(u) for u in movers)
                and all(len(self.found[u]["active_attributes"]) == 1 for u in movers))

    def summary(self) -> str:
        lines = []
        for user, ids in sorted(self.acked.items()):
            got = self.found.get(user, {})
            lines.append(f"{user}: sent {self.sent.get(user, 0)}, acknowledged {len(ids)},"
                         f" found {len(ids) - len(self.lost(user))} (stored in all"
                         f" {len(got.get('episodes', []))}), lost {len(self.lost(user))},"
                         f" not derived {len(self.underived(user))},"
                         f" active lives_in {len(got.get('active_attributes', []))}")
        ref = self.found.get("reference", {}).get("memory_texts", [])
        shared = self.found.get("shared", {}).get("memory_texts", [])
        lines.append(f"shared messages: one send made {len(ref)} memories,"
                     f" concurrent sends made {len(shared)}")
        lines.append(f"errors: {len(self.errors)}" + "".join(f"\n  {e}" for e in self.errors[:5]))
        lost = sum(len(self.lost(u)) for u in self.acked)
        lines.append(f"acknowledged messages lost: {lost}")
        return "\n".join(lines)


def _line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read() if proc.stderr is not None else ""
        raise RuntimeError(f"writer exited: {err[-2000:]}")
    return line.rstrip("\n")


def _send(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(text + "\n")
    proc.stdin.flush()


def run(url: str, writers: int = 6, adds: int = 8, *, echo: bool = False) -> Result:
    """Run the scenario on the store at ``url`` (a new, empty one) and return the findings."""
    from engram import Engram, Message

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with Engram(url=url) as eg:  # create and migrate once; the reference send
        eg.add([Message(f"I love {f}", id=f"ref-{n}") for n, f in enumerate(FRUITS)],
               user_id="reference", speaker="Sam")
    res = Result()
    procs: list[tuple[str, subprocess.Popen[str]]] = []
    try:
        for w in range(writers):
            user = f"mover{w % 2}"
            res.acked.setdefault(user, [])
            res.sent[user] = res.sent.get(user, 0) + adds
            procs.append((user, subprocess.Popen(
                [sys.executable, "-c", WRITER, url, user, str(w), str(adds),
                 json.dumps(CITIES), json.dumps(FRUITS)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, env=env)))
        for _, p in procs:
            if _line(p) != "READY":
                raise RuntimeError("a writer did not start")
        for _, p in procs:  # release them together
            _send(p, "go")
        for user, p in procs:
            while (line := _line(p)) != "SHARED":
                kind, _, rest = line.partition(" ")
                if kind == "ACK":
                    res.acked[user].append(rest)
                else:
                    res.errors.append(line)
        for _, p in procs:
            _send(p, "go")
        for _, p in procs:
            while (line := _line(p)) != "DONE":
                if line.startswith("ERR"):
                    res.errors.append(line)
        if echo:
            print(f"{writers} writers acknowledged {sum(map(len, res.acked.values()))} adds,"
                  f" {len(res.errors)} errors")
    finally:
        for _, p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            for pipe in (p.stdin, p.stdout, p.stderr):
                if pipe is not None:
                    pipe.close()
    users = [*res.acked, "shared", "reference"]
    out = subprocess.run([sys.executable, "-c", READER, url, json.dumps(users)], check=True,
                         capture_output=True, text=True, env=env).stdout
    res.found = json.loads(out)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--url", help="store URL, empty (default: a SQLite file in a temp dir)")
    ap.add_argument("--writers", type=int, default=6)
    ap.add_argument("--adds", type=int, default=8)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="engram-fault-") as tmp:
        url = args.url or f"sqlite:///{tmp}/fault.db"
        res = run(url, args.writers, args.adds, echo=True)
    print(res.summary())
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
