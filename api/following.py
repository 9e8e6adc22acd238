"""The read model kept up with the chain: one indexer thread, and what it covers.

Contract: :meth:`IndexFollower.start` indexes once, then every ``interval`` seconds in a thread until
:meth:`stop`; a failed sync (the node restarting) is logged once per kind of error and retried, following a
restarted local node. :meth:`wait_indexed` lets a request wait until the index covers a block; :meth:`now`
is the time partner checks are answered for.
"""

from __future__ import annotations

import logging
import threading
import time

from api.worker import follow_restarted_node
from ledger.chain import Chain
from ledger.index import Indexer

__all__ = ["IndexFollower"]

log = logging.getLogger("api.services")


class IndexFollower:
    def __init__(self, chain: Chain, indexer: Indexer, interval: float) -> None:
        self.chain = chain
        self.indexer = indexer
        self.interval = interval
        self._state = threading.Condition()
        self._indexed_block = -1
        self._indexed_time = 0
        self._error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self.sync()
        self._thread = threading.Thread(target=self._loop, name="indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def sync(self) -> None:
        result = self.indexer.sync()
        block_time = (
            int(self.chain.w3.eth.get_block(result.to_block)["timestamp"]) if result.to_block >= 0 else 0
        )
        with self._state:
            self._indexed_block = result.to_block
            self._indexed_time = max(self._indexed_time, block_time)
            self._error = None
            self._state.notify_all()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sync()
            except Exception as exc:  # the node may be restarting: keep trying
                if self._error != type(exc).__name__:
                    log.warning("index sync failed: %s: %s", type(exc).__name__, exc)
                self._error = type(exc).__name__
                follow_restarted_node(self.chain)

    @property
    def indexed_block(self) -> int:
        return self._indexed_block

    def wait_indexed(self, block: int, timeout: float = 10.0) -> bool:
        """Wait until the index covers ``block``; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._state:
            while self._indexed_block < block:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._state.wait(min(left, 0.5))
        return True

    def now(self) -> int:
        """The time partner checks are answered for: the wall clock, or the indexed chain if it runs ahead."""
        return max(int(time.time()), self._indexed_time)
