"""Authority at the edge (issue 11, attack 5): a court's client hears 403 at once, with the reason, for a write
the chain would refuse for authority; nothing is queued and the other court's record is unchanged."""

from __future__ import annotations

import pytest

from tests.api.conftest import admit, judgment_body

SUBJECT = {"kind": "credit_code", "id": "91350100M000100Y43", "name": "某某公司（示例）"}


@pytest.fixture(scope="module")
def records(services, court):
    """A judgment, a case on it and a listing under the case, all of ``court``, indexed."""
    api = court.api
    judgment = api.confirmed(api.post("/api/v1/judgments", judgment_body()))
    case = api.confirmed(api.post("/api/v1/enforcement/cases", {
        "judgment_id": judgment["record_id"], "case_number": "(2019)京0108执7001号", "amount_due": 1_000,
        "filed_at": "2019-04-02"}))
    listing = api.confirmed(api.post("/api/v1/defaulters/listings", {
        "subject": SUBJECT, "case_id": case["record_id"], "ground": "able_but_refuses",
        "restrictions": ["flights"]}))
    services.wait_indexed(listing["block_number"])
    return judgment["record_id"], case["record_id"], listing["record_id"]


def _refused(response, *words: str) -> None:
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert all(w in detail for w in words), detail
    assert "outbox_id" not in response.json()


def test_court_cannot_change_the_status_of_another_courts_judgment(services, records, other_court, court):
    jid, _, _ = records
    before = services.index.judgment(bytes.fromhex(jid[2:])).status_history
    _refused(other_court.api.post(f"/api/v1/judgments/{jid}/status", {"status": "set_aside"}),
             str(other_court.court_id), str(court.court_id), "authority")
    assert services.ledger.judgment(bytes.fromhex(jid[2:]))["status"] == 1
    assert services.index.judgment(bytes.fromhex(jid[2:])).status_history == before


def test_court_cannot_remove_or_extend_another_courts_listing(services, records, other_court):
    _, _, lid = records
    _refused(other_court.api.post(f"/api/v1/defaulters/listings/{lid}/removal", {"reason": "performed"}),
             "listing", "authority")
    _refused(other_court.api.post(f"/api/v1/defaulters/listings/{lid}/extension", {"years": 1}),
             "listing", "authority")
    on_chain = services.ledger.listing(bytes.fromhex(lid[2:]))
    assert on_chain["removed_at"] == 0 and on_chain["changes"] == 0


def test_court_cannot_act_on_another_courts_case(services, records, other_court):
    _, cid, _ = records
    _refused(other_court.api.post(f"/api/v1/enforcement/cases/{cid}/actions", {"kind": "conclusion"}),
             "case", "authority")
    assert services.ledger.case(bytes.fromhex(cid[2:]))["actions"] == 0


def test_court_cannot_list_under_another_courts_case(records, other_court):
    _, cid, _ = records
    _refused(other_court.api.post("/api/v1/defaulters/listings", {
        "subject": SUBJECT, "case_id": cid, "ground": "able_but_refuses", "restrictions": ["flights"]}),
        "case", "authority")


def test_court_cannot_enforce_another_courts_judgment(services, records, other_court):
    jid, _, _ = records
    _refused(other_court.api.post("/api/v1/enforcement/cases", {
        "judgment_id": jid, "case_number": "(2019)京0108执7002号", "amount_due": 1_000,
        "filed_at": "2019-04-02"}), "may not enforce", "委托执行")


def test_appellate_court_passes_the_edge_check(services, http, gov):
    high = admit(gov, services, http)
    lower = admit(gov, services, http, appellate=high.court_id)
    judgment = lower.api.confirmed(lower.api.post("/api/v1/judgments", judgment_body()))
    services.wait_indexed(judgment["block_number"])
    changed = high.api.confirmed(high.api.post(f"/api/v1/judgments/{judgment['record_id']}/status",
                                               {"status": "under_appeal"}))
    assert changed["state"] == "confirmed"
