"""A small JSON Schema validator for the subset Engram's prompts use.

Why not ``jsonschema``: it would add four packages (one a compiled Rust
wheel) to the core install for a feature that only runs when an LLM is
configured, and it silently accepts schemas that LLM servers then reject.
The subset here is what structured-output servers (OpenAI strict mode,
llama.cpp grammars, vLLM guided decoding) support anyway:

* ``type`` (a name or a list of names, e.g. ``["string", "null"]``)
* ``properties``, ``required``, ``additionalProperties`` (bool or schema)
* ``items``, ``minItems``, ``maxItems``
* ``enum``, ``const``, ``anyOf``
* ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``
* ``minLength``, ``maxLength``, ``pattern``
* annotations, which are ignored: ``title``, ``description``, ``default``,
  ``examples``, ``format``, ``$schema``, ``$comment``

Any other keyword (``$ref``, ``oneOf``, ``allOf``, ...) is refused by
:func:`check_schema` with :class:`~engram.errors.InvalidInput` before a
request is sent, rather than being silently ignored.

JSON semantics, not Python's: ``true`` is not an ``integer``, ``1.0`` is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidInput

__all__ = ["check_schema", "is_strict_compatible", "validate"]

_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_VALIDATING = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "enum",
        "const",
        "anyOf",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
    }
)
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "format", "$schema", "$comment"}
)


def check_schema(schema: Any, path: str = "#") -> None:
    """Raise :class:`InvalidInput` unless ``schema`` uses only the supported subset."""
    if not isinstance(schema, Mapping):
        raise InvalidInput(f"JSON schema at {path} must be an object")
    for key, value in schema.items():
        where = f"{path}/{key}"
        if key in _ANNOTATIONS:
            continue
        if key not in _VALIDATING:
            raise InvalidInput(
                f"unsupported JSON Schema keyword {key!r} at {path} "
                f"(supported: {', '.join(sorted(_VALIDATING))})"
            )
        if key == "type":
            names = value if isinstance(value, list) else [value]
            if not names or any(n not in _TYPES for n in names):
                raise InvalidInput(f"bad type {value!r} at {where}")
        elif key == "properties":
            if not isinstance(value, Mapping):
                raise InvalidInput(f"{where} must be an object")
            for name, sub in value.items():
                check_schema(sub, f"{where}/{name}")
        elif key == "required":
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                raise InvalidInput(f"{where} must be a list of names")
        elif key == "additionalProperties":
            if not isinstance(value, bool):
                check_schema(value, where)
        elif key == "items":
            check_schema(value, where)
        elif key == "anyOf":
            if not isinstance(value, list) or not value:
                raise InvalidInput(f"{where} must be a non-empty list of schemas")
            for i, sub in enumerate(value):
                check_schema(sub, f"{where}/{i}")
        elif key == "enum":
            if not isinstance(value, list) or not value:
                raise InvalidInput(f"{where} must be a non-empty list")
        elif key == "pattern":
            try:
                re.compile(value)
            except (re.error, TypeError) as exc:
                raise InvalidInput(f"bad pattern at {where}: {exc}") from None
        elif key in {"minItems", "maxItems", "minLength", "maxLength"}:
            if not _is_int(value) or value < 0:
                raise InvalidInput(f"{where} must be a non-negative integer")
        elif key in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
            if not _is_number(value):
                raise InvalidInput(f"{where} must be a number")


def validate(instance: Any, schema: Mapping[str, Any]) -> list[str]:
    """Return the validation errors of ``instance`` (empty when valid).

    Each error reads ``"<json-pointer>: <reason>"`` (``"$"`` is the root), in
    document order; ``schema`` must have passed :func:`check_schema`.
    """
    errors: list[str] = []
    _validate(instance, schema, "$", errors)
    return errors


def is_strict_compatible(schema: Mapping[str, Any]) -> bool:
    """True when ``schema`` meets OpenAI strict mode's rules.

    Every object schema lists all its properties in ``required`` and sets
    ``additionalProperties: false``; nested schemas likewise.
    """
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required", [])) != set(props):
            return False
        if not all(is_strict_compatible(sub) for sub in props.values()):
            return False
    items = schema.get("items")
    if isinstance(items, Mapping) and not is_strict_compatible(items):
        return False
    return all(is_strict_compatible(sub) for sub in schema.get("anyOf", []))


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "integer": _is_int,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _CHECKS[name](value):
            return name
    return type(value).__name__


def _validate(value: Any, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_CHECKS[n](value) for n in names):
            errors.append(f"{path}: expected {' or '.join(names)}, got {_json_type(value)}")
            return
    if "const" in schema and not _json_equal(value, schema["const"]):
        errors.append(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and not any(_json_equal(value, c) for c in schema["enum"]):
        errors.append(f"{path}: must be one of {schema['enum']!r}, got {value!r}")
    if "anyOf" in schema:
        if not any(not validate(value, sub) for sub in schema["anyOf"]):
            errors.append(f"{path}: matches none of the anyOf schemas")
    if isinstance(value, dict):
        _validate_object(value, schema, path, errors)
    elif isinstance(value, list):
        _validate_array(value, schema, path, errors)
    elif isinstance(value, str):
        _validate_string(value, schema, path, errors)
    elif _is_number(value):
        _validate_number(value, schema, path, errors)


def _validate_object(
    value: dict[str, Any], schema: Mapping[str, Any], path: str, errors: list[str]
) -> None:
    props: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            errors.append(f"{path}: missing required property {name!r}")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        where = f"{path}.{name}"
        if name in props:
            _validate(item, props[name], where, errors)
        elif extra is False:
            errors.append(f"{path}: unexpected property {name!r}")
        elif isinstance(extra, Mapping):
            _validate(item, extra, where, errors)


def _validate_array(
    value: list[Any], schema: Mapping[str, Any], path: str, errors: list[str]
) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(f"{path}: needs at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{path}: allows at most {schema['maxItems']} items")
    if "items" in schema:
        for i, item in enumerate(value):
            _validate(item, schema["items"], f"{path}[{i}]", errors)


def _validate_string(value: str, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{path}: shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{path}: longer than {schema['maxLength']} characters")
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        errors.append(f"{path}: does not match pattern {schema['pattern']!r}")


def _validate_number(value: float, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: below minimum {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{path}: above maximum {schema['maximum']}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        errors.append(f"{path}: must be greater than {schema['exclusiveMinimum']}")
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        errors.append(f"{path}: must be less than {schema['exclusiveMaximum']}")


def _json_equal(a: Any, b: Any) -> bool:
    """Equality with JSON semantics: ``True`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return bool(a == b)
