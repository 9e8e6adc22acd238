"""The edge applies the chain's rules and the domain's: each boundary value is submitted to the API and, where
the API refuses it for a contract rule, the same value is sent to the chain through the library (bypassing
the API) to show the contract refuses it too; where the API accepts it, the write is confirmed on chain.
So nothing that passes the API fails on chain for a reason the API could have known.

Also: control characters in any text field, a client's attempt to write a date the chain would hold but
the domain never has (9999-12-31), and nothing accepted when refused."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from api.auth import Client
from api.services import Services, WriteContext
from ledger.privacy import Party, parse_subject
from ledger.records import Action, ActionKind, Ground, Restriction
from tests.api.conftest import CourtClient, judgment_body, resident_id


def _today(services: Services) -> date:
    return datetime.fromtimestamp(services.now(), UTC).date()


def _chain_verdict(services: Services, court: CourtClient, make: Any, family: str | None = None) -> str:
    """'confirmed', or the custom error the contract reverted with, for a record sent past the API."""
    client = Client(court.api.client_id, "court", court.court_id, frozenset())
    ctx = WriteContext(None, os.urandom(32))
    entry = services.writes.submit_record(client, ctx, court.court_id, make, family=family)
    deadline = time.monotonic() + 60
    while not (entry := services.outbox.get(entry.id)).finished:
        assert time.monotonic() < deadline, entry
        time.sleep(0.05)
    return "confirmed" if entry.state == "confirmed" else str((entry.error or {}).get("name"))


def _judgment_record(services: Services, court: CourtClient, **dates: date) -> Any:
    party = Party(role="debtor", subject=parse_subject("resident_id", resident_id(), None), name="示例")
    return lambda _: services.desk(court.court_id).judgment(
        case_number=f"(2020)京0108民初{os.urandom(3).hex()}号",
        document_digest=os.urandom(32),
        parties=[party],
        amount=100,
        currency="CNY",
        **dates,
    )


def _api_verdict(court: CourtClient, path: str, body: dict[str, Any]) -> str:
    r = court.api.post(path, body)
    if r.status_code == 202:
        return court.api.wait(r.json()["outbox_id"])["state"]
    assert r.status_code == 422, r.text
    return "refused"


# -- judgments: dates ------------------------------------------------------------------------------


def test_judgment_date_boundaries_agree_with_the_contract(services: Services, court: CourtClient) -> None:
    epoch, first = date(1970, 1, 1), date(1970, 1, 2)
    path = "/api/v1/judgments"
    # unix day 0 as the effective date: the contract refuses it, and the API says so first
    assert _api_verdict(court, path, judgment_body(judgment_date=str(epoch), effective_date=str(epoch))) == "refused"
    verdict = _chain_verdict(
        services, court, _judgment_record(services, court, judgment_date=epoch, effective_date=epoch)
    )
    assert verdict == "JudgmentRegistryInvalidDates"
    # effective before the judgment: both refuse
    assert (
        _api_verdict(court, path, judgment_body(judgment_date="2019-03-02", effective_date="2019-03-01")) == "refused"
    )
    late = _judgment_record(services, court, judgment_date=date(2019, 3, 2), effective_date=date(2019, 3, 1))
    with pytest.raises(ValueError, match="before judgment_date"):  # the library refuses to sign it at all
        late(None)
    # the first acceptable day, the same day twice, and tomorrow: accepted and confirmed
    assert _api_verdict(court, path, judgment_body(judgment_date=str(first), effective_date=str(first))) == "confirmed"
    tomorrow = str(_today(services) + timedelta(days=1))
    assert _api_verdict(court, path, judgment_body(judgment_date=tomorrow, effective_date=tomorrow)) == "confirmed"


@pytest.mark.parametrize("when", ["9999-12-31", "+2"])
def test_court_cannot_record_a_judgment_dated_in_the_future(services: Services, court: CourtClient, when: str) -> None:
    """The chain would hold 9999-12-31 (a uint40); the domain never has it, so the API refuses it."""
    day = str(_today(services) + timedelta(days=2)) if when == "+2" else when
    for dates in ({"judgment_date": day, "effective_date": day}, {"effective_date": day}):
        before = sum(services.outbox.counts().values())
        r = court.api.post("/api/v1/judgments", judgment_body(**dates))
        assert r.status_code == 422, r.text
        assert "in the future" in r.json()["detail"]
        assert sum(services.outbox.counts().values()) == before


# -- enforcement: filings and actions ----------------------------------------------------------------


@pytest.fixture(scope="module")
def open_case(services: Services, court: CourtClient) -> str:
    judgment = court.api.confirmed(court.api.post("/api/v1/judgments", judgment_body()))
    filing = {
        "judgment_id": judgment["record_id"],
        "case_number": f"(2020)京0108执{os.urandom(3).hex()}号",
        "amount_due": 1_000_000,
        "filed_at": str(_today(services)),
    }
    return str(court.api.confirmed(court.api.post("/api/v1/enforcement/cases", filing))["record_id"])


def test_filing_dates_and_amounts_are_checked_at_the_edge(services: Services, court: CourtClient) -> None:
    judgment = court.api.confirmed(court.api.post("/api/v1/judgments", judgment_body()))
    base = {"judgment_id": judgment["record_id"], "case_number": "(2020)京0108执1号", "amount_due": 5}
    for changes in (
        {"filed_at": "9999-12-31"},
        {"filed_at": "1970-01-01"},
        {"filed_at": "2020-01-01", "amount_due": 0},
    ):
        assert _api_verdict(court, "/api/v1/enforcement/cases", {**base, **changes}) == "refused"
    with pytest.raises(ValueError, match="greater than 0"):  # and the library will not sign a zero amount due
        services.desk(court.court_id).filing(
            judgment_id=bytes.fromhex(judgment["record_id"][2:]),
            case_number="(2020)京0108执2号",
            amount_due=0,
            filed_at=date(2020, 1, 1),
        )


@pytest.mark.parametrize(
    ("action", "contract_error"),
    [
        ({"kind": "payment_received", "amount": 0}, "EnforcementRegistryZeroAmount"),
        ({"kind": "notice", "amount": 5}, "EnforcementRegistryUnexpectedAmount"),
        ({"kind": "freeze", "detail": 3}, "EnforcementRegistryInvalidDetail"),
        ({"kind": "asset_inquiry", "detail": 1 << 16}, "EnforcementRegistryInvalidDetail"),
        ({"kind": "notice", "flags": 1}, "EnforcementRegistryInvalidFlags"),
    ],
)
def test_action_shapes_the_contract_refuses_are_refused_first(
    services: Services, court: CourtClient, open_case: str, action: dict[str, Any], contract_error: str
) -> None:
    path = f"/api/v1/enforcement/cases/{open_case}/actions"
    assert _api_verdict(court, path, action) == "refused"
    case_id = bytes.fromhex(open_case[2:])
    fields = {"amount": 0, "detail": 0, "flags": 0, **action, "kind": ActionKind[action["kind"].upper()]}
    make = lambda seq: Action(case_id=case_id, sequence=seq, **fields)  # noqa: E731
    assert _chain_verdict(services, court, make, family="case:" + open_case) == contract_error


def test_valid_action_passes_and_is_confirmed(court: CourtClient, open_case: str) -> None:
    path = f"/api/v1/enforcement/cases/{open_case}/actions"
    assert _api_verdict(court, path, {"kind": "asset_inquiry", "detail": 0xFFFF}) == "confirmed"
    assert _api_verdict(court, path, {"kind": "payment_received", "amount": 1}) == "confirmed"


# -- defaulter listings: the chain's time windows -----------------------------------------------------


def test_listing_time_boundaries_agree_with_the_contract(
    services: Services, court: CourtClient, open_case: str
) -> None:
    def body(listed_at: int) -> dict[str, Any]:
        return {
            "subject": {"kind": "resident_id", "id": resident_id(), "name": "示例"},
            "case_id": open_case,
            "ground": "able_but_refuses",
            "restrictions": ["flights"],
            "listed_at": listed_at,
        }

    def on_chain(listed_at: int) -> str:
        subject = parse_subject("resident_id", resident_id(), None)
        return _chain_verdict(
            services,
            court,
            lambda _: services.desk(court.court_id).listing(
                subject=subject,
                display_name="示例",
                case_id=bytes.fromhex(open_case[2:]),
                ground=Ground.ABLE_BUT_REFUSES,
                restrictions=Restriction.FLIGHTS,
                listed_at=listed_at,
            ),
        )

    path = "/api/v1/defaulters/listings"
    now = services.now()
    too_late, too_early = now + 15 * 60 + 120, now - 86400 - 120
    for listed_at in (too_late, too_early):
        assert _api_verdict(court, path, body(listed_at)) == "refused"
        assert on_chain(listed_at) == "DefaulterRegistryInvalidPeriod"
    for listed_at in (now + 14 * 60, now - 86400 + 3600 + 60):
        assert _api_verdict(court, path, body(listed_at)) == "confirmed"


# -- control characters ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\x1c", "\x00", "\t", "\u200b", "\ufeff", "\u202e", "\ue000"])
def test_control_and_invisible_characters_are_refused_in_every_text_field(
    services: Services, court: CourtClient, bad: str
) -> None:
    before = sum(services.outbox.counts().values())
    case = f"(2019)京0108民初{bad}1号"
    cases = [
        ("/api/v1/judgments", judgment_body(case_number=case)),
        ("/api/v1/verify/lookup", {"case_number": case, "document_sha256": "ab" * 32}),
    ]
    named = judgment_body()
    named["parties"][0]["name"] = f"李{bad}明"
    cases.append(("/api/v1/judgments", named))
    passport = judgment_body()
    passport["parties"][0].update(kind="passport", id=f"E1234{bad}567", country="CN")
    cases.append(("/api/v1/judgments", passport))
    for path, body in cases:
        r = court.api.post(path, body)
        assert r.status_code == 422, (path, r.text)
        assert bad not in r.text and case not in r.text  # the refusal names the position, never the text
    assert sum(services.outbox.counts().values()) == before
