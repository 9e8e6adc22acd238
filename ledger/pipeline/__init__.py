"""How a write reaches the chain: the one durable transaction pipeline (see :mod:`ledger.pipeline.core`).

``core``   estimate, sign under a nonce lane, store before sending, send, follow to a receipt, resend
``lanes``  one nonce lane per sending account
``fees``   the fee policy (EIP-1559, legacy, zero-price networks)
``rpc``    what a node's answers mean (refusals, receipts, block hashes, revert data)
``lost``   writes settled in blocks the chain later lost, found newest block first
"""

from ledger.pipeline.core import Pipeline
from ledger.pipeline.fees import FeePolicy
from ledger.pipeline.lanes import ChainNonces, NonceLanes, NonceStore
from ledger.pipeline.lost import recheck_lost_blocks
from ledger.pipeline.rpc import Refusal, Refused

__all__ = [
    "ChainNonces",
    "FeePolicy",
    "NonceLanes",
    "NonceStore",
    "Pipeline",
    "Refusal",
    "Refused",
    "recheck_lost_blocks",
]
