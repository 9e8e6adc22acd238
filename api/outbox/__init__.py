"""The durable outbox: every accepted write is on disk before the client hears "accepted".

``entries``      what a row is (states, :class:`Entry`, record kinds, lanes)
``base``         the file: schema, connection, reading rows with their journaled transactions, migration
``keys``         the court signer keys held here, and small facts (``meta``)
``transitions``  the worker's moves: signed (journaled before sending), replaced, confirmed, failed, reopened
``store``        :class:`Outbox`: accepting writes and reading them back

The signed transactions themselves are kept by the pipeline's journal (:mod:`ledger.pipeline.journal`)
in the outbox file, so one commit moves an entry and stores its transaction.
"""

from api.outbox.entries import (
    GOVERNANCE_LANE,
    KIND_OF,
    OPEN_STATES,
    RECORD_KINDS,
    Adopted,
    Entry,
    NewEntry,
    Previous,
    State,
    court_lane,
    family_of,
    owner_of,
    record_class,
)
from api.outbox.store import Acceptance, Outbox

__all__ = [
    "GOVERNANCE_LANE",
    "KIND_OF",
    "OPEN_STATES",
    "RECORD_KINDS",
    "Acceptance",
    "Adopted",
    "Entry",
    "NewEntry",
    "Outbox",
    "Previous",
    "State",
    "court_lane",
    "family_of",
    "owner_of",
    "record_class",
]
