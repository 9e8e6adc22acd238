"""The worker's moves of an entry: signed (journaled before sending), replaced, confirmed, failed, reopened.

Every move is one SQLite transaction that changes the entry's row and its journaled transactions together
(:mod:`ledger.pipeline.journal`, owner ``outbox:<entry id>``). A transaction an entry stops following (its
nonce went to another transaction, or a replacement with higher fees superseded it) stays in the journal,
because it may still be the one that recorded the entry: the worker checks those receipts before it signs
again and when the chain says the record already exists (:mod:`ledger.pipeline.earlier`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from api.outbox.entries import Adopted, Entry, owner_of
from api.outbox.keys import SignerKeys
from ledger.errors import NotFoundError
from ledger.pipeline.journal import Journal, JournalRow


class Transitions(SignerKeys):
    def get(self, entry_id: str) -> Entry:
        found = self._one("o.id = ?", (entry_id,))
        if found is None:
            raise NotFoundError(f"no outbox record {entry_id}")
        return found

    def next_nonce(self, address: str, chain_pending: int) -> int:
        """The nonce for the next transaction of ``address`` (not yet reserved; see mark_submitted).

        The stored counter wins over the node's pending count while transactions of ours are in flight
        (the node may have lost them; they are sent again with their nonces); with none in flight the
        node is authoritative.
        """
        with self._lock:
            stored = self._db.execute("SELECT next_nonce FROM senders WHERE address = ?", (address,)).fetchone()
            in_flight = self._db.execute(
                "SELECT 1 FROM outbox WHERE sender = ? AND state = 'submitted' LIMIT 1", (address,)
            ).fetchone()
        if stored is None or in_flight is None:
            return chain_pending
        return max(int(stored[0]), chain_pending)

    def mark_submitted(
        self,
        entry_id: str,
        *,
        signer: str | None,
        signature: bytes | None,
        sender: str,
        nonce: int,
        raw_tx: bytes,
        tx_hash: str,
        block_number: int | None = None,
    ) -> Entry:
        """Journal the signed transaction and reserve its nonce, before it is sent.

        ``block_number`` is the chain's newest block at signing (the first one is the entry's ``first_block``).
        """
        with self._tx() as db:
            Journal.store(
                db,
                owner_of(entry_id),
                tx_hash=tx_hash,
                sender=sender,
                nonce=nonce,
                raw_tx=raw_tx,
                head_block=block_number,
            )
            db.execute(
                "UPDATE outbox SET state = 'submitted', signer = ?, signature = ?, sender = ?, nonce = ?, "
                "tx_hash = ?, submitted_at = ?, attempts = attempts + 1, note = NULL WHERE id = ?",
                (signer, signature, sender, nonce, tx_hash, time.time(), entry_id),
            )
            db.execute(
                "INSERT INTO senders (address, next_nonce) VALUES (?, ?) ON CONFLICT (address) DO UPDATE "
                "SET next_nonce = MAX(next_nonce, excluded.next_nonce)",
                (sender, nonce + 1),
            )
        return self.get(entry_id)

    def replace_transaction(self, entry_id: str, raw_tx: bytes, tx_hash: str) -> Entry:
        """Same nonce, new fees: the journaled transaction is superseded (and kept as a previous one)."""
        with self._tx() as db:
            sender, nonce = db.execute("SELECT sender, nonce FROM outbox WHERE id = ?", (entry_id,)).fetchone()
            Journal.store(db, owner_of(entry_id), tx_hash=tx_hash, sender=sender, nonce=nonce, raw_tx=raw_tx)
            db.execute("UPDATE outbox SET tx_hash = ?, attempts = attempts + 1 WHERE id = ?", (tx_hash, entry_id))
        return self.get(entry_id)

    def sent(self, tx_hash: str) -> None:
        with self._tx() as db:
            Journal.sent(db, tx_hash)

    def mark_confirmed(
        self,
        entry_id: str,
        *,
        block_number: int,
        block_hash: str,
        block_time: int,
        gas_used: int,
        tx_hash: str,
        adopted: Adopted | None = None,
        note: str | None = None,
    ) -> Entry:
        """Settle the entry as recorded by ``tx_hash``.

        With ``adopted``, that transaction is an earlier one of this entry found on chain (the entry may
        be ``accepted`` again, or follow a later transaction that reverted): its sender, nonce and the
        record's signature become the entry's (and it joins the journal if it was not there).
        """
        with self._tx() as db:
            if adopted is not None:
                Journal.store(
                    db,
                    owner_of(entry_id),
                    tx_hash=tx_hash,
                    sender=adopted.sender,
                    nonce=adopted.nonce,
                    raw_tx=adopted.raw_tx,
                )
                db.execute(
                    "UPDATE outbox SET signer = ?, signature = ?, sender = ?, nonce = ? WHERE id = ?",
                    (adopted.signer, adopted.signature, adopted.sender, adopted.nonce, entry_id),
                )
            db.execute(
                "UPDATE outbox SET state = 'confirmed', block_number = ?, block_hash = ?, block_time = ?, "
                "gas_used = ?, tx_hash = ?, finished_at = ?, note = ? WHERE id = ?",
                (
                    block_number,
                    block_hash,
                    block_time,
                    gas_used,
                    tx_hash,
                    time.time(),
                    note[:500] if note is not None else None,
                    entry_id,
                ),
            )
            Journal.settle(db, tx_hash, block_number, block_hash)
            self._signer_transition(db, entry_id)
        return self.get(entry_id)

    def mark_failed(
        self,
        entry_id: str,
        error: dict[str, Any],
        *,
        block_number: int | None = None,
        block_hash: str | None = None,
        gas_used: int | None = None,
    ) -> Entry:
        """Fail the entry; with a block, its current transaction was mined there and reverted."""
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'failed', error = ?, block_number = COALESCE(?, block_number), "
                "block_hash = COALESCE(?, block_hash), gas_used = COALESCE(?, gas_used), finished_at = ?, "
                "note = NULL WHERE id = ?",
                (json.dumps(error), block_number, block_hash, gas_used, time.time(), entry_id),
            )
            current = db.execute("SELECT tx_hash FROM outbox WHERE id = ?", (entry_id,)).fetchone()
            if block_number is not None and block_hash is not None and current and current[0]:
                Journal.settle(db, current[0], block_number, block_hash)
            self._signer_failed(db, entry_id)
        return self.get(entry_id)

    def back_to_accepted(self, entry_id: str, note: str) -> None:
        """The nonce went to another transaction: sign again later, with a new nonce.

        The transaction given up stays in the journal: if it was in fact mined (a node that answers
        "nonce too low" before it serves the receipt), it is the entry's confirmation.
        """
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'accepted', nonce = NULL, tx_hash = NULL, signature = NULL, "
                "signer = NULL, sender = NULL, note = ? WHERE id = ? AND state = 'submitted'",
                (note, entry_id),
            )

    def settled_in_newest_block(self, below_block: int | None = None) -> list[JournalRow]:
        """The journaled transactions of entries settled in the newest block (below ``below_block``),
        confirmed or failed on chain: what a node that lost its last blocks may have lost with them."""
        with self._lock:
            return Journal.settled_in_newest_block(self._db, "outbox:", below_block)

    def reopen(self, entry_id: str, note: str, *, tx_hash: str | None = None) -> None:
        """The block that settled the entry's ``tx_hash`` (default: its current one) is gone from the chain:
        back to ``submitted`` with that transaction (the same raw bytes), or to ``accepted`` when the
        journal holds no bytes for it."""
        with self._tx() as db:
            if tx_hash is None:
                current = db.execute("SELECT tx_hash FROM outbox WHERE id = ?", (entry_id,)).fetchone()
                if current is None or current[0] is None:
                    return
                tx_hash = str(current[0])
            Journal.unsettle(db, tx_hash)
            row = Journal.get(db, tx_hash)
            if row is not None and row.raw_tx is not None:
                db.execute(
                    "UPDATE outbox SET state = 'submitted', tx_hash = ?, sender = ?, nonce = ?, "
                    "block_number = NULL, block_hash = NULL, block_time = NULL, gas_used = NULL, error = NULL, "
                    "finished_at = NULL, note = ? WHERE id = ? AND state IN ('confirmed', 'failed')",
                    (tx_hash, row.sender, row.nonce, note[:500], entry_id),
                )
            else:
                db.execute(
                    "UPDATE outbox SET state = 'accepted', tx_hash = NULL, nonce = NULL, sender = NULL, "
                    "signer = NULL, signature = NULL, block_number = NULL, block_hash = NULL, block_time = NULL, "
                    "gas_used = NULL, error = NULL, finished_at = NULL, note = ? "
                    "WHERE id = ? AND state IN ('confirmed', 'failed')",
                    (note[:500], entry_id),
                )

    def note(self, entry_id: str, note: str) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET note = ? WHERE id = ?", (note[:500], entry_id))
