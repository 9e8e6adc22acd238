"""Governance acts that had no API: entrusting a judgment's enforcement (委托执行) and case-number codes.

Both go through the outbox like every other write: a delegation on the acting court's lane, signed by its
own key; a case-number code on the governance lane. Authority is refused at once (403) from the index.
"""

from __future__ import annotations

import secrets

import pytest

from api.ratelimit import RateLimiter
from tests.api.conftest import admit, judgment_body


@pytest.fixture(autouse=True)
def _generous_limit(services):
    services.rate_limiter = RateLimiter(1000.0, 1000)


def _filing(judgment_id: str) -> dict:
    return {"judgment_id": judgment_id, "case_number": f"(2021)京0108执{secrets.randbelow(10**6)}号",
            "amount_due": 1_000, "filed_at": "2021-04-02"}


def _judgment(services, court, body=None) -> str:
    """A confirmed judgment of ``court``, indexed (so the API answers authority from the index)."""
    done = court.api.confirmed(court.api.post("/api/v1/judgments", body or judgment_body()))
    services.wait_indexed(done["block_number"])
    return done["record_id"]


def _delegate(api, judgment_id: str, delegate: int, granted: bool = True):
    return api.post("/api/v1/enforcement/delegations",
                    {"judgment_id": judgment_id, "delegate": delegate, "granted": granted})


def test_court_entrusts_enforcement_and_the_delegate_opens_the_case(services, public, court, other_court):
    body = judgment_body()
    jid = _judgment(services, court, body)
    assert other_court.api.post("/api/v1/enforcement/cases", _filing(jid)).status_code == 403  # not yet
    entrusted = court.api.confirmed(_delegate(court.api, jid, other_court.court_id))
    assert entrusted["kind"] == "delegate_enforcement" and entrusted["court"] == court.court_id
    assert services.ledger.may_enforce(bytes.fromhex(jid[2:]), other_court.court_id)
    filing = _filing(jid)
    case = other_court.api.confirmed(other_court.api.post("/api/v1/enforcement/cases", filing))
    services.wait_indexed(case["block_number"])
    # The look-up answers the entrusted court's case, not a conflict between the two courts.
    answer = public.post("/api/v1/verify/lookup", {"case_number": filing["case_number"],
                                                   "document_sha256": body["document_sha256"]}).json()
    assert (answer["verdict"], answer["court"], answer["judgment_id"]) == ("verified", other_court.court_id, jid)


def test_court_cannot_delegate_another_courts_judgment_to_itself(services, court, other_court):
    jid = _judgment(services, court)
    before = sum(services.outbox.counts().values())
    grab = _delegate(other_court.api, jid, other_court.court_id)
    assert grab.status_code == 403, grab.text
    assert "no authority" in grab.json()["detail"] and "outbox_id" not in grab.json()
    assert sum(services.outbox.counts().values()) == before  # nothing accepted
    assert not services.ledger.may_enforce(bytes.fromhex(jid[2:]), other_court.court_id)
    assert other_court.api.post("/api/v1/enforcement/cases", _filing(jid)).status_code == 403


def test_court_cannot_slip_a_delegation_past_the_index_the_chain_refuses_it(services, court, other_court):
    """Before the index knows the judgment, the API lets the act through: the contract still refuses it."""
    jid = _judgment(services, court)
    key = bytes.fromhex(jid[2:])
    real = services.index.judgment
    services.index.judgment = lambda j: None if bytes(j) == key else real(j)  # the index lagging behind
    try:
        accepted = _delegate(other_court.api, jid, other_court.court_id)
    finally:
        del services.index.judgment
    assert accepted.status_code == 202, accepted.text
    failed = other_court.api.wait(accepted.json()["outbox_id"])
    assert failed["state"] == "failed" and failed["error"]["name"].startswith("CourtAuthorized"), failed
    assert not services.ledger.may_enforce(key, other_court.court_id)


def test_delegating_to_the_judgments_own_court_or_a_court_never_admitted_is_refused_at_once(
    services, court, other_court
):
    jid = _judgment(services, court)
    own = _delegate(court.api, jid, court.court_id)
    assert own.status_code == 409 and "own court" in own.json()["detail"]
    unknown = _delegate(court.api, jid, 4_000_000_001)
    assert unknown.status_code == 409 and "never admitted" in unknown.json()["detail"]


def test_a_withdrawn_delegation_stops_the_delegate_opening_cases(services, court, other_court):
    jid = _judgment(services, court)
    court.api.confirmed(_delegate(court.api, jid, other_court.court_id))
    court.api.confirmed(_delegate(court.api, jid, other_court.court_id, granted=False))
    assert not services.ledger.may_enforce(bytes.fromhex(jid[2:]), other_court.court_id)
    assert other_court.api.post("/api/v1/enforcement/cases", _filing(jid)).status_code == 403


def _code() -> str:
    return f"测{secrets.randbelow(10**6):06d}"


def test_governance_records_a_case_number_code_and_the_lookup_checks_it(services, http, gov, public):
    named = admit(gov, services, http)
    code = _code()
    done = gov.confirmed(gov.request("PUT", f"/api/v1/courts/{named.court_id}/case-number-code", {"code": code}))
    assert done["kind"] == "set_case_number_code"
    assert services.ledger.case_number_code(named.court_id) == code
    right = judgment_body(case_number=f"(2021){code}民初1号")
    wrong = judgment_body(case_number="(2021)京0108民初1号")
    last = 0
    for body in (right, wrong):
        last = named.api.confirmed(named.api.post("/api/v1/judgments", body))["block_number"]
    services.wait_indexed(last)
    ask = lambda b: public.post("/api/v1/verify/lookup", {  # noqa: E731
        "case_number": b["case_number"], "document_sha256": b["document_sha256"]}).json()
    assert ask(right)["verdict"] == "verified" and ask(right)["case_code_matches"] is True
    assert ask(wrong)["verdict"] == "court_mismatch"


def test_a_court_cannot_set_its_own_case_number_code(services, court):
    r = court.api.request("PUT", f"/api/v1/courts/{court.court_id}/case-number-code", {"code": _code()})
    assert r.status_code == 403 and services.ledger.case_number_code(court.court_id) is None


def test_a_code_another_court_carries_is_refused_at_once(services, http, gov):
    first, second = admit(gov, services, http), admit(gov, services, http)
    code = _code()
    gov.confirmed(gov.request("PUT", f"/api/v1/courts/{first.court_id}/case-number-code", {"code": code}))
    taken = gov.request("PUT", f"/api/v1/courts/{second.court_id}/case-number-code", {"code": code})
    assert taken.status_code == 409 and code not in taken.text, taken.text
    assert services.ledger.case_number_code(second.court_id) is None
    too_long = gov.request("PUT", f"/api/v1/courts/{second.court_id}/case-number-code", {"code": "测" * 6})
    assert too_long.status_code == 422 and "16 bytes" in too_long.text
