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
            checks.append(lambda v, ts=types: any(_is_type(v, t) for t in ts))
        if "const" in schema:
            const = schema["const"]
            if isinstance(const, bool) or not isinstance(const, int | str):
                raise ValueError("the compiled checker supports string and integer constants")
            if isinstance(const, str):
                checks.append(lambda v, c=const: isinstance(v, str) and v == c)
            else:  # as jsonschema: 2.0 equals 2, True does not
                checks.append(lambda v, c=const: _is_type(v, "number") and v == c)
        if "enum" in schema:
            if not all(isinstance(x, str) for x in schema["enum"]):
                raise ValueError("the compiled checker supports enums of strings")
            allowed = frozenset(schema["enum"])
            checks.append(lambda v, a=allowed: isinstance(v, str) and v in a)
        if "pattern" in schema:
            p = schema["pattern"]
            rx = re.compile(p[:-1] + r"\Z" if p.endswith("$") else p)
            checks.append(lambda v, r=rx: not isinstance(v, str) or r.search(v) is not None)
        if "minLength" in schema or "maxLength" in schema:
            lo, hi = schema.get("minLength", 0), schema.get("maxLength", float("inf"))
            checks.append(lambda v, lo=lo, hi=hi: not isinstance(v, str) or lo <= len(v) <= hi)
        if "minimum" in schema or "maximum" in schema:
            lo, hi = schema.get("minimum", float("-inf")), schema.get("maximum", float("inf"))
            checks.append(lambda v, lo=lo, hi=hi: not _is_type(v, "number") or lo <= v <= hi)
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
            checks.append(lambda v, o=options: any(c(v) for c in o))
        if "oneOf" in schema:
            options = [build(s) for s in schema["oneOf"]]
            checks.append(lambda v, o=options: sum(1 for c in o if c(v)) == 1)
        if "not" in schema:
            negated = build(schema["not"])
            checks.append(lambda v, n=negated: not n(v))
        if "if" in schema:
            cond = build(schema["if"])
            then = build(schema.get("then", True))
            checks.append(lambda v, c=cond, t=then: not c(v) or t(v))
        if len(checks) == 1:
            return checks[0]
        return lambda v, cs=tuple(checks): all(c(v) for c in cs)

    return build(root)
