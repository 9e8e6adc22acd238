"""DefaulterRegistry: listing (direct and delegated), isRestricted over past, present and future times,
removal, the single 1-to-3-year extension, expiry (with real time travel on a fresh chain), replay
protection and appellate authority."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from eth_utils import keccak

from ledger.chain import connect
from ledger.client import Ledger
from ledger.deployment import deploy
from ledger.records import (
    ActionKind,
    Extension,
    Ground,
    Listing,
    Removal,
    RemovalReason,
    Restriction,
)
from tests.conftest import fund
from tests.contracts.helpers import (
    DAY,
    YEAR,
    ZERO32,
    action,
    admit,
    chain_now,
    dry_run_then_send,
    expect_revert,
    list_subject,
    listing,
    one_event,
    open_case,
    struct,
    subject,
)

R = Restriction
NOT_RESTRICTED = (False, ZERO32, 0)


def _listed_event(lst: Listing) -> dict:
    return {
        "listingId": lst.record_id(),
        "subject": lst.subject,
        "court": lst.court,
        "caseId": lst.case_id,
        "ground": lst.ground,
        "restrictions": int(lst.restrictions),
        "listedAt": lst.listed_at,
        "until": lst.until,
    }


def test_list_direct_and_by_sig(ledger, new_court, relayer):
    court = new_court()
    _, cid = open_case(ledger, court, 1)
    lst = listing(
        court,
        cid,
        subject("a"),
        chain_now(ledger) - 100,
        restrictions=R.FLIGHTS | R.RAIL | R.COMPANY_OFFICE,
        ground=Ground.EVADES_BY_FALSE_LITIGATION_OR_HIDING_ASSETS,
    )
    lid = lst.record_id()
    returned = ledger.contract("DefaulterRegistry").functions.list(struct(lst)).call({"from": court.signer.address})
    assert returned == lid == ledger.view("DefaulterRegistry", "listingId", struct(lst))

    w = ledger.submit(court.signer, lst)
    assert one_event(ledger, w, "DefaulterRegistry", "DefaulterListed") == _listed_event(lst)
    assert ledger.listing(lid) == {
        "court": court.id,
        "ground": Ground.EVADES_BY_FALSE_LITIGATION_OR_HIDING_ASSETS,
        "restrictions": int(R.FLIGHTS | R.RAIL | R.COMPANY_OFFICE),
        "listed_at": lst.listed_at,
        "until": lst.until,
        "removed_at": 0,
        "removal_reason": 0,
        "changes": 0,
        "subject": lst.subject,
    }
    assert ledger.view("DefaulterRegistry", "listingsOf", lst.subject) == [lid]
    expect_revert(lambda: ledger.submit(court.signer, lst), "DefaulterRegistryAlreadyListed", listingId=lid)

    # delegated, on every ground, and on a case terminated for lack of assets
    ledger.submit(court.signer, action(cid, 0, ActionKind.ASSET_INQUIRY))
    ledger.submit(court.signer, action(cid, 1, ActionKind.TERMINATION_NO_ASSETS))
    s = subject("b")
    ids = []
    for ground in list(Ground)[1:]:
        other = listing(court, cid, s, chain_now(ledger) - 100 - ground, ground=ground, restrictions=R.all())
        w = ledger.submit(court.signer, other, relayer=relayer)
        assert w.sender == relayer.address
        assert one_event(ledger, w, "DefaulterRegistry", "DefaulterListed") == _listed_event(other)
        ids.append(other.record_id())
        if ground == Ground.REFUSES_SETTLEMENT:  # replay of the signed listing
            expect_revert(
                lambda o=other, sig=w.signature: ledger.submit(court.signer, o, relayer=relayer, signature=sig),
                "DefaulterRegistryAlreadyListed",
                listingId=other.record_id(),
            )
    assert ledger.view("DefaulterRegistry", "listingsOf", s) == ids


def test_list_validation_errors(ledger, new_court):
    court = new_court()
    _, cid = open_case(ledger, court, 2)
    now = chain_now(ledger)
    good = listing(court, cid, subject("c"), now - 100)
    fields = good.model_dump()

    def bad(**changes):
        return Listing.model_construct(**{**fields, **changes})

    def submit(record):
        return lambda: ledger.submit(court.signer, record)

    expect_revert(submit(bad(subject=ZERO32)), "DefaulterRegistryZeroSubject")
    expect_revert(submit(bad(ground=Ground.NONE)), "DefaulterRegistryInvalidGround")
    for restrictions in (0, 1 << 8, 0xFFFF):
        expect_revert(
            submit(bad(restrictions=restrictions)),
            "DefaulterRegistryInvalidRestrictions",
            restrictions=restrictions,
        )
    for listed_at, until in (
        (now + 3600, now + 3600 + DAY),  # starts beyond the tolerated clock skew
        (now, now),  # empty period
        (now, now - 1),  # negative period
        (now - 100, now - 100 + 730 * DAY + 1),  # longer than 2 years
        (now - DAY - 3600, now + DAY),  # backdated by more than a day
        (now - 400 * DAY, now - 400 * DAY + 730 * DAY),  # backdated by a year: would rewrite past answers
    ):
        expect_revert(
            submit(bad(listed_at=listed_at, until=until)),
            "DefaulterRegistryInvalidPeriod",
            listedAt=listed_at,
            until=until,
        )
    unknown = keccak(b"no such case")
    expect_revert(submit(bad(case_id=unknown)), "DefaulterRegistryCaseNotListable", caseId=unknown, state=0)
    ledger.submit(court.signer, action(cid, 0, ActionKind.CONCLUSION))
    expect_revert(submit(good), "DefaulterRegistryCaseNotListable", caseId=cid, state=3)


def test_is_restricted_at_past_present_and_future_times(ledger, new_court):
    court = new_court()
    _, cid = open_case(ledger, court, 3)
    now = chain_now(ledger)
    s = subject("d")
    first = listing(court, cid, s, now - 300, restrictions=R.FLIGHTS | R.RAIL)
    ledger.submit(court.signer, first)
    l1, t0, t1 = first.record_id(), first.listed_at, first.until

    def restricted(restriction, at):
        return ledger.is_restricted(s, restriction, at)

    assert restricted(R.FLIGHTS, now) == (True, l1, t1)
    assert restricted(R.FLIGHTS | R.RAIL, now) == (True, l1, t1)
    assert restricted(R.HIGH_CONSUMPTION, now) == NOT_RESTRICTED
    assert restricted(R.FLIGHTS | R.HIGH_CONSUMPTION, now) == NOT_RESTRICTED  # every bit asked must be covered
    assert restricted(R.FLIGHTS, t0 - 1) == NOT_RESTRICTED  # before the listing
    assert restricted(R.FLIGHTS, t0) == (True, l1, t1)
    assert restricted(R.FLIGHTS, now + YEAR) == (True, l1, t1)  # the future, as it stands
    assert restricted(R.FLIGHTS, t1 - 1) == (True, l1, t1)
    assert restricted(R.FLIGHTS, t1) == NOT_RESTRICTED  # period over
    assert ledger.is_restricted(subject("nobody"), R.FLIGHTS, now) == NOT_RESTRICTED

    # a second listing of the subject that ends later answers for the restriction both cover
    second = listing(court, cid, s, now - 150, restrictions=R.FLIGHTS)
    ledger.submit(court.signer, second)
    l2, t2 = second.record_id(), second.until
    assert restricted(R.FLIGHTS, now) == (True, l2, t2)
    assert restricted(R.RAIL, now) == (True, l1, t1)
    assert restricted(R.FLIGHTS, t0 + 1) == (True, l1, t1)  # before the second started

    # a listing starting within the tolerated clock skew: not yet restricted now, restricted from its start
    later = listing(court, cid, s, chain_now(ledger) + 600, restrictions=R.LOANS_AND_CARDS)
    ledger.submit(court.signer, later)
    assert restricted(R.LOANS_AND_CARDS, later.listed_at - 1) == NOT_RESTRICTED
    assert restricted(R.LOANS_AND_CARDS, later.listed_at) == (True, later.record_id(), later.until)

    # removal: not restricted from the removal on, still restricted for the times before it
    w = ledger.submit(court.signer, Removal(listing_id=l2, reason=RemovalReason.PERFORMED, sequence=0))
    removed_at = w.block_time
    assert one_event(ledger, w, "DefaulterRegistry", "DefaulterRemoved") == {
        "listingId": l2,
        "subject": s,
        "byCourt": court.id,
        "reason": RemovalReason.PERFORMED,
        "removedAt": removed_at,
    }
    record = ledger.listing(l2)
    assert (record["removed_at"], record["removal_reason"], record["changes"]) == (removed_at, 1, 1)
    assert restricted(R.FLIGHTS, removed_at) == (True, l1, t1)  # the first listing still runs
    w = ledger.submit(court.signer, Removal(listing_id=l1, reason=RemovalReason.CASE_ENDED, sequence=0))
    removed_1 = w.block_time
    assert restricted(R.FLIGHTS, removed_1) == NOT_RESTRICTED
    assert restricted(R.FLIGHTS, removed_1 + YEAR) == NOT_RESTRICTED
    # the listing ending last answers; on ties (both removed in one second) the later listing
    by_last = l2 if removed_at == removed_1 else l1
    assert restricted(R.FLIGHTS, removed_1 - 1) == (True, by_last, removed_1)
    assert restricted(R.FLIGHTS, second.listed_at) == (True, by_last, removed_1)
    assert restricted(R.RAIL, t0) == (True, l1, removed_1)
    assert restricted(R.FLIGHTS, t0 - 1) == NOT_RESTRICTED


def test_extension(ledger, new_court, relayer):
    court = new_court()
    _, cid = open_case(ledger, court, 4)
    lid, lst = list_subject(ledger, court, cid, "e")
    s, until = lst.subject, lst.until

    def extend(new_until, sequence=0, listing_id=lid):
        return lambda: ledger.submit(court.signer, Extension(listing_id=listing_id, until=new_until, sequence=sequence))

    expect_revert(
        extend(until + YEAR - 1),
        "DefaulterRegistryInvalidExtension",
        listingId=lid,
        until=until,
        newUntil=until + YEAR - 1,
    )
    expect_revert(
        extend(until + 3 * YEAR + 1),
        "DefaulterRegistryInvalidExtension",
        listingId=lid,
        until=until,
        newUntil=until + 3 * YEAR + 1,
    )
    expect_revert(
        extend(until - 1), "DefaulterRegistryInvalidExtension", listingId=lid, until=until, newUntil=until - 1
    )
    expect_revert(
        extend(until + YEAR, sequence=1), "DefaulterRegistryOutOfSequence", listingId=lid, expected=0, given=1
    )
    unknown = keccak(b"no such listing")
    expect_revert(extend(until + YEAR, listing_id=unknown), "DefaulterRegistryUnknownListing", listingId=unknown)
    registry = ledger.contract("DefaulterRegistry")
    for ok in (until + YEAR, until + 3 * YEAR):  # both bounds are allowed (dry run)
        registry.functions.extend(struct(Extension(listing_id=lid, until=ok, sequence=0))).call(
            {"from": court.signer.address}
        )

    ext = Extension(listing_id=lid, until=until + 2 * YEAR, sequence=0)
    w = ledger.submit(court.signer, ext, relayer=relayer)
    assert one_event(ledger, w, "DefaulterRegistry", "ListingExtended") == {
        "listingId": lid,
        "subject": s,
        "byCourt": court.id,
        "until": until + 2 * YEAR,
    }
    record = ledger.listing(lid)
    assert (record["until"], record["changes"], record["listed_at"]) == (until + 2 * YEAR, 1, lst.listed_at)
    assert ledger.is_restricted(s, R.FLIGHTS, until) == (True, lid, until + 2 * YEAR)

    # once only; a replay of the signed extension is out of sequence
    expect_revert(extend(until + 3 * YEAR, sequence=1), "DefaulterRegistryAlreadyExtended", listingId=lid)
    expect_revert(
        lambda: ledger.submit(court.signer, ext, relayer=relayer, signature=w.signature),
        "DefaulterRegistryOutOfSequence",
        listingId=lid,
        expected=1,
        given=0,
    )

    # removal after an extension takes the next sequence; then nothing more
    removal = Removal(listing_id=lid, reason=RemovalReason.SETTLEMENT_FULFILLED, sequence=1)
    w = ledger.submit(court.signer, removal)
    assert ledger.listing(lid)["changes"] == 2
    expect_revert(
        extend(until + 3 * YEAR, sequence=2),
        "DefaulterRegistryAlreadyRemoved",
        listingId=lid,
        removedAt=w.block_time,
    )


def test_expired_listing(ledger, new_court, funder):
    """A listing whose period is over: no extension, removal as PeriodExpired allowed; a running listing
    cannot be removed as PeriodExpired. (Listings cannot be backdated, so this one runs for 2 seconds.)"""
    court = new_court()
    _, cid = open_case(ledger, court, 5)
    expired = listing(court, cid, subject("f"), chain_now(ledger), period=2)
    ledger.submit(court.signer, expired)
    eid = expired.record_id()
    time.sleep(3.1)  # wall-clock time moves both backends' block times on
    fund(ledger.chain, funder, court.signer.address, 1)  # a new block, so "latest" is past the period
    now = chain_now(ledger)
    assert now >= expired.until
    assert ledger.is_restricted(expired.subject, R.FLIGHTS, now) == NOT_RESTRICTED
    assert ledger.is_restricted(expired.subject, R.FLIGHTS, expired.until - 1) == (True, eid, expired.until)
    expect_revert(
        lambda: ledger.submit(court.signer, Extension(listing_id=eid, until=expired.until + YEAR, sequence=0)),
        "DefaulterRegistryListingExpired",
        listingId=eid,
        until=expired.until,
    )
    w = ledger.submit(court.signer, Removal(listing_id=eid, reason=RemovalReason.PERIOD_EXPIRED, sequence=0))
    assert one_event(ledger, w, "DefaulterRegistry", "DefaulterRemoved")["reason"] == RemovalReason.PERIOD_EXPIRED
    # removed after its end: the answer for past times is unchanged
    assert ledger.is_restricted(expired.subject, R.FLIGHTS, expired.until - 1) == (True, eid, expired.until)

    running_id, running = list_subject(ledger, court, cid, "g")
    expect_revert(
        lambda: ledger.submit(
            court.signer, Removal(listing_id=running_id, reason=RemovalReason.PERIOD_EXPIRED, sequence=0)
        ),
        "DefaulterRegistryListingNotExpired",
        listingId=running_id,
        until=running.until,
    )


def test_removal_errors_and_replay(ledger, new_court, relayer):
    court = new_court()
    _, cid = open_case(ledger, court, 6)
    lid, _ = list_subject(ledger, court, cid, "h")
    none = Removal.model_construct(listing_id=lid, reason=RemovalReason.NONE, sequence=0)
    expect_revert(lambda: ledger.submit(court.signer, none), "DefaulterRegistryInvalidReason")
    expect_revert(
        lambda: ledger.submit(court.signer, Removal(listing_id=lid, reason=1, sequence=4)),
        "DefaulterRegistryOutOfSequence",
        listingId=lid,
        expected=0,
        given=4,
    )
    unknown = keccak(b"unknown listing")
    expect_revert(
        lambda: ledger.submit(court.signer, Removal(listing_id=unknown, reason=1, sequence=0)),
        "DefaulterRegistryUnknownListing",
        listingId=unknown,
    )

    removal = Removal(listing_id=lid, reason=RemovalReason.CORRECTED_WRONGLY_LISTED, sequence=0)
    w = ledger.submit(court.signer, removal, relayer=relayer)
    assert one_event(ledger, w, "DefaulterRegistry", "DefaulterRemoved") == {
        "listingId": lid,
        "subject": ledger.listing(lid)["subject"],
        "byCourt": court.id,
        "reason": RemovalReason.CORRECTED_WRONGLY_LISTED,
        "removedAt": w.block_time,
    }
    for thunk in (
        lambda: ledger.submit(court.signer, removal, relayer=relayer, signature=w.signature),
        lambda: ledger.submit(court.signer, removal),
        lambda: ledger.submit(court.signer, Removal(listing_id=lid, reason=1, sequence=1)),
    ):
        expect_revert(thunk, "DefaulterRegistryAlreadyRemoved", listingId=lid, removedAt=w.block_time)
    # the other reasons are accepted too (dry run on a fresh listing)
    other, _ = list_subject(ledger, court, cid, "i")
    registry = ledger.contract("DefaulterRegistry")
    for reason in (
        RemovalReason.PERFORMED,
        RemovalReason.SETTLEMENT_FULFILLED,
        RemovalReason.APPLICANT_AGREED,
        RemovalReason.CASE_ENDED,
    ):
        registry.functions.remove(struct(Removal(listing_id=other, reason=reason, sequence=0))).call(
            {"from": court.signer.address}
        )


def test_appellate_court_extends_and_removes(ledger, new_court, relayer):
    high = new_court()
    lower = new_court(appellate=high.id)
    sibling = new_court(appellate=high.id)
    _, cid = open_case(ledger, lower, 7)
    lid, lst = list_subject(ledger, lower, cid, "j")
    ext = Extension(listing_id=lid, until=lst.until + YEAR, sequence=0)
    rem = Removal(listing_id=lid, reason=RemovalReason.APPLICANT_AGREED, sequence=1)
    for record in (ext, rem):
        expect_revert(
            lambda r=record: ledger.submit(sibling.signer, r),
            "CourtAuthorizedNoAuthority",
            actingCourt=sibling.id,
            recordCourt=lower.id,
        )
    w = ledger.submit(high.signer, ext, relayer=relayer)
    assert one_event(ledger, w, "DefaulterRegistry", "ListingExtended")["byCourt"] == high.id
    w = ledger.submit(high.signer, rem)
    assert one_event(ledger, w, "DefaulterRegistry", "DefaulterRemoved")["byCourt"] == high.id
    # an appellate court cannot list in the lower court's name
    expect_revert(
        lambda: ledger.submit(high.signer, listing(lower, cid, subject("k"), chain_now(ledger) - 10)),
        "CourtAuthorizedWrongCourt",
        recordCourt=lower.id,
        signerCourt=high.id,
    )


def test_views_and_constants(ledger):
    v = lambda fn, *a: ledger.view("DefaulterRegistry", fn, *a)  # noqa: E731
    assert v("version") == "1.0.0"
    for r in Restriction:
        assert v(r.name) == r.value
    assert v("ALL_RESTRICTIONS") == int(Restriction.all()) == 0xFF
    assert (v("MAX_PERIOD"), v("MIN_EXTENSION"), v("MAX_EXTENSION"), v("CLOCK_SKEW")) == (
        730 * DAY,
        YEAR,
        3 * YEAR,
        15 * 60,
    )
    assert v("LISTING_TYPEHASH") == Listing.type_hash()
    assert v("EXTENSION_TYPEHASH") == Extension.type_hash()
    assert v("REMOVAL_TYPEHASH") == Removal.type_hash()
    assert v("enforcementRegistry") == ledger.deployment.address("EnforcementRegistry")
    assert v("listingsOf", keccak(b"nobody")) == []
    assert ledger.listing(keccak(b"no listing"))["ground"] == Ground.NONE


# -- real time: a fresh chain per backend, so moving its clock affects no other test --------------


@pytest.fixture(scope="module")
def fresh(chain, tmp_path_factory) -> Iterator[Ledger]:
    spec = "memory" if chain.kind == "memory" else "local"
    own = connect(spec, data_dir=tmp_path_factory.mktemp("anvil-time")) if spec == "local" else connect(spec)
    try:
        ledger = Ledger(own, deploy(own, own.accounts[0]))
        with dry_run_then_send(ledger):
            yield ledger
    finally:
        own.close()


def _travel_to(ledger: Ledger, timestamp: int) -> None:
    """Move the chain clock so that the next block has at least ``timestamp``."""
    if ledger.chain.kind == "memory":
        ledger.w3.provider.ethereum_tester.time_travel(timestamp)
    else:
        delta = timestamp - chain_now(ledger)
        ledger.w3.provider.make_request("evm_increaseTime", [delta])
        ledger.w3.provider.make_request("evm_mine", [])
    assert chain_now(ledger) >= timestamp - 1


@pytest.mark.moves_clock
def test_period_expired_removal_and_extension_with_time_travel(fresh):
    ledger = fresh
    governor, funder, relayer = ledger.chain.accounts[:3]
    court = admit(ledger, governor, funder)
    _, cid = open_case(ledger, court, 1)
    a_id, a = list_subject(ledger, court, cid, "t1")
    b_id, b = list_subject(ledger, court, cid, "t2")
    expired = Removal(listing_id=a_id, reason=RemovalReason.PERIOD_EXPIRED, sequence=0)
    expect_revert(
        lambda: ledger.submit(court.signer, expired),
        "DefaulterRegistryListingNotExpired",
        listingId=a_id,
        until=a.until,
    )
    ledger.submit(court.signer, Extension(listing_id=b_id, until=b.until + YEAR, sequence=0), relayer=relayer)

    _travel_to(ledger, a.until - 100)  # almost two years later: still running
    assert ledger.is_restricted(a.subject, R.FLIGHTS, chain_now(ledger)) == (True, a_id, a.until)
    expect_revert(
        lambda: ledger.submit(court.signer, expired),
        "DefaulterRegistryListingNotExpired",
        listingId=a_id,
        until=a.until,
    )

    _travel_to(ledger, a.until + 1)  # over
    now = chain_now(ledger)
    assert ledger.is_restricted(a.subject, R.FLIGHTS, now) == NOT_RESTRICTED
    assert ledger.is_restricted(b.subject, R.FLIGHTS, now) == (True, b_id, b.until + YEAR)  # extended in time
    expect_revert(
        lambda: ledger.submit(court.signer, Extension(listing_id=a_id, until=a.until + YEAR, sequence=0)),
        "DefaulterRegistryListingExpired",
        listingId=a_id,
        until=a.until,
    )
    w = ledger.submit(court.signer, expired, relayer=relayer)
    assert w.block_time >= a.until
    assert one_event(ledger, w, "DefaulterRegistry", "DefaulterRemoved") == {
        "listingId": a_id,
        "subject": a.subject,
        "byCourt": court.id,
        "reason": RemovalReason.PERIOD_EXPIRED,
        "removedAt": w.block_time,
    }
    assert ledger.is_restricted(a.subject, R.FLIGHTS, a.until - 1) == (True, a_id, a.until)
    assert ledger.is_restricted(a.subject, R.FLIGHTS, w.block_time) == NOT_RESTRICTED


def test_regression_listing_for_another_courts_case_is_refused(ledger, new_court):
    """Only the enforcement case's court, or one above it, lists the case's debtor."""
    owner, stranger = new_court(), new_court()
    appellate = new_court()
    lower = new_court(appellate=appellate.id)
    _, cid = open_case(ledger, owner, 40)
    expect_revert(lambda: ledger.submit(stranger.signer, listing(stranger, cid, subject("x"), chain_now(ledger))),
                  "CourtAuthorizedNoAuthority", actingCourt=stranger.id, recordCourt=owner.id)
    _, lower_case = open_case(ledger, lower, 41)
    w = ledger.submit(appellate.signer, listing(appellate, lower_case, subject("y"), chain_now(ledger)))
    assert ledger.listing(w.record_id)["court"] == appellate.id


def test_regression_is_restricted_for_no_restriction_reverts(ledger, new_court):
    """Asking about restriction 0 used to answer 'restricted' for any running listing."""
    for restriction in (0, 1 << 8):
        expect_revert(lambda r=restriction: ledger.is_restricted(subject("z"), r, chain_now(ledger)),
                      "DefaulterRegistryInvalidRestrictions", restrictions=restriction)
