"""The contracts' rules for a record's next change, in Python (pure: no chain, no index).

Contract: each model answers the custom error the contract would raise for a change, or ``None`` after
applying it, for the rules that depend on the record's own state: the enforcement state machine
(:class:`CaseModel`), the judgment status transitions (:func:`judgment_transition_error`) and a listing's
extension and removal (:class:`ListingModel`). Authority, signatures and sequences are checked elsewhere.
``tests/test_state_machines.py`` drives random sequences against the real contracts and asserts that the
models accept exactly what the contracts accept, so the service can refuse at once (from its index and its
outbox) what the chain would refuse later.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.records import ActionKind, CaseState, JudgmentStatus, RemovalReason

__all__ = ["MONEY", "RECOVERS", "CaseModel", "ListingModel", "judgment_transition_error"]

MONEY = frozenset({ActionKind.DEDUCTION, ActionKind.VALUATION, ActionKind.AUCTION_LISTED, ActionKind.AUCTION_SOLD,
                   ActionKind.PAYMENT_RECEIVED, ActionKind.DISBURSEMENT})
RECOVERS = frozenset({ActionKind.DEDUCTION, ActionKind.PAYMENT_RECEIVED})
YEAR = 365 * 86400

#: JudgmentRegistry._allowed: effective -> under appeal, set aside, superseded, satisfied, stayed; under appeal
#: -> effective, set aside, superseded, stayed; stayed -> effective (stay lifted), set aside, superseded;
#: satisfied -> set aside; set aside and superseded are final.
_TRANSITIONS = {
    JudgmentStatus.EFFECTIVE: {JudgmentStatus.UNDER_APPEAL, JudgmentStatus.SET_ASIDE, JudgmentStatus.SUPERSEDED,
                               JudgmentStatus.SATISFIED, JudgmentStatus.STAYED},
    JudgmentStatus.UNDER_APPEAL: {JudgmentStatus.EFFECTIVE, JudgmentStatus.SET_ASIDE, JudgmentStatus.SUPERSEDED,
                                  JudgmentStatus.STAYED},
    JudgmentStatus.STAYED: {JudgmentStatus.EFFECTIVE, JudgmentStatus.SET_ASIDE, JudgmentStatus.SUPERSEDED},
    JudgmentStatus.SATISFIED: {JudgmentStatus.SET_ASIDE},
}


def judgment_transition_error(current: JudgmentStatus, new: JudgmentStatus, *, successor_known: bool | None,
                              successor_is_self: bool = False) -> str | None:
    """The error ``changeStatus`` raises for ``current -> new``, or None. ``successor_known``: whether the
    successor named for ``superseded`` is a recorded judgment (None when no successor is named)."""
    if current == JudgmentStatus.NONE:
        return "JudgmentRegistryUnknownJudgment"
    if new not in _TRANSITIONS.get(current, set()):
        return "JudgmentRegistryInvalidTransition"
    if new == JudgmentStatus.SUPERSEDED and (successor_is_self or not successor_known):
        return "JudgmentRegistryInvalidSuccessor"
    if new != JudgmentStatus.SUPERSEDED and successor_known is not None:
        return "JudgmentRegistryInvalidSuccessor"
    return None


@dataclass
class CaseModel:
    """The enforcement rules, as DOMAIN.md and the contract's NatSpec state them."""

    due: int
    state: CaseState = CaseState.OPEN
    actions: int = 0
    recovered: int = 0
    disbursed: int = 0
    inquired: bool = False
    auctions: int = 0

    def apply(self, kind: ActionKind, amount: int, detail: int, flags: int) -> str | None:
        """The error the contract must raise, or None after applying the action."""
        if self.state == CaseState.CONCLUDED:
            return "EnforcementRegistryCaseConcluded"
        if self.state == CaseState.TERMINATED and kind != ActionKind.RESUMPTION:
            return "EnforcementRegistryCaseTerminated"
        if flags not in (0, 1) or (flags and kind not in RECOVERS):
            return "EnforcementRegistryInvalidFlags"
        if kind in MONEY and amount == 0:
            return "EnforcementRegistryZeroAmount"
        if kind not in MONEY and amount != 0:
            return "EnforcementRegistryUnexpectedAmount"
        if kind not in (ActionKind.ASSET_INQUIRY, ActionKind.AUCTION_SOLD) and detail != 0:
            return "EnforcementRegistryInvalidDetail"
        if kind in RECOVERS:
            if self.recovered + amount > self.due and not flags:
                return "EnforcementRegistryRecoveryExceedsDue"
            self.recovered += amount
        elif kind == ActionKind.DISBURSEMENT:
            if self.disbursed + amount > self.recovered:
                return "EnforcementRegistryDisbursementExceedsRecovered"
            self.disbursed += amount
        elif kind == ActionKind.ASSET_INQUIRY:
            if detail > 0xFFFF:
                return "EnforcementRegistryInvalidDetail"
            self.inquired = True
        elif kind == ActionKind.AUCTION_LISTED:
            self.auctions += 1
        elif kind in (ActionKind.AUCTION_SOLD, ActionKind.AUCTION_FAILED):
            if self.auctions == 0:
                return "EnforcementRegistryNoAuctionListed"
            if kind == ActionKind.AUCTION_SOLD and detail >> 32 == 0:
                return "EnforcementRegistryInvalidDetail"
            self.auctions -= 1
        elif kind == ActionKind.TERMINATION_NO_ASSETS:
            if not self.inquired:
                return "EnforcementRegistryAssetInquiryRequired"
            self.state = CaseState.TERMINATED
        elif kind == ActionKind.RESUMPTION:
            if self.state != CaseState.TERMINATED:
                return "EnforcementRegistryCaseNotTerminated"
            self.state = CaseState.OPEN
        elif kind == ActionKind.CONCLUSION:
            self.state = CaseState.CONCLUDED
        self.actions += 1
        return None


@dataclass
class ListingModel:
    """A listing's extension and removal rules (DefaulterRegistry._extend, _remove, _existing)."""

    listed_at: int
    until: int
    removed_at: int = 0
    changes: int = 0
    extended: bool = False

    def extend(self, new_until: int, now: int) -> str | None:
        if self.removed_at:
            return "DefaulterRegistryAlreadyRemoved"
        if self.extended:
            return "DefaulterRegistryAlreadyExtended"
        if now >= self.until:
            return "DefaulterRegistryListingExpired"
        if not self.until + YEAR <= new_until <= self.until + 3 * YEAR:
            return "DefaulterRegistryInvalidExtension"
        self.until, self.extended, self.changes = new_until, True, self.changes + 1
        return None

    def remove(self, reason: RemovalReason, now: int) -> str | None:
        if self.removed_at:
            return "DefaulterRegistryAlreadyRemoved"
        if reason == RemovalReason.NONE:
            return "DefaulterRegistryInvalidReason"
        if reason == RemovalReason.PERIOD_EXPIRED and now < self.until:
            return "DefaulterRegistryListingNotExpired"
        self.removed_at, self.changes = now, self.changes + 1
        return None
