"""The write-transaction idioms shared by the project's SQLite stores (outbox, notary, index, service)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["busy_retry", "immediate", "savepoint"]

T = TypeVar("T")


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception.

    The write lock is taken at the start, so concurrent writers queue instead of deadlocking on an
    upgrade from a read lock; everything inside commits together or not at all. Waiting for a lock
    another process holds (the service and its outbox worker process share the outbox file) goes
    through :func:`busy_retry`, within the connection's own busy timeout: SQLite's busy handler sleeps
    up to 100 ms between tries while the other process holds the lock for a few ms per commit, and the
    outbox worker spent half its time so.
    """
    _begin_immediate(conn)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _begin_immediate(conn: sqlite3.Connection) -> None:
    (wait_ms,) = conn.execute("PRAGMA busy_timeout").fetchone()
    if not wait_ms:
        busy_retry(lambda: conn.execute("BEGIN IMMEDIATE"), timeout=0.0)
        return
    conn.execute("PRAGMA busy_timeout=0")
    try:
        busy_retry(lambda: conn.execute("BEGIN IMMEDIATE"), timeout=wait_ms / 1000)
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(wait_ms)}")


@contextmanager
def savepoint(conn: sqlite3.Connection, name: str = "part") -> Iterator[sqlite3.Connection]:
    """``SAVEPOINT`` … ``RELEASE`` inside an open transaction: on an exception only what was done inside is
    undone (``ROLLBACK TO``) and the enclosing transaction goes on. Savepoints nest, even under one name.

    Refused when no transaction is open (SQLite lost it to an I/O error, say): a savepoint would then start
    one of its own and commit on release, apart from the writes that were to commit with it."""
    if not conn.in_transaction:
        raise sqlite3.OperationalError("no open transaction to take a savepoint in: it was lost")
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield conn
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


def busy_retry(fn: Callable[[], T], *, timeout: float = 30.0) -> T:
    """``fn()``, run again while SQLite answers "database is locked" (another process holds the write lock).

    For connections opened with ``timeout=0``, shared by several processes that each hold the write lock
    for tens of microseconds: SQLite's own busy handler sleeps 1, 2, 5, 10, … ms between tries, which
    leaves the lock idle most of the time; here the waits start at 50 µs and double up to 5 ms. ``fn`` must
    be safe to run again after a busy error (a single statement, or a whole transaction from its BEGIN).
    """
    delay = 50e-6
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.005)
