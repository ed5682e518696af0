"""Installing Engram needs no compiler: every core dependency comes as a published wheel.

Reads the core dependencies from ``pyproject.toml`` and walks their installed
requirements. A distribution compiled on this machine from a source archive
carries a bare platform tag (``linux_x86_64``) in its ``WHEEL`` file, which a
published wheel never has (``manylinux_*``, ``musllinux_*``, ``macosx_*``,
``win_*`` or ``any``). ``hnswlib``, the former ANN dependency, had no wheels and
was compiled with ``-march=native`` on every install.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _core_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"]]


def _applies(req: Requirement) -> bool:
    return req.marker is None or req.marker.evaluate({"extra": ""})


def _locally_built(dist: metadata.Distribution) -> list[str]:
    """The bare platform tags (``linux_x86_64``) of ``dist``'s WHEEL file, if any."""
    wheel = dist.read_text("WHEEL") or ""
    tags = re.findall(r"^Tag:\s*(\S+)", wheel, flags=re.MULTILINE)
    return [t for t in tags if re.search(r"-linux_[^-]+$", t)]


def test_core_dependencies_come_from_published_wheels() -> None:
    todo = [r for r in _core_requirements() if _applies(r)]
    seen: set[str] = set()
    built: dict[str, list[str]] = {}
    while todo:
        req = todo.pop()
        name = req.name.lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        dist = metadata.distribution(req.name)  # PackageNotFoundError: not installed
        if tags := _locally_built(dist):
            built[name] = tags
        todo.extend(r for r in map(Requirement, dist.requires or []) if _applies(r))
    assert not built, f"compiled from source on this machine (needs a compiler): {built}"
