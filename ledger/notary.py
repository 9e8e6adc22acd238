"""Internal notarization: digests in, receipt ids out at once; Merkle batches anchored on chain.

Contract
--------
:class:`NotaryBatcher` takes SHA-256 digests (or files, hashed here as a stream) and answers each with a
receipt id as soon as the digest is durably stored. It closes a batch **by size or by age, whichever
comes first** (``max_size`` pending digests, or the oldest pending digest older than ``max_age``
seconds), builds one Merkle tree over the batch (:mod:`ledger.merkle`'s encoding, so OpenZeppelin's
``MerkleProof`` and ``NotaryAnchor.verifyInclusion`` accept the proofs), and anchors its root with one
``Anchor`` record signed by the court. From then on the receipt carries its proof, a certificate
(:func:`ledger.certificates.notary_certificate`) and can verify a digest or a file.

A digest is notarized once. Submitting a digest that the store already holds, pending or anchored,
returns its first receipt: submission is idempotent (a client may retry), and no digest is ever
anchored twice under two roots. The receipt's time is that of the first submission, which is the
stronger statement ("this document existed then").

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
3. Before anything is sent, the record's EIP-712 signature (and its signer) and the signed raw
   transaction (nonce, hash) are stored: state ``signed``.
4. After the receipt, the block number, hash and time: state ``anchored``.

After a crash anywhere, :meth:`NotaryBatcher.run_once` resumes the oldest unfinished batch first: if
``NotaryAnchor.anchorRecord(court, root)`` shows the root anchored by this court, it records the transaction that did it
(the stored hash, else the ``RootAnchored`` log); otherwise it re-sends the stored transaction (the
same bytes, so the same hash), and only when that nonce was taken by another transaction does it
sign a new one for the same root. The root of a closed batch never changes, and the contract refuses
a root twice, so a batch is anchored exactly once.

A node may also lose blocks it had mined (anvil restarted from a state file saved up to a second
before it was killed; a reorganisation), and an anchor with them. At most once every
``recheck_interval`` seconds (and first after a failed run), :meth:`NotaryBatcher.run_once` compares the
stored block hash of the newest anchored batch with the chain's block of that number; batches anchored
in blocks the chain no longer holds go back to ``signed`` and are anchored again as above (same root,
same proofs), so no receipt carries a proof against a root the chain does not hold.

One process runs the batcher of a store (``run_once`` is serialised within the process, and the
sending account must not send concurrently elsewhere, or its nonce moves under the stored
transaction, which is handled by re-signing, at the cost of a retry). Submissions may come from any
thread.
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
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import monotonic as _monotonic  # schedules the recheck; apart from ``time`` (tests replace it)
from typing import IO, Any, Literal

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3.exceptions import (
    ProviderConnectionError,
    TransactionNotFound,
)

from ledger._sqlite import immediate
from ledger.certificates import Certificate, notary_certificate
from ledger.chain import first_block_at
from ledger.client import Ledger, Written
from ledger.errors import (
    ChainUnavailableError,
    ConfigurationError,
    ContractRevertError,
    LedgerError,
    NotFoundError,
    TransactionError,
    ValidationError,
)
from ledger.merkle import verify_notary_proof
from ledger.pipeline import Pipeline, Refusal, Refused, recheck_lost_blocks
from ledger.records import Anchor

__all__ = [
    "BatchResult",
    "NotAnchoredError",
    "NotaryBatcher",
    "Receipt",
    "ReceiptState",
    "sha256_file",
]

log = logging.getLogger("ledger.notary")

try:  # the same C keccak ledger.merkle prefers; the tree is rebuilt here to keep its flat node array
    from sha3 import keccak_256 as _keccak_256  # type: ignore[import-not-found, unused-ignore]

    def _keccak(data: bytes) -> bytes:
        return bytes(_keccak_256(data).digest())
except ImportError:  # pragma: no cover - depends on the environment

    def _keccak(data: bytes) -> bytes:
        return keccak(data)


ReceiptState = Literal["pending", "anchoring", "anchored", "failed"]

SCHEMA_VERSION = 2  # 2: a random nonce per receipt in its leaf; anchors unique per (court, root)
METADATA_SYSTEM = "judicial-trust-ledger/notary"
_ROOT_ANCHORED = keccak(text="RootAnchored(bytes32,uint32,uint32,bytes32)")
_IN_CHUNK = 5_000  # bound on SQL variables per statement
_READ_CHUNK = 1 << 20


class NotAnchoredError(LedgerError):
    """The receipt's batch is not anchored yet: no proof, no certificate (try again later)."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the batcher knows about one submitted digest (a dataclass: bulk reads build 100k of them)."""

    id: str
    digest: bytes
    nonce: bytes  # random, hashed into the leaf with the digest (ledger.merkle.notary_leaf)
    state: ReceiptState
    submitted_at: float
    batch: int | None = None
    root: bytes | None = None
    proof: tuple[bytes, ...] | None = None
    batch_size: int | None = None
    transaction_hash: str | None = None
    block_number: int | None = None
    block_time: int | None = None
    error: str | None = None  # why the batch failed (state "failed")


