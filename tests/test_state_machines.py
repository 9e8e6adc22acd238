"""Property-based stateful tests: the contracts against a Python model of the rules in DOMAIN.md.

Hypothesis drives random sequences of enforcement actions and defaulter-listing changes on a real chain
and checks after every step that the contract accepted exactly what the model accepts, rejected the rest
with the error the model names, and holds the state the model holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from ledger.errors import ContractRevertError
from ledger.records import (
    Action,
    ActionKind,
    CaseState,
    Extension,
    Filing,
    Ground,
    Listing,
    Removal,
    RemovalReason,
    Restriction,
    case_number_digest,
    sha256_digest,
)
from tests.conftest import CASE_KEY, admit_new_court, make_judgment

MONEY = {ActionKind.DEDUCTION, ActionKind.VALUATION, ActionKind.AUCTION_LISTED, ActionKind.AUCTION_SOLD,
         ActionKind.PAYMENT_RECEIVED, ActionKind.DISBURSEMENT}
RECOVERS = {ActionKind.DEDUCTION, ActionKind.PAYMENT_RECEIVED}
YEAR = 365 * 86400


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


KINDS = st.sampled_from(list(ActionKind))
AMOUNTS = st.sampled_from([0, 1, 500, 4_000, 10_000, 20_000])
DETAILS = st.sampled_from([0, 1, 0xFFFF, 0x10000, (3 << 32) | 2])


@pytest.mark.parametrize("chain", ["anvil"], indirect=True)
def test_enforcement_matches_the_model(ledger, governor, funder):
    court = admit_new_court(ledger, governor, funder)
    counter = iter(range(10**6))

    class Enforcement(RuleBasedStateMachine):
        @initialize()
        def open_case(self):
            n = next(counter)
            judgment = ledger.submit(court.signer, make_judgment(court.id, 10_000 + n)).record_id
            filing = Filing(court=court.id, judgment_id=judgment,
                            case_number_digest=case_number_digest(CASE_KEY, f"执{n}号"), amount_due=10_000,
                            filed_at=make_judgment(court.id).judgment_date)
            self.case_id = ledger.submit(court.signer, filing).record_id
            self.model = CaseModel(due=10_000)

        @rule(kind=KINDS, amount=AMOUNTS, detail=DETAILS, flags=st.sampled_from([0, 0, 1, 2]))
        def act(self, kind, amount, detail, flags):
            sequence = self.model.actions
            expected = self.model.apply(kind, amount, detail, flags)
            action = Action(case_id=self.case_id, sequence=sequence, kind=kind, amount=amount, detail=detail,
                            flags=flags)
            try:
                ledger.submit(court.signer, action)
                got = None
            except ContractRevertError as exc:
                got = exc.error
            assert got == expected, f"{kind.name} amount={amount} detail={detail} flags={flags}"

        @invariant()
        def same_state(self):
            if not hasattr(self, "case_id"):
                return
            case = ledger.case(self.case_id)
            assert (CaseState(case["state"]), case["actions"], case["amount_recovered"], case["amount_disbursed"],
                    case["pending_auctions"], case["assets_inquired"]) == (
                self.model.state, self.model.actions, self.model.recovered, self.model.disbursed,
                self.model.auctions, self.model.inquired)

    run_state_machine_as_test(Enforcement, settings=settings(
        max_examples=10, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))


@dataclass
class ListingModel:
    listed_at: int
    until: int
    removed_at: int = 0
    changes: int = 0
    extended: bool = False


@pytest.mark.parametrize("chain", ["anvil"], indirect=True)
def test_defaulter_lifecycle_matches_the_model(ledger, governor, funder):
    court = admit_new_court(ledger, governor, funder)
    judgment = ledger.submit(court.signer, make_judgment(court.id, 77)).record_id
    case_id = ledger.submit(court.signer, Filing(court=court.id, judgment_id=judgment,
                                                 case_number_digest=case_number_digest(CASE_KEY, "执77号"),
                                                 amount_due=5,
                                                 filed_at=make_judgment(court.id).judgment_date)).record_id
    counter = iter(range(10**6))

    class Lifecycle(RuleBasedStateMachine):
        @initialize(period=st.sampled_from([YEAR, 2 * YEAR]))
        def list_subject(self, period):
            now = ledger.w3.eth.get_block("latest")["timestamp"]
            self.subject = sha256_digest(b"subject %d" % next(counter) + court.signer.address.encode())
            listing = Listing(court=court.id, subject=self.subject, case_id=case_id, ground=Ground.ABLE_BUT_REFUSES,
                              restrictions=Restriction.FLIGHTS | Restriction.RAIL, listed_at=now, until=now + period)
            self.listing_id = ledger.submit(court.signer, listing).record_id
            self.model = ListingModel(now, now + period)

        @rule(years=st.sampled_from([0, 1, 2, 3, 4]))
        def extend(self, years):
            m = self.model
            new_until = m.until + years * YEAR
            if m.removed_at:
                expected = "DefaulterRegistryAlreadyRemoved"
            elif m.extended:
                expected = "DefaulterRegistryAlreadyExtended"
            elif not 1 <= years <= 3:
                expected = "DefaulterRegistryInvalidExtension"
            else:
                expected = None
            try:
                ledger.submit(court.signer, Extension(listing_id=self.listing_id, until=new_until, sequence=m.changes))
                got = None
            except ContractRevertError as exc:
                got = exc.error
            assert got == expected
            if expected is None:
                m.until, m.extended, m.changes = new_until, True, m.changes + 1

        @rule(reason=st.sampled_from([RemovalReason.PERFORMED, RemovalReason.CORRECTED_WRONGLY_LISTED,
                                      RemovalReason.PERIOD_EXPIRED]))
        def remove(self, reason):
            m = self.model
            if m.removed_at:
                expected = "DefaulterRegistryAlreadyRemoved"
            elif reason == RemovalReason.PERIOD_EXPIRED:
                expected = "DefaulterRegistryListingNotExpired"  # the period runs for years
            else:
                expected = None
            try:
                w = ledger.submit(court.signer, Removal(listing_id=self.listing_id, reason=reason, sequence=m.changes))
                got = None
            except ContractRevertError as exc:
                got = exc.error
            assert got == expected
            if expected is None:
                m.removed_at, m.changes = w.block_time, m.changes + 1

        @invariant()
        def restriction_answers_agree(self):
            if not hasattr(self, "listing_id"):
                return
            m = self.model
            end = min(m.until, m.removed_at) if m.removed_at else m.until
            for t in (m.listed_at - 1, m.listed_at, m.listed_at + YEAR // 2, m.until - 1, m.until,
                      (m.removed_at - 1) if m.removed_at else m.listed_at):
                expected = m.listed_at <= t < end
                assert ledger.is_restricted(self.subject, Restriction.FLIGHTS, t)[0] == expected, t
            assert not ledger.is_restricted(self.subject, Restriction.COMPANY_OFFICE, m.listed_at)[0]

    run_state_machine_as_test(Lifecycle, settings=settings(
        max_examples=8, stateful_step_count=6, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
