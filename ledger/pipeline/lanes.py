"""Nonce lanes: one per sending account, so that each nonce is handed out once and stored before use.

A lane's nonce is the larger of the count the store kept for the account and the node's pending count
(the node may have mined transactions the store never heard of: another process, a key used elsewhere;
the store may know of transactions the node lost with a restart, whose nonces it will resend). Signing
and storing happen under the lane's lock, so two writers of one account never take one nonce; different
accounts never wait for each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["ChainNonces", "NonceLanes", "NonceStore"]


class NonceStore(Protocol):
    def next_nonce(self, address: str, chain_pending: int) -> int:
        """The nonce to use for ``address`` now, and count it as used (durably)."""
        ...


class ChainNonces:
    """A store that keeps nothing: the node's pending count (for a sender no one else uses)."""

    def next_nonce(self, address: str, chain_pending: int) -> int:
        return chain_pending


class NonceLanes:
    def __init__(self, w3: Any, store: NonceStore | None = None) -> None:
        self.w3 = w3
        self.store: NonceStore = store if store is not None else ChainNonces()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, address: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    @contextmanager
    def lane(self, address: str) -> Iterator[Callable[[], int]]:
        """Hold ``address``'s lane; yields a function that hands out its next nonce (call it once)."""
        with self._lock(address):

            def take() -> int:
                pending = int(self.w3.eth.get_transaction_count(address, "pending"))
                return self.store.next_nonce(address, pending)

            yield take
