"""List endpoints for court clients: judgments and enforcement cases by case number, court and status, paged,
each court seeing only what it may read one by one."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.api.conftest import admit, judgment_body

SHARED = "(2024)京0108民初55501号"  # recorded by both courts
CASE_NUMBER = "(2024)京0108执55502号"


@pytest.fixture(scope="module")
def desks(services, gov, http):
    """Two fresh courts: A with three judgments (the first under SHARED) and a case, B with one under SHARED."""
    a, b = admit(gov, services, http), admit(gov, services, http)
    mine = [
        a.api.confirmed(a.api.post("/api/v1/judgments", judgment_body(**({"case_number": SHARED} if i == 0 else {}))))
        for i in range(3)
    ]
    theirs = b.api.confirmed(b.api.post("/api/v1/judgments", judgment_body(case_number=SHARED)))
    case = a.api.confirmed(a.api.post("/api/v1/enforcement/cases", {
        "judgment_id": mine[0]["record_id"], "case_number": CASE_NUMBER, "amount_due": 1_000,
        "filed_at": "2024-04-02"}))  # fmt: skip
    services.wait_indexed(max(r["block_number"] for r in [*mine, theirs, case]))
    return a, b, [r["record_id"] for r in mine], theirs["record_id"], case["record_id"]


def _ids(response, key: str) -> list[str]:
    assert response.status_code == 200, response.text
    return [item[key] for item in response.json()["items"]]


def test_court_finds_its_judgment_by_case_number(desks):
    a, _, mine, theirs, _ = desks
    found = a.api.get(f"/api/v1/judgments?case_number={quote(SHARED)}")
    assert _ids(found, "judgment_id") == [mine[0]]
    assert theirs not in found.text


def test_court_cannot_list_another_courts_judgments_or_cases(desks):
    a, b, mine, theirs, case = desks
    refused = b.api.get(f"/api/v1/judgments?court={a.court_id}")
    assert refused.status_code == 403 and str(b.court_id) in refused.json()["detail"]
    assert not any(m in refused.text for m in mine)
    refused = b.api.get(f"/api/v1/enforcement/cases?court={a.court_id}")
    assert refused.status_code == 403 and case not in refused.text
    # Asking by a case number only A used, B sees nothing of A's: its own list is all it gets.
    assert _ids(b.api.get(f"/api/v1/enforcement/cases?case_number={quote(CASE_NUMBER)}"), "case_id") == []
    assert _ids(b.api.get(f"/api/v1/judgments?case_number={quote(SHARED)}"), "judgment_id") == [theirs]
    assert _ids(b.api.get("/api/v1/judgments"), "judgment_id") == [theirs]


def test_judgments_come_in_pages_in_chain_order(desks):
    a, _, mine, _, _ = desks
    first = a.api.get("/api/v1/judgments?limit=2")
    assert _ids(first, "judgment_id") == mine[:2] and first.json()["next"]
    second = a.api.get(f"/api/v1/judgments?limit=2&after={first.json()['next']}")
    assert _ids(second, "judgment_id") == mine[2:] and second.json()["next"] is None
    assert a.api.get("/api/v1/judgments?limit=101").status_code == 422
    assert a.api.get("/api/v1/judgments?after=not-a-cursor").status_code == 422


def test_judgments_filter_by_status(desks):
    a, _, mine, _, _ = desks
    assert _ids(a.api.get("/api/v1/judgments?status=effective"), "judgment_id") == mine
    assert _ids(a.api.get("/api/v1/judgments?status=set_aside"), "judgment_id") == []


def test_court_finds_its_enforcement_case_by_case_number_and_judgment(desks):
    a, _, mine, _, case = desks
    assert _ids(a.api.get(f"/api/v1/enforcement/cases?case_number={quote(CASE_NUMBER)}"), "case_id") == [case]
    assert _ids(a.api.get(f"/api/v1/enforcement/cases?judgment_id={mine[0]}&state=open"), "case_id") == [case]
    assert _ids(a.api.get(f"/api/v1/enforcement/cases?judgment_id={mine[1]}"), "case_id") == []


def test_governance_lists_any_court_and_partners_none(desks, gov, partner):
    a, _, mine, _, case = desks
    assert _ids(gov.get(f"/api/v1/judgments?court={a.court_id}"), "judgment_id") == mine
    assert _ids(gov.get(f"/api/v1/enforcement/cases?court={a.court_id}"), "case_id") == [case]
    assert partner.get("/api/v1/judgments").status_code == 403


def test_a_case_number_with_control_characters_is_refused_without_echo(desks):
    a, _, _, _, _ = desks
    r = a.api.get("/api/v1/judgments?case_number=" + quote("(2024)京0108\u200b民初1号"))
    assert r.status_code == 422 and "0108" not in r.text
