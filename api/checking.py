"""Partner checks: the audit log, and the parts a check-only process needs.

Every answer to a partner is written to the audit log (``check_audit`` in ``service.sqlite``) before the
partner sees it: who asked, when, about which blind index (never the identifier), for what restriction,
and the answer. A single check is one row; a batch is one row holding its subjects and answers packed
(32 bytes per subject, one byte per answer, 8 bytes per end time), which costs one insert instead of
10,000. :meth:`CheckAudit.rows` unpacks both into the same per-subject rows.

:class:`CheckServices` is what serving checks needs and nothing else: the blind-index key, the API
clients (shared with the main service, nonces included), the audit log and the index, opened read-only.
It is what ``python scripts/serve.py checks`` runs, in as many uvicorn worker processes as asked, next
to the main service on the same data directory: the main service keeps the index in sync; the check
processes only read it. Nothing in it talks to the chain or signs anything.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.auth import CLIENTS_SCHEMA, NONCE_INSERT, Authenticator, ClientRegistry, open_db
from api.settings import Settings, resolve_blind_key
from ledger._sqlite import busy_retry, immediate
from ledger.index import Index
from ledger.privacy import BlindIndexKey

__all__ = ["CheckAudit", "CheckServices"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS check_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, at INTEGER NOT NULL,
    subject BLOB NOT NULL, restriction INTEGER NOT NULL, restricted INTEGER NOT NULL, until INTEGER,
    batch TEXT);
CREATE INDEX IF NOT EXISTS check_audit_by_client ON check_audit (client_id, at);
CREATE TABLE IF NOT EXISTS check_audit_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, at INTEGER NOT NULL,
    restriction INTEGER NOT NULL, batch TEXT NOT NULL, size INTEGER NOT NULL,
    subjects BLOB NOT NULL, restricted BLOB NOT NULL, until BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS check_audit_batches_by_client ON check_audit_batches (client_id, at);
"""


