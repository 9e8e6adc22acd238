"""Accepting writes and reading them back: the routes' side of the outbox.

``accept`` stores a write in one transaction (with its follow-ups and a new signer key, if any) before
the client hears "accepted"; the idempotency key is unique per client, so a retried request gets the same
row. A row keeps who accepted it (client), its lane (``court:<id>`` or ``governance``: rows of one lane
are sent in acceptance order), the record (typed JSON) and its EIP-712 record id computed at accept time,
or the governance act and its parameters; what the worker adds is in :mod:`api.outbox.transitions`.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, NamedTuple

from api.outbox.entries import GOVERNANCE_LANE, KIND_OF, Entry, NewEntry, State, court_lane, family_of
from api.outbox.transitions import Transitions
from ledger._sqlite import savepoint
from ledger.client import Written


class Acceptance(NamedTuple):
    """A write waiting to be accepted: who sends it, how to build it, its idempotency key and request hash."""

    client_id: str
    build: Callable[[Callable[[str, int], int]], NewEntry]
    idempotency_key: str | None = None
    request_hash: bytes | None = None


class Outbox(Transitions):
    """The outbox database. One connection behind a lock; safe to share between threads."""

    def find_idempotent(self, client_id: str, key: str) -> Entry | None:
        """The entry made under this key, as last committed (a check before accepting; accept checks again)."""
        with self._reading() as db:
            return self._one("o.client_id = ? AND o.idempotency_key = ?", (client_id, key), db)

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
        outcome = self.accept_many([Acceptance(client_id, build, idempotency_key, request_hash)])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def accept_many(
        self,
        writes: Sequence[Acceptance],
        *,
        alongside: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> list[tuple[Entry, bool] | Exception]:
        """Accept several writes with one durable commit: each as :meth:`accept` would, in order, each in a
        savepoint, so a write whose ``build`` fails is undone alone and its exception is its outcome.

        ``alongside`` is another store's group (the vault's), opened inside the outbox transaction for the
        whole and again around each write: what the builds write there commits before the outbox rows
        that need it, and a failed write leaves nothing there either.
        """
        outcomes: list[tuple[Entry, bool] | Exception] = []
        with self._tx() as db, alongside():
            for write in writes:
                try:
                    with savepoint(db, "accept"), alongside():
                        outcomes.append(self._accept_one(db, write))
                except Exception as exc:  # the write's own failure, handed back to its caller
                    outcomes.append(exc)
        return outcomes

    def _accept_one(self, db: sqlite3.Connection, write: Acceptance) -> tuple[Entry, bool]:
        if write.idempotency_key is not None:
            known = self._one("o.client_id = ? AND o.idempotency_key = ?", (write.client_id, write.idempotency_key), db)
            if known is not None:
                return known, False

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

        new = write.build(sequence)
        first = self._insert(db, write.client_id, new, write.idempotency_key, write.request_hash)
        for extra in new.extra:
            self._insert(db, write.client_id, extra, None, None)
        entry = self._one("o.id = ?", (first,), db)
        assert entry is not None
        return entry, True

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
        for name, value in new.notes.items():
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"{name}:{entry_id}", value))
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
            return NewEntry(lane=court_lane(court), kind=kind, court=court, record=record, family=family_of(record))

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

    def by_record_id(self, record_id: bytes, kind: str | None = None) -> Entry | None:
        """The entry of a record id, preferring a confirmed one, else the latest."""
        where = "o.record_id = ?"
        params: tuple[Any, ...] = (bytes(record_id),)
        if kind is not None:
            where += " AND o.kind = ?"
            params += (kind,)
        return self._one(where + " ORDER BY o.state = 'confirmed' DESC, o.seq DESC", params)

    def family_entries(self, family: str) -> list[Entry]:
        """The entries of a sequenced record (``case:0x…``, ``judgment:0x…``, ``listing:0x…``) not failed, in
        the order they were accepted: the changes the chain holds or will hold, as far as this service knows."""
        return self._select("o.family = ? AND o.state != 'failed' ORDER BY o.seq", (family,))

    def lanes_with_work(self) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT lane FROM outbox WHERE state IN ('accepted', 'submitted') "
                "ORDER BY lane = 'governance' DESC, lane"
            ).fetchall()
        return [r[0] for r in rows]

    def entries(self, lane: str, state: State) -> list[Entry]:
        order = "o.nonce, o.seq" if state == "submitted" else "o.seq"
        return self._select(f"o.lane = ? AND o.state = ? ORDER BY {order}", (lane, state))

    def open_governance_before(self, seq: int) -> bool:
        """Whether a governance act accepted before ``seq`` is still open (court writes wait for it)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM outbox WHERE lane = ? AND seq < ? AND state IN ('accepted', 'submitted') LIMIT 1",
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
