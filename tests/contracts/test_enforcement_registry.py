"""EnforcementRegistry: filing (direct and delegated), every action kind, the history hash chain, and
every impossible sequence the state machine rejects."""

from __future__ import annotations

from eth_abi import encode as abi_encode
from eth_utils import keccak

from ledger.records import Action, ActionKind, CaseState, Filing, JudgmentStatus, JudgmentStatusChange
from tests.contracts.helpers import (
    ZERO32,
    action,
    block_time,
    expect_revert,
    filing,
    judgment,
    one_event,
    open_case,
    struct,
    submit_batch,
)

K = ActionKind
MONEY = {K.DEDUCTION, K.VALUATION, K.AUCTION_LISTED, K.AUCTION_SOLD, K.PAYMENT_RECEIVED, K.DISBURSEMENT}


def _history(previous: bytes, action_hash: bytes) -> bytes:
    return keccak(abi_encode(["bytes32", "bytes32"], [previous, action_hash]))


def test_open_case_direct(ledger, new_court):
    court = new_court()
    jid = ledger.submit(court.signer, judgment(court, 1)).record_id
    f = filing(court, jid, 1, amount_due=2_000_000)
    returned = ledger.contract("EnforcementRegistry").functions.openCase(struct(f)).call({"from": court.signer.address})
    assert returned == f.record_id() == ledger.view("EnforcementRegistry", "caseId", struct(f))

    w = ledger.submit(court.signer, f)
    assert one_event(ledger, w, "EnforcementRegistry", "CaseOpened") == {
        "caseId": f.record_id(),
        "court": court.id,
        "judgmentId": jid,
        "caseNumberDigest": f.case_number_digest,
        "amountDue": 2_000_000,
        "filedAt": f.message()["filedAt"],
    }
    assert ledger.case(f.record_id()) == {
        "court": court.id,
        "state": CaseState.OPEN,
        "actions": 0,
        "opened_at": w.block_time,
        "updated_at": w.block_time,
        "assets_inquired": False,
        "pending_auctions": 0,
        "amount_due": 2_000_000,
        "amount_recovered": 0,
        "amount_disbursed": 0,
        "judgment_id": jid,
        "history_hash": f.record_id(),
    }


def test_open_case_by_sig_and_errors(ledger, new_court, relayer):
    court = new_court()
    jid = ledger.submit(court.signer, judgment(court, 2)).record_id
    f = filing(court, jid, 2)
    w = ledger.submit(court.signer, f, relayer=relayer)
    assert w.sender == relayer.address
    assert one_event(ledger, w, "EnforcementRegistry", "CaseOpened")["caseId"] == f.record_id()
    assert ledger.case(f.record_id())["state"] == CaseState.OPEN
    # replay of the signed filing, relayed or direct
    expect_revert(
        lambda: ledger.submit(court.signer, f, relayer=relayer, signature=w.signature),
        "EnforcementRegistryCaseExists",
        caseId=f.record_id(),
    )
    expect_revert(lambda: ledger.submit(court.signer, f), "EnforcementRegistryCaseExists", caseId=f.record_id())

    zero = Filing.model_construct(**{**f.model_dump(), "amount_due": 0})
    expect_revert(lambda: ledger.submit(court.signer, zero), "EnforcementRegistryZeroAmountDue")
    unknown = judgment(court, 3).record_id()
    expect_revert(
        lambda: ledger.submit(court.signer, filing(court, unknown, 3)),
        "EnforcementRegistryJudgmentNotEnforceable",
        judgmentId=unknown,
        status=0,
    )
    # a judgment under appeal (or set aside, superseded, satisfied) is not enforceable
    ledger.submit(court.signer, JudgmentStatusChange(judgment_id=jid, status=JudgmentStatus.UNDER_APPEAL, sequence=0))
    expect_revert(
        lambda: ledger.submit(court.signer, filing(court, jid, 4)),
        "EnforcementRegistryJudgmentNotEnforceable",
        judgmentId=jid,
        status=JudgmentStatus.UNDER_APPEAL,
    )


