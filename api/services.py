"""Wiring: everything a request handler needs, built once per process from :class:`~api.settings.Settings`.

Contract: :meth:`Services.open` resolves the secrets (refusing placeholders in production), connects the
chain (``local``: the anvil node persisted in ``<data_dir>/chain``), deploys the contracts or reuses the
deployment recorded in ``<data_dir>/deployment.json``, and opens the stores, all under the data dir::

    dev-secrets.json   development secrets (0600)        vault.db        personal data (encrypted)
    keystore/          court signer keys (encrypted)      index.db        the read model of the chain
    outbox.sqlite      accepted writes (FULL sync)        service.sqlite  API clients, nonces, check audit
    notary.sqlite      notary batches (when enabled)      deployment.json where the contracts are

:meth:`Services.start` starts the background threads: the indexer (``Indexer.sync`` every
``index_interval_seconds``), the outbox worker, and the notary batcher when ``ledger.notary`` exists and a
notary court is configured. :meth:`Services.close` stops them and closes everything; a restart on the same
data dir resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from api.auth import Authenticator, Client, ClientRegistry
from api.checking import CheckAudit
from api.errors import Conflict, Forbidden, IdempotencyConflict, NotFound, NotReady, RateLimited
from api.outbox import GOVERNANCE_LANE, KIND_OF, Entry, NewEntry, Outbox, court_lane, family_of
from api.settings import ServiceSecrets, Settings, resolve_secrets
from api.signers import Signers
from api.worker import OutboxWorker, follow_restarted_node
from ledger import issuing
from ledger.certificates import Certificate
from ledger.chain import Chain, connect, send_transaction
from ledger.client import Ledger
from ledger.deployment import Deployment, deploy, load_deployment
from ledger.desk import CourtDesk
from ledger.errors import ConfigurationError, LedgerError
from ledger.index import Index, Indexer
from ledger.privacy import BlindIndexKey, Vault
from ledger.records import (
    CONTRACT_OF,
    Action,
    Extension,
    Filing,
    Judgment,
    JudgmentStatusChange,
    Listing,
    Record,
    Removal,
)
from ledger.signing import Keystore
from ledger.verify import NetworkDescriptor, TrustAnchors, VerificationResult, verify_certificate
from ledger.workspace import Workspace

if TYPE_CHECKING:
    from ledger.notary import NotaryBatcher

__all__ = ["CheckAudit", "RateLimiter", "Services", "WriteContext"]

log = logging.getLogger("api.services")


@dataclass(frozen=True)
class WriteContext:
    """What makes a write idempotent: the client's key and the hash of the request it came with."""

    idempotency_key: str | None
    request_hash: bytes


