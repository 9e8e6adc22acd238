"""The worker's loop: the background thread, one pass over the lanes, and following a lane's
transactions in flight (see the package docstring for the whole contract)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount

from api.outbox import GOVERNANCE_LANE, Entry, Outbox
from api.signers import Signers
from api.worker.sending import _SENT, _WAIT, _Sending
from ledger.chain import Chain
from ledger.client import Ledger
from ledger.pipeline import Pipeline

log = logging.getLogger("api.worker")  # one logger for the whole worker, as before the split


def follow_restarted_node(chain: Chain) -> None:
    """After a failed call: if the local node was restarted elsewhere, connect to it (see Chain.reconnect)."""
    try:
        if chain.reconnect():
            log.warning("the chain node was restarted; connected to it at %s", chain.url)
    except Exception as exc:
        log.warning("cannot reconnect to the chain node yet: %s", exc)



class OutboxWorker(_Sending):
    """Drives outbox entries to a final state. ``run_once`` does one pass (tests call it directly)."""

    def __init__(
        self,
        ledger: Ledger,
        outbox: Outbox,
        signers: Signers,
        governor: LocalAccount,
        *,
        interval: float = 0.1,
        resend_after: float = 2.0,
        recheck_interval: float = 1.0,
        log_search_margin: int = 128,
        search_grace: float = 10.0,
        on_finished: Callable[[Entry], None] | None = None,
        pipeline: Pipeline | None = None,
        group_size: int = 32,
        wake_event: Any = None,
    ) -> None:
        self.ledger = ledger
        self.w3 = ledger.w3
        self.outbox = outbox
        self.signers = signers
        self.governor = governor
        self.interval = interval
        self.pipeline = pipeline or Pipeline(ledger.chain, nonces=outbox, resend_after=resend_after)
        self.on_finished = on_finished
        # what wake() sets: a multiprocessing Event when the worker runs in a process of its own
        self._wake = wake_event if wake_event is not None else threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_broadcast: dict[str, float] = {}
        self.recheck_interval = recheck_interval
        self._recheck_due = 0.0
        self.log_search_margin = log_search_margin
        self.search_grace = search_grace
        self._searching: dict[str, tuple[float, float]] = {}  # entry -> (first search, next search)
        self.group_size = group_size
        self._block_times: dict[int, int] = {}  # block number -> timestamp, read in one batch per look

    # -- thread --------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception as exc:  # the loop must survive a node restart or a transient fault
                log.warning("outbox pass failed: %s: %s", type(exc).__name__, exc)
                busy = 0
                self._recheck_due = 0.0  # after the node comes back, look for blocks it lost first
                self._stop.wait(1.0)
                follow_restarted_node(self.ledger.chain)
            if not busy:
                self._wake.wait(self.interval)
                self._wake.clear()

    # -- one pass ------------------------------------------------------------------------------

    def run_once(self) -> int:
        progressed = 0
        self.pipeline.fees.forget()
        now = time.monotonic()
        if now >= self._recheck_due:
            self._recheck_due = now + self.recheck_interval
            progressed += self._recheck_settled()
        for lane in self.outbox.lanes_with_work():
            if self._stop.is_set():
                break
            progressed += self._process_lane(lane)
        return progressed

    def _process_lane(self, lane: str) -> int:
        progressed, in_flight = self._follow_lane(lane)
        accepted = self.outbox.entries(lane, "accepted")
        i = 0
        while i < len(accepted):
            entry = accepted[i]
            if lane != GOVERNANCE_LANE and self.outbox.open_governance_before(entry.seq):
                break
            sent = self._send_group(self._group_from(lane, accepted[i:]))
            if sent:
                progressed += sent
                in_flight = True
                i += sent
                continue
            outcome = self._send_new(entry, in_flight)
            if outcome == _WAIT:
                break
            progressed += 1
            if outcome == _SENT:
                in_flight = True
            i += 1
        return progressed

    # -- following -----------------------------------------------------------------------------

    def _follow_lane(self, lane: str) -> tuple[int, bool]:
        """Follow the lane's transactions in flight, in nonce order (see :meth:`Pipeline.follow_many`:
        receipts in one batch, what the node lost sent again lowest nonce first); the ones mined with
        success are settled in one commit. (entries settled, whether any is still in flight)"""
        entries = self.outbox.entries(lane, "submitted")
        if not entries:
            return 0, False
        followed = self.pipeline.follow_many(
            [(e.tx_hash or "", e.raw_tx, self._last_broadcast.get(e.id)) for e in entries]
        )
        mined = [f.receipt for f in followed if f.receipt is not None and f.receipt["status"] == 1]
        self._block_times = self.pipeline.block_times([int(r["blockNumber"]) for r in mined])
        progressed = 0
        in_flight = False
        with self.outbox.group():
            for entry, found in zip(entries, followed, strict=True):
                if found.receipt is not None and found.receipt["status"] == 1:
                    self._finish(entry, found.receipt)
                    progressed += 1
        for entry, found in zip(entries, followed, strict=True):
            if found.receipt is not None:
                if found.receipt["status"] != 1:  # a revert: replayed and searched, one by one
                    self._finish(entry, found.receipt)
                    progressed += 1
                continue
            if found.looked is not None:
                self._last_broadcast[entry.id] = found.looked
            if found.refused is not None and self._refused(entry, found.refused):
                progressed += 1
                continue
            if found.stuck is not None:
                self._replace_stuck(entry, found.stuck)
            if self.outbox.get(entry.id).state == "submitted":
                in_flight = True
        self._block_times = {}
        return progressed, in_flight
