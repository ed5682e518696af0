"""Fault: a forget in a long-lived process, then another process opens the same store.

Reproduces issue #13 item 1 with real processes on one SQLite file:

1. Process A (long-lived, like ``engram serve``) adds messages for two users,
   then runs ``forget`` (with its verification audit) on one of them.
2. A keeps writing; after each batch it prints ``ACK <id>`` (acknowledged).
3. Between A's batches, other processes open and close the same file: a plain
   ``engram stats`` (read only) and a second writer B that adds and acknowledges
   one message of its own.
4. A is killed with SIGKILL (a crash), then a fresh process reads the store.

Every acknowledged id (A's and B's) must be found by a fresh process both while
A still runs (visible to others) and after A was killed (durable), and
``PRAGMA integrity_check`` must be ``ok``. Before the fix the audit's raw
file read dropped A's POSIX locks, so B (or ``engram stats``) believed it was
the last connection, checkpointed and deleted ``-wal``/``-shm`` under A, and
A's later writes went to an unlinked WAL: acknowledged, then lost.

Usage::

    python scripts/fault_forget_other_process.py [--db /tmp/fault.db] [--rounds 3]

Prints acknowledged vs found per writer; exit status 1 on any loss.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Process A: one Engram for its whole life; commands on stdin, one per line.
WRITER = r"""
import sys
from engram import Engram, Message
eg = Engram(sys.argv[1])
print("READY", flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "add":
        user, _, mid = arg.partition(" ")
        eg.add([Message(f"Note {mid}: I planted {len(mid)} tulips in the garden", id=mid)],
               user_id=user)
        print("ACK", mid, flush=True)
    elif cmd == "forget":
        report = eg.forget(user_id=arg)
        print("FORGOT", int(report.verified), flush=True)
"""

# Process B: open, add one acknowledged message, close.
ONE_ADD = r"""
import sys
from engram import Engram, Message
with Engram(sys.argv[1]) as eg:
    eg.add([Message("Note from process B: the lilacs bloomed", id=sys.argv[2])], user_id="b")
print("ACK", sys.argv[2], flush=True)
"""

# A fresh process: every episode id in the store, and the integrity check.
READER = r"""
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
ids = [r[0] for r in con.execute("SELECT id FROM episodes")]
ok = con.execute("PRAGMA integrity_check").fetchone()[0]
con.close()
print(json.dumps({"ids": ids, "integrity": ok}))
"""


@dataclass
class Result:
    """Acknowledged ids per writer, the ids a fresh process found, integrity."""

    acked: dict[str, list[str]] = field(default_factory=dict)
    #: ids a fresh process saw while A was still running
    visible: set[str] = field(default_factory=set)
    #: ids a fresh process found after A was killed
    found: set[str] = field(default_factory=set)
    integrity: str = ""
    forget_verified: bool = False

    @property
    def lost(self) -> dict[str, list[str]]:
        """Acknowledged ids missing from either read."""
        return {w: [i for i in ids if i not in self.found or i not in self.visible]
                for w, ids in self.acked.items()}

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and not any(self.lost.values())

    def summary(self) -> str:
        lines = [f"forget verified: {self.forget_verified}", f"integrity: {self.integrity}"]
        for writer, ids in self.acked.items():
            gone = self.lost[writer]
            seen = sum(1 for i in ids if i in self.visible)
            kept = sum(1 for i in ids if i in self.found)
            lines.append(f"{writer}: acknowledged {len(ids)}, visible while A ran {seen},"
                         f" found after kill -9 {kept}, lost {len(gone)}"
                         f"{' ' + ', '.join(gone[:5]) if gone else ''}")
        lines.append(f"acknowledged writes lost: {sum(len(v) for v in self.lost.values())}")
        return "\n".join(lines)


def _engram_cli() -> list[str]:
    return [sys.executable, "-m", "engram"]


def _expect(proc: subprocess.Popen[str], prefix: str) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(prefix):
        err = proc.stderr.read() if proc.stderr is not None and proc.poll() is not None else ""
        raise RuntimeError(f"writer said {line!r}, expected {prefix!r}; {err}")
    return line.split(" ", 1)[1].strip() if " " in line else ""


def _send(proc: subprocess.Popen[str], command: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(command + "\n")
    proc.stdin.flush()


def run(db: Path, rounds: int = 3, *, echo: bool = False) -> Result:
    """Run the scenario on ``db`` (created; must not exist) and return what was found."""
    res = Result(acked={"A": [], "B": []})
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    a = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _expect(a, "READY")
        for i in range(3):
            for user in ("victim", "keeper"):
                _send(a, f"add {user} {user}-{i}")
                _expect(a, "ACK")
        res.acked["A"] += [f"keeper-{i}" for i in range(3)]
        _send(a, "forget victim")
        res.forget_verified = _expect(a, "FORGOT") == "1"
        for r in range(rounds):
            # another process opens and closes the file: read-only, then a writer
            subprocess.run([*_engram_cli(), "stats", "--db", str(db), "--json"], check=True,
                           capture_output=True, env=env)
            mid = f"a-{r}"
            _send(a, f"add keeper {mid}")
            res.acked["A"].append(_expect(a, "ACK"))
            bid = f"b-{r}"
            out = subprocess.run([sys.executable, "-c", ONE_ADD, str(db), bid], check=True,
                                 capture_output=True, text=True, env=env).stdout
            if out.startswith("ACK"):
                res.acked["B"].append(bid)
            _send(a, f"add keeper {mid}-after-b")
            res.acked["A"].append(_expect(a, "ACK"))
            if echo:
                print(f"round {r}: A acknowledged {len(res.acked['A'])},"
                      f" B acknowledged {len(res.acked['B'])}")
        res.visible = set(_read(db)["ids"])
    finally:
        a.send_signal(signal.SIGKILL)  # a crash: nothing is flushed or closed
        a.wait()
        for pipe in (a.stdin, a.stdout, a.stderr):
            if pipe is not None:
                pipe.close()
    data = _read(db)
    res.found = set(data["ids"])
    res.integrity = data["integrity"]
    return res


def _read(db: Path) -> dict[str, Any]:
    """Episode ids and integrity, as a fresh process sees them."""
    out = subprocess.run([sys.executable, "-c", READER, str(db)], check=True,
                         capture_output=True, text=True).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--db", type=Path, help="SQLite file to create (default: a temp dir)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="engram-fault-") as tmp:
        db = args.db or Path(tmp) / "fault.db"
        if db.exists():
            ap.error(f"{db} exists; give a new path")
        res = run(db, args.rounds, echo=True)
    print(res.summary())
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
