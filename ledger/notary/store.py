"""The notary's SQLite store: receipts in, batches closed over them, proofs read back.

Durability (SQLite in WAL mode, ``synchronous=FULL``), each step one transaction:

1. ``submit``/``submit_many`` commit the receipts before returning their ids (one transaction per
   call). Receipts are numbered by ``seq`` (contiguous: rows are never deleted), so everything after
   the last batch's ``last_seq`` is pending and a batch is a contiguous ``seq`` range: closing a batch
   writes one batch row and never touches the receipts. A receipt id is the 6-byte ``seq`` and an
   80-bit tag (BLAKE2b keyed with a random per-store key), 32 hex digits: found by primary key with no
   extra index, and not guessable from another receipt's id.
2. Closing writes the batch row (root, size, metadata and its digest) together with the tree: the
   ``2n-1`` nodes as one BLOB in ``merkle.py``'s layout, and each receipt's leaf position as a
   ``uint32`` array in ``seq`` order. A proof is read lazily: ``log2(n)`` 32-byte slices of that
   BLOB through SQLite's incremental BLOB I/O, with no per-receipt rows.
3. The anchor transactions of a batch are the pipeline's journal (:mod:`ledger.pipeline.journal`, table
   ``transactions`` in this file, owner ``notary:<batch id>``); a batch row points at its current one.
   A store from before the journal kept the transaction in the batch row: it is moved into the journal
   when the store is opened.
"""

from __future__ import annotations

import array
import bisect
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from ledger._sqlite import immediate
from ledger.errors import ConfigurationError, LedgerError, NotFoundError
from ledger.notary.models import METADATA_SYSTEM, SCHEMA, SCHEMA_VERSION, Batch, Receipt, receipt_of
from ledger.notary.tree import build_tree, digest_of, positions, proof_from, sha256_file
from ledger.pipeline.journal import Journal, owner_key

__all__ = ["NotaryStore", "batch_owner"]

log = logging.getLogger("ledger.notary")

_IN_CHUNK = 5_000  # bound on SQL variables per statement


def batch_owner(batch_id: int) -> str:
    """The journal's owner key of a batch's anchor transactions."""
    return owner_key("notary", batch_id)