@dataclass(frozen=True)
class BatchResult:
    """One batch that :meth:`NotaryBatcher.run_once` anchored (or found anchored after a crash)."""

    batch: int
    root: bytes
    size: int
    transaction_hash: str
    block_number: int
    recovered: bool


@dataclass
class _Batch:
    id: int
    first_seq: int
    last_seq: int
    root: bytes
    size: int
    metadata_digest: bytes
    state: str
    signature: bytes | None
    signer: str | None
    sender: str | None
    nonce: int | None
    raw_tx: bytes | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_time: int | None
    gas_used: int | None
    error: str | None

    COLUMNS = (
        "id, first_seq, last_seq, root, size, metadata_digest, state, signature, signer, sender, nonce, "
        "raw_tx, tx_hash, block_number, block_hash, block_time, gas_used, error"
    )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (
    seq INTEGER PRIMARY KEY,            -- submission order; a batch is a contiguous seq range
    digest BLOB NOT NULL UNIQUE,        -- a digest is notarized once
    nonce BLOB NOT NULL,                -- 32 random bytes hashed into the leaf with the digest
    submitted_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL UNIQUE,
    root BLOB NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    metadata TEXT NOT NULL,             -- canonical JSON; metadata_digest = sha256(metadata)
    metadata_digest BLOB NOT NULL,
    closed_at REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('closed', 'signed', 'anchored', 'failed')),
    signature BLOB, signer TEXT, sender TEXT, nonce INTEGER, raw_tx BLOB, tx_hash TEXT, sent_at REAL,
    block_number INTEGER, block_hash TEXT, block_time INTEGER, gas_used INTEGER, anchored_at REAL,
    error TEXT                          -- why a failed batch failed (the decoded revert)
);
CREATE INDEX IF NOT EXISTS batches_unfinished ON batches (id) WHERE state IN ('closed', 'signed');
CREATE INDEX IF NOT EXISTS batches_by_block ON batches (block_number) WHERE state = 'anchored';
CREATE TABLE IF NOT EXISTS trees (
    batch INTEGER PRIMARY KEY REFERENCES batches (id),
    nodes BLOB NOT NULL,                -- 2n-1 nodes of 32 bytes, ledger.merkle's layout
    positions BLOB NOT NULL             -- uint32 little-endian node index of each receipt, in seq order
);
"""


def sha256_file(source: bytes | str | os.PathLike[str] | IO[bytes]) -> bytes:
    """SHA-256 of a file's bytes, a path, or a binary stream (read in chunks, never whole)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return hashlib.sha256(source).digest()
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").digest()
    h = hashlib.sha256()
    while chunk := source.read(_READ_CHUNK):
        h.update(chunk)
    return h.digest()


