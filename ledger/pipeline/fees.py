"""The fees of every transaction the pipeline signs: :meth:`ledger.chain.Chain.fees` (EIP-1559 or legacy
as the chain has it, zero on a zero-price network, or the operator's configured price). A transaction
underpriced anyway is replaced at the same nonce; one the node holds but does not mine is replaced at the
same nonce with fees raised by an eighth over its own (:meth:`FeePolicy.bumped`, what nodes require of a
replacement), or, on a zero-price network, sent again as it is. One reading of the head and fees serves up to ``reuse``
transactions within a second (three RPC calls saved per transaction when many are signed at once).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ledger.chain import Chain

__all__ = ["FeePolicy"]

_FEE_FIELDS = ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas")


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

    def bumped(self, held: Any) -> dict[str, int] | None:
        """Fees for a replacement of ``held`` (the transaction as the node holds it): each field at least
        an eighth (and one wei) above the held one's, and at least what the chain asks now; None on a
        zero-price network (nothing to raise: the same bytes are sent again instead)."""
        now = self.fees()
        if not any(now.values()) and not any(int(held.get(f) or 0) for f in _FEE_FIELDS):
            return None
        out: dict[str, int] = {}
        for name, current in now.items():
            old = int(held.get(name) or held.get("gasPrice") or 0)
            out[name] = max(current, old + old // 8 + 1)
        if "maxFeePerGas" in out:
            out["maxFeePerGas"] = max(out["maxFeePerGas"], out["maxPriorityFeePerGas"])
        return out
