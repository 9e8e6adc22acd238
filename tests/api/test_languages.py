"""The service answers verifications in the language Accept-Language asks for (zh, en, fr; default en)."""

from __future__ import annotations

import copy
import hashlib
import os

import pytest

from api.services import RateLimiter
from ledger.messages import text
from tests.api.conftest import judgment_body


@pytest.fixture(autouse=True)
def _generous_limit(services):
    services.rate_limiter = RateLimiter(1000.0, 1000)


@pytest.fixture(scope="module")
def certificate(court):
    body = judgment_body(document_sha256=hashlib.sha256(os.urandom(64)).hexdigest())
    record = court.api.confirmed(court.api.post("/api/v1/judgments", body))
    return court.api.get(f"/api/v1/judgments/{record['record_id']}/certificate").json()


@pytest.mark.parametrize(("header", "lang"), [("zh-CN,zh;q=0.9", "zh"), ("fr-FR", "fr"), (None, "en"), ("de", "en")])
def test_verification_speaks_the_asked_language(public, certificate, header, lang):
    r = public.post("/api/v1/verify/certificate", {"certificate": certificate},
                    headers={"Accept-Language": header} if header else None)
    assert r.status_code == 200, r.text
    result = r.json()
    assert r.headers["content-language"] == lang
    steps = {s["name"]: s["detail"] for s in result["steps"]}
    assert steps["format"] == text("format.ok", lang, version=2, kind="judgment")
    assert steps["status"] == text("status.judgment", lang, state="effective")
    when = text("when.now", lang)
    assert when in result["summary"] and text("state.effective", lang) in result["summary"]


@pytest.mark.parametrize("lang", ["zh", "fr"])
def test_a_refusal_speaks_the_asked_language(public, certificate, lang):
    forged = copy.deepcopy(certificate)
    forged["record"]["amount"] = str(int(forged["record"]["amount"]) + 1)
    problem = public.post("/api/v1/verify/certificate", {"certificate": forged},
                          headers={"Accept-Language": lang}).json()
    assert problem["step"] == "format"
    assert problem["reason"] == text("format.record_id", lang)
    assert problem["detail"] == text("error.failed", lang, step="format", reason=problem["reason"])


def test_a_late_step_refusal_translates_the_steps_that_passed(public, certificate):
    forged = copy.deepcopy(certificate)
    forged["transaction"]["block_time"] += 1
    problem = public.post("/api/v1/verify/certificate", {"certificate": forged},
                          headers={"Accept-Language": "zh"}).json()
    assert problem["step"] == "signer" and "区块" in problem["reason"]
    assert problem["steps"][0]["detail"] == text("format.ok", "zh", version=2, kind="judgment")


@pytest.mark.parametrize("lang", ["zh", "fr", "en"])
def test_a_problems_title_speaks_the_asked_language_and_its_type_does_not_change(court, other_court, lang):
    r = court.api.get(f"/api/v1/courts/{other_court.court_id}", headers={"Accept-Language": lang})
    assert r.status_code == 403 and r.headers["content-language"] == lang
    problem = r.json()
    assert problem["title"] == text("problem.forbidden", lang) and problem["type"] == "/problems/forbidden"


def test_every_kind_of_refusal_has_a_translated_title(http, public):
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    invalid = public.post("/api/v1/verify/lookup", {"case_number": 5}, headers=zh)
    assert (invalid.status_code, invalid.json()["title"]) == (422, text("problem.invalid_request", "zh"))
    unsigned = http.get("/api/v1/courts/1", headers=zh)
    assert (unsigned.status_code, unsigned.json()["title"]) == (401, text("problem.unauthenticated", "zh"))
    nowhere = http.get("/api/v1/nowhere", headers={"Accept-Language": "fr"})
    assert (nowhere.status_code, nowhere.json()["title"]) == (404, "Introuvable")
    malformed = http.post("/api/v1/verify/lookup", content=b'{"case_number": ',
                          headers={"Accept-Language": "fr", "Content-Type": "application/json"})
    assert (malformed.status_code, malformed.json()["title"]) == (400, text("problem.malformed_json", "fr"))
    assert malformed.headers["content-language"] == "fr"
    english = http.get("/api/v1/nowhere", headers={"Accept-Language": "de"})
    assert english.json()["title"] == "Not found" and english.headers["content-language"] == "en"