class NotaryStore:
    """One court's receipts and batches in one SQLite file (one connection per thread)."""

    def __init__(
        self,
        store_path: str | os.PathLike[str],
        court: int,
        identity: dict[str, str],
        *,
        max_size: int,
        max_age: float,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.path = Path(store_path)
        self.court = court
        self.max_size = max_size
        self.max_age = max_age
        self._wake_batcher = wake
        self._conns: dict[int, sqlite3.Connection] = {}
        self._conns_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init_store({"schema": str(SCHEMA_VERSION), **identity, "court": str(court)})

    # -- storage ---------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections are not shared between threads here)."""
        key = threading.get_ident()
        conn = self._conns.get(key)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            with self._conns_lock:
                self._conns[key] = conn
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; taken at once (IMMEDIATE) so concurrent writers queue, never deadlock."""
        with immediate(self._db()) as db:
            yield db

    def _init_store(self, identity: dict[str, str]) -> None:
        self._db().executescript(SCHEMA)  # idempotent: CREATE ... IF NOT EXISTS
        Journal.create(self._db())
        with self._write() as db:
            stored = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if not stored:
                stored = {**identity, "receipt_id_key": os.urandom(32).hex()}
                db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", stored.items())
            wrong = sorted(k for k in identity if stored.get(k) != identity[k])
            if wrong:
                raise ConfigurationError(
                    f"notary store {self.path} belongs to another {', '.join(wrong)}; "
                    "use one store per court and deployment"
                )
        self._id_key = bytes.fromhex(stored["receipt_id_key"])
        self._migrate()

    def _migrate(self) -> None:
        """Move the anchor transactions a store from before the journal kept in its batch rows into it."""
        with self._write() as db:
            rows = db.execute(
                "SELECT id, sender, nonce, raw_tx, tx_hash, state, block_number, block_hash, closed_at "
                "FROM batches WHERE tx_hash IS NOT NULL AND (raw_tx IS NOT NULL OR sender IS NOT NULL)"
            ).fetchall()
            for batch_id, sender, nonce, raw, tx_hash, state, number, block, closed_at in rows:
                Journal.store(
                    db,
                    batch_owner(batch_id),
                    tx_hash=tx_hash,
                    sender=sender,
                    nonce=nonce,
                    raw_tx=bytes(raw) if raw is not None else None,
                    signed_at=float(closed_at),
                )
                if state == "anchored" and number is not None and block is not None:
                    Journal.settle(db, tx_hash, int(number), block)
            db.execute(
                "UPDATE batches SET sender = NULL, nonce = NULL, raw_tx = NULL "
                "WHERE raw_tx IS NOT NULL OR sender IS NOT NULL"
            )

    def close(self) -> None:
        """Close every connection."""
        with self._conns_lock:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    # -- submitting ------------------------------------------------------------------------

    def submit(self, digest: bytes) -> str:
        """Store one SHA-256 digest; its receipt id, once the digest is durable."""
        return self.submit_many([digest])[0]

    def submit_file(self, source: bytes | str | os.PathLike[str] | IO[bytes]) -> str:
        """Hash a file (bytes, path or stream) with SHA-256 and submit the digest; the file is not kept."""
        return self.submit(sha256_file(source))

    def submit_files(self, sources: Iterable[bytes | str | os.PathLike[str] | IO[bytes]]) -> list[str]:
        return self.submit_many([sha256_file(s) for s in sources])

    def submit_many(self, digests: Sequence[bytes]) -> list[str]:
        """Store many digests in one transaction; receipt ids in the same order.

        A digest already in the store (pending or anchored, or twice in this call) gets its first receipt.
        """
        words = [digest_of(d, i) for i, d in enumerate(digests)]
        if not words:
            return []
        unique = list(dict.fromkeys(words))
        now = time.time()
        insert = f"INSERT INTO receipts (seq, digest, nonce, submitted_at) VALUES (?, ?, ?, {now!r})"
        nonces = os.urandom(32 * len(unique))  # one fresh nonce per receipt, drawn in one call
        with self._write() as db:
            first = int(db.execute("SELECT coalesce(max(seq), 0) + 1 FROM receipts").fetchone()[0])
            try:  # the common case: every digest is new
                db.executemany(insert, _rows(first, unique, nonces))
                seqs = dict(zip(unique, itertools.count(first)))
                inserted = len(unique)
            except sqlite3.IntegrityError:  # some were notarized before: keep their receipts
                db.execute("ROLLBACK")
                db.execute("BEGIN IMMEDIATE")
                first = int(db.execute("SELECT coalesce(max(seq), 0) + 1 FROM receipts").fetchone()[0])
                seqs = {}
                for start in range(0, len(unique), _IN_CHUNK):
                    chunk = unique[start : start + _IN_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    seqs.update(
                        (bytes(d), int(q))
                        for d, q in db.execute(f"SELECT digest, seq FROM receipts WHERE digest IN ({marks})", chunk)
                    )
                new = [d for d in unique if d not in seqs]
                db.executemany(insert, _rows(first, new, nonces))
                seqs.update(zip(new, itertools.count(first)))
                inserted = len(new)
            pending = self._pending_count(db)
        if inserted and (pending == inserted or pending >= self.max_size):
            self._wake_batcher()  # the first pending digest starts the age clock; a full batch is due now
        ids = {d: self._receipt_id(q) for d, q in seqs.items()}
        return [ids[w] for w in words]

    # -- reading ---------------------------------------------------------------------------

    def receipt(self, receipt_id: str) -> Receipt:
        """The receipt, with its proof once its batch is anchored (raises NotFoundError)."""
        db = self._db()
        seq = self._seq(receipt_id)
        row = db.execute("SELECT digest, nonce, submitted_at FROM receipts WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise NotFoundError(f"no notary receipt {receipt_id}")
        digest, nonce, submitted_at = bytes(row[0]), bytes(row[1]), float(row[2])
        batch = self._batch_of(db, seq)
        proof = self._proof(db, batch, seq) if batch is not None and batch.state == "anchored" else None
        return receipt_of(receipt_id.lower(), digest, nonce, submitted_at, batch, proof)

    def receipts(self, receipt_ids: Iterable[str]) -> list[Receipt]:
        """Many receipts at once: each anchored batch's tree is read once, not once per receipt."""
        db = self._db()
        ids = [r.lower() for r in receipt_ids]
        seqs = [self._seq(r) for r in ids]
        if not seqs:
            return []
        found: dict[int, tuple[bytes, bytes, float]] = {}
        unique = sorted(set(seqs))
        for start in range(0, len(unique), _IN_CHUNK):
            chunk = unique[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                (int(q), (bytes(d), bytes(n), float(at)))
                for q, d, n, at in db.execute(
                    f"SELECT seq, digest, nonce, submitted_at FROM receipts WHERE seq IN ({marks})", chunk
                )
            )
        batches = [
            b
            for b in map(
                Batch.of,
                db.execute(
                    f"SELECT {Batch.COLUMNS} FROM {Batch.FROM} WHERE last_seq >= ? AND first_seq <= ? "
                    "ORDER BY first_seq",
                    (unique[0], unique[-1]),
                ),
            )
            if b is not None
        ]
        starts = [b.first_seq for b in batches]
        trees: dict[int, tuple[list[bytes], array.array[int]]] = {}
        out = []
        for rid, seq in zip(ids, seqs, strict=True):
            if seq not in found:
                raise NotFoundError(f"no notary receipt {rid}")
            digest, nonce, at = found[seq]
            i = bisect.bisect_right(starts, seq) - 1
            batch = batches[i] if i >= 0 and seq <= batches[i].last_seq else None
            proof = None
            if batch is not None and batch.state == "anchored":
                if batch.id not in trees:
                    nodes, raw = db.execute(
                        "SELECT nodes, positions FROM trees WHERE batch = ?", (batch.id,)
                    ).fetchone()
                    trees[batch.id] = ([nodes[i : i + 32] for i in range(0, len(nodes), 32)], positions(raw))
                nodes, leaves = trees[batch.id]
                proof = proof_from(nodes, leaves[seq - batch.first_seq])
            out.append(receipt_of(rid, digest, nonce, at, batch, proof))
        return out

    def _receipt_id(self, seq: int) -> str:
        """Receipt id: the 6-byte sequence number and an 80-bit keyed tag, so ids cannot be guessed."""
        key = seq.to_bytes(6, "big")
        return (key + hashlib.blake2b(key, key=self._id_key, digest_size=10).digest()).hex()

    def _seq(self, receipt_id: str) -> int:
        try:
            raw = bytes.fromhex(receipt_id)
        except (ValueError, TypeError):
            raw = b""
        if len(raw) != 16 or not hmac.compare_digest(
            raw[6:], hashlib.blake2b(raw[:6], key=self._id_key, digest_size=10).digest()
        ):
            raise NotFoundError(f"no notary receipt {str(receipt_id)[:40]!r}")
        return int.from_bytes(raw[:6], "big")

    def stats(self) -> dict[str, int]:
        """Counts for monitoring: pending digests, unfinished and anchored batches."""
        db = self._db()
        unfinished, anchored, failed = db.execute(
            "SELECT count(*) FILTER (WHERE state IN ('closed', 'signed')), "
            "count(*) FILTER (WHERE state = 'anchored'), count(*) FILTER (WHERE state = 'failed') FROM batches"
        ).fetchone()
        return {
            "pending": self._pending_count(db),
            "unfinished_batches": unfinished,
            "anchored_batches": anchored,
            "failed_batches": failed,
        }

    # -- batches ---------------------------------------------------------------------------

    def _high_water(self, db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT coalesce(max(last_seq), 0) FROM batches").fetchone()[0])

    def _pending_count(self, db: sqlite3.Connection) -> int:
        last = int(db.execute("SELECT coalesce(max(seq), 0) FROM receipts").fetchone()[0])
        return last - self._high_water(db)

    def _oldest_pending(self, db: sqlite3.Connection) -> float | None:
        row = db.execute(
            "SELECT submitted_at FROM receipts WHERE seq > ? ORDER BY seq LIMIT 1", (self._high_water(db),)
        ).fetchone()
        return None if row is None else float(row[0])

    def _batch(self, db: sqlite3.Connection, batch_id: int) -> Batch | None:
        row = db.execute(f"SELECT {Batch.COLUMNS} FROM {Batch.FROM} WHERE id = ?", (batch_id,)).fetchone()
        return Batch.of(row)

    def _batch_of(self, db: sqlite3.Connection, seq: int) -> Batch | None:
        row = db.execute(
            f"SELECT {Batch.COLUMNS} FROM {Batch.FROM} WHERE last_seq >= ? ORDER BY last_seq LIMIT 1", (seq,)
        ).fetchone()
        batch = Batch.of(row)
        return batch if batch is not None and batch.first_seq <= seq else None

    def _unfinished(self, db: sqlite3.Connection) -> Batch | None:
        row = db.execute(
            f"SELECT {Batch.COLUMNS} FROM {Batch.FROM} WHERE state IN ('closed', 'signed') ORDER BY id LIMIT 1"
        ).fetchone()
        return Batch.of(row)

    def _proof(self, db: sqlite3.Connection, batch: Batch, seq: int) -> tuple[bytes, ...]:
        with db.blobopen("trees", "positions", batch.id, readonly=True) as blob:
            blob.seek(4 * (seq - batch.first_seq))
            index = int.from_bytes(blob.read(4), "little")
        path = []
        with db.blobopen("trees", "nodes", batch.id, readonly=True) as blob:
            while index:
                blob.seek(32 * (((index - 1) ^ 1) + 1))  # the sibling, as in _proof_from
                path.append(blob.read(32))
                index = (index - 1) >> 1
        return tuple(path)

    def _close(self, *, force: bool) -> Batch | None:
        """Cut the oldest pending digests into a batch: build its tree and store both in one transaction."""
        db = self._db()
        high = self._high_water(db)
        rows = db.execute(
            "SELECT seq, digest, submitted_at, nonce FROM receipts WHERE seq > ? ORDER BY seq LIMIT ?",
            (high, self.max_size),
        ).fetchall()
        if not rows:
            return None
        if not force and len(rows) < self.max_size and time.time() - float(rows[0][2]) < self.max_age:
            return None
        first, last = int(rows[0][0]), int(rows[-1][0])
        if last - first + 1 != len(rows):  # rowids are contiguous because receipts are never deleted
            raise LedgerError(f"notary store {self.path}: receipts {first}..{last} are not contiguous")
        nodes, positions = build_tree([(bytes(r[1]), bytes(r[3])) for r in rows])
        root = nodes[:32]
        closed_at = time.time()
        with self._write() as db:
            if self._high_water(db) != high:  # another process closed this range meanwhile
                return None
            batch_id = int(db.execute("SELECT coalesce(max(id), 0) + 1 FROM batches").fetchone()[0])
            metadata = json.dumps(
                {
                    "system": METADATA_SYSTEM,
                    "court": self.court,
                    "batch": batch_id,
                    "size": len(rows),
                    "first_submitted_at": float(rows[0][2]),
                    "last_submitted_at": float(rows[-1][2]),
                    "closed_at": closed_at,
                },
                sort_keys=True,
                separators=(",", ":"),
            )
            metadata_digest = hashlib.sha256(metadata.encode()).digest()
            db.execute(
                "INSERT INTO batches (id, first_seq, last_seq, root, size, metadata, metadata_digest, "
                "closed_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'closed')",
                (batch_id, first, last, root, len(rows), metadata, metadata_digest, closed_at),
            )
            db.execute("INSERT INTO trees (batch, nodes, positions) VALUES (?, ?, ?)", (batch_id, nodes, positions))
        log.info("notary batch %d closed: %d digests, root 0x%s", batch_id, len(rows), root.hex())
        batch = self._batch(db, batch_id)
        assert batch is not None
        return batch

    def anchored_in_newest_block(self, below: int | None) -> list:
        """The journaled transactions of batches anchored in the newest block (below ``below``)."""
        return Journal.settled_in_newest_block(self._db(), "notary:", below)


def _rows(first: int, digests: list[bytes], nonces: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    for i, digest in enumerate(digests):
        yield first + i, digest, nonces[32 * i : 32 * i + 32]
