"""How the chain says a record is already written, and the errors an outbox entry keeps.

An entry signed before may already be on chain through one of its own earlier transactions. The chain
says so with the "already exists" error of the record's own id (or, for a change, of its sequence number
already used); :func:`says_already_written` reads that, and :data:`TRACES` names, per record kind, those
errors and the event whose log then tells which transaction wrote the record (the worker matches it field
by field and call by call: :class:`Judge`, given to :func:`ledger.pipeline.earlier.search` with the log's
description, :func:`creation_of`; see :meth:`api.worker.OutboxWorker._written_by_this_entry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import event_abi_to_log_topic, to_checksum_address

from ledger.errors import ContractRevertError
from ledger.pipeline import earlier
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
    Removal,
)

__all__ = ["TRACES", "Judge", "Trace", "creation_of", "error_of", "plain", "says_already_written", "target"]


def error_of(exc: BaseException) -> dict[str, Any]:
    """The JSON-ready error stored on a failed entry: decoded name and arguments."""
    if isinstance(exc, ContractRevertError):
        return {
            "name": exc.error,
            "contract": exc.contract,
            "arguments": _jsonable(exc.arguments),
            "detail": str(exc),
        }
    return {"name": type(exc).__name__, "arguments": {}, "detail": str(exc)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Trace:
    """How the chain says that a record kind is already written, and the event that wrote it.

    ``errors``: the custom errors whose first argument is the record's target (see :func:`target`) when
    the record, or a change at the record's sequence number, is already on chain; ``event``: the event
    whose first (indexed) argument is that target; ``renames``: record field -> event argument, where
    the names differ. Every record field the event carries must match for the log to be the record's.
    """

    errors: frozenset[str]
    event: str
    renames: dict[str, str] = field(default_factory=dict)


TRACES: dict[type[Record], Trace] = {
    Judgment: Trace(frozenset({"JudgmentRegistryAlreadyRecorded"}), "JudgmentRecorded"),
    JudgmentStatusChange: Trace(
        frozenset({"JudgmentRegistryOutOfSequence"}),
        "JudgmentStatusChanged",
        {"judgmentId": "id", "status": "to"},
    ),
    Filing: Trace(frozenset({"EnforcementRegistryCaseExists"}), "CaseOpened"),
    Action: Trace(frozenset({"EnforcementRegistryOutOfSequence"}), "ActionRecorded"),
    Listing: Trace(frozenset({"DefaulterRegistryAlreadyListed"}), "DefaulterListed"),
    # An extension applied is followed by AlreadyExtended (checked after the sequence) or, once the
    # listing was removed, AlreadyRemoved (checked before it); a removal applied by AlreadyRemoved.
    Extension: Trace(
        frozenset(
            {"DefaulterRegistryOutOfSequence", "DefaulterRegistryAlreadyExtended", "DefaulterRegistryAlreadyRemoved"}
        ),
        "ListingExtended",
    ),
    Removal: Trace(
        frozenset({"DefaulterRegistryOutOfSequence", "DefaulterRegistryAlreadyRemoved"}), "DefaulterRemoved"
    ),
    Anchor: Trace(frozenset({"NotaryAnchorAlreadyAnchored"}), "RootAnchored"),
    Dossier: Trace(frozenset({"JudgmentDossierOutOfSequence"}), "DossierFiled"),
}


def target(record: Record) -> bytes:
    """The id a record is stored under on chain, or the id of the record a change applies to."""
    if isinstance(record, JudgmentStatusChange | Dossier):
        return bytes(record.judgment_id)
    if isinstance(record, Action):
        return bytes(record.case_id)
    if isinstance(record, Extension | Removal):
        return bytes(record.listing_id)
    if isinstance(record, Anchor):
        return bytes(record.root)
    return bytes(record.record_id())


def says_already_written(record: Record, error: BaseException) -> bool:
    """Whether a revert says that ``record`` itself may already be on chain.

    True for the "already exists" error of the record's own id (a judgment, case, listing or anchored
    root), and, for a change (status change, action, extension, removal), for the errors a change at
    its sequence number meets once applied: an out-of-sequence error naming the record's target, its
    sequence as the one given and a larger one as expected, or a listing already extended or removed.
    Whether it is this record, and not another one at that id or sequence, the logs tell.
    """
    trace = TRACES.get(type(record))
    if trace is None or not isinstance(error, ContractRevertError) or error.error not in trace.errors:
        return False
    arguments = list(error.arguments.values())
    if isinstance(record, Anchor):  # anchors are unique per (court, root): the error names both
        return [plain(a) for a in arguments] == [int(record.court), bytes(record.root)]
    if not arguments or plain(arguments[0]) != target(record):
        return False
    if error.error.endswith("OutOfSequence"):
        expected, given = (int(error.arguments.get(k, -1)) for k in ("expected", "given"))
        return given == int(getattr(record, "sequence", -1)) and expected > given
    return True


def plain(value: Any) -> Any:
    """An ABI value in one form for comparisons: bytes for any byte string, int for enums and flags."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return int(value)
    return value


def creation_of(event: Any, target: bytes, sequence: Any) -> earlier.Creation:
    """The log that writes a record: its event on its contract, topic 1 the target (and the sequence, when
    the event indexes it)."""
    topics: list[bytes | None] = [event_abi_to_log_topic(event.abi)]
    inputs = event.abi["inputs"]
    for i, item in enumerate(x for x in inputs if x["indexed"]):
        if i == 0:
            topics.append(abi_encode([item["type"]], [target]))
        elif item["name"] == "sequence" and sequence is not None:
            topics.append(abi_encode([item["type"]], [sequence]))
        else:
            topics.append(None)
    return earlier.Creation(event.address, tuple(topics))


class Judge:
    """Whether a log of the record's event is the entry's own write: None, else why not."""

    def __init__(
        self, event: Any, expected: dict[str, Any], to: str, call: bytes, ours: set[str], court: int | None
    ) -> None:
        self.event, self.expected, self.to, self.call, self.ours, self.court = event, expected, to, call, ours, court
        self.senders: dict[str, str] = {}

    def __call__(self, item: Any, tx: Any) -> str | None:
        args = {k: plain(v) for k, v in self.event.process_log(item)["args"].items()}
        if "sequence" in args and args["sequence"] != self.expected.get("sequence", args["sequence"]):
            return earlier.UNRELATED
        differs = sorted(k for k in self.expected if k in args and args[k] != self.expected[k])
        sender = str(to_checksum_address(tx["from"]))
        self.senders["0x" + bytes(item["transactionHash"]).hex()] = sender
        same_call = (
            tx.get("to") is not None
            and to_checksum_address(tx["to"]) == to_checksum_address(self.to)
            and bytes(tx["input"]) == self.call
        )
        if differs:
            return "with other " + ", ".join(differs)
        if sender not in self.ours:
            return f"from an account that is not a key this service holds for court {self.court}"
        if not same_call:
            return "with another call"
        return None
