"""Internal notarization: digests in, receipts out, Merkle batches anchored through the pipeline.

``batcher``    :class:`NotaryBatcher`: submit, close batches by size or age, certificates, the run loop
``store``      the SQLite store: receipts, batches, trees, proofs (the anchor transactions: the journal)
``tree``       the flat Merkle tree the store keeps (pure)
``models``     receipts, batches, results, the schema
``anchoring``  a batch's anchor transaction, through :mod:`ledger.pipeline`
"""

from ledger.notary.batcher import NotaryBatcher
from ledger.notary.models import BatchResult, NotAnchoredError, Receipt, ReceiptState
from ledger.notary.tree import build_tree as _build_tree  # noqa: F401  (tests and benchmarks/notary.py)
from ledger.notary.tree import positions as _positions  # noqa: F401
from ledger.notary.tree import proof_from as _proof_from  # noqa: F401
from ledger.notary.tree import sha256_file

__all__ = [
    "BatchResult",
    "NotAnchoredError",
    "NotaryBatcher",
    "Receipt",
    "ReceiptState",
    "sha256_file",
]
