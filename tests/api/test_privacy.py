"""No identity number ever comes back in an error, a response or a log line."""

from __future__ import annotations

import json
import logging

import pytest

from tests.api.conftest import judgment_body, resident_id


def _bad_check_digit(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


def _bodies(number: str):
    good = judgment_body()
    party = {"role": "debtor", "kind": "resident_id", "id": number, "name": "王芳（示例）"}
    yield "/api/v1/judgments", {**good, "parties": [party], "amount": "lots"}  # valid ID, other field bad
    yield "/api/v1/judgments", {**good, "parties": [{**party, "id": _bad_check_digit(number)}]}
    yield "/api/v1/judgments", {**good, "parties": [{**party, "kind": "passport"}]}  # no country
    yield "/api/v1/judgments", {**good, "parties": [{**party, "role": "judge"}]}
    yield "/api/v1/judgments", {**good, "parties": [{**party, "extra": number}]}
    yield "/api/v1/judgments", {**good, "parties": [party, party]}  # the same party twice
    yield (
        "/api/v1/defaulters/listings",
        {
            "subject": {"kind": "resident_id", "id": number, "name": "x"},
            "case_id": "0x12",
            "ground": "able_but_refuses",
            "restrictions": [],
        },
    )
    yield (
        "/api/v1/defaulters/listings",
        {
            "subject": {"kind": "credit_code", "id": number, "name": "x"},
            "case_id": "0x" + "11" * 32,
            "ground": "able_but_refuses",
            "restrictions": ["flights"],
        },
    )


@pytest.mark.parametrize("case", range(8))
def test_422_bodies_never_contain_the_id_number(court, caplog, case):
    number = resident_id()
    path, body = list(_bodies(number))[case]
    with caplog.at_level(logging.DEBUG):
        r = court.api.post(path, body)
    assert r.status_code in (409, 422), r.text  # 409: the duplicate party reaches the desk
    assert r.headers["content-type"].startswith("application/problem+json")
    assert number not in r.text and _bad_check_digit(number) not in r.text
    assert number[:14] not in r.text
    for error in r.json().get("errors", []):
        assert set(error) == {"loc", "msg", "type"}
    assert number not in caplog.text and _bad_check_digit(number) not in caplog.text


def test_malformed_json_does_not_echo_the_body(court):
    number = resident_id()
    raw = ('{"parties": [{"id": "' + number + '", ').encode()
    r = court.api.post("/api/v1/judgments", raw)
    assert r.status_code == 400 and number not in r.text  # refused at the edge (api.limits)


def test_checks_422_hides_the_id(partner, caplog):
    number = resident_id()
    with caplog.at_level(logging.DEBUG):
        for subject in (
            {"kind": "resident_id", "id": _bad_check_digit(number)},
            {"kind": "resident_id", "id": number, "blind_index": "0x" + "11" * 32},  # partners hold no key
            {"kind": "passport", "id": number},
        ):
            r = partner.post("/api/v1/checks", {"subject": subject, "restriction": "flights"})
            assert r.status_code == 422 and number not in r.text and _bad_check_digit(number) not in r.text
    assert number not in caplog.text


def test_a_whole_story_logs_and_answers_nothing_personal(services, court, partner, caplog):
    number = resident_id()
    api = court.api
    with caplog.at_level(logging.DEBUG):
        body = judgment_body()
        body["parties"][0]["id"] = number
        answers = [api.post("/api/v1/judgments", body)]
        record = api.confirmed(answers[0])
        answers.append(api.get(f"/api/v1/records/{answers[0].json()['outbox_id']}"))
        answers.append(api.get(f"/api/v1/judgments/{record['record_id']}/certificate"))
        answers.append(
            partner.post(
                "/api/v1/checks", {"subject": {"kind": "resident_id", "id": number}, "restriction": "flights"}
            )
        )
    for r in answers:
        assert number not in r.text and "李明" not in r.text
    assert number not in caplog.text and "李明" not in caplog.text
    stored = json.dumps([e.record for e in [services.outbox.get(answers[0].json()["outbox_id"])]])
    assert number not in stored and "李明" not in stored
