"""JudgmentRegistry: recording (direct and delegated), every validation error, the status machine,
replay protection and appellate authority."""

from __future__ import annotations

from datetime import date

from ledger.records import Judgment, JudgmentStatus, JudgmentStatusChange
from ledger.signing import recover_signer
from tests.contracts.helpers import (
    ZERO32,
    expect_revert,
    judgment,
    one_event,
    struct,
    submit_batch,
)

S = JudgmentStatus


def _recorded_event(j: Judgment) -> dict:
    msg = j.message()
    return {
        "id": j.record_id(),
        "court": j.court,
        "caseNumberDigest": j.case_number_digest,
        "documentDigest": j.document_digest,
        "partiesCommitment": j.parties_commitment,
        "amount": j.amount,
        "currency": b"CNY",
        "judgmentDate": msg["judgmentDate"],
        "effectiveDate": msg["effectiveDate"],
    }


def _change(jid: bytes, status: JudgmentStatus, sequence: int, superseded_by: bytes = ZERO32):
    return JudgmentStatusChange(judgment_id=jid, status=status, superseded_by=superseded_by, sequence=sequence)


def test_record_judgment_direct(ledger, new_court):
    court = new_court()
    j = judgment(court, 1)
    registry = ledger.contract("JudgmentRegistry")
    # the id returned, the id view and the Python struct hash agree
    returned = registry.functions.recordJudgment(struct(j)).call({"from": court.signer.address})
    assert returned == j.record_id() == ledger.view("JudgmentRegistry", "judgmentId", struct(j))

    w = ledger.submit(court.signer, j)
    assert w.sender == court.signer.address
    assert one_event(ledger, w, "JudgmentRegistry", "JudgmentRecorded") == _recorded_event(j)
    assert ledger.judgment(j.record_id()) == {
        "court": court.id,
        "status": S.EFFECTIVE,
        "recorded_at": w.block_time,
        "status_changed_at": w.block_time,
        "changes": 0,
    }
    assert ledger.superseded_by(j.record_id()) == ZERO32


def test_record_judgment_by_sig_and_replay(ledger, new_court, relayer):
    court = new_court()
    j = judgment(court, 2)
    w = ledger.submit(court.signer, j, relayer=relayer)
    assert w.sender == relayer.address
    assert recover_signer(ledger.domain(j), j, w.signature) == court.signer.address
    assert one_event(ledger, w, "JudgmentRegistry", "JudgmentRecorded") == _recorded_event(j)
    assert ledger.judgment(j.record_id())["court"] == court.id
    # the same signed record again, relayed or sent directly: recorded once
    expect_revert(
        lambda: ledger.submit(court.signer, j, relayer=relayer, signature=w.signature),
        "JudgmentRegistryAlreadyRecorded",
        id=j.record_id(),
    )
    expect_revert(lambda: ledger.submit(court.signer, j), "JudgmentRegistryAlreadyRecorded", id=j.record_id())


def test_record_judgment_validation_errors(ledger, new_court):
    court = new_court()
    base = judgment(court, 3)
    fields = base.model_dump()

    def bad(**changes):
        return Judgment.model_construct(**{**fields, **changes})

    for digest in ("case_number_digest", "document_digest", "parties_commitment"):
        expect_revert(lambda d=digest: ledger.submit(court.signer, bad(**{d: ZERO32})), "JudgmentRegistryZeroDigest")
    jd = base.message()["judgmentDate"]
    expect_revert(
        lambda: ledger.submit(court.signer, bad(effective_date=0)),
        "JudgmentRegistryInvalidDates",
        judgmentDate=jd,
        effectiveDate=0,
    )
    expect_revert(
        lambda: ledger.submit(court.signer, bad(effective_date=date(2016, 5, 31))),
        "JudgmentRegistryInvalidDates",
        judgmentDate=jd,
        effectiveDate=jd - 86_400,
    )
    for currency in ("cny", "CN1", "C Y", "\x00\x00\x00"):
        expect_revert(
            lambda c=currency: ledger.submit(court.signer, bad(currency=c)),
            "JudgmentRegistryInvalidCurrency",
            currency=currency.encode(),
        )
    # same-day effect, zero amount and other currencies are fine
    ledger.submit(court.signer, judgment(court, 4, effective_date=date(2016, 6, 1), amount=0, currency="USD"))


