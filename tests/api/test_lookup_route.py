"""``POST /api/v1/verify/lookup`` names the recording court and answers ``conflict`` when two courts claim a case."""

from __future__ import annotations

import os
import secrets

import pytest

from api.services import RateLimiter
from tests.api.conftest import judgment_body


@pytest.fixture(autouse=True)
def _generous_limit(services):
    services.rate_limiter = RateLimiter(1000.0, 1000)


def _lookup(public, body, **extra):
    r = public.post("/api/v1/verify/lookup", {"case_number": body["case_number"],
                                              "document_sha256": body["document_sha256"], **extra})
    assert r.status_code == 200, r.text
    return r.json()


def test_lookup_names_the_court_its_jurisdiction_and_checks_the_expected_court(services, public, court):
    body = judgment_body()
    record = court.api.confirmed(court.api.post("/api/v1/judgments", body))
    services.wait_indexed(record["block_number"])
    answer = _lookup(public, body)
    assert (answer["verdict"], answer["court"], answer["jurisdiction"]) == ("verified", court.court_id, "CN-BJ")
    assert _lookup(public, body, expected_court=court.court_id)["verdict"] == "verified"
    other = _lookup(public, body, expected_court=court.court_id + 1)
    assert other["verdict"] == "court_mismatch" and "expected" in other["reason"]


def test_court_copying_another_courts_case_number_and_document_gets_no_verified_lookup(
    services, public, court, other_court
):
    body = judgment_body()
    mine = court.api.confirmed(court.api.post("/api/v1/judgments", body))
    copy = other_court.api.confirmed(other_court.api.post("/api/v1/judgments", body))
    services.wait_indexed(max(mine["block_number"], copy["block_number"]))
    for expected in (None, court.court_id, other_court.court_id):
        answer = _lookup(public, body, **({"expected_court": expected} if expected else {}))
        assert answer["verdict"] == "conflict" and "court" not in answer, answer
        assert {r["court"] for r in answer["records"]} == {court.court_id, other_court.court_id}
        assert {r["judgment_id"] for r in answer["records"]} == {mine["record_id"], copy["record_id"]}


def test_court_recording_another_courts_document_under_its_own_case_number_gets_no_verified_lookup(
    services, public, court, other_court
):
    body = judgment_body()
    mine = court.api.confirmed(court.api.post("/api/v1/judgments", body))
    renamed = judgment_body(document_sha256=body["document_sha256"])
    copy = other_court.api.confirmed(other_court.api.post("/api/v1/judgments", renamed))
    services.wait_indexed(max(mine["block_number"], copy["block_number"]))
    answer = _lookup(public, body)
    assert answer["verdict"] == "conflict", answer
    shown = {r["court"]: r for r in answer["records"]}
    assert shown[court.court_id]["case_number_matches"] and not shown[other_court.court_id]["case_number_matches"]
    assert shown[other_court.court_id]["document_matches"]


# -- enforcement cases and their listings ------------------------------------------------------------------


def _enforcement_number() -> str:
    return f"(2020)京0108执{secrets.randbelow(10**6)}号"


def _judgment_with_case(api, services, *, listed: bool = False):
    """A judgment, an enforcement case on it and (if ``listed``) a listing; (judgment body, case body, ids)."""
    body = judgment_body()
    judgment = api.confirmed(api.post("/api/v1/judgments", body))
    case = {"judgment_id": judgment["record_id"], "case_number": _enforcement_number(), "amount_due": 1_300_000,
            "filed_at": "2019-04-02"}
    filing = api.confirmed(api.post("/api/v1/enforcement/cases", case))
    ids = {"judgment": judgment["record_id"], "case": filing["record_id"]}
    last = filing["block_number"]
    if listed:
        listing = api.confirmed(api.post("/api/v1/defaulters/listings", {
            "subject": SUBJECT, "case_id": filing["record_id"], "ground": "able_but_refuses",
            "restrictions": ["flights", "rail"]}))
        ids["listing"], last = listing["record_id"], listing["block_number"]
    services.wait_indexed(last)
    return body, case, ids