class RateLimiter:
    """A token bucket per key (the client IP): ``rate`` tokens a second, at most ``burst`` saved."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = max(1, int((1.0 - tokens) / self.rate + 0.999))
                raise RateLimited(
                    f"too many verification requests from this address; retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:  # forget idle addresses
                cutoff = now - self.burst / max(self.rate, 1e-9)
                self._buckets = {k: v for k, v in self._buckets.items() if v[1] >= cutoff}


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
        self.auth = Authenticator(self.clients, clock_skew=settings.clock_skew_seconds)
        self.audit = CheckAudit(root / "service.sqlite")
        self.signers = Signers(
            self.keystore, secrets.keystore_password, self.outbox, kdf=settings.keystore_kdf
        )
        self.worker = OutboxWorker(
            self.ledger, self.outbox, self.signers, self.governor, interval=settings.worker_interval_seconds
        )
        self.rate_limiter = RateLimiter(settings.verify_rate_per_second, settings.verify_burst)
        self.descriptor = NetworkDescriptor.from_deployment(deployment, settings.network_name).signed(
            self.governor
        )
        self.trust = TrustAnchors.from_descriptors([self.descriptor], [self.governor.address])
        self.notary: Any = None  # a ledger.notary.NotaryBatcher when enabled (see start_notary)
        self._accept_lock = threading.Lock()
        self._index_state = threading.Condition()
        self._indexed_block = -1
        self._indexed_time = 0
        self._index_error: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

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
        self._stop.clear()
        self.sync_index()
        thread = threading.Thread(target=self._index_loop, name="indexer", daemon=True)
        thread.start()
        self._threads.append(thread)
        self.worker.start()
        self.start_notary()

    def close(self) -> None:
        self._stop.set()
        if self.notary is not None:
            try:
                self.notary.stop()
            finally:
                self.notary.close()
        self.worker.stop()
        for thread in self._threads:
            thread.join(10)
        self._threads.clear()
        self.index.close()
        self.vault.close()
        self.outbox.close()
        self.audit.close()
        self.clients.close()
        if self.owns_chain:
            self.chain.close()

    # -- notary --------------------------------------------------------------------------------

    def start_notary(self) -> None:
        """Run a ledger.notary.NotaryBatcher for ``settings.notary_court`` when both exist."""
        court = getattr(self.settings, "notary_court", None)
        if self.notary is not None or not court or importlib.util.find_spec("ledger.notary") is None:
            return
        self.notary = self.notary_for(court, self.data_dir / "notary.sqlite")
        if self.notary is not None:
            self.notary.start()

    def notary_for(self, court: int, store: Path) -> NotaryBatcher | None:
        """A batcher (not started) anchoring for ``court``, None when this service holds no key of it.

        Each Anchor is signed by the court's key current at signing time (a rotation through the API is
        followed at once); a dedicated relayer account sends it (``anchorBySig``) through the service's one
        pipeline, so the batcher never shares a sending account, and so a nonce, with the outbox worker.
        """
        if self.signers.for_court(court) is None:
            log.warning("notary disabled: this service holds no active signer key for court %s", court)
            return None
        from ledger.notary import NotaryBatcher

        return NotaryBatcher(
            store,
            self.ledger,
            court,
            lambda: self.signers.for_court(court),
            relayer=self._notary_relayer(),
            max_size=self.settings.notary_max_size,
            max_age=self.settings.notary_max_age_seconds,
            receipt_timeout=self.settings.receipt_timeout_seconds,
            pipeline=self.worker.pipeline,
        )

    def _notary_relayer(self) -> LocalAccount:
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

    # -- index ---------------------------------------------------------------------------------

    def sync_index(self) -> None:
        result = self.indexer.sync()
        block_time = (
            int(self.chain.w3.eth.get_block(result.to_block)["timestamp"]) if result.to_block >= 0 else 0
        )
        with self._index_state:
            self._indexed_block = result.to_block
            self._indexed_time = max(self._indexed_time, block_time)
            self._index_error = None
            self._index_state.notify_all()

    def _index_loop(self) -> None:
        while not self._stop.wait(self.settings.index_interval_seconds):
            try:
                self.sync_index()
            except Exception as exc:  # the node may be restarting: keep trying
                if self._index_error != type(exc).__name__:
                    log.warning("index sync failed: %s: %s", type(exc).__name__, exc)
                self._index_error = type(exc).__name__
                follow_restarted_node(self.chain)

    @property
    def indexed_block(self) -> int:
        return self._indexed_block

    def wait_indexed(self, block: int, timeout: float = 10.0) -> bool:
        """Wait until the index covers ``block``; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._index_state:
            while self._indexed_block < block:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._index_state.wait(min(left, 0.5))
        return True

    def now(self) -> int:
        """The time partner checks are answered for: the wall clock, or the indexed chain if it runs ahead."""
        return max(int(time.time()), self._indexed_time)

    # -- writing -------------------------------------------------------------------------------

    def desk(self, court: int) -> CourtDesk:
        return CourtDesk(court, self.vault, self.blind_key, self.secrets.case_key)

    def require_signer(self, court: int) -> None:
        if not self.outbox.has_signer(court):
            raise Conflict(
                f"this service holds no signer key for court {court}: governance admits the court "
                "(or adds a signer) through this service first"
            )

    def submit(
        self, client: Client, ctx: WriteContext, build: Callable[[Callable[[str, int], int]], NewEntry]
    ) -> Entry:
        """Accept a write durably (idempotent per client and key) and wake the worker."""
        if ctx.idempotency_key is not None:
            existing = self.outbox.find_idempotent(client.client_id, ctx.idempotency_key)
            if existing is not None:
                return self._same_request(existing, ctx)
        with self._accept_lock:  # one accept at a time: a racing retry never runs ``build`` twice
            entry, created = self.outbox.accept(
                client.client_id, build, idempotency_key=ctx.idempotency_key, request_hash=ctx.request_hash
            )
        if not created:
            return self._same_request(entry, ctx)
        log.info("accepted %s %s for %s", entry.kind, entry.id, entry.lane)
        self.worker.wake()
        return entry

    @staticmethod
    def _same_request(entry: Entry, ctx: WriteContext) -> Entry:
        if entry.request_hash != ctx.request_hash:
            raise IdempotencyConflict("this Idempotency-Key was used for a different request")
        return entry

    def idempotent_entry(self, client: Client, ctx: WriteContext) -> Entry | None:
        """The entry an earlier request with this key created (checked before expensive preparation)."""
        if ctx.idempotency_key is None:
            return None
        existing = self.outbox.find_idempotent(client.client_id, ctx.idempotency_key)
        return self._same_request(existing, ctx) if existing is not None else None

    def outside_count(self, family: str) -> int:
        """How many changes the chain holds for a sequenced target (used once, when first seen)."""
        kind, _, target = family.partition(":")
        key = bytes.fromhex(target[2:])
        if kind == "case":
            return int(self.ledger.case(key)["actions"])
        if kind == "judgment":
            return int(self.ledger.judgment(key)["changes"])
        if kind == "listing":
            return int(self.ledger.listing(key)["changes"])
        raise ValueError(f"unknown sequence family {family}")

    def submit_record(
        self,
        client: Client,
        ctx: WriteContext,
        court: int,
        make: Callable[[int | None], Record],
        *,
        family: str | None = None,
    ) -> Entry:
        """Accept a court record; ``make(sequence)`` builds it (sequence None for unsequenced kinds)."""
        self.require_signer(court)
        outside = self.outside_count(family) if family is not None else 0

        def build(sequence: Callable[[str, int], int]) -> NewEntry:
            record = make(sequence(family, outside) if family is not None else None)
            return NewEntry(
                lane=court_lane(court),
                kind=KIND_OF[type(record)],
                court=court,
                record=record,
                family=family_of(record),
            )

        return self.submit(client, ctx, build)

    def submit_governance(
        self,
        client: Client,
        ctx: WriteContext,
        kind: str,
        call: dict[str, Any],
        *,
        signer_key: tuple[int, str] | None = None,
        fund: str | None = None,
    ) -> Entry:
        def build(_: Callable[[str, int], int]) -> NewEntry:
            extra = []
            wei = self.funding_wei
            if fund is not None and wei > 0:
                extra.append(
                    NewEntry(lane=GOVERNANCE_LANE, kind="fund", call={"to": fund, "value": str(wei)})
                )
            return NewEntry(
                lane=GOVERNANCE_LANE,
                kind=kind,
                court=call.get("court"),
                call=call,
                signer_key=signer_key,
                extra=extra,
            )

        return self.submit(client, ctx, build)

    # -- reading -------------------------------------------------------------------------------

    def entry_for(self, client: Client, entry_id: str) -> Entry:
        """An outbox entry the client may see: its own, its court's, or any for governance."""
        try:
            entry = self.outbox.get(entry_id)
        except LedgerError:
            raise NotFound(f"no outbox record {entry_id}") from None
        if entry.client_id == client.client_id or client.kind == "governance":
            return entry
        if (
            client.kind in ("court", "notary")
            and client.court_id is not None
            and entry.court == client.court_id
        ):
            return entry
        raise NotFound(f"no outbox record {entry_id}")

    def record_entry(self, client: Client, record_id: bytes, kind: str) -> Entry:
        """The confirmed outbox entry of a record of ``client``'s court."""
        entry = self.outbox.by_record_id(record_id, kind)
        if entry is None:
            raise NotFound(f"this service holds no {kind.replace('_', ' ')} 0x{record_id.hex()}")
        if client.kind != "governance" and entry.court != client.court_id:
            raise Forbidden(f"the {kind.replace('_', ' ')} belongs to another court")
        return entry

    # -- certificates --------------------------------------------------------------------------

    def _written(self, entry: Entry) -> Any:
        record = entry.typed_record()
        name = CONTRACT_OF[type(record)]
        return entry.written(name, self.deployment.address(name))

    def certificate(self, entry: Entry) -> Certificate:
        """The certificate of a confirmed record (for a change: of the record it changed)."""
        if entry.state == "failed":
            raise Conflict(f"outbox record {entry.id} failed; it has no certificate")
        if entry.state != "confirmed":
            raise NotReady(
                f"outbox record {entry.id} is {entry.state}; its certificate exists once confirmed"
            )
        if entry.record is None:
            raise NotFound(f"outbox record {entry.id} is a governance act; it has no certificate")
        record = entry.typed_record()
        chain_id = self.chain.chain_id
        if isinstance(record, Judgment):
            return issuing.judgment(self._written(entry), chain_id)
        if isinstance(record, Filing):
            as_of = issuing.head(self.chain.w3)
            if not self.wait_indexed(as_of.number):
                raise NotReady("the index is catching up with the chain; retry in a moment")
            view = self.index.case_history(record.record_id())
            if view is None:
                raise NotReady("the case is not indexed yet; retry in a moment")
            return issuing.case(self._written(entry), chain_id, view, as_of)
        if isinstance(record, Listing):
            return issuing.listing(self.ledger, self._written(entry), chain_id, issuing.head(self.chain.w3))
        parent = self._parent(entry, record)
        return self.certificate(parent)

    def _parent(self, entry: Entry, record: Record) -> Entry:
        target: tuple[bytes, str] | None = None
        if isinstance(record, Action):
            target = (record.case_id, "filing")
        elif isinstance(record, JudgmentStatusChange):
            target = (record.judgment_id, "judgment")
        elif isinstance(record, Extension | Removal):
            target = (record.listing_id, "listing")
        if target is None:
            raise NotFound(
                f"outbox record {entry.id} ({entry.kind}) has no certificate here; notarized digests "
                "are certified by the notary endpoints"
            )
        parent = self.outbox.by_record_id(target[0], target[1])
        if parent is None or parent.state != "confirmed":
            raise NotFound(f"this service holds no signed {target[1]} 0x{target[0].hex()} to certify")
        return parent

    # -- verification --------------------------------------------------------------------------

    def verify(self, certificate: dict[str, Any], document_sha256: bytes | None,
               at: int | None = None) -> VerificationResult:
        """Verify against this service's own node; a document digest is checked like a document."""
        return verify_certificate(certificate, trust=self.trust, rpc=self.chain.w3, document_digest=document_sha256,
                                  at=at)


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


def request_hash(method: str, target: str, body: bytes) -> bytes:
    return hashlib.sha256(method.upper().encode() + b"\n" + target.encode() + b"\n" + body).digest()