def test_every_action_kind_and_the_history_hash_chain(ledger, new_court, relayer):
    """A case through all 19 kinds of action, half of them relayed, with the hash chain recomputed."""
    court = new_court()
    due = 2_000_000
    _, case_id = open_case(ledger, court, 10, amount_due=due)
    plan = [
        (K.NOTICE, 0, 0, 0),
        (K.PROPERTY_REPORT_ORDER, 0, 0, 0),
        (K.ASSET_INQUIRY, 0, 0b1000_0000_0000_0011, 0),
        (K.FREEZE, 0, 0, 0),
        (K.SEAL, 0, 0, 0),
        (K.SEIZE, 0, 0, 0),
        (K.VALUATION, 900_000, 0, 0),
        (K.AUCTION_LISTED, 800_000, 0, 0),
        (K.AUCTION_FAILED, 0, 0, 0),
        (K.AUCTION_LISTED, 640_000, 0, 0),
        (K.AUCTION_SOLD, 700_000, Action.auction_detail(19, 14), 0),
        (K.DEDUCTION, 500_000, 0, 0),
        (K.PAYMENT_RECEIVED, 1_000_000, 0, 0),
        (K.DISBURSEMENT, 1_200_000, 0, 0),
        (K.SETTLEMENT, 0, 0, 0),
        (K.CONSUMPTION_RESTRICTION, 0, 0, 0),
        (K.DEFAULTER_LISTING, 0, 0, 0),
        (K.TERMINATION_NO_ASSETS, 0, 0, 0),
        (K.RESUMPTION, 0, 0, 0),
        (K.PAYMENT_RECEIVED, 600_000, 0, 1),  # 2.1M recovered of 2.0M due: acknowledged excess
        (K.DISBURSEMENT, 900_000, 0, 0),
        (K.CONCLUSION, 0, 0, 0),
    ]
    assert {k for k, *_ in plan} == set(K)
    history, recovered, disbursed, state = case_id, 0, 0, CaseState.OPEN
    actions = [action(case_id, seq, *step) for seq, step in enumerate(plan)]
    first = actions[0]
    returned = ledger.contract("EnforcementRegistry").functions.recordAction(struct(first))
    assert returned.call({"from": court.signer.address}) == first.record_id()
    # even sequences relayed with the court's signature, odd ones sent by the court's key
    receipts = submit_batch(ledger, [(court.signer, a, relayer if a.sequence % 2 == 0 else None) for a in actions])
    for a, w in zip(actions, receipts, strict=True):
        seq, kind, amount, detail, flags = a.sequence, a.kind, a.amount, a.detail, a.flags
        if kind in (K.DEDUCTION, K.PAYMENT_RECEIVED):
            recovered += amount
        elif kind == K.DISBURSEMENT:
            disbursed += amount
        state = {
            K.TERMINATION_NO_ASSETS: CaseState.TERMINATED,
            K.RESUMPTION: CaseState.OPEN,
            K.CONCLUSION: CaseState.CONCLUDED,
        }.get(kind, state)
        history = _history(history, a.record_id())
        assert one_event(ledger, w, "EnforcementRegistry", "ActionRecorded") == {
            "caseId": case_id,
            "sequence": seq,
            "kind": kind,
            "amount": amount,
            "detail": detail,
            "documentDigest": a.document_digest,
            "flags": flags,
            "state": state,
            "amountRecovered": recovered,
            "historyHash": history,
        }
    record = ledger.case(case_id)
    assert record | {"opened_at": 0, "updated_at": 0} == {
        "court": court.id,
        "state": CaseState.CONCLUDED,
        "actions": len(plan),
        "opened_at": 0,
        "updated_at": 0,
        "assets_inquired": True,
        "pending_auctions": 0,
        "amount_due": due,
        "amount_recovered": 2_100_000,
        "amount_disbursed": 2_100_000,
        "judgment_id": record["judgment_id"],
        "history_hash": history,
    }
    assert record["updated_at"] == block_time(ledger, receipts[-1])
    # replay of the first (relayed) action with its signature: sequence spent
    signature = ledger.sign(court.signer, first)
    expect_revert(
        lambda: ledger.submit(court.signer, first, relayer=relayer, signature=signature),
        "EnforcementRegistryOutOfSequence",
        caseId=case_id,
        expected=len(plan),
        given=0,
    )