class NotaryBatcher:
    """Durable batching and anchoring of document digests for one court.

    ``signer`` is a registered signer of ``court``, or a callable answering the court's current one (so a
    key rotated elsewhere is followed: each new anchor is signed by the key current then); it signs every
    ``Anchor`` record. With ``relayer``, the relayer sends ``anchorBySig``; without, the signer sends
    ``anchor`` itself.
    """

    def __init__(
        self,
        store_path: str | os.PathLike[str],
        ledger: Ledger,
        court: int,
        signer: LocalAccount | Callable[[], LocalAccount | None],
        *,
        max_size: int = 10_000,
        max_age: float = 2.0,
        relayer: LocalAccount | None = None,
        receipt_timeout: float = 120.0,
        recheck_interval: float = 1.0,
        pipeline: Pipeline | None = None,
    ) -> None:
        if not 1 <= max_size <= 2**32 - 1:
            raise ValidationError("max_size must be between 1 and 2**32 - 1")
        if max_age <= 0:
            raise ValidationError("max_age must be positive")
        self.path = Path(store_path)
        self.ledger = ledger
        self.court = court
        self._signer = signer
        self.relayer = relayer
        self.max_size = max_size
        self.max_age = max_age
        self.receipt_timeout = receipt_timeout
        self.recheck_interval = recheck_interval
        self.pipeline = pipeline or Pipeline(ledger.chain)
        self._recheck_due = 0.0  # the first run checks the newest anchored block at once
        self._recheck_failing = False
        self._contract = ledger.contract("NotaryAnchor")
        self._conns: dict[int, sqlite3.Connection] = {}
        self._conns_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init_store()

    @property
    def signer(self) -> LocalAccount:
        """The court's signing key now (a provider is asked each time)."""
        if isinstance(self._signer, LocalAccount):
            return self._signer
        account = self._signer()
        if account is None:
            raise ConfigurationError(f"no active signer key for court {self.court}: anchors wait")
        return account

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

    def _init_store(self) -> None:
        identity = {
            "schema": str(SCHEMA_VERSION),
            "chain_id": str(self.ledger.chain.chain_id),
            "contract": to_checksum_address(self._contract.address),
            "court": str(self.court),
        }
        self._db().executescript(_SCHEMA)  # idempotent: CREATE ... IF NOT EXISTS
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

    def close(self) -> None:
        """Stop the background thread and close every connection."""
        self.stop()
        with self._conns_lock:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def __enter__(self) -> NotaryBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        words = [_digest(d, i) for i, d in enumerate(digests)]
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
                        for d, q in db.execute(
                            f"SELECT digest, seq FROM receipts WHERE digest IN ({marks})", chunk
                        )
                    )
                new = [d for d in unique if d not in seqs]
                db.executemany(insert, _rows(first, new, nonces))
                seqs.update(zip(new, itertools.count(first)))
                inserted = len(new)
            pending = self._pending_count(db)
        if inserted and (pending == inserted or pending >= self.max_size):
            self._wake.set()  # the first pending digest starts the age clock; a full batch is due now
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
        return _receipt(receipt_id.lower(), digest, nonce, submitted_at, batch, proof)

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
                _row_batch,
                db.execute(
                    f"SELECT {_Batch.COLUMNS} FROM batches WHERE last_seq >= ? AND first_seq <= ? "
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
                    trees[batch.id] = ([nodes[i : i + 32] for i in range(0, len(nodes), 32)], _positions(raw))
                nodes, positions = trees[batch.id]
                proof = _proof_from(nodes, positions[seq - batch.first_seq])
            out.append(_receipt(rid, digest, nonce, at, batch, proof))
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

    def certificate(self, receipt_id: str) -> Certificate:
        """The portable certificate of an anchored receipt (NotAnchoredError before that)."""
        receipt = self.receipt(receipt_id)
        if receipt.state != "anchored" or receipt.batch is None or receipt.proof is None:
            raise NotAnchoredError(
                f"notary receipt {receipt.id} is {receipt.state}; its certificate exists "
                "once its batch is anchored"
            )
        batch = self._batch(self._db(), receipt.batch)
        assert batch is not None and batch.signature is not None and batch.tx_hash is not None
        assert batch.signer is not None
        record = Anchor(
            court=self.court, root=batch.root, size=batch.size, metadata_digest=batch.metadata_digest
        )
        written = Written(
            record=record,
            record_id=record.record_id(),
            signature=batch.signature,
            signer=str(batch.signer),
            contract="NotaryAnchor",
            contract_address=to_checksum_address(self._contract.address),
            transaction_hash=batch.tx_hash,
            block_number=int(batch.block_number or 0),
            block_hash=str(batch.block_hash),
            block_time=int(batch.block_time or 0),
            gas_used=int(batch.gas_used or 0),
            sender=str(batch.sender),
        )
        return notary_certificate(
            written,
            self.ledger.chain.chain_id,
            digest=receipt.digest,
            nonce=receipt.nonce,
            proof=list(receipt.proof),
        )

    def verify(
        self,
        receipt_id: str,
        digest: bytes | None = None,
        *,
        document: bytes | str | os.PathLike[str] | IO[bytes] | None = None,
        on_chain: bool = False,
    ) -> bool:
        """Whether ``digest`` (or the SHA-256 of ``document``) is the receipt's, proven in an anchored root.

        A digest is 32 bytes; a document is hashed, so pass a file as ``document=`` even when it happens
        to be 32 bytes long. A pending receipt verifies nothing yet: False. ``on_chain`` also asks
        ``NotaryAnchor.verifyInclusion``.
        """
        if (digest is None) == (document is None):
            raise ValidationError("give either a digest or a document")
        word = _digest(digest, 0) if digest is not None else sha256_file(document)  # type: ignore[arg-type]
        receipt = self.receipt(receipt_id)
        if receipt.digest != word or receipt.state != "anchored":
            return False
        assert receipt.root is not None and receipt.proof is not None
        if not verify_notary_proof(receipt.root, word, receipt.nonce, receipt.proof):
            return False
        return not on_chain or self.ledger.verify_inclusion(
            self.court, receipt.root, word, receipt.nonce, list(receipt.proof)
        )

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

    # -- batching --------------------------------------------------------------------------

    def due(self) -> bool:
        """Whether :meth:`run_once` has work: an unfinished batch, a full batch, or an old enough digest."""
        db = self._db()
        if self._unfinished(db) is not None:
            return True
        pending = self._pending_count(db)
        if pending == 0:
            return False
        if pending >= self.max_size:
            return True
        oldest = self._oldest_pending(db)
        return oldest is not None and time.time() - oldest >= self.max_age

    def run_once(self, *, force: bool = False) -> BatchResult | None:
        """Finish the oldest unfinished batch, or close and anchor one due batch; None when idle.

        ``force`` closes a batch of whatever is pending, without waiting for size or age.
        """
        with self._run_lock:
            db = self._db()
            now = _monotonic()
            if now >= self._recheck_due:
                self._recheck_due = now + self.recheck_interval
                self._recheck_anchored()
            while True:  # a batch that fails for good is set aside and the next one goes
                batch = self._unfinished(db)
                recovered = batch is not None
                if batch is None:
                    batch = self._close(force=force)
                if batch is None:
                    return None
                result = self._anchor_or_fail(batch, recovered=recovered)
                if result is not None:
                    return result

    def _anchor_or_fail(self, batch: _Batch, *, recovered: bool) -> BatchResult | None:
        """Anchor the batch; None when the contract refuses it for good (the batch is then ``failed``).

        A refusal of a transaction signed by a key the court has since rotated is not final: the batch is
        signed anew with the current key once. Any other refusal (a court suspended, a key retired with
        no successor) fails the batch with the decoded error, so it is never retried in a loop and later
        batches keep flowing; :meth:`reanchor` sends it again once the cause is fixed.
        """
        try:
            return self._anchor(batch, recovered=recovered)
        except ContractRevertError as exc:
            if batch.signer is not None and batch.signer != self.signer.address:
                log.info("notary batch %d: signed by a rotated key; signing anew with the current one", batch.id)
                fresh = self._reset(batch.id)
                if fresh is not None:
                    return self._anchor_or_fail(fresh, recovered=True)  # fresh.signer is None: once only
            self._fail(batch, exc)
            return None

    def _fail(self, batch: _Batch, exc: ContractRevertError) -> None:
        reason = str(exc)[:500]
        with self._write() as db:
            db.execute(
                "UPDATE batches SET state = 'failed', error = ? WHERE id = ? AND state IN ('closed', 'signed')",
                (reason, batch.id),
            )
        log.error("notary batch %d failed for good: %s", batch.id, reason)

    def _reset(self, batch_id: int) -> _Batch | None:
        """Take an unanchored batch back to ``closed``, forgetting its signature and transaction."""
        with self._write() as db:
            moved = db.execute(
                "UPDATE batches SET state = 'closed', signature = NULL, signer = NULL, sender = NULL, "
                "raw_tx = NULL, tx_hash = NULL, nonce = NULL, error = NULL "
                "WHERE id = ? AND state IN ('closed', 'signed', 'failed')",
                (batch_id,),
            ).rowcount
        return self._batch(self._db(), batch_id) if moved else None

    def reanchor(self, batch_id: int) -> bool:
        """Send a failed batch again (once its cause is fixed); whether it was failed."""
        with self._run_lock:
            failed = self._batch(self._db(), batch_id)
            moved = failed is not None and failed.state == "failed" and self._reset(batch_id) is not None
        if moved:
            self._wake.set()
        return moved

    def flush(self) -> list[BatchResult]:
        """Close and anchor everything pending now, whatever its age."""
        results = []
        while (result := self.run_once(force=True)) is not None:
            results.append(result)
        return results

    def start(self) -> None:
        """Run :meth:`run_once` in a background thread until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=f"notary-batcher-{self.court}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self._wake.set()
        thread.join(timeout)
        self._thread = None

    def _loop(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            try:
                if self.run_once() is not None:
                    backoff = 0.0
                    continue
            except Exception as exc:  # the loop survives a chain outage; the batch resumes later
                self._recheck_due = 0.0  # once the node is back, look for anchors it lost first
                backoff = min(max(2 * backoff, 0.25), 30.0)
                log.warning(
                    "notary batch not anchored yet (%s: %s); retrying in %.2gs",
                    type(exc).__name__,
                    exc,
                    backoff,
                )
                self._stopping.wait(backoff)
                continue
            self._wake.wait(self._idle_wait())
            self._wake.clear()

    def _idle_wait(self) -> float:
        db = self._db()
        oldest = self._oldest_pending(db)
        if oldest is None:
            return self.max_age
        return min(self.max_age, max(0.0, oldest + self.max_age - time.time()) + 0.001)

    # -- internals: batches ----------------------------------------------------------------

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

    def _batch(self, db: sqlite3.Connection, batch_id: int) -> _Batch | None:
        row = db.execute(f"SELECT {_Batch.COLUMNS} FROM batches WHERE id = ?", (batch_id,)).fetchone()
        return _row_batch(row)

    def _batch_of(self, db: sqlite3.Connection, seq: int) -> _Batch | None:
        row = db.execute(
            f"SELECT {_Batch.COLUMNS} FROM batches WHERE last_seq >= ? ORDER BY last_seq LIMIT 1", (seq,)
        ).fetchone()
        batch = _row_batch(row)
        return batch if batch is not None and batch.first_seq <= seq else None

    def _unfinished(self, db: sqlite3.Connection) -> _Batch | None:
        row = db.execute(
            f"SELECT {_Batch.COLUMNS} FROM batches WHERE state IN ('closed', 'signed') ORDER BY id LIMIT 1"
        ).fetchone()
        return _row_batch(row)

    def _proof(self, db: sqlite3.Connection, batch: _Batch, seq: int) -> tuple[bytes, ...]:
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

    def _close(self, *, force: bool) -> _Batch | None:
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
        nodes, positions = _build_tree([(bytes(r[1]), bytes(r[3])) for r in rows])
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
            db.execute(
                "INSERT INTO trees (batch, nodes, positions) VALUES (?, ?, ?)", (batch_id, nodes, positions)
            )
        log.info("notary batch %d closed: %d digests, root 0x%s", batch_id, len(rows), root.hex())
        batch = self._batch(db, batch_id)
        assert batch is not None
        return batch

    # -- internals: anchors the chain lost --------------------------------------------------

    def _recheck_anchored(self) -> int:
        """Batches anchored in blocks the chain no longer holds go back to be anchored; how many moved.

        A node may lose its newest blocks (anvil killed between two state dumps and restarted from the
        last one; a reorganisation), and an anchor with them: its receipts would carry proofs against a
        root the chain does not hold. The stored block hash of the newest anchored batch is compared
        with the chain's block at that number (one call when nothing was lost); on a difference,
        anchored batches are walked newest block first down to a block the chain still holds. A batch
        whose transaction was mined again elsewhere takes its new block; any other goes back to
        ``signed`` (``closed`` if it never stored a transaction), and :meth:`run_once` anchors it again
        like any unfinished batch: the same stored transaction first (its nonce came back with the
        lost blocks), signed anew only if that nonce went to another transaction, and adopted as is if
        the root turns out to be anchored after all. The root never changes, so neither do the proofs.
        """
        try:
            moved = self._recheck_blocks()
        except (ChainUnavailableError, OSError, ProviderConnectionError) as exc:  # the node is away
            self._recheck_due = 0.0
            if not self._recheck_failing:
                log.warning("notary: cannot check the chain still holds the newest anchor: %s", exc)
            self._recheck_failing = True
            return 0
        self._recheck_failing = False
        return moved

    def _recheck_blocks(self) -> int:
        return recheck_lost_blocks(self.ledger.w3, self._anchored_in_newest_block, self._anchored_in_lost_block)

    def _anchored_in_newest_block(self, below: int | None) -> list[_Batch]:
        db = self._db()
        bound = "" if below is None else " AND block_number < ?"
        newest = db.execute(
            f"SELECT max(block_number) FROM batches INDEXED BY batches_by_block WHERE state = 'anchored'{bound}",
            () if below is None else (below,),
        ).fetchone()[0]
        if newest is None:
            return []
        rows = db.execute(
            f"SELECT {_Batch.COLUMNS} FROM batches WHERE state = 'anchored' AND block_number = ? ORDER BY id",
            (int(newest),),
        )
        return [b for b in map(_row_batch, rows) if b is not None]

    def _anchored_in_lost_block(self, batch: _Batch, number: int) -> None:
        receipt = self.pipeline.receipt(batch.tx_hash) if batch.tx_hash is not None else None
        if receipt is not None and receipt["status"] == 1 and self._logs_root(receipt, batch.root):
            self._mark_anchored(batch, receipt, recovered=True)  # mined again, in another block
            return
        log.warning(
            "notary batch %d: block %d that anchored root 0x%s is gone from the chain; anchoring it again",
            batch.id,
            number,
            batch.root.hex(),
        )
        # The stored transaction is sent again if it is the one the batch followed; a batch adopted from
        # another sender's transaction (see _confirm_existing) is signed anew.
        own = batch.raw_tx is not None and "0x" + keccak(batch.raw_tx).hex() == batch.tx_hash
        with self._write() as wdb:
            wdb.execute(
                "UPDATE batches SET block_number = NULL, block_hash = NULL, block_time = NULL, "
                "gas_used = NULL, anchored_at = NULL, state = ?, raw_tx = ?, tx_hash = ?, "
                "nonce = ? WHERE id = ? AND state = 'anchored'",
                (
                    "signed" if own else "closed",
                    batch.raw_tx if own else None,
                    batch.tx_hash if own else None,
                    batch.nonce if own else None,
                    batch.id,
                ),
            )

    # -- internals: anchoring --------------------------------------------------------------

    def _record(self, batch: _Batch) -> Anchor:
        return Anchor(
            court=self.court, root=batch.root, size=batch.size, metadata_digest=batch.metadata_digest
        )

    def _anchor(self, batch: _Batch, *, recovered: bool) -> BatchResult:
        """Take a closed or signed batch to anchored; safe to repeat after a crash at any point."""
        if self._on_chain(batch.root):
            return self._confirm_existing(batch, recovered=True)
        if batch.raw_tx is None:
            try:
                batch = self._sign(batch)
            except ContractRevertError as exc:
                if exc.error == "NotaryAnchorAlreadyAnchored":
                    return self._confirm_existing(batch, recovered=True)
                raise
        assert batch.raw_tx is not None and batch.tx_hash is not None
        refused = self._send_raw(batch)
        if refused is not None and refused.kind is Refusal.NONCE_TAKEN:
            # The stored nonce was taken: either by this very transaction (mined) or by another one.
            if self._on_chain(batch.root):
                return self._confirm_existing(batch, recovered=True)
            log.warning("notary batch %d: nonce %s was taken by another transaction; signing anew", batch.id,
                        batch.nonce)
            batch = self._sign(batch)
            refused = self._send_raw(batch)
        if refused is not None and refused.kind is Refusal.UNDERPRICED:
            batch = self._sign(batch, nonce=batch.nonce)  # the same nonce, current fees
            refused = self._send_raw(batch)
        if refused is not None and refused.kind is not Refusal.KNOWN:  # known: the node has it, wait
            raise TransactionError(f"anchor of notary batch {batch.id} refused by the node: {refused.message}")
        assert batch.tx_hash is not None
        poll = 0.5 if self.ledger.chain.kind == "rpc" else 0.02
        receipt, refused = self.pipeline.wait(batch.tx_hash, batch.raw_tx, self.receipt_timeout, poll)
        if receipt is None:
            why = f"refused on resend: {refused.message}" if refused is not None else (
                f"not mined within {self.receipt_timeout:g}s")
            raise TransactionError(f"anchor of notary batch {batch.id} ({batch.tx_hash}) {why}; it will be re-sent")
        if receipt["status"] != 1:
            if self._on_chain(batch.root):
                return self._confirm_existing(batch, recovered=True)
            raise self._replay_revert(batch)
        return self._mark_anchored(batch, receipt, recovered=recovered)

    def _on_chain(self, root: bytes) -> bool:
        """Whether this court anchored the root (another court's anchor of the same root is its own)."""
        return bool(self.ledger.anchor(self.court, root)["court"] == self.court)

    def _sign(self, batch: _Batch, *, nonce: int | None = None) -> _Batch:
        """Sign the record and the transaction, and store both before anything is sent."""
        record = self._record(batch)
        signature = self._signature(batch)
        signer = self.signer
        sender = self.relayer or signer
        to, data = self.ledger.call_data(record, signature if self.relayer is not None else None)
        gas = self.pipeline.estimate(sender.address, to, data)

        def store(used: int, raw: bytes, tx_hash: str, _head: Any) -> None:
            with self._write() as db:
                db.execute(
                    "UPDATE batches SET state = 'signed', signature = ?, signer = ?, sender = ?, nonce = ?, "
                    "raw_tx = ?, tx_hash = ? WHERE id = ?",
                    (signature, signer.address, sender.address, used, raw, tx_hash, batch.id),
                )

        self.pipeline.sign(sender, (to, data, 0), gas, store, nonce=nonce)
        updated = self._batch(self._db(), batch.id)
        assert updated is not None
        return updated

    def _signature(self, batch: _Batch) -> bytes:
        """The court's signature over the batch's record: the stored one, unless the signer changed since."""
        if batch.signature is not None and batch.signer == self.signer.address:
            return batch.signature
        return self.ledger.sign(self.signer, self._record(batch))

    def _send_raw(self, batch: _Batch) -> Refused | None:
        """Hand the stored transaction to the node (the seam crash tests cut); the node's refusal, if any."""
        assert batch.raw_tx is not None
        with self._write() as db:
            db.execute("UPDATE batches SET sent_at = ? WHERE id = ?", (time.time(), batch.id))
        return self.pipeline.send(batch.raw_tx)

    def _replay_revert(self, batch: _Batch) -> Exception:
        record = self._record(batch)
        sender = batch.sender or (self.relayer or self.signer).address  # as the stored transaction was sent
        to, data = self.ledger.call_data(record, batch.signature if self.relayer is not None else None)
        revert = self.pipeline.replay(sender, to, data)
        return revert or TransactionError(f"anchor of notary batch {batch.id} ({batch.tx_hash}) reverted")

    def _anchoring_logs(self, root: bytes) -> list[Any]:
        """The ``RootAnchored`` logs of ``root``: searched in the blocks whose timestamp is the one the
        contract stored for it (``anchoredAt``), found by binary search, not from the deployment block
        on (a long chain, and nodes that bound the range of one ``eth_getLogs``); the whole range only
        if that finds nothing."""
        w3 = self.ledger.w3
        deployed = int(self.ledger.deployment.contracts["NotaryAnchor"].block_number)
        latest = int(w3.eth.block_number)
        anchored_at = int(self._contract.functions.anchorRecord(self.court, root).call()[1])
        low = first_block_at(w3, anchored_at, deployed, latest)
        high = first_block_at(w3, anchored_at + 1, low, latest)
        topics = ["0x" + _ROOT_ANCHORED.hex(), "0x" + root.hex(), "0x" + self.court.to_bytes(32, "big").hex()]
        for start, end in ((low, high), (deployed, latest)):
            logs = list(w3.eth.get_logs(
                {"address": self._contract.address, "fromBlock": start, "toBlock": end, "topics": topics}
            ))
            if logs:
                return logs
        return []

    def _confirm_existing(self, batch: _Batch, *, recovered: bool) -> BatchResult:
        """The root is on chain: record the transaction that anchored it."""
        w3 = self.ledger.w3
        receipt = None
        if batch.tx_hash is not None:
            with contextlib.suppress(TransactionNotFound):
                candidate = w3.eth.get_transaction_receipt(batch.tx_hash)  # type: ignore[arg-type]
                if candidate["status"] == 1 and self._logs_root(candidate, batch.root):
                    receipt = candidate
        if receipt is None:  # anchored by another transaction: find it by its log
            logs = self._anchoring_logs(batch.root)
            if not logs:
                raise TransactionError(
                    f"root 0x{batch.root.hex()} is anchored but its RootAnchored log was not found"
                )
            receipt = w3.eth.get_transaction_receipt(logs[0]["transactionHash"])
            tx = w3.eth.get_transaction(logs[0]["transactionHash"])
            sender = to_checksum_address(tx["from"])
            signature = self._signature(batch)
            with self._write() as db:
                db.execute(
                    "UPDATE batches SET signature = ?, signer = ?, sender = ?, tx_hash = ? WHERE id = ?",
                    (
                        signature,
                        self.signer.address,
                        sender,
                        "0x" + bytes(receipt["transactionHash"]).hex(),
                        batch.id,
                    ),
                )
            refreshed = self._batch(self._db(), batch.id)
            assert refreshed is not None
            batch = refreshed
        return self._mark_anchored(batch, receipt, recovered=recovered)

    def _logs_root(self, receipt: Any, root: bytes) -> bool:
        court = self.court.to_bytes(32, "big")
        return any(
            len(log["topics"]) > 2
            and bytes(log["topics"][0]) == _ROOT_ANCHORED
            and bytes(log["topics"][1]) == root
            and bytes(log["topics"][2]) == court
            for log in receipt["logs"]
        )

    def _mark_anchored(self, batch: _Batch, receipt: Any, *, recovered: bool) -> BatchResult:
        block = self.ledger.w3.eth.get_block(receipt["blockNumber"])
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        with self._write() as db:
            db.execute(
                "UPDATE batches SET state = 'anchored', tx_hash = ?, block_number = ?, block_hash = ?, "
                "block_time = ?, gas_used = ?, anchored_at = ? WHERE id = ?",
                (
                    tx_hash,
                    int(receipt["blockNumber"]),
                    "0x" + bytes(block["hash"]).hex(),
                    int(block["timestamp"]),
                    int(receipt["gasUsed"]),
                    time.time(),
                    batch.id,
                ),
            )
        log.info("notary batch %d anchored in block %d (%s)", batch.id, receipt["blockNumber"], tx_hash)
        return BatchResult(batch.id, batch.root, batch.size, tx_hash, int(receipt["blockNumber"]), recovered)


# -- pure helpers --------------------------------------------------------------------------------

def _digest(value: object, index: int) -> bytes:
    if isinstance(value, str):
        text = value.removeprefix("0x").removeprefix("0X")
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise ValidationError(f"digest #{index} is not hex") from None
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != 32:
        raise ValidationError(f"digest #{index} must be 32 bytes (a SHA-256 digest)")
    return bytes(value)


def _rows(first: int, digests: list[bytes], nonces: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    for i, digest in enumerate(digests):
        yield first + i, digest, nonces[32 * i : 32 * i + 32]


def _receipt(
    rid: str, digest: bytes, nonce: bytes, at: float, batch: _Batch | None, proof: tuple[bytes, ...] | None
) -> Receipt:
    if batch is None:
        return Receipt(rid, digest, nonce, "pending", at)
    if batch.state == "failed":
        return Receipt(rid, digest, nonce, "failed", at, batch.id, batch.root, None, batch.size, error=batch.error)
    if batch.state != "anchored":
        return Receipt(rid, digest, nonce, "anchoring", at, batch.id, batch.root, None, batch.size)
    return Receipt(
        rid,
        digest,
        nonce,
        "anchored",
        at,
        batch.id,
        batch.root,
        proof,
        batch.size,
        batch.tx_hash,
        batch.block_number,
        batch.block_time,
    )


def _row_batch(row: Any) -> _Batch | None:
    return None if row is None else _Batch(*row)  # BLOBs come back as bytes, in _Batch.COLUMNS order


def _build_tree(entries: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """(nodes, positions) of the tree ``MerkleTree.build_notary`` builds over ``(digest, nonce)`` entries.

    ``nodes`` is the flat ``2n - 1`` node array (root first), ``positions[i]`` the node index of
    ``entries[i]``'s leaf as uint32 little-endian. Same encoding as ``MerkleTree.build_notary`` (tests pin
    the roots and proofs against it); built here because the flat array is what the store keeps.
    """
    k = _keccak
    n = len(entries)
    size = 2 * n - 1
    leaves = sorted((k(k(d + nonce)), i) for i, (d, nonce) in enumerate(entries))
    tree: list[bytes] = [b""] * size
    pos = array.array("I", bytes(4 * n))
    for rank, (leaf, i) in enumerate(leaves):
        tree[size - 1 - rank] = leaf
        pos[i] = size - 1 - rank
    for i in range(size - 1 - n, -1, -1):
        a, b = tree[2 * i + 1], tree[2 * i + 2]
        tree[i] = k(a + b) if a <= b else k(b + a)
    if sys.byteorder != "little":  # pragma: no cover
        pos.byteswap()
    return b"".join(tree), pos.tobytes()


def _positions(raw: bytes) -> array.array[int]:
    pos = array.array("I")
    pos.frombytes(bytes(raw))
    if sys.byteorder != "little":  # pragma: no cover
        pos.byteswap()
    return pos


def _proof_from(tree: list[bytes], index: int) -> tuple[bytes, ...]:
    """Sibling hashes from node ``index`` up to the root (node i's sibling is ((i - 1) ^ 1) + 1)."""
    path: list[bytes] = []
    append = path.append
    while index:
        append(tree[((index - 1) ^ 1) + 1])
        index = (index - 1) >> 1
    return tuple(path)
