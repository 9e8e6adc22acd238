"""JSON read by the lexical rules of docs/verification.md 2.6, which every verifier applies the same way.

Refused: text that is not well-formed UTF-8 (bytes) or holds a lone surrogate (as a code point or as a
``\\uD800``-style escape), a member name that appears twice in one object, and a number not written as
a JSON integer (``0`` or ``-?[1-9][0-9]*``, no fraction, exponent or ``-0``). Each rule closes a way two
parsers could read one certificate differently (Python's ``json`` and JavaScript's ``JSON.parse`` keep the
last duplicate; ``1.10105e5`` is an integer to a JSON Schema validator).
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JSONLexicalError(ValueError):
    """The text is not JSON by the rules above; the message says which rule, never the text."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONLexicalError(f"member {key[:40]!r} appears twice in one object")
            seen.add(key)
    return obj


def _integer(text: str) -> int:
    if text == "-0":
        raise JSONLexicalError("-0 is not an integer spelling (write 0)")
    return int(text)


def _fraction(text: str) -> Any:
    raise JSONLexicalError(f"number {text[:40]} has a fraction or exponent: integers are written as integers")


def _surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_surrogate(k) or _surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_surrogate(v) for v in value)
    return False


def loads(data: str | bytes) -> Any:
    """Parse one JSON text by these rules; raises JSONLexicalError (or RecursionError when nested too deeply)."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")  # strict: refuses invalid UTF-8 and encoded surrogates
        except UnicodeDecodeError as exc:
            raise JSONLexicalError(f"not well-formed UTF-8 (byte {exc.start})") from None
    else:
        text = data
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise JSONLexicalError(f"a lone surrogate code point at position {exc.start}") from None
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_int=_integer, parse_float=_fraction,
                           parse_constant=_fraction)
    except json.JSONDecodeError as exc:
        raise JSONLexicalError(f"not JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(text) and _surrogate(value):
        raise JSONLexicalError("a string holds a lone surrogate escape (\\uD800-\\uDFFF not in a pair)")
    return value
