"""What an outbox row is: its states, the typed entry, the record kinds, the lanes.

States (``state`` column)::

    accepted --(worker signs; transaction journaled, nonce stored)--> submitted --(receipt status 1)--> confirmed
        |                                                   |
        +--(estimation reverts, nothing earlier pending)--> failed <--(receipt status 0: decoded revert)
                                                            |
    submitted --(nonce taken by another transaction)--> accepted (signed again with a new nonce)
    accepted --(an earlier transaction of this entry is found to have recorded it)--> confirmed
    confirmed | failed --(the node lost the block that settled it)--> submitted (the same raw tx again)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ledger.client import Written
from ledger.errors import NotFoundError
from ledger.pipeline.journal import JournalRow, owner_key
from ledger.records import (
    Action,
    Anchor,
    Dossier,
    Extension,
    Filing,
    Judgment,
    JudgmentStatusChange,
    Listing,
    Record,
    RecordId,
    Removal,
)

__all__ = [
    "GOVERNANCE_LANE",
    "KIND_OF",
    "Adopted",
    "Entry",
    "NewEntry",
    "Previous",
    "State",
    "court_lane",
    "family_of",
    "owner_of",
    "record_class",
]

State = Literal["accepted", "submitted", "confirmed", "failed"]
OPEN_STATES = ("accepted", "submitted")
GOVERNANCE_LANE = "governance"

#: outbox kind -> record class, for rows that carry a signed record
RECORD_KINDS: dict[str, type[Record]] = {
    "judgment": Judgment,
    "status_change": JudgmentStatusChange,
    "dossier": Dossier,
    "filing": Filing,
    "action": Action,
    "listing": Listing,
    "extension": Extension,
    "removal": Removal,
    "anchor": Anchor,
}
KIND_OF: dict[type[Record], str] = {cls: kind for kind, cls in RECORD_KINDS.items()}


def record_class(kind: str) -> type[Record] | None:
    return RECORD_KINDS.get(kind)


def court_lane(court: int) -> str:
    return f"court:{int(court)}"


def owner_of(entry_id: str) -> str:
    """The journal's owner key of an outbox entry's transactions."""
    return owner_key("outbox", entry_id)


def family_of(record: Record) -> str | None:
    """The sequenced target a record advances: a case's actions, a judgment's or a listing's changes."""
    if isinstance(record, Action):
        return "case:0x" + record.case_id.hex()
    if isinstance(record, JudgmentStatusChange):
        return "judgment:0x" + record.judgment_id.hex()
    if isinstance(record, Dossier):
        return "dossier:0x" + record.judgment_id.hex()
    if isinstance(record, Extension | Removal):
        return "listing:0x" + record.listing_id.hex()
    return None


@dataclass(frozen=True)
class Previous:
    """A transaction an entry signed and then stopped following (re-signed, or replaced)."""

    tx_hash: str
    sender: str | None
    nonce: int | None
    raw_tx: bytes | None

    @classmethod
    def of(cls, row: JournalRow) -> Previous:
        return cls(row.tx_hash, row.sender, row.nonce, row.raw_tx)


@dataclass(frozen=True)
class Adopted:
    """An earlier transaction of an entry, found on chain, that becomes the entry's own (see mark_confirmed)."""

    signer: str | None  # None (with signature None) for a governance act or a funding transfer
    signature: bytes | None
    sender: str
    nonce: int
    raw_tx: bytes | None


@dataclass(frozen=True)
class Entry:
    """One outbox row, with its transactions from the journal."""

    seq: int
    id: str
    client_id: str
    idempotency_key: str | None
    request_hash: bytes | None
    lane: str
    court: int | None
    kind: str
    record: dict[str, Any] | None
    record_id: bytes | None
    call: dict[str, Any] | None
    family: str | None
    state: State
    signer: str | None
    signature: bytes | None
    sender: str | None
    nonce: int | None
    raw_tx: bytes | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_time: int | None
    gas_used: int | None
    error: dict[str, Any] | None
    note: str | None
    accepted_at: float
    submitted_at: float | None
    finished_at: float | None
    attempts: int
    #: transactions this entry signed and stopped following, oldest first (see :class:`Previous`)
    previous_transactions: tuple[Previous, ...] = ()
    #: the chain's newest block number when the entry was first signed
    first_block: int | None = None
    #: every transaction of the entry in the journal, oldest first (the current one included)
    journal: tuple[JournalRow, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_row(cls, row: Sequence[Any], journal: Sequence[JournalRow] = ()) -> Entry:
        values = list(row)
        for i in (8, 10, 23):  # record, call, error
            values[i] = json.loads(values[i]) if values[i] is not None else None
        for i in (4, 9, 14, 17):  # request_hash, record_id, signature, raw_tx
            values[i] = bytes(values[i]) if values[i] is not None else None
        current = values[18]
        previous = tuple(Previous.of(r) for r in journal if r.tx_hash != current)
        heads = [r.head_block for r in journal if r.head_block is not None]
        first = min(heads) if heads else None
        return cls(*values, previous, first, tuple(journal))  # type: ignore[call-arg]  # row + journal

    def typed_record(self) -> Record:
        cls = RECORD_KINDS.get(self.kind)
        if cls is None or self.record is None:
            raise NotFoundError(f"outbox entry {self.id} carries no record")
        return cls.model_validate(self.record)

    @property
    def finished(self) -> bool:
        return self.state in ("confirmed", "failed")

    def written(self, contract: str, contract_address: str) -> Written:
        """The confirmed write, as the certificate builders take it."""
        if self.state != "confirmed" or self.signature is None:
            raise NotFoundError(f"outbox entry {self.id} is not a confirmed record")
        assert self.record_id is not None and self.tx_hash and self.block_hash and self.signer and self.sender
        return Written(
            record=self.typed_record(),
            record_id=RecordId(self.record_id),
            signature=self.signature,
            signer=self.signer,
            contract=contract,
            contract_address=contract_address,
            transaction_hash=self.tx_hash,
            block_number=int(self.block_number or 0),
            block_hash=self.block_hash,
            block_time=int(self.block_time or 0),
            gas_used=int(self.gas_used or 0),
            sender=self.sender,
        )


@dataclass
class NewEntry:
    """What a route hands to :meth:`Outbox.accept`."""

    lane: str
    kind: str
    court: int | None = None
    record: Record | None = None
    call: dict[str, Any] | None = None
    family: str | None = None
    signer_key: tuple[int, str] | None = None  # (court, address): a new signer key this entry registers
    extra: list[NewEntry] = field(default_factory=list)  # follow-up entries accepted atomically
    #: facts kept with the entry, in the same commit, that its certificate needs and the chain does not hold
    #: (a dossier's list of translations): ``{name: value}`` becomes meta ``name:<entry id>``
    notes: dict[str, str] = field(default_factory=dict)
