"""Start the PostgreSQL (with pgvector) that the test suite uses, for ``.ci/run``.

Starts a throwaway server with the ``pgserver`` package (PostgreSQL and pgvector
binaries from the ``test`` extra, no root or system package needed; run as root,
pgserver runs the server as its own system user) in a temporary data directory,
makes it fast rather than durable, checks that the ``vector`` extension loads,
prints its URL as one line on stdout, and keeps it running until stdin is closed
(``.ci/run`` holds the other end, so the server stops and its data directory is
deleted when the CI run ends, however it ends). Exits 1 with one line on stderr
when the server cannot start.
"""

from __future__ import annotations

import sys
import tempfile


def main() -> int:
    import warnings

    warnings.simplefilter("ignore")  # e.g. platformdirs on XDG_RUNTIME_DIR: not for the CI log
    try:
        import pgserver
        import psycopg

        data = tempfile.mkdtemp(prefix="engram-ci-pg-")
        server = pgserver.get_server(data, cleanup_mode="delete")
        url = str(server.get_uri())
        with psycopg.connect(url, autocommit=True) as conn:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
    except Exception as exc:  # noqa: BLE001 - report any startup failure in one line
        print(f"PostgreSQL could not be started: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(url, flush=True)
    sys.stdin.read()  # until .ci/run exits; pgserver stops the server at interpreter exit
    return 0


if __name__ == "__main__":
    sys.exit(main())
