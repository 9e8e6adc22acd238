"""The outbox file: its schema, its connection, reading rows with their journaled transactions.

One SQLite file (``<data_dir>/outbox.sqlite``), WAL journal, ``synchronous=FULL``: a transaction that
returned survives a crash of the process and a power cut. Tables:

``outbox``          one row per accepted write (a signed record or a governance act), with its state
``transactions``    the journal (:mod:`ledger.pipeline.journal`): every transaction an entry signed, owner
                    ``outbox:<entry id>``, stored in the same commit as the entry's move to ``submitted``
``senders``         the next nonce the service will use per sending account
``sequences``       per sequenced target (a case's actions, a judgment's status changes, a listing's
                    changes) the count of changes written outside this outbox when it first saw it
``court_signers``   the court signer keys this service holds (pending -> active -> retired)
``meta``            small facts (the demo was seeded, ...)

Writes go through one connection behind a lock; the accept path's pre-checks (a signer held, an
idempotency key used) read through a second, read-only one, so they do not queue behind a write's disk
sync.

An entry's row points at its current transaction (``tx_hash``, with its sender and nonce); the raw bytes,
the block the entry was first signed at and the transactions it gave up are the journal's. A file from
before the journal kept them in the row (``raw_tx``, ``previous_transactions``, ``first_block``): they
are moved into the journal once, when the file is opened (rows are kept).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api.outbox.entries import Entry, owner_of
from ledger._sqlite import immediate
from ledger.pipeline.journal import Journal

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
    raw_tx BLOB,                        -- before the journal only: moved there on open
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
    UNIQUE (client_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_open ON outbox (state, lane, seq);
CREATE INDEX IF NOT EXISTS outbox_by_record ON outbox (record_id);
CREATE INDEX IF NOT EXISTS outbox_by_family ON outbox (family, state);
CREATE INDEX IF NOT EXISTS outbox_by_sender ON outbox (sender, state);
CREATE TABLE IF NOT EXISTS senders (address TEXT PRIMARY KEY, next_nonce INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (family TEXT PRIMARY KEY, base INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS court_signers (
    address TEXT PRIMARY KEY, court INTEGER NOT NULL, state TEXT NOT NULL, entry_id TEXT,
    created_at REAL NOT NULL, activated_at REAL);
CREATE INDEX IF NOT EXISTS court_signers_by_court ON court_signers (court, state);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

_NAMES = (
    "seq, id, client_id, idempotency_key, request_hash, lane, court, kind, record, record_id, call, "
    "family, state, signer, signature, sender, nonce, raw_tx, tx_hash, block_number, block_hash, "
    "block_time, gas_used, error, note, accepted_at, submitted_at, finished_at, attempts"
)
#: an entry's columns, its raw transaction from the journal
_COLUMNS = ", ".join("t.raw_tx" if n == "raw_tx" else f"o.{n}" for n in _NAMES.split(", "))
_FROM = "outbox o LEFT JOIN transactions t ON t.tx_hash = o.tx_hash"


class OutboxFile:
    """The connections (each behind a lock; safe to share between threads) and how rows are read."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._lock = threading.RLock()
        self._grouped = False  # inside group(): transitions join its transaction
        with self._lock:
            self._db.executescript(_SCHEMA)
            Journal.create(self._db)
            self._migrate()
        # Reads that need not wait for a write in progress (a group of accepts, the worker's commits): in WAL
        # they see the last commit, while the writer holds ``_lock`` through its disk syncs.
        self._reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._reader.execute("PRAGMA query_only=ON")
        self._read_lock = threading.RLock()

    def _migrate(self) -> None:
        """Move the transactions an outbox file from before the journal kept in its rows into the journal."""
        with immediate(self._db) as db:  # re-read under the write lock: another process may migrate too
            present = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
            previous = "previous_transactions" if "previous_transactions" in present else "NULL"
            first = "first_block" if "first_block" in present else "NULL"
            rows = db.execute(
                f"SELECT id, accepted_at, sender, nonce, raw_tx, tx_hash, state, block_number, block_hash, "
                f"{previous}, {first} FROM outbox WHERE raw_tx IS NOT NULL OR {previous} IS NOT NULL"
            ).fetchall()
            for entry_id, at, sender, nonce, raw, tx_hash, state, number, block, kept, head in rows:
                owner = owner_of(entry_id)
                given_up = json.loads(kept or "[]")
                for i, p in enumerate(given_up):
                    old = p.get("raw_tx")
                    Journal.store(
                        db,
                        owner,
                        tx_hash=str(p["tx_hash"]),
                        sender=p.get("sender"),
                        nonce=p.get("nonce"),
                        raw_tx=bytes.fromhex(old[2:]) if old else None,
                        head_block=head if i == 0 else None,
                        signed_at=float(at) + i * 1e-6,
                    )
                if raw is not None and tx_hash is not None:
                    Journal.store(
                        db,
                        owner,
                        tx_hash=tx_hash,
                        sender=sender,
                        nonce=nonce,
                        raw_tx=bytes(raw),
                        head_block=head if not given_up else None,
                        signed_at=float(at) + len(given_up) * 1e-6,
                    )
                    if state in ("confirmed", "failed") and number is not None and block is not None:
                        Journal.settle(db, tx_hash, int(number), block)
            sets = ["raw_tx = NULL"] + [f"{c} = NULL" for c in (previous, first) if c != "NULL"]
            db.execute(f"UPDATE outbox SET {', '.join(sets)} WHERE raw_tx IS NOT NULL OR {previous} IS NOT NULL")

    def close(self) -> None:
        with self._read_lock:
            self._reader.close()
        with self._lock:
            self._db.close()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The read connection, in one read transaction (one snapshot of the last commit)."""
        with self._read_lock:
            self._reader.execute("BEGIN")
            try:
                yield self._reader
            finally:
                self._reader.execute("COMMIT")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._grouped:
                yield self._db
                return
            with immediate(self._db) as db:
                yield db

    @contextmanager
    def group(self) -> Iterator[None]:
        """Every transition made inside (by this thread) commits as one transaction, or none does: the
        worker stores or settles many entries with one durable commit. Others wait for the lock meanwhile,
        so nothing slow (no RPC) belongs inside."""
        with self._lock:
            if self._grouped:
                yield
                return
            with immediate(self._db):
                self._grouped = True
                try:
                    yield
                finally:
                    self._grouped = False

    def _select(self, where: str, params: tuple[Any, ...] = (), db: sqlite3.Connection | None = None) -> list[Entry]:
        """Entries ``WHERE`` (columns of the outbox as ``o.``), each with its journaled transactions."""
        conn = db if db is not None else self._db
        with self._read_lock if conn is self._reader else self._lock:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM {_FROM} WHERE {where}", params).fetchall()
            journal = Journal.of_many(conn, (owner_of(r[1]) for r in rows))
        return [Entry.from_row(r, journal[owner_of(r[1])]) for r in rows]

    def _one(self, where: str, params: tuple[Any, ...] = (), db: sqlite3.Connection | None = None) -> Entry | None:
        found = self._select(where + " LIMIT 1", params, db)
        return found[0] if found else None
