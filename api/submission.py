"""Write submission: a client's write accepted durably into the outbox, once, and the entries it may see.

Contract: :meth:`Submissions.submit` is idempotent per (client, Idempotency-Key): a retry of the same
request answers the entry made the first time, another request under the same key is refused (409); one
group of accepts commits at a time and each finds the writes before it, so a racing retry never builds an
entry twice. Records go to their court's lane
(:meth:`submit_record`, with the next sequence number of the record they change), governance acts and a
court's own acts outside records (:meth:`submit_court_act`) to the lane of their sender. A client sees its own
entries, its court's, or, for governance, every entry; a record of another court is 403, an unknown one 404.

Group commit: a durable commit costs a disk sync (milliseconds), a judgment's build writes its parties to
the vault, and so each accept used to cost four syncs, one after the other. Now concurrent accepts queue;
one thread at a time (the leader) takes everything queued and runs it with :meth:`Outbox.accept_many`: one
outbox transaction, one vault transaction inside it (:meth:`Vault.group`), every write in a savepoint of
both. The vault commits first, then the outbox, then every waiter hears its own outcome: two syncs for the
whole group. What each write saw is what it would have seen alone, in queue order: the idempotency lookup
and ``sequence`` read the same transaction, which holds the writes before it in the group, so a retry
queued behind its original gets the original's entry and the sequence numbers run on; a write whose build
fails is rolled back to its savepoint (vault rows included) and fails alone. No 202 is sent before both
commits returned. (Writing the vault before taking the queue would save no sync, since each write would
commit alone, and would leave vault rows behind for racing retries; grouping keeps one build per key.)
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from api.auth import Client
from api.errors import Conflict, Forbidden, IdempotencyConflict, NotFound
from api.outbox import GOVERNANCE_LANE, KIND_OF, Acceptance, Entry, NewEntry, Outbox, court_lane, family_of
from api.worker import OutboxWorker
from api.worker.process import WorkerProcess
from ledger.client import Ledger
from ledger.errors import LedgerError
from ledger.privacy import Vault
from ledger.records import Record

__all__ = ["Submissions", "WriteContext", "request_hash"]

log = logging.getLogger("api.services")

Build = Callable[[Callable[[str, int], int]], NewEntry]


@dataclass(frozen=True)
class WriteContext:
    """What makes a write idempotent: the client's key and the hash of the request it came with."""

    idempotency_key: str | None
    request_hash: bytes


def request_hash(method: str, target: str, body: bytes) -> bytes:
    return hashlib.sha256(method.upper().encode() + b"\n" + target.encode() + b"\n" + body).digest()


class Submissions:
    def __init__(
        self, outbox: Outbox, ledger: Ledger, worker: OutboxWorker | WorkerProcess, funding_wei: int,
        vault: Vault | None = None,
    ) -> None:
        self.outbox = outbox
        self.ledger = ledger
        self.worker = worker
        self.funding_wei = funding_wei
        self.vault = vault
        self._queue: list[_Waiting] = []
        self._turn = threading.Condition()
        self._leading = False

    def require_signer(self, court: int) -> None:
        if not self.outbox.has_signer(court):
            raise Conflict(
                f"this service holds no signer key for court {court}: governance admits the court "
                "(or adds a signer) through this service first"
            )

    def submit(self, client: Client, ctx: WriteContext, build: Build) -> Entry:
        """Accept a write durably (idempotent per client and key) and wake the worker."""
        if ctx.idempotency_key is not None:
            existing = self.outbox.find_idempotent(client.client_id, ctx.idempotency_key)
            if existing is not None:
                return _same_request(existing, ctx)
        entry, created = self._accept(Acceptance(client.client_id, build, ctx.idempotency_key, ctx.request_hash))
        if not created:
            return _same_request(entry, ctx)
        log.info("accepted %s %s for %s", entry.kind, entry.id, entry.lane)
        self.worker.wake()
        return entry

    def _accept(self, write: Acceptance) -> tuple[Entry, bool]:
        """Queue the write; the first waiter finding no leader commits the queue as one group (see above)."""
        mine = _Waiting(write)
        with self._turn:
            self._queue.append(mine)
            while mine.outcome is None and self._leading:
                self._turn.wait()
            if mine.outcome is None:
                self._leading = True
                group, self._queue = self._queue, []
        if mine.outcome is None:
            outcomes: list[tuple[Entry, bool] | BaseException]
            try:
                alongside = self.vault.group if self.vault is not None else nullcontext
                outcomes = list(self.outbox.accept_many([w.write for w in group], alongside=alongside))
            except BaseException as exc:  # nothing of the group committed: every waiter hears why
                outcomes = [exc] * len(group)
            with self._turn:
                for waiting, outcome in zip(group, outcomes, strict=True):
                    waiting.outcome = outcome
                self._leading = False
                self._turn.notify_all()
        done = mine.outcome
        assert done is not None
        if isinstance(done, BaseException):
            raise done
        return done

    def idempotent_entry(self, client: Client, ctx: WriteContext) -> Entry | None:
        """The entry an earlier request with this key created (checked before expensive preparation)."""
        if ctx.idempotency_key is None:
            return None
        existing = self.outbox.find_idempotent(client.client_id, ctx.idempotency_key)
        return _same_request(existing, ctx) if existing is not None else None

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
        if kind == "dossier":
            return int(self.ledger.view("JudgmentRegistry", "dossierOf", key)[0])
        raise ValueError(f"unknown sequence family {family}")

    def submit_record(
        self,
        client: Client,
        ctx: WriteContext,
        court: int,
        make: Callable[[int | None], Record],
        *,
        family: str | None = None,
        notes: dict[str, str] | None = None,
    ) -> Entry:
        """Accept a court record; ``make(sequence)`` builds it (sequence None for unsequenced kinds); ``notes``
        are kept with the entry in the same commit (:attr:`NewEntry.notes`)."""
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
                notes=dict(notes or {}),
            )

        return self.submit(client, ctx, build)

    def submit_court_act(self, client: Client, ctx: WriteContext, court: int, kind: str,
                         call: dict[str, Any]) -> Entry:
        """Accept a court's act that is not a record (an entrusted enforcement), sent by the court's signer
        on its lane, in order with its records."""
        self.require_signer(court)
        return self.submit(client, ctx, lambda _: NewEntry(lane=court_lane(court), kind=kind, court=court,
                                                           call=call))

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
        """Accept a governance act, sent by the governance account; ``fund``: an address given coins after it."""

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


@dataclass
class _Waiting:
    write: Acceptance
    outcome: tuple[Entry, bool] | BaseException | None = None


def _same_request(entry: Entry, ctx: WriteContext) -> Entry:
    if entry.request_hash != ctx.request_hash:
        raise IdempotencyConflict("this Idempotency-Key was used for a different request")
    return entry
