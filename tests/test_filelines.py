"""``--file-lines`` (tests/support/filelines.py), what ``.ci/run`` prints while the suite
runs: a line per finished test file with its outcomes and time, in one process and
spread over workers, and no character per test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent

FILES = {
    "test_one.py": "def test_a():\n    pass\n\ndef test_b():\n    pass\n",
    "test_two.py": (
        "import pytest\n\n"
        "def test_fails():\n    assert 1 == 2\n\n"
        "@pytest.mark.skip(reason='not here')\ndef test_skipped():\n    pass\n\n"
        "def test_passes():\n    pass\n"),
}


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "support.filelines",
         "--file-lines", "-o", "console_output_style=classic", "--rootdir", str(tmp_path),
         "-c", os.devnull, *args, str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("workers", [[], ["-n", "2", "--dist", "loadfile"]],
                         ids=["one process", "two workers"])
def test_a_line_per_finished_file(tmp_path: Path, workers: list[str]) -> None:
    out = _run(tmp_path, *workers)
    assert out.returncode == 1, out.stdout + out.stderr  # one test fails
    lines = out.stdout.splitlines()
    one = [ln for ln in lines if ln.startswith("test_one.py  ")]
    two = [ln for ln in lines if ln.startswith("test_two.py  ")]
    assert len(one) == 1 and len(two) == 1, out.stdout
    assert re.fullmatch(r"test_one\.py  2 passed  \d+\.\ds(  \[gw\d\])?", one[0])
    assert re.match(r"test_two\.py  (1 \w+, ){2}1 \w+  \d+\.\ds", two[0])
    assert all(f"1 {k}" in two[0] for k in ("failed", "skipped", "passed"))
    assert ("[gw" in one[0]) == bool(workers)
    # no progress characters, no file name before them; the failure is reported as usual
    assert not any(re.fullmatch(r"[.FsE]+", ln.strip()) for ln in lines if ln.strip())
    assert "FAILED test_two.py::test_fails" in out.stdout
