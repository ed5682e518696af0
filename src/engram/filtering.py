"""Filter expressions over item records: comparisons joined with AND / OR / NOT.

One grammar for every place that filters records by field (the mem0-compatible
routes' ``filters``, metadata filters). An expression is a JSON object:

* ``{"field": value}``: equal (``"*"`` means the field is present and not null);
* ``{"field": {"op": value, ...}}`` with ``op`` one of ``eq, ne, gt, gte, lt, lte,
  in, nin, contains, icontains``; several ops on one field must all hold;
* ``{"field": {"sub": ...}}`` (no op keys): the expression applied to the nested
  object, e.g. ``{"metadata": {"food": "vegan"}}``;
* ``{"AND": [expr, ...]}``, ``{"OR": [expr, ...]}``, ``{"NOT": [expr, ...]}``
  (NOT: none of them holds). Several keys in one object are ANDed.

Dotted fields (``"metadata.year"``) reach into nested objects. Ordering ops
compare numbers with numbers and strings with strings (ISO 8601 date-times in
one format compare in time order); a comparison across types is false, never an
error. ``contains``: a substring of a string or a member of a list.

>>> f = parse_filter({"AND": [{"metadata.year": {"gte": 2020}},
...                           {"OR": [{"kind": "fact"}, {"kind": {"in": ["plan"]}}]}]})
>>> f.matches({"kind": "plan", "metadata": {"year": 2024}})
True
>>> f.matches({"kind": "note", "metadata": {"year": 2024}})
False

A malformed expression (unknown op, ``in`` without a list, a non-object) raises
:class:`~engram.errors.InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput

__all__ = ["OPERATORS", "Filter", "parse_filter"]

_MISSING = object()


def _ordered(a: Any, b: Any) -> tuple[Any, Any] | None:
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a, b
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    return None


def _cmp(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def op(have: Any, want: Any) -> bool:
        pair = _ordered(have, want)
        return pair is not None and test(*pair)
    return op


def _contains(have: Any, want: Any) -> bool:
    if isinstance(have, str):
        return isinstance(want, str) and want in have
    if isinstance(have, list):
        return want in have
    return False


def _icontains(have: Any, want: Any) -> bool:
    if isinstance(have, str) and isinstance(want, str):
        return want.casefold() in have.casefold()
    if isinstance(have, list) and isinstance(want, str):
        return any(isinstance(x, str) and x.casefold() == want.casefold() for x in have)
    return False


def _eq(have: Any, want: Any) -> bool:
    if want == "*":
        return have is not _MISSING and have is not None
    return have is not _MISSING and have == want


#: operator name -> test(value in the record, value in the filter)
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _eq,
    "ne": lambda have, want: not _eq(have, want),
    "gt": _cmp(lambda a, b: a > b),
    "gte": _cmp(lambda a, b: a >= b),
    "lt": _cmp(lambda a, b: a < b),
    "lte": _cmp(lambda a, b: a <= b),
    "in": lambda have, want: have is not _MISSING and have in want,
    "nin": lambda have, want: have is _MISSING or have not in want,
    "contains": _contains,
    "icontains": _icontains,
}


@dataclass(frozen=True)
class Filter:
    """A parsed expression; :meth:`matches` tests one record (a JSON-like dict)."""

    test: Callable[[Mapping[str, Any]], bool]

    def matches(self, record: Mapping[str, Any]) -> bool:
        return self.test(record)


def _lookup(record: Any, field: str) -> Any:
    value = record
    for part in field.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _field(field: str, spec: Any, where: str) -> Callable[[Mapping[str, Any]], bool]:
    if isinstance(spec, dict) and spec and set(spec) <= set(OPERATORS):
        tests = []
        for op, want in spec.items():
            if op in ("in", "nin") and not isinstance(want, list):
                raise InvalidInput(f"{where}.{field}.{op} must be a list")
            tests.append((OPERATORS[op], want))
        return lambda r: all(t(_lookup(r, field), w) for t, w in tests)
    if isinstance(spec, dict) and spec:
        ops = [k for k in spec if k in OPERATORS]
        if ops:
            raise InvalidInput(f"{where}.{field} mixes operators {ops} with field names")
        inner = _expr(spec, f"{where}.{field}")
        return lambda r: isinstance(sub := _lookup(r, field), Mapping) and inner(sub)
    return lambda r: _eq(_lookup(r, field), spec)


def _expr(spec: Any, where: str) -> Callable[[Mapping[str, Any]], bool]:
    if not isinstance(spec, dict):
        raise InvalidInput(f"{where} must be an object")
    parts: list[Callable[[Mapping[str, Any]], bool]] = []
    for key, value in spec.items():
        if key in ("AND", "OR", "NOT"):
            if not isinstance(value, list) or not value:
                raise InvalidInput(f"{where}.{key} must be a non-empty list of objects")
            subs = [_expr(v, f"{where}.{key}[{i}]") for i, v in enumerate(value)]
            parts.append(_join(key, subs))
        elif key in OPERATORS:
            raise InvalidInput(f"{where}: operator {key!r} needs a field name before it")
        else:
            parts.append(_field(key, value, where))
    return lambda r: all(f(r) for f in parts)


def _join(op: str, subs: list[Callable[[Mapping[str, Any]], bool]]
          ) -> Callable[[Mapping[str, Any]], bool]:
    if op == "AND":
        return lambda r: all(f(r) for f in subs)
    if op == "OR":
        return lambda r: any(f(r) for f in subs)
    return lambda r: not any(f(r) for f in subs)


def parse_filter(spec: Mapping[str, Any] | None, *, where: str = "filters") -> Filter:
    """Parse ``spec`` (``None`` or ``{}``: everything matches); ``where`` names it in errors."""
    if spec is None:
        return Filter(lambda r: True)
    return Filter(_expr(dict(spec) if isinstance(spec, Mapping) else spec, where))
