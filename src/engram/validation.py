"""Checks on caller input, run before anything is written."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .errors import InvalidInput, ScopeRequired, TextTooLong
from .models import MemoryKind, Scope, SearchFilters
from .timeutil import ensure_aware

__all__ = ["check_id", "check_metadata", "check_scope", "check_text", "make_filters",
           "make_scope"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_ID_CHARS = 256


def check_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty string")
    if len(value) > MAX_ID_CHARS or _CONTROL.search(value):
        raise InvalidInput(f"{what} must be at most {MAX_ID_CHARS} printable characters")
    return value


def check_scope(scope: Scope) -> Scope:
    if scope.user_id is None and scope.agent_id is None:
        raise ScopeRequired("name at least a user_id or an agent_id")
    for name in ("user_id", "agent_id", "session_id", "tenant"):
        value = getattr(scope, name)
        if value is not None:
            check_id(value, name)
    return scope


def make_scope(
    scope: Scope | None,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
) -> Scope:
    """A validated scope from either a Scope object or the keyword ids."""
    if scope is not None:
        if not isinstance(scope, Scope):
            raise InvalidInput("scope must be an engram.Scope")
        if user_id or agent_id or session_id:
            scope = Scope(
                user_id=user_id or scope.user_id,
                agent_id=agent_id or scope.agent_id,
                session_id=session_id or scope.session_id,
                tenant=scope.tenant,
            )
        return check_scope(scope)
    return check_scope(Scope(user_id=user_id, agent_id=agent_id, session_id=session_id))


def check_text(text: Any, max_bytes: int, what: str = "text") -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be a string")
    if not text.strip():
        raise InvalidInput(f"{what} is empty")
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > max_bytes:
        raise TextTooLong(f"{what} is {size} bytes; the limit is {max_bytes}")
    if "\x00" in text:
        raise InvalidInput(f"{what} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{what} is not valid Unicode (lone surrogate)") from exc
    return text


def check_metadata(metadata: Any, what: str = "metadata") -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    import json

    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} is not JSON-serialisable: {exc}") from exc
    for key in metadata:
        if not isinstance(key, str):
            raise InvalidInput(f"{what} keys must be strings")
    return dict(metadata)


def make_filters(
    filters: SearchFilters | None,
    *,
    kinds: Iterable[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    metadata: dict[str, Any] | None = None,
    as_of: datetime | None = None,
) -> SearchFilters:
    """``filters`` (or empty ones) with the keyword filters of a call applied, every
    value checked: unknown kinds, naive datetimes and bad metadata are
    :class:`InvalidInput`."""
    f = filters or SearchFilters()
    if not isinstance(f, SearchFilters):
        raise InvalidInput("filters must be an engram.SearchFilters")
    changes: dict[str, Any] = {}
    if kinds is not None:
        if isinstance(kinds, str):
            kinds = [kinds]
        ks = frozenset(kinds)
        valid = {k.value for k in MemoryKind} | {"episode"}
        bad = sorted(ks - valid)
        if bad:
            raise InvalidInput(f"unknown kinds {bad}; use {sorted(valid)}")
        changes["kinds"] = ks
    if start is not None:
        changes["start"] = ensure_aware(start, "start")
    if end is not None:
        changes["end"] = ensure_aware(end, "end")
    if metadata:
        check_metadata(metadata)
        changes["metadata"] = tuple(sorted(metadata.items()))
    if as_of is not None:
        changes["as_of"] = ensure_aware(as_of, "as_of")
    f = dataclasses.replace(f, **changes) if changes else f
    for name in ("start", "end", "as_of"):
        value = getattr(f, name)
        if value is not None:
            ensure_aware(value, name)
    return f
