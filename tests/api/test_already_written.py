"""An entry whose earlier transaction recorded it is confirmed with that transaction, never failed.

The scenario: the worker sent an entry's transaction, the node mined it, but the worker did not see the
receipt (a node just restarted answers "nonce too low" first); it gave the nonce up, put the entry back
to ``accepted`` and signed it again, and the chain now refuses the record as already written. The
worker must find the transaction that wrote it (by the entry's previous transaction hashes, else by the
record's log) and confirm the entry with it; a record written by someone else, or with other content,
keeps the entry failed with an error saying so. Timing plays no part: the lost receipt is simulated by
moving the outbox row back by hand.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Any

import pytest
from eth_utils import keccak

from api.auth import Client
from api.outbox import Outbox, Previous, owner_of
from api.services import Services, WriteContext
from api.worker import OutboxWorker
from api.written import says_already_written
from ledger.errors import ContractRevertError
from ledger.records import Action, ActionKind, Anchor, Dossier, Judgment
from ledger.verify import verify_certificate
from tests.api.conftest import service_settings
from tests.api.test_outbox import _court, _Crash, _drain, _judgment, crash


@pytest.fixture
def svc(tmp_path):
    """A service whose worker is driven by hand (no threads), on its own in-memory chain."""
    services = Services.open(service_settings(tmp_path))
    yield services
    services.close()


def _worker(svc: Services, **kw: Any) -> OutboxWorker:
    return OutboxWorker(svc.ledger, svc.outbox, svc.signers, svc.governor, **kw)


def _ready_court(svc: Services, court_id: int) -> Client:
    client = _court(svc, court_id)
    _drain(svc.worker, svc, [e.id for e in svc.outbox.entries("governance", "accepted")])
    return client


def _lose_receipt(svc: Services, entry_id: str) -> None:
    """What the worker did when it missed the receipt of a mined transaction: the row is ``submitted``
    again, then its nonce is given up (``back_to_accepted``), to be signed again."""
    svc.outbox.reopen(entry_id, "test: the receipt was not seen")
    svc.outbox.back_to_accepted(entry_id, "test: nonce taken; signing again")
    assert svc.outbox.get(entry_id).state == "accepted"


def _forget_previous(svc: Services, entry_id: str, *, first_block: bool = False) -> None:
    """As an outbox written before previous transactions (and first blocks) were kept: the journal holds
    the entry's current transaction only (without the block it was signed at)."""
    owner = owner_of(entry_id)
    with sqlite3.connect(svc.outbox.path) as db:
        db.execute(
            "DELETE FROM transactions WHERE owner = ? AND tx_hash IS NOT (SELECT tx_hash FROM outbox WHERE id = ?)",
            (owner, entry_id),
        )
        if first_block:
            db.execute("UPDATE transactions SET head_block = NULL WHERE owner = ?", (owner,))


def _logs(svc: Services, contract: str, event: str, target: bytes) -> list[Any]:
    c = svc.ledger.contract(contract)
    name = c.events[event]().abi["inputs"][0]["name"]
    start = svc.ledger.deployment.contracts[contract].block_number
    return list(c.events[event]().get_logs(argument_filters={name: target}, from_block=start))


def _submit(svc: Services, client: Client, key: bytes, record: Any, family: str | None = None):
    assert client.court_id is not None
    return svc.writes.submit_record(client, WriteContext(None, key), client.court_id, lambda _: record, family=family)


def _stored_not_sent(svc: Services, entry_id: str):
    """Sign and store the entry's transaction, then die before sending it."""
    crashing = _worker(svc)
    crashing._broadcast = crash  # type: ignore[method-assign]
    with pytest.raises(_Crash):
        crashing.run_once()
    stored = svc.outbox.get(entry_id)
    assert stored.state == "submitted" and stored.raw_tx is not None
    return stored


# -- the cheap path: the entry's previous transaction hashes ------------------------------------


