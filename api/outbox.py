"""The durable outbox: every accepted write is on disk before the client hears "accepted".

Contract
--------
One SQLite file (``<data_dir>/outbox.sqlite``), WAL journal, ``synchronous=FULL``: a transaction that
returned survives a crash of the process and a power cut. Tables:

``outbox``          one row per accepted write (a signed record or a governance act), with its state
``senders``         the next nonce the service will use per sending account
``sequences``       per sequenced target (a case's actions, a judgment's status changes, a listing's
                    changes) the count of changes written outside this outbox when it first saw it
``court_signers``   the court signer keys this service holds (pending -> active -> retired)
``meta``            small facts (the demo was seeded, ...)

States (``state`` column)::

    accepted --(worker signs; raw tx + nonce stored)--> submitted --(receipt status 1)--> confirmed
        |                                                   |
        +--(estimation reverts, nothing earlier pending)--> failed <--(receipt status 0: decoded revert)
                                                            |
    submitted --(nonce taken by another transaction)--> accepted (signed again with a new nonce)
    accepted --(an earlier transaction of this entry is found to have recorded it)--> confirmed
    confirmed | failed --(the node lost the block that settled it)--> submitted (the same raw tx again)

A row keeps: who accepted it (client), its lane (``court:<id>`` or ``governance``: rows of one lane are
sent in acceptance order), the record (typed JSON) and its EIP-712 record id computed at accept time, or
the governance act and its parameters; once signed: signer, EIP-712 signature, sender, nonce, raw signed
transaction and its hash; once mined: block number, hash and time, gas used; on failure: the decoded
error name and arguments. The idempotency key is unique per client: a retried request gets the same row.

A transaction an entry stops following (its nonce went to another transaction, or a replacement with
higher fees superseded it) is kept in ``previous_transactions`` (JSON: hash, sender, nonce, raw bytes),
because it may still be the one that recorded the entry: the worker checks those receipts before it
signs again and when the chain says the record already exists. ``first_block`` is the chain's newest
block when the entry was first signed: where a search for its logs may start. Both columns are added
to an outbox file created before them when it is opened (rows are kept).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ledger._sqlite import immediate
from ledger.client import Written
from ledger.errors import NotFoundError
from ledger.records import (
    Action,
    Anchor,
    Extension,
    Filing,
    Judgment,
    JudgmentStatusChange,
    Listing,
    Record,
    RecordId,
    Removal,
)

__all__ = [
    "GOVERNANCE_LANE",
    "Adopted",
    "Entry",
    "NewEntry",
    "Outbox",
    "Previous",
    "State",
    "court_lane",
    "record_class",
]

State = Literal["accepted", "submitted", "confirmed", "failed"]
OPEN_STATES = ("accepted", "submitted")
GOVERNANCE_LANE = "governance"

#: outbox kind -> record class, for rows that carry a signed record
RECORD_KINDS: dict[str, type[Record]] = {
    "judgment": Judgment,
    "status_change": JudgmentStatusChange,
    "filing": Filing,
    "action": Action,
    "listing": Listing,
    "extension": Extension,
    "removal": Removal,
    "anchor": Anchor,
}
KIND_OF: dict[type[Record], str] = {cls: kind for kind, cls in RECORD_KINDS.items()}


def record_class(kind: str) -> type[Record] | None:
    return RECORD_KINDS.get(kind)


def court_lane(court: int) -> str:
    return f"court:{int(court)}"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    idempotency_key TEXT,
    request_hash BLOB,
    lane TEXT NOT NULL,
    court INTEGER,
    kind TEXT NOT NULL,
    record TEXT,
    record_id BLOB,
    call TEXT,
    family TEXT,
    state TEXT NOT NULL,
    signer TEXT,
    signature BLOB,
    sender TEXT,
    nonce INTEGER,
    raw_tx BLOB,
    tx_hash TEXT,
    block_number INTEGER,
    block_hash TEXT,
    block_time INTEGER,
    gas_used INTEGER,
    error TEXT,
    note TEXT,
    accepted_at REAL NOT NULL,
    submitted_at REAL,
    finished_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    previous_transactions TEXT,
    first_block INTEGER,
    UNIQUE (client_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_open ON outbox (state, lane, seq);
CREATE INDEX IF NOT EXISTS outbox_by_record ON outbox (record_id);
CREATE INDEX IF NOT EXISTS outbox_by_family ON outbox (family, state);
CREATE INDEX IF NOT EXISTS outbox_by_sender ON outbox (sender, state);
CREATE INDEX IF NOT EXISTS outbox_by_block ON outbox (block_number);
CREATE TABLE IF NOT EXISTS senders (address TEXT PRIMARY KEY, next_nonce INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (family TEXT PRIMARY KEY, base INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS court_signers (
    address TEXT PRIMARY KEY, court INTEGER NOT NULL, state TEXT NOT NULL, entry_id TEXT,
    created_at REAL NOT NULL, activated_at REAL);
CREATE INDEX IF NOT EXISTS court_signers_by_court ON court_signers (court, state);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

_COLUMNS = (
    "seq, id, client_id, idempotency_key, request_hash, lane, court, kind, record, record_id, call, "
    "family, state, signer, signature, sender, nonce, raw_tx, tx_hash, block_number, block_hash, "
    "block_time, gas_used, error, note, accepted_at, submitted_at, finished_at, attempts, "
    "previous_transactions, first_block"
)

#: columns added after the first release, with their declarations: added to older files on open
_ADDED_COLUMNS = (("previous_transactions", "TEXT"), ("first_block", "INTEGER"))


@dataclass(frozen=True)
class Previous:
    """A transaction an entry signed and then stopped following (re-signed, or replaced)."""

    tx_hash: str
    sender: str | None
    nonce: int | None
    raw_tx: bytes | None

    def to_json(self) -> dict[str, Any]:
        return {
            "tx_hash": self.tx_hash,
            "sender": self.sender,
            "nonce": self.nonce,
            "raw_tx": "0x" + self.raw_tx.hex() if self.raw_tx is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Previous:
        raw = data.get("raw_tx")
        return cls(
            tx_hash=str(data["tx_hash"]),
            sender=data.get("sender"),
            nonce=int(data["nonce"]) if data.get("nonce") is not None else None,
            raw_tx=bytes.fromhex(raw[2:]) if raw else None,
        )


@dataclass(frozen=True)
class Adopted:
    """An earlier transaction of an entry, found on chain, that becomes the entry's own (see mark_confirmed)."""

    signer: str | None  # None (with signature None) for a governance act or a funding transfer
    signature: bytes | None
    sender: str
    nonce: int
    raw_tx: bytes | None


