"""The court signer keys this service holds (pending -> active -> retired), and small facts (``meta``)."""

from __future__ import annotations

import json
import sqlite3
import time

from api.outbox.base import OutboxFile


class SignerKeys(OutboxFile):
    """Signer keys move with the governance entries that register and retire them (same commit)."""

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

    def _signer_failed(self, db: sqlite3.Connection, entry_id: str) -> None:
        db.execute("UPDATE court_signers SET state = 'failed' WHERE entry_id = ? AND state = 'pending'", (entry_id,))

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
        with self._reading() as db:
            row = db.execute(
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
