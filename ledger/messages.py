"""Every verdict and step message of verification, in English, Chinese and French, from one catalog.

Contract: ``ledger/messages.json`` maps a key to ``{"en", "zh", "fr"}`` templates with the same named
placeholders (``tests/test_messages.py`` checks it; ``js/verifier`` reads the same file). Code never writes
a verification message as text: it names a :class:`Message` (key and parameters) and renders it in the
reader's language; English is the default and what logs and exceptions carry. A parameter named
``state`` or ``kind`` is itself translated (``state.<name>``, ``kind.<name>``) when the catalog has it;
a parameter that is a :class:`Message` is rendered in the same language.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Message", "catalog", "negotiate", "text"]

LANGUAGES = ("en", "zh", "fr")
DEFAULT_LANGUAGE = "en"
CATALOG_PATH = Path(__file__).with_name("messages.json")
_TRANSLATED_PARAMS = ("state", "kind")


@cache
def catalog() -> dict[str, dict[str, str]]:
    return dict(json.loads(CATALOG_PATH.read_text(encoding="utf-8")))


def _language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def text(key: str, lang: str | None = None, **params: Any) -> str:
    """The message ``key`` in ``lang`` (en, zh, fr; anything else: en) with its placeholders filled."""
    lang = _language(lang)
    values = {}
    for name, value in params.items():
        if isinstance(value, Message):
            value = value.render(lang)
        elif name in _TRANSLATED_PARAMS and f"{name}.{value}" in catalog():
            value = catalog()[f"{name}.{value}"][lang]
        values[name] = value
    return catalog()[key][lang].format(**values)


class Message(str):
    """A message to render in the reader's language: a catalog key and its parameters.

    It is also the English text itself (a ``str``), so code and logs that expect text keep working.
    """

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, params: dict[str, Any] | None = None) -> Message:
        values = dict(params or {})
        self = super().__new__(cls, text(key, DEFAULT_LANGUAGE, **values))
        self.key, self.params = key, values
        return self

    def render(self, lang: str | None = None) -> str:
        return text(self.key, lang, **self.params)


def negotiate(accept_language: str | None) -> str:
    """The best of en, zh, fr for an ``Accept-Language`` header (RFC 9110 q-values); en by default."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        q = 1.0
        if rest.strip().startswith("q="):
            try:
                q = float(rest.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        ranked = q - position * 1e-6  # equal q: the first listed wins
        if primary in LANGUAGES and q > 0 and ranked > best_q:
            best, best_q = primary, ranked
    return best
