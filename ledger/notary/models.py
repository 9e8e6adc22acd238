"""What the notary keeps and answers: receipts, batches, the results of anchoring, the store's schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from eth_utils import keccak

from ledger.errors import LedgerError

__all__ = ["Batch", "BatchResult", "NotAnchoredError", "Receipt", "ReceiptState", "receipt_of"]

ReceiptState = Literal["pending", "anchoring", "anchored", "failed"]

SCHEMA_VERSION = 2  # 2: a random nonce per receipt in its leaf; anchors unique per (court, root)
METADATA_SYSTEM = "judicial-trust-ledger/notary"
ROOT_ANCHORED = keccak(text="RootAnchored(bytes32,uint32,uint32,bytes32)")


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
class Batch:
    """A closed batch, with its current anchor transaction (sender, nonce, raw bytes: from the journal)."""

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

    #: ``SELECT {COLUMNS} FROM {FROM}``: the batch row (``b``) and its transaction in the journal (``t``)
    COLUMNS = (
        "b.id, b.first_seq, b.last_seq, b.root, b.size, b.metadata_digest, b.state, b.signature, b.signer, "
        "t.sender, t.nonce, t.raw_tx, b.tx_hash, b.block_number, b.block_hash, b.block_time, b.gas_used, b.error"
    )
    FROM = "batches b LEFT JOIN transactions t ON t.tx_hash = b.tx_hash"

    @classmethod
    def of(cls, row: Any) -> Batch | None:
        return None if row is None else cls(*row)  # BLOBs come back as bytes, in COLUMNS order


SCHEMA = """
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
    signature BLOB, signer TEXT,
    sender TEXT, nonce INTEGER, raw_tx BLOB, sent_at REAL,  -- before the journal only: moved there on open
    tx_hash TEXT,                       -- the current anchor transaction (the journal holds it)
    block_number INTEGER, block_hash TEXT, block_time INTEGER, gas_used INTEGER, anchored_at REAL,
    error TEXT                          -- why a failed batch failed (the decoded revert)
);
CREATE INDEX IF NOT EXISTS batches_unfinished ON batches (id) WHERE state IN ('closed', 'signed');
CREATE TABLE IF NOT EXISTS trees (
    batch INTEGER PRIMARY KEY REFERENCES batches (id),
    nodes BLOB NOT NULL,                -- 2n-1 nodes of 32 bytes, ledger.merkle's layout
    positions BLOB NOT NULL             -- uint32 little-endian node index of each receipt, in seq order
);
"""


def receipt_of(
    rid: str, digest: bytes, nonce: bytes, at: float, batch: Batch | None, proof: tuple[bytes, ...] | None
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
