"""``ledger._sqlite.immediate``: a writer waiting for a lock another connection holds gets it once that one
commits, within its connection's busy timeout (kept as it was), and gives up with "locked" past it."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ledger._sqlite import immediate


def _open(path: Path, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def test_a_waiting_writer_takes_the_lock_when_the_holder_commits_and_keeps_its_busy_timeout(tmp_path):
    path = tmp_path / "db.sqlite"
    holder, waiter = _open(path, 30.0), _open(path, 20.0)
    holder.execute("CREATE TABLE t (n INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    outcome: list[object] = []

    def write() -> None:
        try:
            with immediate(waiter) as db:
                db.execute("INSERT INTO t SELECT count(*) + 1 FROM t")
            outcome.append("committed")
        except Exception as exc:  # pragma: no cover - the assertion below names it
            outcome.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(0.3)
    assert thread.is_alive() and not outcome  # waiting, not failed
    holder.execute("COMMIT")
    thread.join(20.0)
    assert outcome == ["committed"]
    assert [r[0] for r in holder.execute("SELECT n FROM t ORDER BY n")] == [1, 2]  # it saw the first commit
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 20_000


def test_a_writer_gives_up_past_its_busy_timeout_and_nothing_of_it_is_written(tmp_path):
    path = tmp_path / "db.sqlite"
    holder, waiter = _open(path, 30.0), _open(path, 0.2)
    holder.execute("CREATE TABLE t (n INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"), immediate(waiter) as db:
        db.execute("INSERT INTO t VALUES (9)")
    holder.execute("COMMIT")
    assert holder.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    assert not waiter.in_transaction
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 200