def test_status_change_direct_and_by_sig(ledger, new_court, relayer):
    court = new_court()
    old = ledger.submit(court.signer, judgment(court, 5)).record_id
    new = ledger.submit(court.signer, judgment(court, 6)).record_id

    w = ledger.submit(court.signer, _change(old, S.UNDER_APPEAL, 0))
    assert one_event(ledger, w, "JudgmentRegistry", "JudgmentStatusChanged") == {
        "id": old,
        "byCourt": court.id,
        "from": S.EFFECTIVE,
        "to": S.UNDER_APPEAL,
        "supersededBy": ZERO32,
        "sequence": 0,
    }
    record = ledger.judgment(old)
    assert (record["status"], record["changes"], record["status_changed_at"]) == (
        S.UNDER_APPEAL,
        1,
        w.block_time,
    )
    assert record["recorded_at"] <= w.block_time

    change = _change(old, S.SUPERSEDED, 1, superseded_by=new)
    w = ledger.submit(court.signer, change, relayer=relayer)
    assert one_event(ledger, w, "JudgmentRegistry", "JudgmentStatusChanged") == {
        "id": old,
        "byCourt": court.id,
        "from": S.UNDER_APPEAL,
        "to": S.SUPERSEDED,
        "supersededBy": new,
        "sequence": 1,
    }
    assert ledger.judgment(old)["status"] == S.SUPERSEDED and ledger.judgment(old)["changes"] == 2
    assert ledger.superseded_by(old) == new
    # replay of a signed change: its sequence is spent
    expect_revert(
        lambda: ledger.submit(court.signer, change, relayer=relayer, signature=w.signature),
        "JudgmentRegistryOutOfSequence",
        id=old,
        expected=2,
        given=1,
    )


def test_status_machine(ledger, new_court):
    """Every (from, to) pair: the allowed ones succeed (dry run), every other one is InvalidTransition."""
    court = new_court()
    records = {
        s: judgment(court, 10 + n)
        for n, s in enumerate([S.EFFECTIVE, S.UNDER_APPEAL, S.SET_ASIDE, S.SUPERSEDED, S.SATISFIED, S.STAYED])
    }
    ids = {status: j.record_id() for status, j in records.items()}
    changes = [_change(ids[status], status, 0) for status in (S.UNDER_APPEAL, S.SET_ASIDE, S.SATISFIED, S.STAYED)]
    changes.append(_change(ids[S.SUPERSEDED], S.SUPERSEDED, 0, ids[S.EFFECTIVE]))
    submit_batch(ledger, [(court.signer, r, None) for r in [*records.values(), *changes]])
    for status, jid in ids.items():
        assert ledger.judgment(jid)["status"] == status

    allowed = {
        S.EFFECTIVE: {S.UNDER_APPEAL, S.SET_ASIDE, S.SUPERSEDED, S.SATISFIED, S.STAYED},
        S.UNDER_APPEAL: {S.EFFECTIVE, S.SET_ASIDE, S.SUPERSEDED, S.STAYED},
        S.STAYED: {S.EFFECTIVE, S.SET_ASIDE, S.SUPERSEDED},
        S.SATISFIED: {S.SET_ASIDE},
        S.SET_ASIDE: set(),
        S.SUPERSEDED: set(),
    }
    registry = ledger.contract("JudgmentRegistry")
    for frm, jid in ids.items():
        seq = ledger.judgment(jid)["changes"]
        for to in S:
            succ = ids[S.SATISFIED] if to == S.SUPERSEDED else ZERO32
            change = _change(jid, to, seq, succ)
            if to in allowed[frm]:
                registry.functions.changeStatus(struct(change)).call({"from": court.signer.address})
            else:
                expect_revert(
                    lambda c=change: ledger.submit(court.signer, c),
                    "JudgmentRegistryInvalidTransition",
                    id=jid,
                    **{"from": frm, "to": to},
                )


