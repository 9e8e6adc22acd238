"""The journal: every signed transaction of ours, durable before it is sent.

Contract
--------
One table, ``transactions``, in the SQLite file of whoever owns the writes (the service's outbox file,
a notary store), so that storing a transaction commits atomically with the owner's own state change:
the caller passes its open connection, inside its own write transaction. One row per signed
transaction, keyed by its hash::

    owner        who the transaction writes for: ``outbox:<entry id>``, ``notary:<batch id>``
    sender       the account that signed it (None only for a row read from an old file that lacked it)
    nonce        its nonce
    raw_tx       its signed bytes (None for a transaction of ours found on chain and not signed here)
    head_block   the chain's newest block when it was signed: where a search for its effects starts
    signed_at    when it was stored (rows of one owner in this order are its transactions, oldest first)
    sent_at      when it was last handed to a node
    replaced_by  the hash of the transaction that superseded it (same nonce and new fees, or re-signed)
    block_number, block_hash   the block that settled it (status 1 or 0), cleared when the chain loses it

An owner's *current* transaction is the one its own row points at (the outbox's ``tx_hash``, a batch's);
every other row of the owner is an earlier transaction, which may still be the one that did the write
(see :mod:`ledger.pipeline.earlier`). Rows are never deleted: an earlier transaction of a write is its
evidence. The rows settled in a block are what :mod:`ledger.pipeline.lost` rechecks when the node loses
blocks.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SCHEMA", "Journal", "JournalRow", "owner_key"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    tx_hash TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    sender TEXT,
    nonce INTEGER,
    raw_tx BLOB,
    head_block INTEGER,
    signed_at REAL NOT NULL,
    sent_at REAL,
    replaced_by TEXT,
    block_number INTEGER,
    block_hash TEXT
);
CREATE INDEX IF NOT EXISTS transactions_by_owner ON transactions (owner, signed_at);
CREATE INDEX IF NOT EXISTS transactions_by_block ON transactions (block_number) WHERE block_number IS NOT NULL;
"""

_COLUMNS = (
    "owner, tx_hash, sender, nonce, raw_tx, head_block, signed_at, sent_at, replaced_by, block_number, block_hash"
)


def owner_key(kind: str, ident: object) -> str:
    """``outbox:<entry id>``, ``notary:<batch id>``: the journal's name for the write a transaction carries."""
    return f"{kind}:{ident}"


@dataclass(frozen=True)
class JournalRow:
    """One signed transaction of ours."""

    owner: str
    tx_hash: str
    sender: str | None
    nonce: int | None
    raw_tx: bytes | None
    head_block: int | None
    signed_at: float
    sent_at: float | None
    replaced_by: str | None
    block_number: int | None
    block_hash: str | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> JournalRow:
        values = list(row)
        values[4] = bytes(values[4]) if values[4] is not None else None
        return cls(*values)


class Journal:
    """The journal's statements, run on the owner's connection (inside its transaction, for writes)."""

    @staticmethod
    def create(db: sqlite3.Connection) -> None:
        db.executescript(SCHEMA)

    @staticmethod
    def store(
        db: sqlite3.Connection,
        owner: str,
        *,
        tx_hash: str,
        sender: str | None,
        nonce: int | None,
        raw_tx: bytes | None,
        head_block: int | None = None,
        signed_at: float | None = None,
    ) -> None:
        """Keep a signed transaction (or one of ours found on chain); the owner's earlier transactions
        still open (not replaced, not settled) are marked replaced by it. Storing a hash again is a no-op
        (raw bytes and sender learnt later are filled in)."""
        db.execute(
            "UPDATE transactions SET replaced_by = ? WHERE owner = ? AND tx_hash != ? AND replaced_by IS NULL "
            "AND block_number IS NULL",
            (tx_hash, owner, tx_hash),
        )
        db.execute(
            f"INSERT INTO transactions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL) "
            "ON CONFLICT (tx_hash) DO UPDATE SET raw_tx = COALESCE(raw_tx, excluded.raw_tx), "
            "sender = COALESCE(sender, excluded.sender), nonce = COALESCE(nonce, excluded.nonce)",
            (owner, tx_hash, sender, nonce, raw_tx, head_block, signed_at if signed_at is not None else time.time()),
        )

    @staticmethod
    def sent(db: sqlite3.Connection, tx_hash: str) -> None:
        db.execute("UPDATE transactions SET sent_at = ? WHERE tx_hash = ?", (time.time(), tx_hash))

    @staticmethod
    def settle(db: sqlite3.Connection, tx_hash: str, block_number: int, block_hash: str) -> None:
        """The transaction was mined (status 1 or 0) in this block."""
        db.execute(
            "UPDATE transactions SET block_number = ?, block_hash = ? WHERE tx_hash = ?",
            (block_number, block_hash, tx_hash),
        )

    @staticmethod
    def unsettle(db: sqlite3.Connection, tx_hash: str) -> None:
        """The block that settled it is gone from the chain."""
        db.execute("UPDATE transactions SET block_number = NULL, block_hash = NULL WHERE tx_hash = ?", (tx_hash,))

    @staticmethod
    def get(db: sqlite3.Connection, tx_hash: str) -> JournalRow | None:
        row = db.execute(f"SELECT {_COLUMNS} FROM transactions WHERE tx_hash = ?", (tx_hash,)).fetchone()
        return JournalRow.from_row(row) if row is not None else None

    @staticmethod
    def of(db: sqlite3.Connection, owner: str) -> list[JournalRow]:
        """The owner's transactions, oldest first."""
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM transactions WHERE owner = ? ORDER BY signed_at, rowid", (owner,)
        ).fetchall()
        return [JournalRow.from_row(r) for r in rows]

    @staticmethod
    def of_many(db: sqlite3.Connection, owners: Iterable[str]) -> dict[str, list[JournalRow]]:
        """The transactions of many owners at once, each owner's oldest first."""
        wanted = list(dict.fromkeys(owners))
        out: dict[str, list[JournalRow]] = {o: [] for o in wanted}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in db.execute(
                f"SELECT {_COLUMNS} FROM transactions WHERE owner IN ({marks}) ORDER BY signed_at, rowid", chunk
            ):
                item = JournalRow.from_row(row)
                out[item.owner].append(item)
        return out

    @staticmethod
    def settled_in_newest_block(db: sqlite3.Connection, prefix: str, below: int | None = None) -> list[JournalRow]:
        """The transactions of owners ``prefix*`` settled in the newest block (below ``below``): what a node
        that lost its last blocks may have lost with them. The newest block is read from the top of the
        block index (one step when the file holds one kind of owner), not by scanning every settled row."""
        bound = "" if below is None else " AND block_number < ?"
        params: tuple[Any, ...] = (prefix + "%",) + (() if below is None else (below,))
        newest = db.execute(
            "SELECT block_number FROM transactions INDEXED BY transactions_by_block "
            f"WHERE block_number IS NOT NULL AND owner LIKE ?{bound} ORDER BY block_number DESC LIMIT 1",
            params,
        ).fetchone()
        if newest is None:
            return []
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM transactions WHERE block_number = ? AND owner LIKE ? ORDER BY signed_at, rowid",
            (int(newest[0]), prefix + "%"),
        ).fetchall()
        return [JournalRow.from_row(r) for r in rows]
