"""State at the edge (issue 12, item 3): a court's client hears 409 at once, naming the contract's error,
for a change the chain would refuse for the record's own state, counting the changes it has accepted but
the chain has not yet confirmed; nothing is queued and the record on chain is unchanged."""

from __future__ import annotations

import pytest

from tests.api.conftest import judgment_body

SUBJECT = {"kind": "credit_code", "id": "91350100M000100Y43", "name": "某某公司（示例）"}


def _refused(response, error: str) -> None:
    assert response.status_code == 409, response.text
    assert error in response.json()["detail"], response.json()
    assert "outbox_id" not in response.json()


@pytest.fixture
def case(services, court):
    """A confirmed, indexed judgment and a case of 1,000 due on it."""
    api = court.api
    judgment = api.confirmed(api.post("/api/v1/judgments", judgment_body()))
    opened = api.confirmed(api.post("/api/v1/enforcement/cases", {
        "judgment_id": judgment["record_id"], "case_number": "(2019)京0108执7101号", "amount_due": 1_000,
        "filed_at": "2019-04-02"}))
    services.wait_indexed(opened["block_number"])
    return judgment["record_id"], opened["record_id"]


def test_a_final_judgment_status_cannot_be_changed(services, court, case):
    jid, _ = case
    done = court.api.confirmed(court.api.post(f"/api/v1/judgments/{jid}/status", {"status": "set_aside"}))
    services.wait_indexed(done["block_number"])
    _refused(court.api.post(f"/api/v1/judgments/{jid}/status", {"status": "effective"}),
             "JudgmentRegistryInvalidTransition")
    assert services.ledger.judgment(bytes.fromhex(jid[2:]))["status"] == 3  # still set aside


def test_an_accepted_but_unconfirmed_change_counts(services, court, case):
    """The second 'satisfied' is refused at once, although the first is not on chain yet."""
    jid, _ = case
    first = court.api.post(f"/api/v1/judgments/{jid}/status", {"status": "satisfied"})
    assert first.status_code == 202, first.text
    _refused(court.api.post(f"/api/v1/judgments/{jid}/status", {"status": "satisfied"}),
             "JudgmentRegistryInvalidTransition")
    court.api.confirmed(first)


def test_recovery_beyond_the_amount_due_and_actions_on_a_concluded_case(services, court, case):
    _, cid = case
    url = f"/api/v1/enforcement/cases/{cid}/actions"
    _refused(court.api.post(url, {"kind": "payment_received", "amount": 1_001}), "RecoveryExceedsDue")
    _refused(court.api.post(url, {"kind": "auction_failed"}), "NoAuctionListed")
    _refused(court.api.post(url, {"kind": "termination_no_assets"}), "AssetInquiryRequired")
    court.api.confirmed(court.api.post(url, {"kind": "conclusion"}))
    _refused(court.api.post(url, {"kind": "notice"}), "EnforcementRegistryCaseConcluded")
    assert services.ledger.case(bytes.fromhex(cid[2:]))["actions"] == 1


def test_a_removed_listing_cannot_be_extended_or_removed_again(services, court, case):
    _, cid = case
    listing = court.api.confirmed(court.api.post("/api/v1/defaulters/listings", {
        "subject": SUBJECT, "case_id": cid, "ground": "able_but_refuses", "restrictions": ["flights"]}))
    lid = listing["record_id"]
    services.wait_indexed(listing["block_number"])
    court.api.confirmed(court.api.post(f"/api/v1/defaulters/listings/{lid}/extension", {"years": 1}))
    _refused(court.api.post(f"/api/v1/defaulters/listings/{lid}/extension", {"years": 1}), "AlreadyExtended")
    court.api.confirmed(court.api.post(f"/api/v1/defaulters/listings/{lid}/removal", {"reason": "performed"}))
    _refused(court.api.post(f"/api/v1/defaulters/listings/{lid}/removal", {"reason": "performed"}),
             "AlreadyRemoved")
    assert services.ledger.listing(bytes.fromhex(lid[2:]))["changes"] == 2
