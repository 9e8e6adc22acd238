""" "Our own earlier transaction already wrote it": found once, for every writer.

A write signed more than once (its nonce went to another transaction and it was signed again; replaced
with higher fees; a crash between storing and sending; a node that lost its last blocks and mined it
again) may be on chain through a transaction its owner no longer follows. The chain then refuses the
write as already done (``...AlreadyRecorded``, ``NotaryAnchorAlreadyAnchored``), and the owner must find
the transaction that did it, to settle with that transaction's receipt rather than fail or write twice.

The caller describes the log that creates its write (:class:`Creation`: contract, topic0, indexed ids),
and :func:`search` looks

1. at the receipts of the owner's own transactions in the journal (:mod:`ledger.pipeline.journal`),
   newest first: one mined with status 1 (and carrying the creation log, when one is described) is it;
2. at the logs of bounded block ranges only (``eth_getLogs`` in chunks, never from block 0): the caller
   gives the ranges, by default from a margin below the block at which the owner first signed
   (:func:`start_block`) to the newest; each log the caller's ``judge`` accepts is it, the others come
   back with the judge's reason (another writer, other fields);
3. when nothing is found although the owner gave up transactions of its own, the answer is "may still
   show up": a node just restarted may serve its state before the receipts and logs of its last blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from ledger.pipeline.journal import JournalRow
from ledger.pipeline.rpc import receipt as _receipt

__all__ = ["UNRELATED", "Creation", "Found", "Search", "in_receipts", "search", "start_block"]

LOG_CHUNK = 5_000  # blocks per eth_getLogs call (nodes bound the range of one call)
#: what a judge answers for a log of another write altogether (another change of the same target)
UNRELATED = ""


def _hex(value: bytes | str) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


@dataclass(frozen=True)
class Creation:
    """The log that creates a write: emitted by ``address``, with ``topics`` (topic0 first; None: any)."""

    address: str
    topics: tuple[bytes | None, ...]

    def matches(self, log: Any) -> bool:
        if to_checksum_address(log["address"]) != to_checksum_address(self.address):
            return False
        got = [bytes(t) for t in log["topics"]]
        return len(got) >= len(self.topics) and all(w is None or g == w for g, w in zip(got, self.topics, strict=False))

    def filter(self, low: int, high: int) -> dict[str, Any]:
        topics = list(self.topics)
        while topics and topics[-1] is None:
            topics.pop()
        return {
            "address": to_checksum_address(self.address),
            "fromBlock": low,
            "toBlock": high,
            "topics": [None if t is None else _hex(t) for t in topics],
        }


@dataclass(frozen=True)
class Found:
    """The transaction that did the write: its receipt, our journal row of it (None: not signed here,
    found by its log), the log, and how it was found ("receipt" or "log")."""

    receipt: Any
    tx_hash: str
    row: JournalRow | None
    log: Any | None
    by: str


@dataclass(frozen=True)
class Search:
    """What :func:`search` answers: found, or not (with the logs of other writers and why they are not ours,
    the block ranges searched), and whether an earlier transaction of ours may still show up."""

    found: Found | None
    others: list[tuple[Any, str]] = field(default_factory=list)
    ranges: list[tuple[int, int]] = field(default_factory=list)
    may_still_show_up: bool = False


def in_receipts(
    receipt: Callable[[str], Any],
    rows: Sequence[JournalRow],
    creation: Creation | None = None,
    *,
    skip: Iterable[str | None] = (),
) -> Found | None:
    """The newest of ``rows`` (not in ``skip``) mined with status 1 and, with ``creation``, carrying that log;
    ``receipt(tx_hash)`` answers a receipt or None (:meth:`ledger.pipeline.Pipeline.receipt`)."""
    skipped = set(skip)
    for row in reversed(rows):
        if row.tx_hash in skipped:
            continue
        found = receipt(row.tx_hash)
        if found is None or found["status"] != 1:
            continue
        log = next((g for g in found["logs"] if creation.matches(g)), None) if creation is not None else None
        if creation is not None and log is None:
            continue
        return Found(found, row.tx_hash, row, log, "receipt")
    return None


def start_block(
    rows: Sequence[JournalRow], *, margin: int, floor: int, latest: int, fallback: int | None = None
) -> int:
    """Where a log search for an owner's write starts: ``margin`` blocks below the block at which it first
    signed (``fallback`` when no row kept it), never below ``floor`` (the contract's deployment)."""
    heads = [r.head_block for r in rows if r.head_block is not None]
    first = min(heads) if heads else fallback
    if first is None:
        first = floor
    return max(floor, min(first, latest) - margin)


def logs(w3: Any, creation: Creation, low: int, high: int, chunk: int = LOG_CHUNK) -> Iterator[Any]:
    """The creation's logs in ``low..high``, in chunks of ``chunk`` blocks, oldest first."""
    for start in range(low, high + 1, chunk):
        yield from w3.eth.get_logs(creation.filter(start, min(high, start + chunk - 1)))


def search(
    w3: Any,
    rows: Sequence[JournalRow],
    creation: Creation,
    ranges: Sequence[tuple[int, int]],
    *,
    judge: Callable[[Any, Any], str | None] = lambda log, tx: None,
    receipts_first: bool = True,
    current: str | None = None,
) -> Search:
    """Find the transaction that did the owner's write: its own transactions' receipts, then the logs.

    ``ranges`` are tried in order until one holds a log of the creation; ``judge(log, transaction)``
    answers None for a log that is the owner's write, :data:`UNRELATED` for a log of another write, else
    why it is not the owner's (kept in :attr:`Search.others`).
    Nothing found, no other writer, and an earlier transaction of the owner (one of ``rows`` other than
    ``current``) given up: it may still show up.
    """
    if receipts_first:
        found = in_receipts(lambda h: _receipt(w3, h), rows, creation)
        if found is not None:
            return Search(found, ranges=[])
    others: list[tuple[Any, str]] = []
    searched: list[tuple[int, int]] = []
    for low, high in ranges:
        searched.append((low, high))
        seen = False
        for log in logs(w3, creation, low, high):
            seen = True
            tx_hash = _hex(log["transactionHash"])
            tx = w3.eth.get_transaction(tx_hash)
            why = judge(log, tx)
            if why == UNRELATED:
                continue
            if why is None:
                mined = w3.eth.get_transaction_receipt(tx_hash)
                if mined["status"] == 1:
                    row = next((r for r in rows if r.tx_hash == tx_hash), None)
                    return Search(Found(mined, tx_hash, row, log, "log"), others, searched)
                why = "reverted"
            others.append((log, why))
        if seen:
            break
    given_up = any(r.tx_hash != current for r in rows)
    return Search(None, others, searched, may_still_show_up=not others and given_up)
