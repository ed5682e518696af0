"""Fault: each process's search must see every acknowledged write of the others.

Reproduces issue #13 item 4 with real processes on one store (a SQLite file by
default, or ``--url postgresql://...``). ``--procs`` long-lived processes each
open :class:`engram.Engram` on the store and take one command per line. For
``--rounds`` rounds, every process in turn writes one memory ("zebra note
<process>-<round>") and acknowledges it; then every process searches and
must find every memory acknowledged so far by anyone. Every third round one
process deletes a memory another wrote, and in the last round one process
forgets a second user whose memories every process had found before: deleted
and forgotten memories must be gone from every process's next search.

Before the fix a process's own write hid the writes other processes made
just before it (the in-memory index trusted ``PRAGMA data_version`` read
after its own commit), until the next outside write or a restart.

Usage::

    python scripts/fault_cross_process_search.py [--url URL] [--procs 3] [--rounds 6]

Prints acknowledged vs found per search; exit status 1 on any miss or any
deleted memory still found.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Any

WORKER = r"""
import json, sys
from engram import Engram
eg = Engram(url=sys.argv[1])
eg.embedder()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    op, user = cmd["op"], cmd["user"]
    if op == "remember":
        out = {"id": eg.remember(cmd["text"], user_id=user).id}
    elif op == "search":
        hits = eg.search("zebra note", user_id=user, limit=200, track_access=False)
        out = {"texts": [h.text for h in hits]}
    elif op == "delete":
        eg.delete(cmd["id"], user_id=user)
        out = {}
    elif op == "forget":
        eg.forget(user_id=user)
        out = {}
    print(json.dumps(out), flush=True)
eg.close()
"""


class Proc:
    def __init__(self, url: str, name: str) -> None:
        self.name = name
        self.p = subprocess.Popen(
            [sys.executable, "-c", WORKER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._read()

    def _read(self) -> Any:
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit(f"process {self.name} died")
        return json.loads(line)

    def call(self, op: str, user: str, **args: str) -> Any:
        assert self.p.stdin is not None
        self.p.stdin.write(json.dumps({"op": op, "user": user, **args}) + "\n")
        self.p.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.p.stdin:
            self.p.stdin.close()
        self.p.wait(timeout=60)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="store URL (default: a new SQLite file in a temp dir)")
    ap.add_argument("--procs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="engram-fault-")
    url = args.url or f"sqlite:///{os.path.join(tmp, 'shared.db')}"
    procs = [Proc(url, chr(ord("A") + i)) for i in range(args.procs)]
    live: dict[str, str] = {}  # text -> id, user "u"
    gone: set[str] = set()
    bad = 0

    def check(label: str, user: str, want: set[str]) -> None:
        nonlocal bad
        for p in procs:
            got = set(p.call("search", user)["texts"])
            missing, stale = want - got, got & gone
            ok = not missing and not stale
            bad += not ok
            print(f"{label} {p.name} user={user}: acknowledged {len(want)} found "
                  f"{len(want & got)} missing {len(missing)} deleted-but-found {len(stale)}"
                  + ("" if ok else f"  <-- {sorted(missing | stale)[:4]}"))

    other: set[str] = set()
    try:
        for r in range(args.rounds):
            for p in procs:
                text = f"zebra note {p.name}-{r}"
                live[text] = p.call("remember", "u", text=text)["id"]
                otext = f"zebra note other {p.name}-{r}"
                p.call("remember", "w", text=otext)
                other.add(otext)
            if r % 3 == 2:  # the next process deletes what the first wrote this round
                text = f"zebra note {procs[0].name}-{r}"
                procs[1 % len(procs)].call("delete", "u", id=live.pop(text))
                gone.add(text)
                procs[0].call("remember", "u", text=f"zebra note {procs[0].name}-{r}b")
                live[f"zebra note {procs[0].name}-{r}b"] = "?"
            check(f"round {r}", "u", set(live))
            check(f"round {r}", "w", other)
        procs[-1].call("forget", "w")
        gone |= other
        for p in procs[:-1]:
            p.call("remember", "u", text=f"zebra note {p.name}-final")
            live[f"zebra note {p.name}-final"] = "?"
        check("after forget", "w", set())
        check("after forget", "u", set(live))
    finally:
        for p in procs:
            p.close()
    print("FAIL" if bad else "OK", f"({bad} bad searches)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
