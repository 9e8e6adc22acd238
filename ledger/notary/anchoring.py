"""Anchoring a closed batch: one ``Anchor`` record signed by the court, sent through the pipeline.

The notary's only transaction is the anchor of a batch's root. It goes the pipeline's way
(:mod:`ledger.pipeline`): signed under the sender's lane and journaled in the store's file (owner
``notary:<batch id>``) before it is sent (state ``signed``), followed to its receipt, then the block number,
hash and time are stored (state ``anchored``). What is the notary's own:

- the root decides: ``NotaryAnchor.anchorRecord(court, root)`` showing the root anchored by this court
  means the batch is anchored, by whichever of its transactions did it, found by
  :func:`ledger.pipeline.earlier.search` (receipts of the batch's journaled transactions, then
  ``RootAnchored`` logs in the blocks of the stored anchoring time, then from the first send on);
- a nonce taken by another transaction signs the same root anew; a refusal as underpriced signs the
  same nonce with current fees; the root of a closed batch never changes, and the contract refuses a
  root twice, so a batch is anchored exactly once;
- a batch anchored in a block the chain lost (:func:`ledger.pipeline.lost.recheck_journal`) goes back to
  ``signed`` with its journaled transaction (``closed`` if it was adopted from a transaction not signed
  here), and is anchored again as above: same root, same proofs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.chain import first_block_at
from ledger.client import Ledger
from ledger.errors import ContractRevertError, TransactionError
from ledger.notary.models import ROOT_ANCHORED, Batch, BatchResult
from ledger.notary.store import NotaryStore, batch_owner
from ledger.pipeline import Next, Pipeline, Refused, earlier, next_step
from ledger.pipeline.journal import Journal, JournalRow
from ledger.pipeline.lost import recheck_journal
from ledger.records import Anchor

__all__ = ["Anchoring"]

log = logging.getLogger("ledger.notary")

SEARCH_MARGIN = 128  # blocks below the first send where a search for the anchor's log starts


class Anchoring:
    """Takes a store's closed or signed batches to anchored; safe to repeat after a crash at any point."""

    def __init__(
        self,
        store: NotaryStore,
        ledger: Ledger,
        court: int,
        signer: Callable[[], LocalAccount],
        *,
        relayer: LocalAccount | None,
        pipeline: Pipeline,
        receipt_timeout: float,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.court = court
        self._signer = signer
        self.relayer = relayer
        self.pipeline = pipeline
        self.receipt_timeout = receipt_timeout
        self._contract = ledger.contract("NotaryAnchor")

    @property
    def signer(self) -> LocalAccount:
        return self._signer()

    def _record(self, batch: Batch) -> Anchor:
        return Anchor(court=self.court, root=batch.root, size=batch.size, metadata_digest=batch.metadata_digest)

    def _reload(self, batch_id: int) -> Batch:
        batch = self.store._batch(self.store._db(), batch_id)
        assert batch is not None
        return batch

    # -- anchoring ---------------------------------------------------------------------------

    def anchor(self, batch: Batch, *, recovered: bool) -> BatchResult:
        """Take a closed or signed batch to anchored; safe to repeat after a crash at any point."""
        if self._on_chain(batch.root):
            return self._confirm_existing(batch, recovered=True)
        if batch.raw_tx is None:
            try:
                batch, refused = self._sign_and_send(batch)
            except ContractRevertError as exc:
                if exc.error == "NotaryAnchorAlreadyAnchored":
                    return self._confirm_existing(batch, recovered=True)
                raise
        else:  # signed before a crash or a refusal: the same bytes again
            refused = self._send_raw(batch)
        steps = 0
        root = batch.root  # the same for every transaction of the batch

        def on_chain() -> bool | None:
            return self._on_chain(root) or None

        while refused is not None:  # the pipeline's reading of the refusal (ledger.pipeline.next_step)
            step, _ = next_step(refused, on_chain)
            if step is Next.WAIT:
                break
            if step is Next.SETTLE:  # this very transaction took the nonce
                return self._confirm_existing(batch, recovered=True)
            steps += 1
            if step is Next.RETRY or steps > 2:  # re-sent on the next pass
                raise TransactionError(f"anchor of notary batch {batch.id} refused by the node: {refused.message}")
            if step is Next.SIGN_AGAIN:
                log.warning(
                    "notary batch %d: nonce %s was taken by another transaction; signing anew", batch.id, batch.nonce
                )
                batch, refused = self._sign_and_send(batch)
            else:  # Next.REPRICE: the same nonce, current fees
                batch, refused = self._sign_and_send(batch, nonce=batch.nonce)
        assert batch.tx_hash is not None
        poll = 0.5 if self.ledger.chain.kind == "rpc" else 0.02
        receipt, refused = self.pipeline.wait(batch.tx_hash, batch.raw_tx, self.receipt_timeout, poll)
        if receipt is None:
            why = (
                f"refused on resend: {refused.message}"
                if refused is not None
                else f"not mined within {self.receipt_timeout:g}s"
            )
            raise TransactionError(f"anchor of notary batch {batch.id} ({batch.tx_hash}) {why}; it will be re-sent")
        if receipt["status"] != 1:
            if self._on_chain(batch.root):
                return self._confirm_existing(batch, recovered=True)
            raise self._replay_revert(batch)
        return self._mark_anchored(batch, receipt, recovered=recovered)

    def _on_chain(self, root: bytes) -> bool:
        """Whether this court anchored the root (another court's anchor of the same root is its own)."""
        return bool(self.ledger.anchor(self.court, root)["court"] == self.court)

    def _sign_and_send(self, batch: Batch, *, nonce: int | None = None) -> tuple[Batch, Refused | None]:
        """Sign the record and the transaction, journal both, then send, all under the sender's lane: the
        node holds this anchor before another notary on the same relayer takes the lane's next nonce."""
        refused: list[Refused | None] = []
        signed = self._sign(batch, nonce=nonce, then=lambda _: refused.append(self._send_raw(self._reload(batch.id))))
        return signed, refused[0]

    def _sign(
        self, batch: Batch, *, nonce: int | None = None, then: Callable[[None], object] | None = None
    ) -> Batch:
        """Sign the record and the transaction, and journal both before anything is sent (by ``then``)."""
        record = self._record(batch)
        signature = self._signature(batch)
        signer = self.signer
        sender = self.relayer or signer
        to, data = self.ledger.call_data(record, signature if self.relayer is not None else None)
        gas = self.pipeline.estimate(sender.address, to, data)

        def store(used: int, raw: bytes, tx_hash: str, head: Any) -> None:
            with self.store._write() as db:
                Journal.store(
                    db,
                    batch_owner(batch.id),
                    tx_hash=tx_hash,
                    sender=sender.address,
                    nonce=used,
                    raw_tx=raw,
                    head_block=int(head["number"]),
                )
                db.execute(
                    "UPDATE batches SET state = 'signed', signature = ?, signer = ?, tx_hash = ? WHERE id = ?",
                    (signature, signer.address, tx_hash, batch.id),
                )

        self.pipeline.sign(sender, (to, data, 0), gas, store, nonce=nonce, then=then)
        return self._reload(batch.id)

    def _signature(self, batch: Batch) -> bytes:
        """The court's signature over the batch's record: the stored one, unless the signer changed since."""
        if batch.signature is not None and batch.signer == self.signer.address:
            return batch.signature
        return self.ledger.sign(self.signer, self._record(batch))

    def _send_raw(self, batch: Batch) -> Refused | None:
        """Hand the stored transaction to the node (the seam crash tests cut); the node's refusal, if any."""
        assert batch.raw_tx is not None and batch.tx_hash is not None
        with self.store._write() as db:
            Journal.sent(db, batch.tx_hash)
        return self.pipeline.send(batch.raw_tx)

    def _replay_revert(self, batch: Batch) -> Exception:
        record = self._record(batch)
        sender = batch.sender or (self.relayer or self.signer).address  # as the stored transaction was sent
        to, data = self.ledger.call_data(record, batch.signature if self.relayer is not None else None)
        revert = self.pipeline.replay(sender, to, data)
        return revert or TransactionError(f"anchor of notary batch {batch.id} ({batch.tx_hash}) reverted")

    # -- the root is on chain: which transaction did it -------------------------------------

    def _creation(self, root: bytes) -> earlier.Creation:
        court = self.court.to_bytes(32, "big")
        return earlier.Creation(self._contract.address, (ROOT_ANCHORED, root, court))

    def _ranges(self, batch: Batch, rows: list[JournalRow]) -> list[tuple[int, int]]:
        """Where the ``RootAnchored`` log is: the blocks whose timestamp is the one the contract stored for
        the root (``anchoredAt``, found by binary search), else from a little below the batch's first send
        (the deployment block for a batch never sent from here) to the newest block."""
        w3 = self.ledger.w3
        deployed = int(self.ledger.deployment.contracts["NotaryAnchor"].block_number)
        latest = int(w3.eth.block_number)
        anchored_at = int(self._contract.functions.anchorRecord(self.court, batch.root).call()[1])
        low = first_block_at(w3, anchored_at, deployed, latest)
        high = first_block_at(w3, anchored_at + 1, low, latest)
        start = earlier.start_block(rows, margin=SEARCH_MARGIN, floor=deployed, latest=latest)
        return [(low, high), (start, latest)]

    def _confirm_existing(self, batch: Batch, *, recovered: bool) -> BatchResult:
        """The root is on chain: record the transaction that anchored it."""
        rows = Journal.of(self.store._db(), batch_owner(batch.id))
        found = earlier.search(self.ledger.w3, rows, self._creation(batch.root), self._ranges(batch, rows)).found
        if found is None:
            raise TransactionError(f"root 0x{batch.root.hex()} is anchored but its RootAnchored log was not found")
        if found.tx_hash != batch.tx_hash:  # anchored by another transaction: adopt it
            tx = self.ledger.w3.eth.get_transaction(found.tx_hash)  # type: ignore[arg-type]
            signature = self._signature(batch)
            with self.store._write() as db:
                Journal.store(
                    db,
                    batch_owner(batch.id),
                    tx_hash=found.tx_hash,
                    sender=to_checksum_address(tx["from"]),
                    nonce=int(tx["nonce"]),
                    raw_tx=None,
                )
                db.execute(
                    "UPDATE batches SET signature = ?, signer = ?, tx_hash = ? WHERE id = ?",
                    (signature, self.signer.address, found.tx_hash, batch.id),
                )
            batch = self._reload(batch.id)
        return self._mark_anchored(batch, found.receipt, recovered=recovered)

    def _mark_anchored(self, batch: Batch, receipt: Any, *, recovered: bool) -> BatchResult:
        block = self.ledger.w3.eth.get_block(receipt["blockNumber"])
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        number, block_hash = int(receipt["blockNumber"]), "0x" + bytes(block["hash"]).hex()
        with self.store._write() as db:
            db.execute(
                "UPDATE batches SET state = 'anchored', tx_hash = ?, block_number = ?, block_hash = ?, "
                "block_time = ?, gas_used = ?, anchored_at = ? WHERE id = ?",
                (tx_hash, number, block_hash, int(block["timestamp"]), int(receipt["gasUsed"]), time.time(), batch.id),
            )
            Journal.settle(db, tx_hash, number, block_hash)
        log.info("notary batch %d anchored in block %d (%s)", batch.id, number, tx_hash)
        return BatchResult(batch.id, batch.root, batch.size, tx_hash, number, recovered)

    # -- anchors the chain lost ----------------------------------------------------------------

    def recheck(self) -> int:
        """Batches anchored in blocks the chain no longer holds go back to be anchored; how many moved.

        A batch whose transaction was mined again elsewhere takes its new block; any other goes back to
        ``signed`` with its journaled transaction (its nonce came back with the lost blocks), or to
        ``closed`` when the journal holds no bytes for it (adopted from a transaction not signed here),
        and :meth:`anchor` takes it again like any unfinished batch.
        """
        return recheck_journal(
            self.ledger.w3, self.store.anchored_in_newest_block, mined_again=self._mined_again, lost=self._lost
        )

    def _mined_again(self, row: JournalRow, receipt: Any) -> bool:
        batch = self._reload(_batch_id(row))
        if receipt["status"] != 1 or not any(self._creation(batch.root).matches(g) for g in receipt["logs"]):
            return False
        self._mark_anchored(batch, receipt, recovered=True)  # mined again, in another block
        return True

    def _lost(self, row: JournalRow, number: int) -> None:
        batch_id = _batch_id(row)
        log.warning(
            "notary batch %d: block %d that anchored it (%s) is gone from the chain; anchoring it again",
            batch_id,
            number,
            row.tx_hash,
        )
        own = row.raw_tx is not None
        with self.store._write() as db:
            Journal.unsettle(db, row.tx_hash)
            db.execute(
                "UPDATE batches SET block_number = NULL, block_hash = NULL, block_time = NULL, gas_used = NULL, "
                "anchored_at = NULL, state = ?, tx_hash = ? WHERE id = ? AND state = 'anchored'",
                ("signed" if own else "closed", row.tx_hash if own else None, batch_id),
            )

    # -- batches set aside ---------------------------------------------------------------------

    def fail(self, batch: Batch, exc: ContractRevertError) -> None:
        reason = str(exc)[:500]
        with self.store._write() as db:
            db.execute(
                "UPDATE batches SET state = 'failed', error = ? WHERE id = ? AND state IN ('closed', 'signed')",
                (reason, batch.id),
            )
        log.error("notary batch %d failed for good: %s", batch.id, reason)

    def reset(self, batch_id: int) -> Batch | None:
        """Take an unanchored batch back to ``closed``, forgetting its signature and current transaction
        (the journal keeps it: it may still be the one that anchors the root)."""
        with self.store._write() as db:
            moved = db.execute(
                "UPDATE batches SET state = 'closed', signature = NULL, signer = NULL, tx_hash = NULL, error = NULL "
                "WHERE id = ? AND state IN ('closed', 'signed', 'failed')",
                (batch_id,),
            ).rowcount
        return self.store._batch(self.store._db(), batch_id) if moved else None


def _batch_id(row: JournalRow) -> int:
    return int(row.owner.removeprefix("notary:"))
