"""``POST /api/v1/verify/lookup`` names the recording court and answers ``conflict`` when two courts claim a case."""

from __future__ import annotations

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