def test_impossible_sequences(ledger, new_court):
    court = new_court()
    due = 1_000_000
    _, cid = open_case(ledger, court, 20, amount_due=due)

    def act(seq, kind, amount=0, detail=0, flags=0):
        return lambda: ledger.submit(court.signer, action(cid, seq, kind, amount, detail, flags))

    unknown = keccak(b"no such case")
    expect_revert(
        lambda: ledger.submit(court.signer, action(unknown, 0, K.NOTICE)),
        "EnforcementRegistryUnknownCase",
        caseId=unknown,
    )
    expect_revert(act(5, K.NOTICE), "EnforcementRegistryOutOfSequence", caseId=cid, expected=0, given=5)
    expect_revert(act(0, K.RESUMPTION), "EnforcementRegistryCaseNotTerminated", caseId=cid)
    expect_revert(act(0, K.TERMINATION_NO_ASSETS), "EnforcementRegistryAssetInquiryRequired", caseId=cid)
    for kind in (K.AUCTION_SOLD, K.AUCTION_FAILED):
        detail = Action.auction_detail(1, 0) if kind == K.AUCTION_SOLD else 0
        amount = 1 if kind == K.AUCTION_SOLD else 0
        expect_revert(act(0, kind, amount, detail), "EnforcementRegistryNoAuctionListed", caseId=cid)
    expect_revert(
        act(0, K.DISBURSEMENT, 1),
        "EnforcementRegistryDisbursementExceedsRecovered",
        caseId=cid,
        recovered=0,
        disbursed=0,
        amount=1,
    )
    for kind in (K.PAYMENT_RECEIVED, K.DEDUCTION):
        expect_revert(
            act(0, kind, due + 1),
            "EnforcementRegistryRecoveryExceedsDue",
            caseId=cid,
            due=due,
            recovered=0,
            amount=due + 1,
        )
    for kind in K:
        if kind in MONEY:
            expect_revert(act(0, kind, 0), "EnforcementRegistryZeroAmount", caseId=cid, kind=kind)
        else:
            expect_revert(act(0, kind, 7), "EnforcementRegistryUnexpectedAmount", caseId=cid, kind=kind, amount=7)
    expect_revert(act(0, K.NOTICE, detail=1), "EnforcementRegistryInvalidDetail", caseId=cid, kind=K.NOTICE, detail=1)
    expect_revert(
        act(0, K.VALUATION, 5, detail=1),
        "EnforcementRegistryInvalidDetail",
        caseId=cid,
        kind=K.VALUATION,
        detail=1,
    )
    expect_revert(
        act(0, K.ASSET_INQUIRY, detail=1 << 16),
        "EnforcementRegistryInvalidDetail",
        caseId=cid,
        kind=K.ASSET_INQUIRY,
        detail=1 << 16,
    )
    expect_revert(act(0, K.PAYMENT_RECEIVED, 5, flags=2), "EnforcementRegistryInvalidFlags", caseId=cid, flags=2)
    expect_revert(act(0, K.PAYMENT_RECEIVED, 5, flags=0x81), "EnforcementRegistryInvalidFlags", caseId=cid, flags=0x81)
    for kind in (K.NOTICE, K.DISBURSEMENT, K.AUCTION_SOLD):
        expect_revert(act(0, kind, 5, flags=1), "EnforcementRegistryInvalidFlags", caseId=cid, flags=1)

    # recovery over the amount due with the acknowledgement flag is fine
    act(0, K.PAYMENT_RECEIVED, due + 1, flags=1)()
    assert ledger.case(cid)["amount_recovered"] == due + 1
    expect_revert(
        act(1, K.DISBURSEMENT, due + 2),
        "EnforcementRegistryDisbursementExceedsRecovered",
        caseId=cid,
        recovered=due + 1,
        disbursed=0,
        amount=due + 2,
    )
    # an auction sold needs its bidding rounds
    act(1, K.AUCTION_LISTED, 300_000)()
    assert ledger.case(cid)["pending_auctions"] == 1
    expect_revert(
        act(2, K.AUCTION_SOLD, 300_000, detail=14),
        "EnforcementRegistryInvalidDetail",
        caseId=cid,
        kind=K.AUCTION_SOLD,
        detail=14,
    )

    # terminated for lack of assets: only resumption
    act(2, K.ASSET_INQUIRY, detail=0)()  # an inquiry that found nothing still counts
    act(3, K.TERMINATION_NO_ASSETS)()
    assert ledger.case(cid)["state"] == CaseState.TERMINATED
    for kind, amount in (
        (K.PAYMENT_RECEIVED, 1),
        (K.NOTICE, 0),
        (K.TERMINATION_NO_ASSETS, 0),
        (K.CONCLUSION, 0),
    ):
        expect_revert(act(4, kind, amount), "EnforcementRegistryCaseTerminated", caseId=cid)
    act(4, K.RESUMPTION)()
    assert ledger.case(cid)["state"] == CaseState.OPEN
    expect_revert(act(5, K.RESUMPTION), "EnforcementRegistryCaseNotTerminated", caseId=cid)

    # concluded: nothing more
    act(5, K.CONCLUSION)()
    assert ledger.case(cid)["state"] == CaseState.CONCLUDED
    for kind, amount in ((K.PAYMENT_RECEIVED, 1), (K.RESUMPTION, 0), (K.CONCLUSION, 0), (K.NOTICE, 0)):
        expect_revert(act(6, kind, amount), "EnforcementRegistryCaseConcluded", caseId=cid)
    expect_revert(act(5, K.NOTICE), "EnforcementRegistryOutOfSequence", caseId=cid, expected=6, given=5)