def test_a_mined_transaction_given_up_for_a_new_nonce_confirms_the_entry(svc, monkeypatch):
    client = _ready_court(svc, 4711)
    entry = _judgment(svc, client, 31)
    _drain(svc.worker, svc, [entry.id])
    first = svc.outbox.get(entry.id)
    assert first.state == "confirmed" and first.first_block is not None
    assert first.first_block <= int(first.block_number or 0)

    _lose_receipt(svc, entry.id)
    reset = svc.outbox.get(entry.id)
    assert reset.tx_hash is None and reset.raw_tx is None  # what back_to_accepted wipes...
    assert [p.tx_hash for p in reset.previous_transactions] == [first.tx_hash]  # ...is kept here
    assert reset.previous_transactions[0] == Previous(first.tx_hash or "", first.sender, first.nonce, first.raw_tx)
    sender_nonce = svc.chain.w3.eth.get_transaction_count(first.sender)

    worker = _worker(svc)
    monkeypatch.setattr(worker, "_search_start", lambda *a: pytest.fail("searched the logs"))
    worker.run_once()  # the receipt of the previous hash settles it before anything is estimated
    done = svc.outbox.get(entry.id)
    assert done.state == "confirmed", done.error
    assert (done.tx_hash, done.block_number, done.block_hash) == (first.tx_hash, first.block_number, first.block_hash)
    assert (done.nonce, done.raw_tx) == (first.nonce, first.raw_tx)
    assert (done.sender, done.signer) == (first.sender, first.signer)
    assert done.signature == first.signature  # signed again, deterministically: the same signature
    assert done.note is not None and f"earlier transaction {first.tx_hash}" in done.note
    assert svc.chain.w3.eth.get_transaction_count(first.sender) == sender_nonce  # nothing was sent again
    assert len(_logs(svc, "JudgmentRegistry", "JudgmentRecorded", first.record_id or b"")) == 1
    # the certificate cites the original transaction and verifies online
    certificate = svc.certificates.certificate(done)
    assert certificate.transaction.hash == first.tx_hash
    assert verify_certificate(certificate, trust=svc.trust, rpc=svc.chain.w3)


def test_a_replaced_transaction_that_was_mined_confirms_the_entry(svc):
    """A transaction replaced with higher fees (same nonce) may still be the one mined: the replacement
    then meets "nonce too low", and the replaced one, kept as previous, settles the entry."""
    client = _ready_court(svc, 4712)
    entry = _judgment(svc, client, 32)
    stored = _stored_not_sent(svc, entry.id)
    svc.chain.w3.eth.send_raw_transaction(stored.raw_tx)  # the original gets mined...
    signer = svc.signers.account(stored.sender or "")
    fees = _worker(svc).pipeline.fees.fees()
    bumped = signer.sign_transaction(  # same nonce, higher fees: what _reprice signs
        {"to": signer.address, "value": 0, "nonce": stored.nonce, "gas": 21_000,
         "chainId": svc.chain.chain_id, **{k: 2 * v + 1 for k, v in fees.items()}}
    )
    replacement = svc.outbox.replace_transaction(entry.id, bytes(bumped.raw_transaction), bumped.hash.to_0x_hex())
    assert [p.tx_hash for p in replacement.previous_transactions] == [stored.tx_hash]  # ...and is kept
    assert [(r.tx_hash, r.replaced_by) for r in replacement.journal] == [
        (stored.tx_hash, replacement.tx_hash),
        (replacement.tx_hash, None),
    ]

    worker = _worker(svc)
    worker._broadcast(replacement)  # the node refuses the replacement's nonce
    done = svc.outbox.get(entry.id)
    assert done.state == "confirmed", (done.state, done.error, done.note)
    assert (done.tx_hash, done.raw_tx, done.nonce) == (stored.tx_hash, stored.raw_tx, stored.nonce)
    settled = {r.tx_hash: r.block_number for r in done.journal}  # the lost-block recheck walks this one
    assert settled == {stored.tx_hash: done.block_number, replacement.tx_hash: None}
    assert bumped.hash.to_0x_hex() in [p.tx_hash for p in done.previous_transactions]


# -- the log path: no previous hash to check -----------------------------------------------------


