"""Where benchmark data is found when no ``--data`` is given."""

from __future__ import annotations

from pathlib import Path

__all__ = ["default_data_dir", "default_locomo_path", "repo_root"]

#: Location of the shared LoCoMo split, relative to the repository root.
LOCOMO_RELATIVE = Path("..") / "shared" / "data" / "locomo"


def repo_root(start: Path | None = None) -> Path | None:
    """Nearest directory at or above ``start`` (default: this file) holding a pyproject.toml."""
    here = (start or Path(__file__)).resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").is_file():
            return d
    return None


def default_locomo_path() -> Path | None:
    """``<repo root>/../shared/data/locomo`` if it exists (checked from the cwd, then this file)."""
    for start in (Path.cwd(), None):
        root = repo_root(start)
        if root is not None:
            cand = (root / LOCOMO_RELATIVE).resolve()
            if cand.is_dir() and any(cand.glob("*.json")):
                return cand
    return None


def default_data_dir() -> Path | None:
    """``<repo root>/../shared/data`` if it exists (checked from the cwd, then this file)."""
    for start in (Path.cwd(), None):
        root = repo_root(start)
        if root is not None:
            cand = (root / LOCOMO_RELATIVE).parent.resolve()
            if cand.is_dir():
                return cand
    return None