SUBJECT = {"kind": "credit_code", "id": "91350100M000100Y43", "name": "某某公司（示例）"}


def test_enforcement_case_number_with_the_judgments_document_shows_the_case_and_its_listings(
    services, public, court
):
    body, case, ids = _judgment_with_case(court.api, services, listed=True)
    answer = _lookup(public, {"case_number": case["case_number"], "document_sha256": body["document_sha256"]})
    assert (answer["verdict"], answer["kind"], answer["record_id"]) == ("verified", "enforcement_case", ids["case"])
    assert (answer["judgment_id"], answer["court"], answer["status"]) == (ids["judgment"], court.court_id, "open")
    [listing] = answer["listings"]
    assert (listing["listing_id"], listing["state"], listing["court"]) == (ids["listing"], "active", court.court_id)
    assert listing["until"] > listing["listed_at"] > 0
    # The judgment's own case number still answers the judgment.
    judged = _lookup(public, body)
    assert (judged["verdict"], judged["kind"], judged["record_id"]) == ("verified", "judgment", ids["judgment"])
    assert "listings" not in judged


def test_the_case_answer_carries_nothing_personal_and_never_echoes_the_case_number(services, public, court):
    body, case, _ = _judgment_with_case(court.api, services, listed=True)
    r = public.post("/api/v1/verify/lookup", {"case_number": case["case_number"],
                                             "document_sha256": body["document_sha256"]})
    text = r.text
    for secret in (SUBJECT["id"], SUBJECT["name"], case["case_number"], "able_but_refuses", "flights",
                   str(case["amount_due"]), body["parties"][0]["id"], body["parties"][0]["name"]):
        assert secret not in text, secret
    assert set(r.json()["listings"][0]) == {"listing_id", "court", "state", "listed_at", "until"}


def test_outsider_holding_the_case_number_but_not_the_judgment_learns_nothing_of_the_case(services, public, court):
    _, case, _ = _judgment_with_case(court.api, services, listed=True)
    answer = _lookup(public, {"case_number": case["case_number"], "document_sha256": os.urandom(32).hex()})
    assert answer == {"verdict": "does_not_match"}  # no case id, court, judgment, state or listing


def test_outsider_probing_made_up_case_numbers_gets_bare_verdicts_and_no_echo(services, public, court):
    for number in (_enforcement_number(), "(2020)京0108执1号", "(1999)沪执999999号"):
        r = public.post("/api/v1/verify/lookup", {"case_number": number, "document_sha256": os.urandom(32).hex()})
        assert r.status_code == 200 and r.json() == {"verdict": "not_on_chain"}, r.text
    bad = "(2020)京0108执\u202e1号"
    r = public.post("/api/v1/verify/lookup", {"case_number": bad, "document_sha256": os.urandom(32).hex()})
    assert r.status_code in (400, 422) and bad not in r.text and "京0108执" not in r.text


def test_court_opening_a_case_under_another_courts_enforcement_number_gets_no_verified_lookup(
    services, public, court, other_court
):
    body, case, ids = _judgment_with_case(court.api, services, listed=True)
    own = judgment_body()
    theirs = other_court.api.confirmed(other_court.api.post("/api/v1/judgments", own))
    copy = other_court.api.confirmed(other_court.api.post("/api/v1/enforcement/cases", {
        **case, "judgment_id": theirs["record_id"]}))
    services.wait_indexed(copy["block_number"])
    answer = _lookup(public, {"case_number": case["case_number"], "document_sha256": body["document_sha256"]})
    assert answer["verdict"] == "conflict" and "listings" not in answer and "record_id" not in answer, answer
    assert {(r["kind"], r["record_id"]) for r in answer["records"]} == {
        ("enforcement_case", ids["case"]), ("enforcement_case", copy["record_id"])}
