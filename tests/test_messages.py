"""The message catalog: every verdict and step message in English, Chinese and French, with the same
placeholders, and every key the code names present in it."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.cli import app
from ledger.messages import LANGUAGES, Message, catalog, negotiate, text
from tests.test_golden_certificates import GOLDEN, GOVERNOR_KEY

LEDGER = Path(__file__).resolve().parents[1] / "ledger"
JS = Path(__file__).resolve().parents[1] / "js" / "verifier" / "src"
#: a catalog key where the code names one: refused(step, "format.v1"), steps.ok(step, "status.case_at"), ...
_KEY = re.compile(r'(?:refused\(|\.fail\(|\.ok\(|Message\(|text\(|\bif |\belse )\s*(?:"[a-z_]+",\s*)?'
                  r"[\"']([a-z_]+\.[a-z_0-9]+)[\"']")


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(catalog()))
def test_every_message_exists_in_three_languages_with_the_same_placeholders(key):
    entry = catalog()[key]
    assert set(entry) == set(LANGUAGES)
    assert all(entry[lang].strip() for lang in LANGUAGES)
    assert _placeholders(entry["zh"]) == _placeholders(entry["en"]) == _placeholders(entry["fr"])


#: the same in js/verifier: fail("format.v1"), failAt(step, "signer.invalid", ...), ok(step, "chain.ok", ...), M(...)
_JS_KEY = re.compile(r'(?:\bfail\(|\bfailAt\(|\bok\(|\bM\(|\? |: )\s*(?:"[a-z_]+",\s*)?"([a-z_]+\.[a-z_0-9]+)"')


def test_every_key_the_code_names_is_in_the_catalog():
    named = set()
    for path in LEDGER.glob("*.py"):
        named |= set(_KEY.findall(path.read_text(encoding="utf-8")))
    assert len(named) > 60
    assert sorted(named - set(catalog())) == []
    in_js = set(_JS_KEY.findall((JS / "index.js").read_text(encoding="utf-8")))
    assert len(in_js) > 60
    assert sorted(in_js - set(catalog())) == []


def test_chinese_and_french_are_not_english():
    translated = [k for k in catalog() if not k.startswith("case_number.invalid")]
    assert all(catalog()[k]["zh"] != catalog()[k]["en"] for k in translated)
    same_in_french = [k for k in translated if catalog()[k]["fr"] == catalog()[k]["en"]]
    assert same_in_french == []


def test_states_and_nested_messages_are_translated_too():
    message = Message("status.superseded_by", {"status": Message("status.judgment", {"state": "superseded"}),
                                                "successor": "0xab"})
    assert message == "judgment is superseded by 0xab"
    assert message.render("zh") == "判决已被取代，由 0xab 取代"
    assert message.render("fr") == "le jugement est remplacé par 0xab"
    assert text("format.v1", "de") == text("format.v1", "en")


@pytest.mark.parametrize(("header", "lang"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("fr-FR, fr;q=0.9", "fr"), ("en-GB", "en"), ("de-DE, ja", "en"),
    (None, "en"), ("en;q=0.2, fr;q=0.7", "fr"), ("zh;q=0, fr;q=0.1", "fr"), ("fr;q=x, zh", "zh"),
])
def test_accept_language_picks_the_best_of_three(header, lang):
    assert negotiate(header) == lang


@pytest.mark.parametrize(("lang", "verdict"), [("zh", "仅离线验证"), ("fr", "HORS LIGNE SEULEMENT"),
                                                ("en", "OFFLINE ONLY")])
def test_cli_verdict_and_steps_in_the_asked_language(lang, verdict, tmp_path):
    trust = tmp_path / "network.json"
    trust.write_text(json.dumps(json.loads((GOLDEN / "network.json").read_text("utf-8"))["descriptor"]), "utf-8")
    result = CliRunner().invoke(app, ["verify", str(GOLDEN / "judgment.json"), "--trust", str(trust),
                                      "--governor", GOVERNOR_KEY.address, "--lang", lang])
    assert result.exit_code == 4, result.output
    assert verdict in result.output
    assert text("format.ok", lang, version=2, kind="judgment") in result.output


def _problem_slugs() -> dict[str, tuple[int | None, str]]:
    """Every problem type the service can answer: slug -> (status, English title in the code)."""
    import api.app  # noqa: F401  (every router and middleware, so every ServiceError subclass, is defined)
    from api.errors import _LEDGER, ServiceError

    found: dict[str, tuple[int | None, str]] = {}
    todo = [ServiceError]
    while todo:
        cls = todo.pop()
        found[cls.slug] = (cls.status, cls.title)
        todo += cls.__subclasses__()
    found.update({slug: (status, title) for _, status, title, slug in _LEDGER})
    source = "\n".join(p.read_text(encoding="utf-8") for p in (LEDGER.parent / "api").glob("*.py"))
    for status, title, slug in re.findall(r'\(\s*(?:(\d{3}),\s*)?"([A-Z][^"]*)",\s*"([a-z][a-z-]{2,})"', source):
        found.setdefault(slug, (int(status) if status else None, title))
    for slug in re.findall(r'problem\(\s*[^,()]+,\s*[^,()]+,\s*"([a-z][a-z-]*)"', source):  # a title by status
        found.setdefault(slug, (None, ""))
    return found


def test_every_problem_title_exists_in_three_languages_and_keeps_its_english():
    from api.errors import title_in

    slugs = _problem_slugs()
    assert {"forbidden", "invalid-request", "malformed-json", "unsupported-media-type", "request-timeout",
            "contract-revert", "http"} <= set(slugs)
    for slug, (status, title) in slugs.items():
        key = "problem." + slug.replace("-", "_")
        if slug == "http":
            key = "problem.http"
        assert key in catalog(), f"no title for problem type {slug}"
        if slug != "http":
            assert title_in("en", slug, status or 0, "") == title, slug
        assert all(title_in(lang, slug, status or 0, "") for lang in LANGUAGES)
    assert title_in("zh", "http", 405, "") == catalog()["problem.http_405"]["zh"]
