"""The journal of signed transactions (ledger.pipeline.journal) and the stores that keep it.

No chain here: what is journaled, what counts as an owner's earlier transaction, which rows the lost-block
recheck walks, and that a notary store written before the journal is moved into it without losing the
transaction it was about to send.
"""

from __future__ import annotations

import os
import sqlite3

from eth_utils import to_checksum_address

from ledger.notary.store import NotaryStore, batch_owner
from ledger.pipeline import earlier
from ledger.pipeline.journal import Journal


def _db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    Journal.create(db)
    return db


def test_a_replacement_keeps_the_transaction_it_supersedes():
    db = _db()
    Journal.store(db, "outbox:a", tx_hash="0x01", sender="0xs", nonce=4, raw_tx=b"one", head_block=10)
    Journal.store(db, "outbox:a", tx_hash="0x02", sender="0xs", nonce=4, raw_tx=b"two", head_block=12)
    first, second = Journal.of(db, "outbox:a")
    assert (first.tx_hash, first.raw_tx, first.replaced_by) == ("0x01", b"one", "0x02")
    assert (second.tx_hash, second.replaced_by) == ("0x02", None)
    Journal.store(db, "outbox:a", tx_hash="0x01", sender="0xs", nonce=4, raw_tx=None)  # adopted again: no loss
    kept = Journal.get(db, "0x01")
    assert kept is not None and kept.raw_tx == b"one"


def test_the_lost_block_walk_sees_only_its_owners_settled_rows_newest_block_first():
    db = _db()
    for i, (owner, block) in enumerate([("outbox:a", 5), ("outbox:b", 7), ("notary:1", 9), ("outbox:c", 7)]):
        Journal.store(db, owner, tx_hash=f"0x{i}", sender="0xs", nonce=i, raw_tx=b"raw")
        Journal.settle(db, f"0x{i}", block, f"0xb{block}")
    assert [r.owner for r in Journal.settled_in_newest_block(db, "outbox:")] == ["outbox:b", "outbox:c"]
    assert [r.owner for r in Journal.settled_in_newest_block(db, "outbox:", 7)] == ["outbox:a"]
    assert [r.owner for r in Journal.settled_in_newest_block(db, "notary:")] == ["notary:1"]
    Journal.unsettle(db, "0x1")
    assert [r.owner for r in Journal.settled_in_newest_block(db, "outbox:")] == ["outbox:c"]


def test_a_log_search_starts_below_the_first_send_never_below_the_deployment():
    db = _db()
    Journal.store(db, "outbox:a", tx_hash="0x01", sender="0xs", nonce=1, raw_tx=b"r", head_block=500)
    Journal.store(db, "outbox:a", tx_hash="0x02", sender="0xs", nonce=2, raw_tx=b"r", head_block=900)
    rows = Journal.of(db, "outbox:a")
    assert earlier.start_block(rows, margin=128, floor=0, latest=1000) == 372
    assert earlier.start_block(rows, margin=128, floor=450, latest=1000) == 450
    assert earlier.start_block([], margin=128, floor=450, latest=1000, fallback=2000) == 872


def test_a_creation_matches_its_contract_and_indexed_ids_only():
    address = to_checksum_address("0x" + "11" * 20)
    creation = earlier.Creation(address, (b"t" * 32, b"r" * 32))
    assert creation.matches({"address": address, "topics": [b"t" * 32, b"r" * 32, b"c" * 32]})
    assert not creation.matches({"address": address, "topics": [b"t" * 32, b"x" * 32]})
    assert not creation.matches({"address": "0x" + "22" * 20, "topics": [b"t" * 32, b"r" * 32]})


def test_a_notary_store_from_before_the_journal_keeps_the_anchor_it_was_about_to_send(tmp_path):
    path = tmp_path / "notary.db"
    identity = {"chain_id": "1", "contract": to_checksum_address("0x" + "33" * 20)}
    store = NotaryStore(path, 7, identity, max_size=10, max_age=1.0)
    store.submit_many([os.urandom(32) for _ in range(3)])
    batch = store._close(force=True)
    store.close()
    assert batch is not None
    with sqlite3.connect(path) as db:  # as the store kept a signed anchor before the journal existed
        db.execute(
            "UPDATE batches SET state = 'signed', sender = '0xabc', nonce = 4, raw_tx = ?, tx_hash = '0x01' "
            "WHERE id = ?",
            (b"raw", batch.id),
        )

    for _ in range(2):  # opening a migrated store again changes nothing
        reopened = NotaryStore(path, 7, identity, max_size=10, max_age=1.0)
        signed = reopened._batch(reopened._db(), batch.id)
        assert signed is not None
        assert (signed.state, signed.tx_hash, signed.raw_tx, signed.nonce, signed.sender) == (
            "signed",
            "0x01",
            b"raw",
            4,
            "0xabc",
        )
        assert [r.tx_hash for r in Journal.of(reopened._db(), batch_owner(batch.id))] == ["0x01"]
        reopened.close()