class CheckAudit:
    """Every partner check: who asked, when, about which blind index (never the ID), for what, the answer."""

    def __init__(self, path: Path) -> None:
        self.db = open_db(path)
        self.lock = threading.Lock()
        with self.lock:
            busy_retry(lambda: self.db.executescript(CLIENTS_SCHEMA + _SCHEMA))  # nonces live beside it
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[_Once, asyncio.Future[bool]]]] = {}
        self._closed = False

    # -- one check, nonce and audit row together, group-committed --------------------------------------

    async def record_once(
        self, client_id: str, nonce: str, expires_at: int, at: int, restriction: int, subject: bytes,
        restricted: bool, until: int | None,
    ) -> bool:
        """Use the request's nonce up and write its audit row, in one transaction; False (nothing written)
        if the nonce was used already. Returns once committed.

        Group commit on the event loop: the checks that reach this point in the same turn of the loop
        share one transaction, written by a callback scheduled after them (on this disk a commit costs
        ~100 us, as much as the rest of a check). No thread: a writer thread would fight the event loop
        for the GIL at every SQLite call."""
        if self._closed:
            raise RuntimeError("the audit log is closed")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        waiting = self._pending.setdefault(loop, [])
        if not waiting:
            loop.call_soon(self._flush, loop)
        waiting.append((_Once(client_id, nonce, expires_at, at, restriction, subject, int(restricted), until), done))
        return await done

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        group = self._pending.pop(loop, [])
        if not group:
            return
        try:
            with self.lock:
                results = busy_retry(functools.partial(self._write_group, [item for item, _ in group]))
        except Exception as exc:  # every waiting request fails with it; nothing was written
            for _, done in group:
                if not done.cancelled():
                    done.set_exception(exc)
            return
        for (_, done), ok in zip(group, results, strict=True):
            if not done.cancelled():
                done.set_result(ok)

    def _write_group(self, items: list[_Once]) -> list[bool]:
        results = []
        with immediate(self.db) as db:
            for it in items:
                try:
                    db.execute(NONCE_INSERT, (it.client_id, it.nonce, it.expires_at))
                except sqlite3.IntegrityError:
                    results.append(False)  # a replay: no audit row, the caller refuses it
                    continue
                db.execute(
                    "INSERT INTO check_audit (client_id, at, subject, restriction, restricted, until) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (it.client_id, it.at, it.subject, it.restriction, it.restricted, it.until),
                )
                results.append(True)
        return results

    def record(
        self, client_id: str, at: int, restriction: int, subject: bytes, restricted: bool, until: int | None
    ) -> None:
        """Write one answer given (its nonce was used up by the authentication already)."""
        with self.lock:
            busy_retry(lambda: self.db.execute(
                "INSERT INTO check_audit (client_id, at, subject, restriction, restricted, until) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (client_id, at, subject, restriction, int(restricted), until),
            ))

    def record_batch(
        self,
        client_id: str,
        at: int,
        restriction: int,
        subjects: Sequence[bytes],
        answers: Sequence[tuple[bool, int | None]],
        batch: str,
    ) -> None:
        """One row for a whole batch: subjects, answers and end times packed in the same order."""
        if len(subjects) != len(answers):
            raise ValueError("one answer per subject")
        packed_subjects = b"".join(subjects)
        if len(packed_subjects) != 32 * len(subjects):
            raise ValueError("a subject is a 32-byte blind index")
        restricted = bytes(1 if r else 0 for r, _ in answers)
        until = struct.pack(f">{len(answers)}Q", *((u or 0) if r else 0 for r, u in answers))
        with self.lock:
            busy_retry(lambda: self.db.execute(
                "INSERT INTO check_audit_batches (client_id, at, restriction, batch, size, subjects, "
                "restricted, until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (client_id, at, restriction, batch, len(subjects), packed_subjects, restricted, until),
            ))

    def rows(self, client_id: str | None = None, *, subject: bytes | None = None) -> list[dict[str, Any]]:
        """Every answer given (to ``client_id``; about ``subject``), oldest first, batches unpacked."""
        where: list[str] = []
        params: list[Any] = []
        if client_id is not None:
            where.append("client_id = ?")
            params.append(client_id)
        single_where = where + (["subject = ?"] if subject is not None else [])
        batch_where = where + (["instr(subjects, ?) > 0"] if subject is not None else [])
        extra = [subject] if subject is not None else []
        with self.lock:
            singles = busy_retry(lambda: self.db.execute(
                "SELECT at, id, client_id, subject, restriction, restricted, until FROM check_audit"
                + _where(single_where) + " ORDER BY id",
                params + extra,
            ).fetchall())
            batches = busy_retry(lambda: self.db.execute(
                "SELECT at, id, client_id, restriction, batch, size, subjects, restricted, until "
                "FROM check_audit_batches" + _where(batch_where) + " ORDER BY id",
                params + extra,
            ).fetchall())
        out: list[tuple[int, int, int, dict[str, Any]]] = []
        for at, rid, cid, s, restriction, restricted, until in singles:
            out.append((at, 0, rid, {"client_id": cid, "at": at, "subject": bytes(s), "restriction": restriction,
                                     "restricted": bool(restricted), "until": until, "batch": None}))
        for at, rid, cid, restriction, batch, size, subjects, restricted, until in batches:
            ends = struct.unpack(f">{size}Q", until)
            for k in range(size):
                s = bytes(subjects[32 * k: 32 * k + 32])
                if subject is not None and s != subject:
                    continue
                out.append((at, 1, rid * 1_000_000 + k, {
                    "client_id": cid, "at": at, "subject": s, "restriction": restriction,
                    "restricted": bool(restricted[k]), "until": ends[k] if restricted[k] else None,
                    "batch": batch}))
        out.sort(key=lambda r: r[:3])
        return [r[3] for r in out]

    def close(self) -> None:
        self._closed = True
        with self.lock:
            self.db.close()


@dataclass(frozen=True)
class _Once:
    client_id: str
    nonce: str
    expires_at: int
    at: int
    restriction: int
    subject: bytes
    restricted: int
    until: int | None


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


class CheckServices:
    """What answering partner checks needs: settings, blind-index key, clients, audit, the index (read)."""

    def __init__(self, settings: Settings, blind_key: BlindIndexKey) -> None:
        root = Path(settings.data_dir).resolve()
        index_path = root / "index.db"
        if not index_path.is_file():
            raise FileNotFoundError(
                f"no index at {index_path}: start the main service on this data directory first"
            )
        self.settings = settings
        self.blind_key = blind_key
        self.data_dir = root
        self.index = Index(index_path)
        self.clients = ClientRegistry(root / "service.sqlite")
        self.auth = Authenticator(self.clients, clock_skew=settings.clock_skew_seconds, public_url=settings.public_url)
        self.audit = CheckAudit(root / "service.sqlite")

    @classmethod
    def open(cls, settings: Settings) -> CheckServices:
        return cls(settings, resolve_blind_key(settings))

    def now(self) -> int:
        """The time checks are answered for: the wall clock (the main service may use a chain running
        ahead of it; a check process never talks to the chain)."""
        return int(time.time())

    @property
    def indexed_block(self) -> int:
        cursor = self.index.cursor()
        return -1 if cursor is None else cursor

    def close(self) -> None:
        self.index.close()
        self.audit.close()
        self.clients.close()