@dataclass(frozen=True)
class Entry:
    """One outbox row."""

    seq: int
    id: str
    client_id: str
    idempotency_key: str | None
    request_hash: bytes | None
    lane: str
    court: int | None
    kind: str
    record: dict[str, Any] | None
    record_id: bytes | None
    call: dict[str, Any] | None
    family: str | None
    state: State
    signer: str | None
    signature: bytes | None
    sender: str | None
    nonce: int | None
    raw_tx: bytes | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_time: int | None
    gas_used: int | None
    error: dict[str, Any] | None
    note: str | None
    accepted_at: float
    submitted_at: float | None
    finished_at: float | None
    attempts: int
    #: transactions this entry signed and stopped following, oldest first (see :class:`Previous`)
    previous_transactions: tuple[Previous, ...] = ()
    #: the chain's newest block number when the entry was first signed
    first_block: int | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Entry:
        values = list(row)
        for i in (8, 10, 23):  # record, call, error
            values[i] = json.loads(values[i]) if values[i] is not None else None
        for i in (4, 9, 14, 17):  # request_hash, record_id, signature, raw_tx
            values[i] = bytes(values[i]) if values[i] is not None else None
        values[29] = tuple(Previous.from_json(p) for p in json.loads(values[29] or "[]"))
        return cls(*values)

    def typed_record(self) -> Record:
        cls = RECORD_KINDS.get(self.kind)
        if cls is None or self.record is None:
            raise NotFoundError(f"outbox entry {self.id} carries no record")
        return cls.model_validate(self.record)

    @property
    def finished(self) -> bool:
        return self.state in ("confirmed", "failed")

    def written(self, contract: str, contract_address: str) -> Written:
        """The confirmed write, as the certificate builders take it."""
        if self.state != "confirmed" or self.signature is None:
            raise NotFoundError(f"outbox entry {self.id} is not a confirmed record")
        assert self.record_id is not None and self.tx_hash and self.block_hash and self.signer and self.sender
        return Written(
            record=self.typed_record(),
            record_id=RecordId(self.record_id),
            signature=self.signature,
            signer=self.signer,
            contract=contract,
            contract_address=contract_address,
            transaction_hash=self.tx_hash,
            block_number=int(self.block_number or 0),
            block_hash=self.block_hash,
            block_time=int(self.block_time or 0),
            gas_used=int(self.gas_used or 0),
            sender=self.sender,
        )


