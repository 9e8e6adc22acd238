"""Partner checks: restricted or not, until when, nothing else; answered from the index; audited."""

from __future__ import annotations

import time

from ledger.privacy import blind_index, parse_subject
from tests.api.conftest import judgment_body, resident_id


def _listed_subject(services, court):
    api = court.api
    jid = api.confirmed(api.post("/api/v1/judgments", judgment_body()))["record_id"]
    case_id = api.confirmed(
        api.post(
            "/api/v1/enforcement/cases",
            {
                "judgment_id": jid,
                "case_number": "(2021)京0108执77号",
                "amount_due": 500,
                "filed_at": "2021-01-05",
            },
        )
    )["record_id"]
    number = resident_id()
    listing = api.confirmed(
        api.post(
            "/api/v1/defaulters/listings",
            {
                "subject": {"kind": "resident_id", "id": number, "name": "赵强（示例）"},
                "case_id": case_id,
                "ground": "violates_property_report",
                "restrictions": ["flights", "rail", "high_consumption"],
            },
        )
    )
    return number, listing


def _wait_answer(partner, body, restricted, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        r = partner.post("/api/v1/checks", body)
        assert r.status_code == 200, r.text
        if r.json()["restricted"] is restricted or time.monotonic() > deadline:
            return r.json()
        time.sleep(0.1)


def test_check_before_and_after_delisting_with_audit(services, court, partner):
    number, listing = _listed_subject(services, court)
    ask = {"subject": {"kind": "resident_id", "id": number}, "restriction": "flights"}
    answer = _wait_answer(partner, ask, True)
    assert answer.keys() == {"restricted", "until"}
    assert answer["restricted"] is True and answer["until"] > time.time()
    # Not restricted for something the listing does not carry.
    assert partner.post("/api/v1/checks", {**ask, "restriction": "company_office"}).json() == {
        "restricted": False,
        "until": None,
    }

    court.api.confirmed(
        court.api.post(f"/api/v1/defaulters/listings/{listing['record_id']}/removal", {"reason": "performed"})
    )
    assert _wait_answer(partner, ask, False) == {"restricted": False, "until": None}

    rows = services.audit.rows(partner.client_id)
    blind = bytes(blind_index(services.blind_key, parse_subject("resident_id", number)))
    mine = [r for r in rows if r["subject"] == blind]
    assert any(r["restricted"] for r in mine) and mine[-1]["restricted"] is False  # polls show both answers
    assert {r["restriction"] for r in mine} == {1, 32}
    assert all(abs(r["at"] - time.time()) < 600 for r in mine)
    dump = repr(rows)
    assert number not in dump


def test_batch_check_in_order_in_both_forms(services, court, partner):
    number, _ = _listed_subject(services, court)
    _wait_answer(partner, {"subject": {"kind": "resident_id", "id": number}, "restriction": "rail"}, True)
    others = [resident_id() for _ in range(300)]
    ids = [*others[:150], number, *others[150:]]
    forms = ({"subjects": [{"kind": "resident_id", "id": i} for i in ids]}, {"kind": "resident_id", "ids": ids})
    for form in forms:
        r = partner.post("/api/v1/checks/batch", {**form, "restriction": "rail"})
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert len(results) == 301
        assert [i for i, a in enumerate(results) if a["restricted"]] == [150]
    batch_rows = [row for row in services.audit.rows(partner.client_id) if row["batch"]]
    assert len(batch_rows) >= 301 and len({row["batch"] for row in batch_rows[-301:]}) == 1
    assert number not in repr(batch_rows)


def test_batch_limit(partner):
    ids = [resident_id(1)] * 10_001
    r = partner.post("/api/v1/checks/batch", {"kind": "resident_id", "ids": ids, "restriction": "rail"})
    assert r.status_code == 422


def test_partner_cannot_ask_by_blind_index_it_would_need_the_key_for(services, court, partner):
    number, _ = _listed_subject(services, court)
    blind = blind_index(services.blind_key, parse_subject("resident_id", number))
    single = partner.post("/api/v1/checks", {"subject": {"blind_index": "0x" + blind.hex()},
                                             "restriction": "flights"})
    batch = partner.post("/api/v1/checks/batch", {"blind_indexes": ["0x" + blind.hex()], "restriction": "flights"})
    assert single.status_code == 422 and batch.status_code == 422
    assert blind.hex() not in single.text + batch.text


def test_an_invalid_id_in_a_plain_batch_is_named_by_position_without_its_digits(partner):
    good, bad = resident_id(2), resident_id(3)[:17] + "0"
    if bad == resident_id(3):
        bad = resident_id(3)[:17] + "1"
    r = partner.post("/api/v1/checks/batch", {"kind": "resident_id", "ids": [good, bad], "restriction": "rail"})
    assert r.status_code == 422 and "identifier 1:" in r.json()["detail"], r.text
    assert bad not in r.text and bad[6:14] not in r.text


def test_subject_needs_an_identifier(partner):
    for subject in (
        {},
        {"kind": "resident_id"},
        {"blind_index": "0x" + "11" * 32, "kind": "resident_id", "id": resident_id()},
    ):
        assert (
            partner.post("/api/v1/checks", {"subject": subject, "restriction": "flights"}).status_code == 422
        )