@pytest.mark.parametrize("old_row", [False, True], ids=["first-block-kept", "row-from-before-first-block"])
def test_already_recorded_at_estimation_is_confirmed_by_the_records_log(svc, old_row):
    client = _ready_court(svc, 4720 + int(old_row))
    entry = _judgment(svc, client, 33)
    _drain(svc.worker, svc, [entry.id])
    first = svc.outbox.get(entry.id)
    _lose_receipt(svc, entry.id)
    _forget_previous(svc, entry.id, first_block=old_row)
    assert svc.outbox.get(entry.id).previous_transactions == ()

    _worker(svc).run_once()  # estimation reverts JudgmentRegistryAlreadyRecorded(own id); the log is found
    done = svc.outbox.get(entry.id)
    assert done.state == "confirmed", done.error
    assert (done.tx_hash, done.block_number, done.nonce, done.sender) == (
        first.tx_hash,
        first.block_number,
        first.nonce,
        first.sender,
    )
    assert done.signature == first.signature and done.signer == first.signer
    assert done.note is not None and "JudgmentRecorded log" in done.note and first.tx_hash in done.note
    assert len(_logs(svc, "JudgmentRegistry", "JudgmentRecorded", first.record_id or b"")) == 1


def test_a_second_transaction_mined_and_reverted_is_settled_by_the_first(svc, monkeypatch):
    """The re-signed transaction is mined before anyone notices and reverts (already recorded): the
    entry is confirmed with the first transaction; the reverted one is kept as previous."""
    client = _ready_court(svc, 4730)
    entry = _judgment(svc, client, 34)
    _drain(svc.worker, svc, [entry.id])
    first = svc.outbox.get(entry.id)
    _lose_receipt(svc, entry.id)
    _forget_previous(svc, entry.id)

    worker = _worker(svc)
    monkeypatch.setattr(worker, "_estimate", lambda *a: 300_000)  # no estimation: the revert is mined
    worker.run_once()
    done = svc.outbox.get(entry.id)
    assert done.state == "confirmed", done.error
    assert (done.tx_hash, done.block_number, done.nonce) == (first.tx_hash, first.block_number, first.nonce)
    [second] = done.previous_transactions
    assert second.tx_hash != first.tx_hash and second.nonce == (first.nonce or 0) + 1
    reverted = svc.chain.w3.eth.get_transaction_receipt(second.tx_hash)
    assert reverted["status"] == 0  # it did go to the chain, and reverted there


def test_an_action_whose_sequence_its_own_transaction_used_is_confirmed(svc):
    """A change (here an enforcement action) applied by the entry's first transaction: signing again
    meets OutOfSequence(expected = sequence + 1, given = sequence); its ActionRecorded log proves it."""
    client = _ready_court(svc, 4740)
    judgment = _judgment(svc, client, 35)
    _drain(svc.worker, svc, [judgment.id])
    assert judgment.record_id is not None
    filing = svc.desk(4740).filing(
        judgment_id=judgment.record_id, case_number="(2022)沪0101执35号", amount_due=1_000, filed_at=date(2022, 2, 1)
    )
    case = _submit(svc, client, b"case", filing)
    _drain(svc.worker, svc, [case.id])
    case_id = bytes(filing.record_id())
    actions = [
        _submit(svc, client, b"a%d" % n, Action(case_id=case_id, sequence=n, kind=kind), f"case:0x{case_id.hex()}")
        for n, kind in enumerate((ActionKind.NOTICE, ActionKind.PROPERTY_REPORT_ORDER))
    ]
    _drain(svc.worker, svc, [a.id for a in actions])
    first = svc.outbox.get(actions[0].id)
    _lose_receipt(svc, first.id)
    _forget_previous(svc, first.id)

    _worker(svc).run_once()
    done = svc.outbox.get(first.id)
    assert done.state == "confirmed", done.error
    assert (done.tx_hash, done.block_number) == (first.tx_hash, first.block_number)
    assert done.note is not None and "ActionRecorded log" in done.note
    assert svc.ledger.case(case_id)["actions"] == 2


def _node_without_history(worker: OutboxWorker, monkeypatch: pytest.MonkeyPatch, hidden: str) -> None:
    """A node just restarted that serves the state (nonce, stored records) but not yet the receipt of
    ``hidden`` nor the logs of its block."""
    real = worker._receipt
    monkeypatch.setattr(worker, "_receipt", lambda h: None if h == hidden else real(h))
    monkeypatch.setattr(worker, "_search_start", lambda entry, contract, latest: latest + 1)