def test_status_change_errors(ledger, new_court):
    court = new_court()
    jid = ledger.submit(court.signer, judgment(court, 20)).record_id
    other = ledger.submit(court.signer, judgment(court, 21)).record_id
    unknown = judgment(court, 22).record_id()

    expect_revert(
        lambda: ledger.submit(court.signer, _change(unknown, S.SATISFIED, 0)),
        "JudgmentRegistryUnknownJudgment",
        id=unknown,
    )
    expect_revert(
        lambda: ledger.submit(court.signer, _change(jid, S.SATISFIED, 1)),
        "JudgmentRegistryOutOfSequence",
        id=jid,
        expected=0,
        given=1,
    )
    for successor in (ZERO32, jid, unknown):
        expect_revert(
            lambda s=successor: ledger.submit(court.signer, _change(jid, S.SUPERSEDED, 0, s)),
            "JudgmentRegistryInvalidSuccessor",
            id=jid,
            supersededBy=successor,
        )
    expect_revert(
        lambda: ledger.submit(court.signer, _change(jid, S.SATISFIED, 0, other)),
        "JudgmentRegistryInvalidSuccessor",
        id=jid,
        supersededBy=other,
    )
    # direct replay of an applied change
    ledger.submit(court.signer, _change(jid, S.SATISFIED, 0))
    expect_revert(
        lambda: ledger.submit(court.signer, _change(jid, S.SATISFIED, 0)),
        "JudgmentRegistryOutOfSequence",
        id=jid,
        expected=1,
        given=0,
    )


def test_appellate_court_changes_lower_court_judgment(ledger, new_court, relayer):
    supreme = new_court()
    high = new_court(appellate=supreme.id)
    lower = new_court(appellate=high.id)
    sibling = new_court(appellate=high.id)
    jid = ledger.submit(lower.signer, judgment(lower, 30)).record_id
    high_jid = ledger.submit(high.signer, judgment(high, 31)).record_id

    w = ledger.submit(high.signer, _change(jid, S.UNDER_APPEAL, 0))
    assert one_event(ledger, w, "JudgmentRegistry", "JudgmentStatusChanged")["byCourt"] == high.id
    w = ledger.submit(supreme.signer, _change(jid, S.SET_ASIDE, 1), relayer=relayer)
    assert one_event(ledger, w, "JudgmentRegistry", "JudgmentStatusChanged")["byCourt"] == supreme.id
    assert ledger.judgment(jid)["status"] == S.SET_ASIDE and ledger.judgment(jid)["court"] == lower.id

    # a sibling has no authority, nor a lower court over its appellate court, direct or delegated
    expect_revert(
        lambda: ledger.submit(sibling.signer, _change(jid, S.SET_ASIDE, 2)),
        "CourtAuthorizedNoAuthority",
        actingCourt=sibling.id,
        recordCourt=lower.id,
    )
    expect_revert(
        lambda: ledger.submit(sibling.signer, _change(jid, S.SET_ASIDE, 2), relayer=relayer),
        "CourtAuthorizedNoAuthority",
        actingCourt=sibling.id,
        recordCourt=lower.id,
    )
    expect_revert(
        lambda: ledger.submit(lower.signer, _change(high_jid, S.SATISFIED, 0)),
        "CourtAuthorizedNoAuthority",
        actingCourt=lower.id,
        recordCourt=high.id,
    )
    # an appellate court still cannot record a judgment in the lower court's name
    expect_revert(
        lambda: ledger.submit(high.signer, judgment(lower, 32)),
        "CourtAuthorizedWrongCourt",
        recordCourt=lower.id,
        signerCourt=high.id,
    )


def test_views_and_constants(ledger):
    assert ledger.view("JudgmentRegistry", "version") == "1.1.0"
    assert ledger.view("JudgmentRegistry", "JUDGMENT_TYPEHASH") == Judgment.type_hash()
    assert ledger.view("JudgmentRegistry", "STATUS_CHANGE_TYPEHASH") == JudgmentStatusChange.type_hash()
    unknown = judgment(1, 999).record_id()
    assert ledger.judgment(unknown) == {
        "court": 0,
        "status": 0,
        "recorded_at": 0,
        "status_changed_at": 0,
        "changes": 0,
    }
    assert ledger.superseded_by(unknown) == ZERO32
    _, name, version, chain_id, contract, _, _ = ledger.view("JudgmentRegistry", "eip712Domain")
    domain = ledger.domain(Judgment)
    assert (name, version, chain_id, contract) == (
        domain.name,
        domain.version,
        domain.chain_id,
        domain.verifying_contract,
    )
