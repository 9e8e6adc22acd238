"""The notary's wiring: a batcher anchoring for one court, its relayer account, and the relayer's coins.

Contract: :func:`notary_for` builds a ``ledger.notary.NotaryBatcher`` (not started) when this service holds
an active signer key of the court, None otherwise. Each Anchor is signed by the court's key current at
signing time (a rotation through the API is followed at once); a dedicated relayer account sends it
(``anchorBySig``) through the service's pipeline (the outbox worker's own when it runs in the service's
process), so the batcher never shares a sending account, and so a nonce, with the outbox worker. Where
gas costs coins, the relayer is funded at most once an hour through the governance lane of the outbox.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount

from api.outbox import GOVERNANCE_LANE, NewEntry, Outbox
from api.settings import Settings
from api.signers import Signers
from api.worker import OutboxWorker
from api.worker.process import WorkerProcess
from ledger.chain import Chain
from ledger.client import Ledger
from ledger.pipeline import Pipeline

if TYPE_CHECKING:
    from ledger.notary import NotaryBatcher

__all__ = ["NotaryWiring"]

log = logging.getLogger("api.services")


class NotaryWiring:
    """Settings are passed per call: they are the service's current ones (tests and operators may swap them)."""

    def __init__(self, chain: Chain, ledger: Ledger, outbox: Outbox, signers: Signers,
                 worker: OutboxWorker | WorkerProcess, pipeline: Pipeline, funding_wei: int) -> None:
        self.chain = chain
        self.ledger = ledger
        self.outbox = outbox
        self.signers = signers
        self.worker = worker  # woken when the relayer needs coins
        self.pipeline = pipeline
        self.funding_wei = funding_wei

    def configured(self, settings: Settings, store: Path) -> NotaryBatcher | None:
        """The batcher for ``settings.notary_court`` when one is configured and ``ledger.notary`` exists."""
        court = getattr(settings, "notary_court", None)
        if not court or importlib.util.find_spec("ledger.notary") is None:
            return None
        return self.notary_for(settings, court, store)

    def notary_for(self, settings: Settings, court: int, store: Path) -> NotaryBatcher | None:
        """A batcher (not started) anchoring for ``court``, None when this service holds no key of it."""
        if self.signers.for_court(court) is None:
            log.warning("notary disabled: this service holds no active signer key for court %s", court)
            return None
        from ledger.notary import NotaryBatcher

        return NotaryBatcher(
            store,
            self.ledger,
            court,
            lambda: self.signers.for_court(court),
            relayer=self.relayer(),
            max_size=settings.notary_max_size,
            max_age=settings.notary_max_age_seconds,
            receipt_timeout=settings.receipt_timeout_seconds,
            pipeline=self.pipeline,
        )

    def relayer(self) -> LocalAccount:
        address = self.outbox.get_meta("notary_relayer")
        if address is None:
            account = self.signers.create()
            self.outbox.set_meta("notary_relayer", account.address)
        else:
            account = self.signers.account(address)
        wei = self.funding_wei
        if wei and self.chain.w3.eth.get_balance(account.address) < wei // 10:
            self.outbox.accept(
                "service",
                lambda _: NewEntry(
                    lane=GOVERNANCE_LANE, kind="fund", call={"to": account.address, "value": str(wei)}
                ),
                idempotency_key=f"fund-notary-relayer:{account.address}:{int(time.time()) // 3600}",
            )
            self.worker.wake()
        return account
