"""Wiring: everything a request handler needs, built once per process from :class:`~api.settings.Settings`.

Contract: :meth:`Services.open` resolves the secrets (refusing placeholders in production), connects the
chain (``local``: the anvil node persisted in ``<data_dir>/chain``), deploys the contracts or reuses the
deployment recorded in ``<data_dir>/deployment.json``, and opens the stores, all under the data dir::

    dev-secrets.json   development secrets (0600)        vault.db        personal data (encrypted)
    keystore/          court signer keys (encrypted)      index.db        the read model of the chain
    outbox.sqlite      accepted writes (FULL sync)        service.sqlite  API clients, nonces, check audit
    notary.sqlite      notary batches (when enabled)      deployment.json where the contracts are

:meth:`Services.start` starts the background threads: the indexer (``Indexer.sync`` every
``index_interval_seconds``), the outbox worker (a thread, or a process of its own with
``settings.worker_process``: :mod:`api.worker.process`), and the notary batcher when ``ledger.notary``
exists and a notary court is configured. :meth:`Services.close` stops them and closes everything; a restart on the same
data dir resumes where it stopped.

This module only wires and runs; each job has its unit: :mod:`api.submission` (writes accepted into the
outbox, ``services.writes``), :mod:`api.certifying` (certificates and verification, ``services.certificates``),
:mod:`api.following` (the index kept up, ``services.following``), :mod:`api.notary_wiring` (the notary
batcher, ``services.notaries``) and :mod:`api.ratelimit` (``services.rate_limiter``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from api.auth import Authenticator, ClientRegistry
from api.certifying import Certifier
from api.checking import CheckAudit
from api.following import IndexFollower
from api.notary_wiring import NotaryWiring
from api.outbox import Outbox
from api.ratelimit import RateLimiter
from api.settings import ServiceSecrets, Settings, resolve_secrets
from api.signers import Signers
from api.submission import Submissions, WriteContext, request_hash
from api.worker import OutboxWorker
from api.worker.process import WorkerProcess
from ledger.chain import Chain, connect, send_transaction
from ledger.client import Ledger
from ledger.deployment import Deployment, deploy, load_deployment
from ledger.desk import CourtDesk
from ledger.errors import ConfigurationError
from ledger.index import Index, Indexer
from ledger.pipeline import Pipeline
from ledger.privacy import BlindIndexKey, Vault
from ledger.signing import Keystore
from ledger.verify import NetworkDescriptor, TrustAnchors
from ledger.workspace import Workspace

if TYPE_CHECKING:
    from ledger.notary import NotaryBatcher

__all__ = ["CheckAudit", "RateLimiter", "Services", "WriteContext", "request_hash"]

log = logging.getLogger("api.services")


def _serialise_provider(chain: Chain) -> None:
    """The in-memory eth-tester chain is not thread-safe: one request at a time."""
    provider: Any = chain.w3.provider
    original = provider.make_request
    lock = threading.RLock()

    def make_request(method: Any, params: Any) -> Any:
        with lock:
            return original(method, params)

    provider.make_request = make_request


class Services:
    """The running service's parts. Build with :meth:`open`; then :meth:`start`; finally :meth:`close`."""

    def __init__(
        self,
        settings: Settings,
        secrets: ServiceSecrets,
        chain: Chain,
        deployment: Deployment,
        *,
        owns_chain: bool = True,
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.chain = chain
        self.owns_chain = owns_chain
        self.deployment = deployment
        self.ledger = Ledger(chain, deployment)
        # A zero-fee network needs no coins anywhere: new signers and the notary relayer are not funded.
        self.funding_wei = settings.funding_wei() if chain.charges_fees() else 0
        self.governor: LocalAccount = secrets.governor
        self.blind_key: BlindIndexKey = secrets.blind_key
        root = Path(settings.data_dir).resolve()
        self.data_dir = root
        self.workspace = Workspace(root, settings.mode)
        self.keystore = Keystore(self.workspace.keystore.directory)
        self.vault = Vault.open(self.workspace.vault_path, secrets.vault_key)
        self.index = Index(self.workspace.index_path)
        self.indexer = Indexer(self.ledger, self.index, confirmations=settings.index_confirmations)
        self.outbox = Outbox(root / "outbox.sqlite")
        self.clients = ClientRegistry(root / "service.sqlite")
        if settings.clients_file is not None:
            self.clients.load_file(settings.clients_file)
        self.auth = Authenticator(self.clients, clock_skew=settings.clock_skew_seconds, public_url=settings.public_url)
        self.audit = CheckAudit(root / "service.sqlite")
        self.signers = Signers(
            self.keystore, secrets.keystore_password, self.outbox, kdf=settings.keystore_kdf
        )
        self.pipeline = Pipeline(chain, nonces=self.outbox, resend_after=2.0)
        self.worker = OutboxWorker(
            self.ledger, self.outbox, self.signers, self.governor, interval=settings.worker_interval_seconds,
            pipeline=self.pipeline,
        )
        #: the outbox worker in a process of its own (settings.worker_process), else None: ``worker`` runs here
        self.worker_process = WorkerProcess(settings, chain) if settings.worker_process else None
        sending = self.worker_process or self.worker
        self.rate_limiter = RateLimiter(settings.verify_rate_per_second, settings.verify_burst)
        self.descriptor = NetworkDescriptor.from_deployment(deployment, settings.network_name).signed(
            self.governor
        )
        self.trust = TrustAnchors.from_descriptors([self.descriptor], [self.governor.address])
        self.following = IndexFollower(chain, self.indexer, settings.index_interval_seconds)
        self.writes = Submissions(self.outbox, self.ledger, sending, self.funding_wei, self.vault)
        self.certificates = Certifier(chain, self.ledger, self.index, self.outbox, self.following, self.trust)
        self.notaries = NotaryWiring(chain, self.ledger, self.outbox, self.signers, sending, self.pipeline,
                                    self.funding_wei)
        self.notary: NotaryBatcher | None = None  # when enabled (see start_notary)

    # -- life cycle ----------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings, *, chain: Chain | None = None) -> Services:
        """Secrets, chain, deployment (deployed or reused), stores. Nothing runs until :meth:`start`."""
        secrets = resolve_secrets(settings)
        if settings.mode == "production" and settings.chain.strip() == "memory":
            raise ConfigurationError("production mode cannot run on the in-memory chain")
        root = Path(settings.data_dir).resolve()
        root.mkdir(parents=True, exist_ok=True)
        owns = chain is None
        if chain is None:
            chain = connect(
                settings.chain, data_dir=root / "chain", chain_id=settings.chain_id, port=settings.chain_port
            )
        try:
            if chain.kind == "memory":
                _serialise_provider(chain)
            _same_chain_or_fresh(chain, root)
            if settings.mode == "development":
                _fund_dev_governor(chain, secrets.governor, settings.dev_governor_funding_wei)
            deployment = deploy(chain, secrets.governor, root / "deployment.json")
            if to_checksum_address(deployment.governor) != secrets.governor.address:
                raise ConfigurationError(
                    f"the deployment in {root / 'deployment.json'} is governed by {deployment.governor}, "
                    f"not by the configured governance key ({secrets.governor.address})"
                )
            return cls(settings, secrets, chain, deployment, owns_chain=owns)
        except BaseException:
            if owns:
                chain.close()
            raise

    def start(self) -> None:
        self.following.start()
        (self.worker_process or self.worker).start()
        self.start_notary()

    def close(self) -> None:
        if self.notary is not None:
            try:
                self.notary.stop()
            finally:
                self.notary.close()
        (self.worker_process or self.worker).stop()
        self.following.stop()
        self.index.close()
        self.vault.close()
        self.outbox.close()
        self.audit.close()
        self.clients.close()
        if self.owns_chain:
            self.chain.close()

    def start_notary(self) -> None:
        """Run the notary batcher of ``settings.notary_court`` when configured (see :mod:`api.notary_wiring`)."""
        if self.notary is None:
            self.notary = self.notaries.configured(self.settings, self.data_dir / "notary.sqlite")
            if self.notary is not None:
                self.notary.start()

    def notary_for(self, court: int, store: Path) -> NotaryBatcher | None:
        return self.notaries.notary_for(self.settings, court, store)

    # -- shortcuts routes and health read often ------------------------------------------------

    @property
    def indexed_block(self) -> int:
        return self.following.indexed_block

    def wait_indexed(self, block: int, timeout: float = 10.0) -> bool:
        return self.following.wait_indexed(block, timeout)

    def now(self) -> int:
        return self.following.now()

    def desk(self, court: int) -> CourtDesk:
        """A court's desk: prepares its records (parties to the vault, case numbers keyed)."""
        return CourtDesk(court, self.vault, self.blind_key, self.secrets.case_key)


def _same_chain_or_fresh(chain: Chain, root: Path) -> None:
    """Refuse to deploy a second suite over a data dir whose records belong to the first.

    ``deploy`` replaces a deployments file that does not describe the connected chain. With an outbox
    already there, that would silently start an empty ledger beside the recorded one (and the index,
    the outbox and the certificates would point at contracts that are gone).
    """
    path = root / "deployment.json"
    if not path.is_file() or not (root / "outbox.sqlite").is_file():
        return
    existing = load_deployment(path)
    genesis = "0x" + bytes(chain.genesis_hash).hex()
    problems = []
    if existing.chain_id != chain.chain_id:
        problems.append(f"chain id {chain.chain_id}, not {existing.chain_id}")
    if existing.genesis_hash.lower() != genesis:
        problems.append(f"genesis block {genesis}, not {existing.genesis_hash}")
    missing = [
        n for n, c in existing.contracts.items() if not chain.w3.eth.get_code(to_checksum_address(c.address))
    ]
    if missing:
        problems.append(f"no code for {', '.join(missing)}")
    if problems:
        raise ConfigurationError(
            f"the chain at {chain.url or chain.kind} is not the one {path} describes "
            f"({'; '.join(problems)}). Refusing to deploy a new suite over the records in {root}: "
            "reconnect the right chain, or move the data dir away to start an empty ledger"
        )


def _fund_dev_governor(chain: Chain, governor: LocalAccount, wei: int) -> None:
    """Development: give the generated governance account coins from the chain's dev accounts."""
    if not chain.accounts or wei <= 0 or not chain.charges_fees():
        return
    if chain.w3.eth.get_balance(governor.address) >= wei // 2:
        return
    funder = chain.accounts[0]
    if funder.address == governor.address:
        return
    receipt = send_transaction(chain, funder, {"to": governor.address, "value": wei})
    if receipt["status"] != 1:
        raise ConfigurationError("could not fund the development governance account")

