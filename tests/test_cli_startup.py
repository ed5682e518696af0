"""The CLI starts without loading what it does not need (#21).

``engram --version`` and ``engram --help`` must not import numpy, onnxruntime,
the engine, the stores or the HTTP client: each is checked in a fresh
interpreter through ``sys.modules`` (behaviour, not timing: the time is measured
apart, by running ``engram --version`` repeatedly).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = [
    "numpy", "onnxruntime", "tokenizers", "httpx", "rich", "fastapi", "sqlite3", "psycopg",
    "engram.engine", "engram.store", "engram.embed", "engram.retrieval", "engram.bench",
]

_PROBE = """
import json, sys
from engram.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(set({heavy!r}) & set(sys.modules))))
"""


def _loaded_after(argv: list[str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(argv=argv, heavy=HEAVY)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    loaded: list[str] = json.loads(out.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("argv", [["--version"], ["--help"]], ids=["version", "help"])
def test_cli_front_door_imports_nothing_heavy(argv: list[str]) -> None:
    assert _loaded_after(argv) == []


def test_version_prints_the_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "engram", "--version"], capture_output=True, text=True,
        check=True, timeout=60,
    ).stdout
    assert out.startswith("engram ") and out.split()[1][0].isdigit()


def test_import_engram_is_light_and_every_public_name_resolves() -> None:
    probe = (
        "import json, sys, engram\n"
        f"light = sorted(set({HEAVY!r}) & set(sys.modules))\n"
        "names = [n for n in engram.__all__ if getattr(engram, n, None) is None]\n"
        "from engram import Engram, AsyncEngram, RetrievalConfig\n"
        "print(json.dumps([light, names, Engram.__module__, sorted(engram.__all__) == "
        "sorted(set(engram.__all__)), set(engram.__all__) <= set(dir(engram))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    light, unresolved, engine_module, unique, listed = json.loads(out)
    assert light == []
    assert unresolved == []
    assert engine_module == "engram.engine"
    assert unique and listed


def test_unknown_attribute_is_an_attribute_error() -> None:
    import engram

    with pytest.raises(AttributeError, match="no_such_name"):
        _ = engram.no_such_name  # type: ignore[attr-defined]
