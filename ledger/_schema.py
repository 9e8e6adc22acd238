"""A published JSON Schema compiled once into plain Python checks, for the verifier's hot path.

Contract: :func:`compile_schema` turns a draft 2020-12 schema that uses only the keywords below into a
function ``check(value) -> bool`` that accepts exactly what the ``jsonschema`` package accepts for that
schema (tests/test_golden_certificates.py compares the two on every golden, forged and mutated
certificate). The ``jsonschema`` package stays the reference and writes the error message when a check
fails; this exists because interpreting the schema generically costs about 0.2-0.4 ms per certificate,
more than the whole offline verification may take. One deliberate difference: a pattern ending in ``$``
matches at the very end only (ECMA-262, as JavaScript does), not before a trailing newline as Python's
``re`` would.

Keywords: type, const, enum, pattern, minLength, maxLength, minimum, maximum, properties, required,
additionalProperties, items, minItems, maxItems, uniqueItems, $ref (``#/$defs/...``), allOf, anyOf,
oneOf, not, if/then. Anything else raises ValueError at compile time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_KNOWN = {"$schema", "$id", "$defs", "title", "description", "type", "const", "enum", "pattern", "minLength",
          "maxLength", "minimum", "maximum", "properties", "required", "additionalProperties", "items", "minItems",
          "maxItems", "uniqueItems", "$ref", "allOf", "anyOf", "oneOf", "not", "if", "then"}


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "null":
        return value is None
    raise ValueError(f"unknown type {name!r}")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _types(names: list[str]) -> Check:
    return lambda v: any(_is_type(v, t) for t in names)


def _str_const(c: str) -> Check:
    return lambda v: isinstance(v, str) and v == c


def _int_const(c: int) -> Check:  # as jsonschema: 2.0 equals 2, True does not
    return lambda v: _is_type(v, "number") and v == c


def _enum(allowed: frozenset[str]) -> Check:
    return lambda v: isinstance(v, str) and v in allowed


def _pattern(rx: re.Pattern[str]) -> Check:
    return lambda v: not isinstance(v, str) or rx.search(v) is not None


def _length(lo: float, hi: float) -> Check:
    return lambda v: not isinstance(v, str) or lo <= len(v) <= hi


def _range(lo: float, hi: float) -> Check:
    return lambda v: not _is_type(v, "number") or lo <= v <= hi


def _any_of(options: list[Check]) -> Check:
    return lambda v: any(c(v) for c in options)


def _one_of(options: list[Check]) -> Check:
    return lambda v: sum(1 for c in options if c(v)) == 1


def _not(negated: Check) -> Check:
    return lambda v: not negated(v)


def _if_then(cond: Check, then: Check) -> Check:
    return lambda v: not cond(v) or then(v)


def _all_of(checks: tuple[Check, ...]) -> Check:
    return lambda v: all(c(v) for c in checks)


def compile_schema(root: dict[str, Any]) -> Check:
    cache: dict[str, Check] = {}

    def ref(pointer: str) -> Check:
        if pointer not in cache:
            node: Any = root
            for key in pointer.removeprefix("#/").split("/"):
                node = node[key]
            cache[pointer] = lambda v: True  # placeholder for recursion
            compiled = build(node)
            cache[pointer] = compiled
        target = pointer
        return lambda v: cache[target](v)

    def build(schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        unknown = set(schema) - _KNOWN
        if unknown:
            raise ValueError(f"schema keywords not supported by the compiled checker: {sorted(unknown)}")
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(ref(schema["$ref"]))
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            checks.append(_types(types))
        if "const" in schema:
            const = schema["const"]
            if isinstance(const, bool) or not isinstance(const, int | str):
                raise ValueError("the compiled checker supports string and integer constants")
            if isinstance(const, str):
                checks.append(_str_const(const))
            else:
                checks.append(_int_const(const))
        if "enum" in schema:
            if not all(isinstance(x, str) for x in schema["enum"]):
                raise ValueError("the compiled checker supports enums of strings")
            allowed = frozenset(schema["enum"])
            checks.append(_enum(allowed))
        if "pattern" in schema:
            p = schema["pattern"]
            rx = re.compile(p[:-1] + r"\Z" if p.endswith("$") else p)
            checks.append(_pattern(rx))
        if "minLength" in schema or "maxLength" in schema:
            lo, hi = schema.get("minLength", 0), schema.get("maxLength", float("inf"))
            checks.append(_length(lo, hi))
        if "minimum" in schema or "maximum" in schema:
            lo, hi = schema.get("minimum", float("-inf")), schema.get("maximum", float("inf"))
            checks.append(_range(lo, hi))
        if any(k in schema for k in ("items", "minItems", "maxItems", "uniqueItems")):
            item = build(schema["items"]) if "items" in schema else None
            lo, hi = schema.get("minItems", 0), schema.get("maxItems", float("inf"))
            unique = schema.get("uniqueItems", False)

            def array(v: Any, item: Check | None = item, lo: Any = lo, hi: Any = hi, unique: bool = unique) -> bool:
                if not isinstance(v, list):
                    return True
                if not lo <= len(v) <= hi:
                    return False
                if unique and len({_canonical(x) for x in v}) != len(v):
                    return False
                return item is None or all(item(x) for x in v)

            checks.append(array)
        if any(k in schema for k in ("properties", "required", "additionalProperties")):
            props = {k: build(s) for k, s in schema.get("properties", {}).items()}
            required = tuple(schema.get("required", ()))
            extra = schema.get("additionalProperties", True)
            extra_check = build(extra) if extra not in (True, False) else None

            def obj(v: Any, props: dict[str, Check] = props, required: tuple[str, ...] = required,
                    extra: Any = extra, extra_check: Check | None = extra_check) -> bool:
                if not isinstance(v, dict):
                    return True
                for key in required:
                    if key not in v:
                        return False
                for key, sub in v.items():
                    check = props.get(key)
                    if check is not None:
                        if not check(sub):
                            return False
                    elif extra is False or (extra_check is not None and not extra_check(sub)):
                        return False
                return True

            checks.append(obj)
        for sub in schema.get("allOf", ()):
            checks.append(build(sub))
        if "anyOf" in schema:
            options = [build(s) for s in schema["anyOf"]]
            checks.append(_any_of(options))
        if "oneOf" in schema:
            options = [build(s) for s in schema["oneOf"]]
            checks.append(_one_of(options))
        if "not" in schema:
            negated = build(schema["not"])
            checks.append(_not(negated))
        if "if" in schema:
            cond = build(schema["if"])
            then = build(schema.get("then", True))
            checks.append(_if_then(cond, then))
        if len(checks) == 1:
            return checks[0]
        return _all_of(tuple(checks))

    return build(root)
