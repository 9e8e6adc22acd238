"""Property-based stateful tests: the contracts against a Python model of the rules in DOMAIN.md.

Hypothesis drives random sequences of enforcement actions and defaulter-listing changes on a real chain
and checks after every step that the contract accepted exactly what the model accepts, rejected the rest
with the error the model names, and holds the state the model holds.
"""

from __future__ import annotations

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
    JudgmentStatus,
    JudgmentStatusChange,
    Listing,
    Removal,
    RemovalReason,
    Restriction,
    case_number_digest,
    sha256_digest,
)
from ledger.rules import CaseModel, ListingModel, judgment_transition_error
from tests.conftest import CASE_KEY, admit_new_court, make_judgment

YEAR = 365 * 86400


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
            new_until, sequence = m.until + years * YEAR, m.changes
            expected = m.extend(new_until, now=m.listed_at)  # the period runs for years: never expired here
            try:
                ledger.submit(court.signer, Extension(listing_id=self.listing_id, until=new_until, sequence=sequence))
                got = None
            except ContractRevertError as exc:
                got = exc.error
            assert got == expected

        @rule(reason=st.sampled_from([RemovalReason.PERFORMED, RemovalReason.CORRECTED_WRONGLY_LISTED,
                                      RemovalReason.PERIOD_EXPIRED]))
        def remove(self, reason):
            m = self.model
            sequence = m.changes
            expected = m.remove(reason, now=m.listed_at)  # the period runs for years: never expired here
            try:
                w = ledger.submit(court.signer, Removal(listing_id=self.listing_id, reason=reason, sequence=sequence))
                got = None
            except ContractRevertError as exc:
                got = exc.error
            assert got == expected
            if expected is None:
                m.removed_at = w.block_time

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


#: A path of changes from effective to each state a judgment can be in.
PATHS = {
    JudgmentStatus.EFFECTIVE: [],
    JudgmentStatus.UNDER_APPEAL: [JudgmentStatus.UNDER_APPEAL],
    JudgmentStatus.SATISFIED: [JudgmentStatus.SATISFIED],
    JudgmentStatus.SET_ASIDE: [JudgmentStatus.SET_ASIDE],
    JudgmentStatus.SUPERSEDED: [JudgmentStatus.SUPERSEDED],
    JudgmentStatus.STAYED: [JudgmentStatus.STAYED],
}


@pytest.mark.parametrize("chain", ["anvil"], indirect=True)
def test_judgment_transitions_match_the_model(ledger, governor, funder):
    """Every (state, next status, successor named or not) the contract is asked: the model names the same
    error, or none."""
    court = admit_new_court(ledger, governor, funder)
    counter = iter(range(500, 10**6))
    successor = ledger.submit(court.signer, make_judgment(court.id, next(counter))).record_id
    for current, path in PATHS.items():
        for new in JudgmentStatus:
            for named in (None, successor, b"\x00" * 31 + b"\x01"):
                jid = ledger.submit(court.signer, make_judgment(court.id, next(counter))).record_id
                for sequence, step in enumerate(path):
                    ledger.submit(court.signer, JudgmentStatusChange(
                        judgment_id=jid, status=step, sequence=sequence,
                        superseded_by=successor if step == JudgmentStatus.SUPERSEDED else b"\x00" * 32))
                expected = judgment_transition_error(current, new, successor_known=None if named is None
                                                     else named == successor)
                try:
                    ledger.submit(court.signer, JudgmentStatusChange(
                        judgment_id=jid, status=new, sequence=len(path), superseded_by=named or b"\x00" * 32))
                    got = None
                except (ContractRevertError, ValueError) as exc:
                    got = getattr(exc, "error", "refused by the library")
                if new == JudgmentStatus.NONE:
                    assert got is not None and expected is not None, (current, new, named)
                else:
                    assert got == expected, (current, new, named)
