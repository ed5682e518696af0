"""Start the PostgreSQL servers (with pgvector) that the test suite uses, for ``.ci/run``.

    python .ci/postgres.py [--servers N]

Starts ``N`` (default 1) throwaway servers, one per test worker: a server's change marker
(``pg_current_snapshot()``) moves with any write to the server, so a worker's tests that
check it holds still between reads need a server no other worker writes to. Each runs
from the ``pgserver`` package (PostgreSQL and pgvector binaries from the ``test`` extra,
no root or system package needed; run as root, pgserver runs the server as its own
system user) in a temporary data directory, fast rather than durable, with the
``vector`` extension checked. Prints the URLs, one line each, on stdout, and keeps the
servers running until stdin is closed (``.ci/run`` holds the other end, so they stop and
their data directories are deleted when the CI run ends, however it ends). Exits 1 with
one line on stderr when a server cannot start, 2 on other arguments.
"""

from __future__ import annotations

import sys
import tempfile


def _start() -> str:
    import pgserver
    import psycopg

    data = tempfile.mkdtemp(prefix="engram-ci-pg-")
    server = pgserver.get_server(data, cleanup_mode="delete")
    _servers.append(server)  # kept: pgserver stops each at interpreter exit
    url = str(server.get_uri())
    with psycopg.connect(url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
    return url


_servers: list[object] = []


def main(argv: list[str]) -> int:
    import warnings

    warnings.simplefilter("ignore")  # e.g. platformdirs on XDG_RUNTIME_DIR: not for the CI log
    count = 1
    if argv[:1] == ["--servers"] and len(argv) == 2 and argv[1].isdigit() and int(argv[1]) > 0:
        count = int(argv[1])
    elif argv:
        print("usage: python .ci/postgres.py [--servers N]", file=sys.stderr)
        return 2
    try:
        urls = [_start() for _ in range(count)]
    except Exception as exc:  # noqa: BLE001 - report any startup failure in one line
        print(f"PostgreSQL could not be started: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("\n".join(urls), flush=True)
    sys.stdin.read()  # until .ci/run exits; pgserver stops the server at interpreter exit
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
