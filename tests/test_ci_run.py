""".ci/run shows what it does without flooding the log, and keeps its exit status (#13.20).

The real script runs in a temporary directory whose ``.venv/bin/python`` is a stand-in:
``-m pip`` prints a recorded pip log (or fails), ``-m pytest`` records its arguments
and exits with the status the test asks for, and ``.ci/postgres.py`` prints a URL
and waits for stdin to close, as the real helper does. (Running the real script
here would run this whole suite again; ``tests/test_readme.py`` checks its syntax.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

PIP_LOG = """\
Obtaining file:///src
  Installing build dependencies: started
  Installing build dependencies: finished with status 'done'
Requirement already satisfied: numpy>=1.26 in ./.venv/lib/python3.11/site-packages (2.4.6)
Requirement already satisfied: click>=8.1 in ./.venv/lib/python3.11/site-packages (8.5.1)
Collecting rich>=13 (from engramdb==0.1.0)
  Downloading rich-15.0.0-py3-none-any.whl (250 kB)
Building wheels for collected packages: engramdb
  Building editable for engramdb (pyproject.toml): started
Successfully built engramdb
Installing collected packages: rich, engramdb
Successfully installed engramdb-0.1.0 rich-15.0.0
"""

FAKE_PYTHON = """#!/usr/bin/env bash
if [ "$1 $2" = "-m pip" ]; then
    cat "$FAKE_DIR/pip.log"
    exit "${FAKE_PIP_RC:-0}"
elif [ "$1 $2" = "-m pytest" ]; then
    shift 2
    printf '%s\\n' "$@" > "$FAKE_DIR/pytest.args"
    printf '%s\\n' "${ENGRAM_TEST_PG_URL:-}" > "$FAKE_DIR/pg.url"
    printf '%s\\n' "${ENGRAM_TEST_PG_URLS:-}" > "$FAKE_DIR/pg.urls"
    echo "tests/test_a.py ....   1.2s"
    exit "${FAKE_PYTEST_RC:-0}"
elif [ "$1" = ".ci/postgres.py" ]; then
    printf '%s\\n' "$@" > "$FAKE_DIR/pg.args"
    echo "postgresql://fake/postgres?host=/tmp"
    for i in $(seq 2 "${3:-1}"); do echo "postgresql://fake/pg$i?host=/tmp"; done
    cat > /dev/null          # until .ci/run closes our stdin
    touch "$FAKE_DIR/pg.stopped"
    exit 0
fi
echo "unexpected: $*" >&2
exit 99
"""


@pytest.fixture
def ci(tmp_path: Path) -> Path:
    (tmp_path / ".ci").mkdir()
    shutil.copy(REPO / ".ci" / "run", tmp_path / ".ci" / "run")
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text(FAKE_PYTHON, encoding="utf-8")
    (venv_bin / "python").chmod(0o755)
    (tmp_path / "pip.log").write_text(PIP_LOG, encoding="utf-8")
    return tmp_path


def _run(ci: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "ENGRAM_TEST_PG_URL"}
    full.update({"FAKE_DIR": str(ci), **env})
    return subprocess.run(["bash", str(ci / ".ci" / "run"), *args], capture_output=True,
                          text=True, env=full, timeout=120, check=False)


def test_steps_and_filtered_pip_output(ci: Path) -> None:
    out = _run(ci, "-x")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    steps = [ln for ln in lines if ln.startswith("==> ")]
    assert steps[0] == "==> installing the project with every extra into .venv"
    assert steps[1].startswith("==> starting PostgreSQL")
    assert steps[2].startswith("==> running the tests")
    assert steps[3].startswith("==> finished in ") and steps[3].endswith("(exit 0)")
    shown = "\n".join(lines)
    for kept in ("Collecting rich>=13", "Successfully built engramdb",
                 "Installing 2 collected package(s)", "Successfully installed engramdb-0.1.0",
                 "2 requirements already satisfied"):
        assert kept in shown, shown
    for dropped in ("Downloading", "Obtaining", "Installing build dependencies", "started"):
        assert dropped not in shown, shown
    args = (ci / "pytest.args").read_text().split()
    workers = str(min(len(os.sched_getaffinity(0)), 4))  # nproc, at most 4
    assert args == ["-p", "no:cacheprovider", "-n", workers, "--dist", "loadfile", "--file-lines",
                    "-o", "console_output_style=classic", "-x"]
    # the PostgreSQL the tests need was started, handed over, and stopped at the end
    assert (ci / "pg.url").read_text().strip() == "postgresql://fake/postgres?host=/tmp"
    # a server per worker, each worker told its own
    assert (ci / "pg.args").read_text().split() == [".ci/postgres.py", "--servers", workers]
    assert (ci / "pg.urls").read_text().split() == ["postgresql://fake/postgres?host=/tmp"] + [
        f"postgresql://fake/pg{i}?host=/tmp" for i in range(2, int(workers) + 1)]
    assert (ci / "pg.stopped").exists()


@pytest.mark.parametrize(("pytest_rc", "expected"), [(1, 1), (2, 2), (5, 0)])
def test_exit_status_is_pytests(ci: Path, pytest_rc: int, expected: int) -> None:
    out = _run(ci, FAKE_PYTEST_RC=str(pytest_rc))
    assert out.returncode == expected, out.stdout + out.stderr
    assert out.stdout.splitlines()[-1].endswith(f"(exit {expected})")
    if pytest_rc == 5:
        assert "pytest collected no tests" in out.stderr


def test_a_failed_install_shows_pips_output_and_stops(ci: Path) -> None:
    (ci / "pip.log").write_text(PIP_LOG + "  some detail\nERROR: No matching distribution\n",
                                encoding="utf-8")
    out = _run(ci, FAKE_PIP_RC="1")
    assert out.returncode == 1
    assert "pip install failed" in out.stderr and "some detail" in out.stderr
    assert not (ci / "pytest.args").exists()


def test_a_given_postgres_url_is_used(ci: Path) -> None:
    out = _run(ci, ENGRAM_TEST_PG_URL="postgresql://mine/db")
    assert out.returncode == 0, out.stderr
    assert (ci / "pg.url").read_text().strip() == "postgresql://mine/db"
    assert not (ci / "pg.stopped").exists()
