"""Internal notarization: digests in, receipt ids out at once; Merkle batches anchored on chain.

Contract
--------
:class:`NotaryBatcher` takes SHA-256 digests (or files, hashed here as a stream) and answers each with a
receipt id as soon as the digest is durably stored (:mod:`ledger.notary.store`). It closes a batch **by
size or by age, whichever comes first** (``max_size`` pending digests, or the oldest pending digest older
than ``max_age`` seconds), builds one Merkle tree over the batch (:mod:`ledger.notary.tree`, the encoding
of :mod:`ledger.merkle`, so OpenZeppelin's ``MerkleProof`` and ``NotaryAnchor.verifyInclusion`` accept the
proofs), and hands the anchor of its root, one ``Anchor`` record signed by the court, to the pipeline
(:mod:`ledger.notary.anchoring`). From then on the receipt carries its proof, a certificate
(:func:`ledger.certificates.notary_certificate`) and can verify a digest or a file.

A digest is notarized once. Submitting a digest that the store already holds, pending or anchored,
returns its first receipt: submission is idempotent (a client may retry), and no digest is ever
anchored twice under two roots. The receipt's time is that of the first submission, which is the
stronger statement ("this document existed then").

After a crash anywhere, :meth:`NotaryBatcher.run_once` resumes the oldest unfinished batch first. At most
once every ``recheck_interval`` seconds (and first after a failed run) it looks for anchors in blocks the
chain no longer holds, which go back to be anchored again (same root, same proofs), so no receipt carries
a proof against a root the chain does not hold.

One process runs the batcher of a store (``run_once`` is serialised within the process, and the
sending account must not send concurrently elsewhere, or its nonce moves under the stored
transaction, which is handled by re-signing, at the cost of a retry). Submissions may come from any
thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from time import monotonic as _monotonic  # schedules the recheck; apart from ``time`` (tests replace it)
from typing import IO

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.exceptions import ProviderConnectionError

from ledger.certificates import Certificate, notary_certificate
from ledger.client import Ledger, Written
from ledger.errors import ChainUnavailableError, ConfigurationError, ContractRevertError, ValidationError
from ledger.merkle import verify_notary_proof
from ledger.notary.anchoring import Anchoring
from ledger.notary.models import Batch, BatchResult, NotAnchoredError
from ledger.notary.store import NotaryStore
from ledger.notary.tree import digest_of, sha256_file
from ledger.pipeline import Pipeline
from ledger.records import Anchor

__all__ = ["NotaryBatcher"]

log = logging.getLogger("ledger.notary")


class NotaryBatcher(NotaryStore):
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
        self.ledger = ledger
        self._signer = signer
        self.relayer = relayer
        self.receipt_timeout = receipt_timeout
        self.recheck_interval = recheck_interval
        self.pipeline = pipeline or Pipeline(ledger.chain)
        self._recheck_due = 0.0  # the first run checks the newest anchored block at once
        self._recheck_failing = False
        self._contract = ledger.contract("NotaryAnchor")
        self._run_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        identity = {"chain_id": str(ledger.chain.chain_id), "contract": to_checksum_address(self._contract.address)}
        super().__init__(store_path, court, identity, max_size=max_size, max_age=max_age, wake=self._wake.set)
        self.anchoring = Anchoring(
            self,
            ledger,
            court,
            lambda: self.signer,
            relayer=relayer,
            pipeline=self.pipeline,
            receipt_timeout=receipt_timeout,
        )

    @property
    def signer(self) -> LocalAccount:
        """The court's signing key now (a provider is asked each time)."""
        if isinstance(self._signer, LocalAccount):
            return self._signer
        account = self._signer()
        if account is None:
            raise ConfigurationError(f"no active signer key for court {self.court}: anchors wait")
        return account

    def close(self) -> None:
        """Stop the background thread and close every connection."""
        self.stop()
        super().close()

    def __enter__(self) -> NotaryBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- certificates ----------------------------------------------------------------------

    def certificate(self, receipt_id: str) -> Certificate:
        """The portable certificate of an anchored receipt (NotAnchoredError before that)."""
        receipt = self.receipt(receipt_id)
        if receipt.state != "anchored" or receipt.batch is None or receipt.proof is None:
            raise NotAnchoredError(
                f"notary receipt {receipt.id} is {receipt.state}; its certificate exists once its batch is anchored"
            )
        batch = self._batch(self._db(), receipt.batch)
        assert batch is not None and batch.signature is not None and batch.tx_hash is not None
        assert batch.signer is not None
        record = Anchor(court=self.court, root=batch.root, size=batch.size, metadata_digest=batch.metadata_digest)
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
        word = digest_of(digest, 0) if digest is not None else sha256_file(document)  # type: ignore[arg-type]
        receipt = self.receipt(receipt_id)
        if receipt.digest != word or receipt.state != "anchored":
            return False
        assert receipt.root is not None and receipt.proof is not None
        if not verify_notary_proof(receipt.root, word, receipt.nonce, receipt.proof):
            return False
        return not on_chain or self.ledger.verify_inclusion(
            self.court, receipt.root, word, receipt.nonce, list(receipt.proof)
        )

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

    def _anchor_or_fail(self, batch: Batch, *, recovered: bool) -> BatchResult | None:
        """Anchor the batch; None when the contract refuses it for good (the batch is then ``failed``).

        A refusal of a transaction signed by a key the court has since rotated is not final: the batch is
        signed anew with the current key once. Any other refusal (a court suspended, a key retired with
        no successor) fails the batch with the decoded error, so it is never retried in a loop and later
        batches keep flowing; :meth:`reanchor` sends it again once the cause is fixed.
        """
        try:
            return self.anchoring.anchor(batch, recovered=recovered)
        except ContractRevertError as exc:
            if batch.signer is not None and batch.signer != self.signer.address:
                log.info("notary batch %d: signed by a rotated key; signing anew with the current one", batch.id)
                fresh = self.anchoring.reset(batch.id)
                if fresh is not None:
                    return self._anchor_or_fail(fresh, recovered=True)  # fresh.signer is None: once only
            self.anchoring.fail(batch, exc)
            return None

    def reanchor(self, batch_id: int) -> bool:
        """Send a failed batch again (once its cause is fixed); whether it was failed."""
        with self._run_lock:
            failed = self._batch(self._db(), batch_id)
            moved = failed is not None and failed.state == "failed" and self.anchoring.reset(batch_id) is not None
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

    def _recheck_anchored(self) -> int:
        """Batches anchored in blocks the chain no longer holds go back to be anchored; how many moved
        (:meth:`ledger.notary.anchoring.Anchoring.recheck`). A node away is no error here: it is asked again
        on the next run."""
        try:
            moved = self.anchoring.recheck()
        except (ChainUnavailableError, OSError, ProviderConnectionError) as exc:  # the node is away
            self._recheck_due = 0.0
            if not self._recheck_failing:
                log.warning("notary: cannot check the chain still holds the newest anchor: %s", exc)
            self._recheck_failing = True
            return 0
        self._recheck_failing = False
        return moved
