"""Every multi-process fault of issue #13 in one run: acknowledged vs found.

Runs, each in its own fresh store and with real processes:

* ``fault_forget_other_process.py``: a forget in a long-lived process, then other
  processes open and close the same SQLite file; every acknowledged write must stay
  visible and survive ``kill -9`` (item 1).
* ``fault_concurrent_supersede.py``: writers add superseding facts and the same
  messages at once; no message lost, no ``Conflict``, derivation once per message
  (items 2 and 3).
* ``fault_cross_process_search.py``: each process's next search sees every other
  process's acknowledged writes, deletes and forgets (item 4).

Usage::

    python scripts/fault_multiprocess.py [--url postgresql://...]

With ``--url`` the two scenarios that run on any backend also run on that store
(the first one is about the SQLite file itself and always uses SQLite). Each
scenario prints its own table; the exit status is 1 when any scenario found a
loss, an error or a duplicate, else 0.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(script: str, *args: str) -> int:
    cmd = [sys.executable, str(HERE / script), *args]
    print(f"\n=== {script} {' '.join(args)}".rstrip(), flush=True)
    return subprocess.run(cmd, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--url", help="also run the backend-independent scenarios on this store")
    args = ap.parse_args(argv)
    results: dict[str, int] = {}
    results["forget + other process (sqlite)"] = _run("fault_forget_other_process.py")
    results["concurrent supersede (sqlite)"] = _run("fault_concurrent_supersede.py")
    results["cross-process search (sqlite)"] = _run("fault_cross_process_search.py")
    if args.url:
        results["concurrent supersede (url)"] = _run(
            "fault_concurrent_supersede.py", "--url", args.url)
        results["cross-process search (url)"] = _run(
            "fault_cross_process_search.py", "--url", args.url)
    print("\n=== summary")
    for name, rc in results.items():
        print(f"{'ok  ' if rc == 0 else 'FAIL'} {name} (exit {rc})")
    return 0 if all(rc == 0 for rc in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
