"""The fees of every transaction the pipeline signs: :meth:`ledger.chain.Chain.fees` (EIP-1559 or legacy
as the chain has it, zero on a zero-price network, or the operator's configured price). A transaction
underpriced anyway is replaced at the same nonce. One reading of the head and fees serves up to ``reuse``
transactions within a second (three RPC calls saved per transaction when many are signed at once).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ledger.chain import Chain

__all__ = ["FeePolicy"]


class FeePolicy:
    def __init__(self, chain: Chain, *, reuse: int = 16, max_age: float = 1.0) -> None:
        self.chain = chain
        self.reuse = reuse
        self.max_age = max_age
        self._lock = threading.Lock()
        self._cached: tuple[Any, dict[str, int], int, float] | None = None

    def fees(self, latest: Any = None) -> dict[str, int]:
        """The fee fields to sign now, read fresh (:meth:`ledger.chain.Chain.fees`: the node's prices, or
        the operator's configured gas price)."""
        return self.chain.fees(latest)

    def head_and_fees(self) -> tuple[Any, dict[str, int]]:
        """The latest block and the fees to offer, read once for up to ``reuse`` transactions."""
        with self._lock:
            cached = self._cached
            if cached is not None and cached[2] < self.reuse and time.monotonic() - cached[3] < self.max_age:
                self._cached = (cached[0], cached[1], cached[2] + 1, cached[3])
                return cached[0], cached[1]
        latest = self.chain.w3.eth.get_block("latest")
        fees = self.fees(latest)
        with self._lock:
            self._cached = (latest, fees, 1, time.monotonic())
        return latest, fees

    def forget(self) -> None:
        """Read the head and fees again for the next transaction (a new pass)."""
        with self._lock:
            self._cached = None