def test_a_receipt_served_late_still_confirms_the_entry(svc, monkeypatch):
    client = _ready_court(svc, 4780)
    entry = _judgment(svc, client, 38)
    _drain(svc.worker, svc, [entry.id])
    first = svc.outbox.get(entry.id)
    _lose_receipt(svc, entry.id)
    worker = _worker(svc)
    with monkeypatch.context() as m:
        _node_without_history(worker, m, first.tx_hash or "")
        worker.run_once()
        worker.run_once()
        waiting = svc.outbox.get(entry.id)
        assert waiting.state == "accepted", waiting.error  # not failed: its own transaction may be the writer
        assert waiting.note is not None and "already written" in waiting.note
    worker.run_once()  # the node now serves the receipt
    done = svc.outbox.get(entry.id)
    assert done.state == "confirmed" and done.tx_hash == first.tx_hash


def test_when_no_writer_is_found_in_time_the_entry_fails_saying_where_it_looked(svc, monkeypatch):
    client = _ready_court(svc, 4790)
    entry = _judgment(svc, client, 39)
    _drain(svc.worker, svc, [entry.id])
    first = svc.outbox.get(entry.id)
    _lose_receipt(svc, entry.id)
    worker = _worker(svc, search_grace=0.0)
    _node_without_history(worker, monkeypatch, first.tx_hash or "")
    worker.run_once()
    done = svc.outbox.get(entry.id)
    assert done.state == "failed" and done.error is not None
    assert done.error["name"] == "JudgmentRegistryAlreadyRecorded"
    assert "no transaction of this entry wrote it" in done.error["detail"]


# -- written by someone else: stays failed, and says by whom --------------------------------------


def test_a_judgment_recorded_by_another_sender_keeps_the_entry_failed(svc):
    client = _ready_court(svc, 4750)
    entry = _judgment(svc, client, 36)
    stored = _stored_not_sent(svc, entry.id)
    signer = svc.signers.account(stored.sender or "")
    record = stored.typed_record()
    # Someone holding the court's signature sends the same judgment through a relayer first.
    other = svc.ledger.submit(signer, record, relayer=svc.chain.accounts[2])

    _drain(_worker(svc), svc, [entry.id])
    done = svc.outbox.get(entry.id)
    assert done.state == "failed"
    assert done.error is not None and done.error["name"] == "JudgmentRegistryAlreadyRecorded"
    assert done.error["recorded_by"]["transaction_hash"] == other.transaction_hash
    assert other.transaction_hash in done.error["detail"] and "not this entry's record" in done.error["detail"]
    assert done.tx_hash == stored.tx_hash  # its own transaction, mined and reverted
    assert svc.chain.w3.eth.get_transaction_receipt(stored.tx_hash)["status"] == 0


def test_a_root_anchored_with_other_content_keeps_the_entry_failed(svc):
    client = _ready_court(svc, 4760)
    root = keccak(b"batch root 4760")
    ours = Anchor(court=4760, root=root, size=6, metadata_digest=keccak(b"ours"))
    entry = _submit(svc, client, b"anchor", ours)
    stored = _stored_not_sent(svc, entry.id)
    signer = svc.signers.account(stored.sender or "")
    theirs = Anchor(court=4760, root=root, size=5, metadata_digest=keccak(b"theirs"))
    # The court's key anchors the same root with another batch (its own nonce moves past ours).
    other = svc.ledger.submit(signer, theirs)

    _drain(_worker(svc), svc, [entry.id])
    done = svc.outbox.get(entry.id)
    assert done.state == "failed", done
    assert done.error is not None and done.error["name"] == "NotaryAnchorAlreadyAnchored"
    assert done.error["recorded_by"]["transaction_hash"] == other.transaction_hash
    assert "with other metadataDigest, size" in done.error["detail"]
    assert svc.ledger.anchor(4760, root)["size"] == 5


def test_never_signed_entries_are_not_searched_for(svc, monkeypatch):
    """A fresh entry refused as already recorded was certainly written by someone else: it fails at once,
    without a log search."""
    client = _ready_court(svc, 4770)
    entry = _judgment(svc, client, 37)
    record = svc.outbox.get(entry.id).typed_record()
    assert isinstance(record, Judgment)
    signer = svc.signers.for_court(4770)
    assert signer is not None
    svc.ledger.submit(signer, record)
    worker = _worker(svc)
    monkeypatch.setattr(worker, "_search_start", lambda *a: pytest.fail("searched the logs"))
    _drain(worker, svc, [entry.id])
    done = svc.outbox.get(entry.id)
    assert done.state == "failed" and done.error is not None
    assert done.error["name"] == "JudgmentRegistryAlreadyRecorded" and "recorded_by" not in done.error


