"""State at the edge: refuse at once (409, naming the contract's error) a change the chain would refuse for
the record's own state: an action on a concluded case, a recovery beyond the amount due, a sale with no
auction listed, a second extension, a change to a removed listing, a transition out of a final judgment status.

Contract: the record's state is the index's view (what the chain has confirmed) followed by this service's
own accepted changes of the same record not yet indexed (the outbox, in sequence order); the rules are
:mod:`ledger.rules`, which the state-machine tests hold equal to the contracts. A record the index does not
know yet is let through: the contract, which stays the authority, decides. Authority is checked first
(:mod:`api.authority`).
"""

from __future__ import annotations

from typing import Any

from api.errors import Conflict
from ledger.records import Action, Extension, JudgmentStatus, JudgmentStatusChange, Removal, RemovalReason
from ledger.rules import CaseModel, ListingModel, judgment_transition_error

__all__ = ["require_action_possible", "require_listing_change_possible", "require_transition_possible"]


def _pending(outbox: Any, family: str, confirmed: int) -> list[Any]:
    """This service's accepted changes of the record beyond the ``confirmed`` ones the index shows."""
    records = (e.typed_record() for e in outbox.family_entries(family))
    return sorted((r for r in records if r.sequence >= confirmed), key=lambda r: r.sequence)


def _refuse(error: str | None, what: str) -> None:
    if error is not None:
        raise Conflict(f"{what}: the chain would refuse it ({error})")


def require_transition_possible(services: Any, judgment_id: bytes, new: JudgmentStatus, successor: bytes) -> None:
    view = services.index.judgment(judgment_id)
    if view is None:
        return
    status = view.status
    for change in _pending(services.outbox, "judgment:0x" + judgment_id.hex(), len(view.status_history)):
        if isinstance(change, JudgmentStatusChange):
            status = change.status
    named = any(successor)
    known = (services.index.judgment(successor) is not None or services.outbox.by_record_id(successor) is not None
             if named else None)
    _refuse(judgment_transition_error(status, new, successor_known=known, successor_is_self=successor == judgment_id),
            f"judgment 0x{judgment_id.hex()} is {status.name.lower()}; it cannot become {new.name.lower()}")


def require_action_possible(services: Any, case_id: bytes, kind: Any, amount: int, detail: int, flags: int) -> None:
    view = services.index.case_history(case_id)
    if view is None:
        return
    model = CaseModel(due=view.amount_due)
    for done in view.actions:
        model.apply(done.kind, done.amount, done.detail, done.flags)
    for action in _pending(services.outbox, "case:0x" + case_id.hex(), len(view.actions)):
        if isinstance(action, Action):
            model.apply(action.kind, action.amount, action.detail, action.flags)
    _refuse(model.apply(kind, amount, detail, flags),
            f"case 0x{case_id.hex()} is {model.state.name.lower()}; a {kind.name.lower()} cannot follow")


def require_listing_change_possible(services: Any, listing_id: bytes, now: int, *, until: int | None = None,
                                    reason: RemovalReason | None = None) -> None:
    view = services.index.listing(listing_id)
    if view is None:
        return
    changes = [e for e in view.events if e.kind != "listed"]
    model = ListingModel(listed_at=view.listed_at, until=view.until, removed_at=view.removed_at or 0,
                         changes=len(changes), extended=any(e.kind == "extended" for e in changes))
    for change in _pending(services.outbox, "listing:0x" + listing_id.hex(), len(changes)):
        if isinstance(change, Extension):
            model.extend(change.until, now)
        elif isinstance(change, Removal):
            model.remove(change.reason, now)
    error = model.extend(until, now) if until is not None else model.remove(reason or RemovalReason.NONE, now)
    _refuse(error, f"listing 0x{listing_id.hex()}")
