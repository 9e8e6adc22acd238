"""Who may enforce another court's judgment (issue 11, attack 6).

The rule (docs/security.md): a judgment is enforced by its own court, by a court above it on the appellate
chain (提级执行), or by a court the judgment's court (or a court above it) has entrusted with its
enforcement on chain (委托执行). An unrelated court can neither open a case on the judgment, nor list
anyone under it, nor entrust itself.
"""

from __future__ import annotations

from ledger.records import ActionKind
from tests.contracts.helpers import (
    action,
    admit,
    chain_now,
    expect_revert,
    filing,
    judgment,
    listing,
    subject,
)


def test_unrelated_court_cannot_open_a_case_on_another_courts_judgment(ledger, governor, funder):
    owner = admit(ledger, governor, funder)
    stranger = admit(ledger, governor, funder)
    jid = ledger.submit(owner.signer, judgment(owner, 1)).record_id
    record = filing(stranger, jid, 1)
    expect_revert(lambda: ledger.submit(stranger.signer, record), "EnforcementRegistryNotEnforcingCourt",
                  judgmentId=jid, court=stranger.id, judgmentCourt=owner.id)
    # No harm: no case exists, so nothing can be listed under one.
    assert ledger.case(record.record_id())["state"] == 0
    expect_revert(
        lambda: ledger.submit(stranger.signer, listing(stranger, record.record_id(), subject("x"),
                                                       chain_now(ledger) - 10)),
        "DefaulterRegistryCaseNotListable", caseId=record.record_id(), state=0)
    assert not ledger.may_enforce(jid, stranger.id) and ledger.may_enforce(jid, owner.id)


def test_unrelated_court_cannot_entrust_itself_with_another_courts_judgment(ledger, governor, funder):
    owner = admit(ledger, governor, funder)
    stranger = admit(ledger, governor, funder)
    jid = ledger.submit(owner.signer, judgment(owner, 2)).record_id
    expect_revert(lambda: ledger.delegate_enforcement(stranger.signer, jid, stranger.id),
                  "CourtAuthorizedNoAuthority", actingCourt=stranger.id, recordCourt=owner.id)
    assert not ledger.may_enforce(jid, stranger.id)


def test_appellate_court_may_enforce_its_lower_courts_judgment(ledger, governor, funder):
    high = admit(ledger, governor, funder)
    lower = admit(ledger, governor, funder, appellate=high.id)
    jid = ledger.submit(lower.signer, judgment(lower, 3)).record_id
    w = ledger.submit(high.signer, filing(high, jid, 3))
    assert ledger.case(w.record_id)["court"] == high.id


def test_entrusted_court_may_enforce_until_the_delegation_is_withdrawn(ledger, governor, funder):
    owner = admit(ledger, governor, funder)
    entrusted = admit(ledger, governor, funder, jurisdiction="CN-SC")
    jid = ledger.submit(owner.signer, judgment(owner, 4)).record_id
    receipt = ledger.delegate_enforcement(owner.signer, jid, entrusted.id)
    logs = ledger.contract("EnforcementRegistry").events.EnforcementDelegated().process_receipt(receipt)
    assert [(e["args"]["byCourt"], e["args"]["delegate"], e["args"]["granted"]) for e in logs] == [
        (owner.id, entrusted.id, True)]
    case = ledger.submit(entrusted.signer, filing(entrusted, jid, 4)).record_id
    ledger.submit(entrusted.signer, action(case, 0, ActionKind.NOTICE))
    assert ledger.case(case)["court"] == entrusted.id and ledger.case(case)["actions"] == 1
    ledger.delegate_enforcement(owner.signer, jid, entrusted.id, granted=False)
    expect_revert(lambda: ledger.submit(entrusted.signer, filing(entrusted, jid, 5)),
                  "EnforcementRegistryNotEnforcingCourt", judgmentId=jid, court=entrusted.id,
                  judgmentCourt=owner.id)


def test_delegation_needs_a_known_judgment_and_a_real_other_court(ledger, governor, funder):
    owner = admit(ledger, governor, funder)
    jid = ledger.submit(owner.signer, judgment(owner, 6)).record_id
    for bad in (0, owner.id, 4_294_967_000):
        expect_revert(lambda bad=bad: ledger.delegate_enforcement(owner.signer, jid, bad),
                      "EnforcementRegistryInvalidDelegate", judgmentId=jid, delegate=bad)
    unknown = b"\x07" * 32
    expect_revert(lambda: ledger.delegate_enforcement(owner.signer, unknown, owner.id + 1),
                  "EnforcementRegistryUnknownJudgment", judgmentId=unknown)