@dataclass
class NewEntry:
    """What a route hands to :meth:`Outbox.accept`."""

    lane: str
    kind: str
    court: int | None = None
    record: Record | None = None
    call: dict[str, Any] | None = None
    family: str | None = None
    signer_key: tuple[int, str] | None = None  # (court, address): a new signer key this entry registers
    extra: list[NewEntry] = field(default_factory=list)  # follow-up entries accepted atomically


class Outbox:
    """The outbox database. One connection behind a lock; safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._lock = threading.RLock()
        with self._lock:
            self._db.executescript(_SCHEMA)
            self._migrate()

    def _migrate(self) -> None:
        """Add the columns an outbox file created by an earlier version lacks (rows are kept)."""
        with immediate(self._db) as db:  # re-read under the write lock: another process may migrate too
            present = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
            for name, declaration in _ADDED_COLUMNS:
                if name not in present:
                    db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {declaration}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, immediate(self._db) as db:
            yield db

    # -- accepting -----------------------------------------------------------------------------

    def find_idempotent(self, client_id: str, key: str) -> Entry | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE client_id = ? AND idempotency_key = ?", (client_id, key)
            ).fetchone()
        return Entry.from_row(row) if row else None

    def accept(
        self,
        client_id: str,
        build: Callable[[Callable[[str, int], int]], NewEntry],
        *,
        idempotency_key: str | None = None,
        request_hash: bytes | None = None,
    ) -> tuple[Entry, bool]:
        """Run ``build`` inside one write transaction and store what it returns; (entry, created).

        ``build`` receives ``sequence(family, outside_count)``: the next sequence number of a sequenced
        target (changes already accepted here and not failed, plus those written outside this outbox,
        counted once when the target is first seen). With an idempotency key already used by this client,
        the stored entry is returned and ``build`` is not called.
        """
        with self._tx() as db:
            if idempotency_key is not None:
                row = db.execute(
                    f"SELECT {_COLUMNS} FROM outbox WHERE client_id = ? AND idempotency_key = ?",
                    (client_id, idempotency_key),
                ).fetchone()
                if row is not None:
                    return Entry.from_row(row), False

            def sequence(family: str, outside_count: int) -> int:
                base = db.execute("SELECT base FROM sequences WHERE family = ?", (family,)).fetchone()
                if base is None:
                    confirmed = db.execute(
                        "SELECT COUNT(*) FROM outbox WHERE family = ? AND state = 'confirmed'", (family,)
                    ).fetchone()[0]
                    base = (max(0, outside_count - confirmed),)
                    db.execute("INSERT INTO sequences (family, base) VALUES (?, ?)", (family, base[0]))
                count = db.execute(
                    "SELECT COUNT(*) FROM outbox WHERE family = ? AND state != 'failed'", (family,)
                ).fetchone()[0]
                return int(base[0]) + int(count)

            new = build(sequence)
            first = self._insert(db, client_id, new, idempotency_key, request_hash)
            for extra in new.extra:
                self._insert(db, client_id, extra, None, None)
            row = db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (first,)).fetchone()
        return Entry.from_row(row), True

    def _insert(
        self,
        db: sqlite3.Connection,
        client_id: str,
        new: NewEntry,
        key: str | None,
        request_hash: bytes | None,
    ) -> str:
        entry_id = "ob_" + secrets.token_hex(12)
        record_json = json.dumps(new.record.to_json(), ensure_ascii=False) if new.record is not None else None
        record_id = bytes(new.record.record_id()) if new.record is not None else None
        db.execute(
            "INSERT INTO outbox (id, client_id, idempotency_key, request_hash, lane, court, kind, record, "
            "record_id, call, family, state, accepted_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?)",
            (
                entry_id,
                client_id,
                key,
                request_hash,
                new.lane,
                new.court,
                new.kind,
                record_json,
                record_id,
                json.dumps(new.call) if new.call is not None else None,
                new.family,
                time.time(),
            ),
        )
        if new.signer_key is not None:
            court, address = new.signer_key
            db.execute(
                "INSERT INTO court_signers (address, court, state, entry_id, created_at) "
                "VALUES (?, ?, 'pending', ?, ?)",
                (address, court, entry_id, time.time()),
            )
        return entry_id

    def import_written(self, client_id: str, court: int, written: Written) -> Entry:
        """Store a record written on chain outside the outbox (the demo) as a confirmed entry."""
        record = written.record
        kind = KIND_OF[type(record)]

        def build(_: Callable[[str, int], int]) -> NewEntry:
            return NewEntry(
                lane=court_lane(court), kind=kind, court=court, record=record, family=family_of(record)
            )

        entry, _ = self.accept(client_id, build, idempotency_key="import:" + written.transaction_hash)
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'confirmed', signer = ?, signature = ?, sender = ?, tx_hash = ?, "
                "block_number = ?, block_hash = ?, block_time = ?, gas_used = ?, submitted_at = ?, "
                "finished_at = ? WHERE id = ?",
                (
                    written.signer,
                    written.signature,
                    written.sender,
                    written.transaction_hash,
                    written.block_number,
                    written.block_hash,
                    written.block_time,
                    written.gas_used,
                    time.time(),
                    time.time(),
                    entry.id,
                ),
            )
        return self.get(entry.id)

    # -- reading -------------------------------------------------------------------------------

    def get(self, entry_id: str) -> Entry:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no outbox record {entry_id}")
        return Entry.from_row(row)

    def by_record_id(self, record_id: bytes, kind: str | None = None) -> Entry | None:
        """The entry of a record id, preferring a confirmed one, else the latest."""
        sql = f"SELECT {_COLUMNS} FROM outbox WHERE record_id = ?"
        params: tuple[Any, ...] = (bytes(record_id),)
        if kind is not None:
            sql += " AND kind = ?"
            params += (kind,)
        sql += " ORDER BY state = 'confirmed' DESC, seq DESC LIMIT 1"
        with self._lock:
            row = self._db.execute(sql, params).fetchone()
        return Entry.from_row(row) if row else None

    def family_entries(self, family: str) -> list[Entry]:
        """The entries of a sequenced record (``case:0x…``, ``judgment:0x…``, ``listing:0x…``) not failed, in
        the order they were accepted: the changes the chain holds or will hold, as far as this service knows."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE family = ? AND state != 'failed' ORDER BY seq", (family,)
            ).fetchall()
        return [Entry.from_row(r) for r in rows]

    def lanes_with_work(self) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT lane FROM outbox WHERE state IN ('accepted', 'submitted') "
                "ORDER BY lane = 'governance' DESC, lane"
            ).fetchall()
        return [r[0] for r in rows]

    def entries(self, lane: str, state: State) -> list[Entry]:
        order = "nonce, seq" if state == "submitted" else "seq"
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE lane = ? AND state = ? ORDER BY {order}", (lane, state)
            ).fetchall()
        return [Entry.from_row(r) for r in rows]

    def open_governance_before(self, seq: int) -> bool:
        """Whether a governance act accepted before ``seq`` is still open (court writes wait for it)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM outbox WHERE lane = ? AND seq < ? AND state IN "
                "('accepted', 'submitted') LIMIT 1",
                (GOVERNANCE_LANE, seq),
            ).fetchone()
        return row is not None

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
        out = {s: 0 for s in ("accepted", "submitted", "confirmed", "failed")}
        out.update({s: n for s, n in rows})
        return out

    def backlog(self) -> tuple[int, float | None]:
        """Writes accepted but not finished (accepted or submitted), and when the oldest was accepted."""
        with self._lock:
            count, oldest = self._db.execute(
                "SELECT COUNT(*), MIN(accepted_at) FROM outbox WHERE state IN ('accepted', 'submitted')"
            ).fetchone()
        return int(count), oldest

    # -- worker transitions --------------------------------------------------------------------

    def next_nonce(self, address: str, chain_pending: int) -> int:
        """The nonce for the next transaction of ``address`` (not yet reserved; see mark_submitted).

        The stored counter wins over the node's pending count while transactions of ours are in flight
        (the node may have lost them; they are sent again with their nonces); with none in flight the
        node is authoritative.
        """
        with self._lock:
            stored = self._db.execute(
                "SELECT next_nonce FROM senders WHERE address = ?", (address,)
            ).fetchone()
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
        """Store the signed transaction and reserve its nonce, before it is sent.

        ``block_number`` is the chain's newest block at signing; the first one is kept (``first_block``).
        """
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'submitted', signer = ?, signature = ?, sender = ?, nonce = ?, "
                "raw_tx = ?, tx_hash = ?, submitted_at = ?, attempts = attempts + 1, note = NULL, "
                "first_block = COALESCE(first_block, ?) WHERE id = ?",
                (signer, signature, sender, nonce, raw_tx, tx_hash, time.time(), block_number, entry_id),
            )
            db.execute(
                "INSERT INTO senders (address, next_nonce) VALUES (?, ?) ON CONFLICT (address) DO UPDATE "
                "SET next_nonce = MAX(next_nonce, excluded.next_nonce)",
                (sender, nonce + 1),
            )
        return self.get(entry_id)

    def replace_transaction(self, entry_id: str, raw_tx: bytes, tx_hash: str) -> Entry:
        """Same nonce, new fees: the stored transaction is superseded (and kept as a previous one)."""
        with self._tx() as db:
            previous = self._previous_with_current(db, entry_id)
            db.execute(
                "UPDATE outbox SET raw_tx = ?, tx_hash = ?, attempts = attempts + 1, "
                "previous_transactions = ? WHERE id = ?",
                (raw_tx, tx_hash, previous, entry_id),
            )
        return self.get(entry_id)

    @staticmethod
    def _previous_with_current(db: sqlite3.Connection, entry_id: str) -> str | None:
        """The entry's previous transactions (JSON) with its current one appended, if it has one."""
        row = db.execute(
            "SELECT previous_transactions, tx_hash, sender, nonce, raw_tx FROM outbox WHERE id = ?", (entry_id,)
        ).fetchone()
        if row is None:
            return None
        stored, tx_hash, sender, nonce, raw_tx = row
        previous = json.loads(stored or "[]")
        if tx_hash is not None and all(p.get("tx_hash") != tx_hash for p in previous):
            current = Previous(tx_hash, sender, nonce, bytes(raw_tx) if raw_tx is not None else None)
            previous.append(current.to_json())
        return json.dumps(previous) if previous else None

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
        be ``accepted`` again, or follow a later transaction that reverted): its sender, nonce, raw bytes
        and the record's signature become the entry's, and the transaction the entry followed until now,
        if any, joins ``previous_transactions``.
        """
        with self._tx() as db:
            if adopted is not None:
                previous = self._previous_with_current(db, entry_id)
                db.execute(
                    "UPDATE outbox SET signer = ?, signature = ?, sender = ?, nonce = ?, raw_tx = ?, "
                    "previous_transactions = ? WHERE id = ?",
                    (
                        adopted.signer,
                        adopted.signature,
                        adopted.sender,
                        adopted.nonce,
                        adopted.raw_tx,
                        previous,
                        entry_id,
                    ),
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
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'failed', error = ?, block_number = COALESCE(?, block_number), "
                "block_hash = COALESCE(?, block_hash), gas_used = COALESCE(?, gas_used), finished_at = ?, "
                "note = NULL WHERE id = ?",
                (json.dumps(error), block_number, block_hash, gas_used, time.time(), entry_id),
            )
            db.execute(
                "UPDATE court_signers SET state = 'failed' WHERE entry_id = ? AND state = 'pending'",
                (entry_id,),
            )
        return self.get(entry_id)

    def back_to_accepted(self, entry_id: str, note: str) -> None:
        """The nonce went to another transaction: sign again later, with a new nonce.

        The transaction given up is kept in ``previous_transactions``: if it was in fact mined (a node
        that answers "nonce too low" before it serves the receipt), it is the entry's confirmation.
        """
        with self._tx() as db:
            state = db.execute("SELECT state FROM outbox WHERE id = ?", (entry_id,)).fetchone()
            if state is None or state[0] != "submitted":
                return
            previous = self._previous_with_current(db, entry_id)
            db.execute(
                "UPDATE outbox SET state = 'accepted', nonce = NULL, raw_tx = NULL, tx_hash = NULL, "
                "signature = NULL, signer = NULL, sender = NULL, note = ?, previous_transactions = ? "
                "WHERE id = ? AND state = 'submitted'",
                (note, previous, entry_id),
            )

    def settled_in_newest_block(self, below_block: int | None = None) -> list[Entry]:
        """The entries this service sent that the newest block (below ``below_block``) settled, confirmed
        or failed on chain: what a node that lost its last blocks may have lost with them."""
        settled = "state IN ('confirmed', 'failed') AND raw_tx IS NOT NULL AND block_hash IS NOT NULL"
        below = "" if below_block is None else " AND block_number < ?"
        params: tuple[Any, ...] = () if below_block is None else (below_block,)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE {settled} AND block_number = "
                f"(SELECT block_number FROM outbox INDEXED BY outbox_by_block WHERE {settled}{below} "
                "ORDER BY block_number DESC LIMIT 1) "
                "ORDER BY seq",
                params,
            ).fetchall()
        return [Entry.from_row(r) for r in rows]

    def reopen(self, entry_id: str, note: str) -> None:
        """The block that settled the entry is gone from the chain: back to ``submitted``, same raw tx."""
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'submitted', block_number = NULL, block_hash = NULL, "
                "block_time = NULL, gas_used = NULL, error = NULL, finished_at = NULL, note = ? "
                "WHERE id = ? AND state IN ('confirmed', 'failed') AND raw_tx IS NOT NULL",
                (note[:500], entry_id),
            )

    def note(self, entry_id: str, note: str) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET note = ? WHERE id = ?", (note[:500], entry_id))

    # -- court signer keys ---------------------------------------------------------------------

    def _signer_transition(self, db: sqlite3.Connection, entry_id: str) -> None:
        row = db.execute("SELECT kind, call FROM outbox WHERE id = ?", (entry_id,)).fetchone()
        if row is None or row[1] is None:
            return
        kind, call = row[0], json.loads(row[1])
        if kind in ("admit_court", "add_signer"):
            db.execute(
                "UPDATE court_signers SET state = 'active', activated_at = ? WHERE entry_id = ?",
                (time.time(), entry_id),
            )
        elif kind == "retire_signer":
            db.execute("UPDATE court_signers SET state = 'retired' WHERE address = ?", (call["signer"],))

    def add_signer_key(self, court: int, address: str, *, active: bool) -> None:
        """Record a signer key held by this service (e.g. for the demo's courts)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO court_signers (address, court, state, created_at, activated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    address,
                    court,
                    "active" if active else "pending",
                    time.time(),
                    time.time() if active else None,
                ),
            )

    def active_signer(self, court: int) -> str | None:
        """The court's newest active signer held here."""
        with self._lock:
            row = self._db.execute(
                "SELECT address FROM court_signers WHERE court = ? AND state = 'active' "
                "ORDER BY activated_at DESC, created_at DESC LIMIT 1",
                (court,),
            ).fetchone()
        return row[0] if row else None

    def signer_keys(self, court: int) -> list[tuple[str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT address, state FROM court_signers WHERE court = ? ORDER BY created_at", (court,)
            ).fetchall()
        return [(a, s) for a, s in rows]

    def has_signer(self, court: int) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM court_signers WHERE court = ? AND state IN ('pending', 'active') LIMIT 1",
                (court,),
            ).fetchone()
        return row is not None

    # -- meta ----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def family_of(record: Record) -> str | None:
    """The sequenced target a record advances: a case's actions, a judgment's or a listing's changes."""
    if isinstance(record, Action):
        return "case:0x" + record.case_id.hex()
    if isinstance(record, JudgmentStatusChange):
        return "judgment:0x" + record.judgment_id.hex()
    if isinstance(record, Extension | Removal):
        return "listing:0x" + record.listing_id.hex()
    return None