def test_appellate_court_acts_on_lower_court_case(ledger, new_court, relayer):
    high = new_court()
    lower = new_court(appellate=high.id)
    sibling = new_court(appellate=high.id)
    _, cid = open_case(ledger, lower, 30)
    w = ledger.submit(high.signer, action(cid, 0, K.NOTICE), relayer=relayer)
    assert one_event(ledger, w, "EnforcementRegistry", "ActionRecorded")["sequence"] == 0
    ledger.submit(high.signer, action(cid, 1, K.FREEZE))
    assert ledger.case(cid)["actions"] == 2 and ledger.case(cid)["court"] == lower.id
    expect_revert(
        lambda: ledger.submit(sibling.signer, action(cid, 2, K.NOTICE)),
        "CourtAuthorizedNoAuthority",
        actingCourt=sibling.id,
        recordCourt=lower.id,
    )
    expect_revert(
        lambda: ledger.submit(sibling.signer, action(cid, 2, K.NOTICE), relayer=relayer),
        "CourtAuthorizedNoAuthority",
        actingCourt=sibling.id,
        recordCourt=lower.id,
    )
    # filing in another court's name is refused even for the appellate court
    jid = ledger.case(cid)["judgment_id"]
    expect_revert(
        lambda: ledger.submit(high.signer, filing(lower, jid, 31)),
        "CourtAuthorizedWrongCourt",
        recordCourt=lower.id,
        signerCourt=high.id,
    )


def test_views_and_constants(ledger):
    assert ledger.view("EnforcementRegistry", "version") == "1.0.0"
    assert ledger.view("EnforcementRegistry", "FILING_TYPEHASH") == Filing.type_hash()
    assert ledger.view("EnforcementRegistry", "ACTION_TYPEHASH") == Action.type_hash()
    assert ledger.view("EnforcementRegistry", "FLAG_EXCESS_ACKNOWLEDGED") == 1
    assert ledger.view("EnforcementRegistry", "ASSET_CATEGORY_MASK") == 0xFFFF
    assert ledger.view("EnforcementRegistry", "judgmentRegistry") == ledger.deployment.address("JudgmentRegistry")
    record = ledger.case(keccak(b"unknown case"))
    assert record["state"] == CaseState.NONE and record["court"] == 0 and record["history_hash"] == ZERO32