def test_what_counts_as_already_written():
    judgment_id = keccak(b"j")
    j = Judgment(
        court=1,
        case_number_digest=keccak(b"c"),
        document_digest=keccak(b"d"),
        parties_commitment=keccak(b"p"),
        amount=1,
        currency="CNY",
        judgment_date=date(2020, 1, 1),
        effective_date=date(2020, 1, 2),
    )
    own = bytes(j.record_id())

    def revert(name: str, **arguments: Any) -> ContractRevertError:
        return ContractRevertError(name, arguments)

    assert says_already_written(j, revert("JudgmentRegistryAlreadyRecorded", id=own))
    assert not says_already_written(j, revert("JudgmentRegistryAlreadyRecorded", id=judgment_id))
    assert not says_already_written(j, revert("JudgmentRegistryInvalidDates", judgmentDate=1, effectiveDate=0))
    action = Action(case_id=judgment_id, sequence=3, kind=ActionKind.NOTICE)
    out = "EnforcementRegistryOutOfSequence"
    assert says_already_written(action, revert(out, caseId=judgment_id, expected=4, given=3))
    assert not says_already_written(action, revert(out, caseId=judgment_id, expected=2, given=3))  # waits
    assert not says_already_written(action, revert(out, caseId=keccak(b"x"), expected=4, given=3))
    anchor = Anchor(court=1, root=judgment_id, size=1, metadata_digest=b"\0" * 32)
    assert says_already_written(anchor, revert("NotaryAnchorAlreadyAnchored", court=1, root=judgment_id))
    assert not says_already_written(anchor, revert("NotaryAnchorAlreadyAnchored", court=1, root=own))
    assert not says_already_written(anchor, revert("NotaryAnchorAlreadyAnchored", court=2, root=judgment_id))
    dossier = Dossier(judgment_id=judgment_id, by_default=False, complete_copy=keccak(b"copy"), sequence=1)
    late = "JudgmentDossierOutOfSequence"
    assert says_already_written(dossier, revert(late, judgmentId=judgment_id, expected=2, given=1))
    assert not says_already_written(dossier, revert(late, judgmentId=judgment_id, expected=0, given=1))  # waits
    assert not says_already_written(dossier, revert(late, judgmentId=own, expected=2, given=1))


# -- the outbox file ---------------------------------------------------------------------------

_OLD_SCHEMA = """
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, client_id TEXT NOT NULL,
    idempotency_key TEXT, request_hash BLOB, lane TEXT NOT NULL, court INTEGER, kind TEXT NOT NULL,
    record TEXT, record_id BLOB, call TEXT, family TEXT, state TEXT NOT NULL, signer TEXT, signature BLOB,
    sender TEXT, nonce INTEGER, raw_tx BLOB, tx_hash TEXT, block_number INTEGER, block_hash TEXT,
    block_time INTEGER, gas_used INTEGER, error TEXT, note TEXT, accepted_at REAL NOT NULL,
    submitted_at REAL, finished_at REAL, attempts INTEGER NOT NULL DEFAULT 0,
    UNIQUE (client_id, idempotency_key)
);
"""


def test_an_outbox_file_from_before_is_migrated_without_losing_rows(tmp_path):
    path = tmp_path / "outbox.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_SCHEMA)
        db.execute(
            "INSERT INTO outbox (id, client_id, lane, court, kind, call, state, sender, nonce, raw_tx, tx_hash, "
            "accepted_at, attempts) VALUES ('ob_1', 'c', 'court:7', 7, 'fund', ?, 'submitted', '0xabc', 4, ?, "
            "'0x01', 1.5, 1)",
            (json.dumps({"to": "0x0", "value": "1"}), b"raw"),
        )
    outbox = Outbox(path)
    try:
        entry = outbox.get("ob_1")
        assert (entry.state, entry.nonce, entry.raw_tx, entry.tx_hash) == ("submitted", 4, b"raw", "0x01")
        assert entry.previous_transactions == () and entry.first_block is None
        outbox.back_to_accepted("ob_1", "test")
        assert outbox.get("ob_1").previous_transactions == (Previous("0x01", "0xabc", 4, b"raw"),)
    finally:
        outbox.close()
    again = Outbox(path)  # opening a migrated file again changes nothing
    try:
        assert again.get("ob_1").previous_transactions == (Previous("0x01", "0xabc", 4, b"raw"),)
    finally:
        again.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
