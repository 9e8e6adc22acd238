"""Error bodies never carry personal data (issue 11, attack 7): a Hypothesis fuzz over the write and check
routes plants resident IDs and credit codes (valid and malformed) as field values, as values of unknown
keys, as unknown keys themselves and inside lists, and scans every response body for them, and for any
eight characters in a row of them (a birth date quoted back)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.services import RateLimiter
from ledger.privacy import make_credit_code, make_resident_id
from tests.api.conftest import judgment_body

pytestmark = pytest.mark.slow

JID = "0x" + "42" * 32


def _resident(region: str, birth: str, seq: int) -> str:
    return make_resident_id(region, birth, f"{seq:03d}")


valid_ids = st.builds(_resident, st.sampled_from(["110105", "310104", "440305", "513701"]),
                      st.dates().filter(lambda d: 1930 <= d.year <= 2005).map(lambda d: d.strftime("%Y%m%d")),
                      st.integers(0, 999))
malformed_ids = st.one_of(
    valid_ids.map(lambda i: i[:6] + "13449219" + i[14:]),         # a birth date that is not a date
    valid_ids.map(lambda i: i[:17] + ("0" if i[17] != "0" else "1")),  # a wrong check digit
    valid_ids.map(lambda i: "99" + i[2:]),                          # no such province
    valid_ids.map(lambda i: i[:-1]),                                # 17 characters
)
credit_codes = st.sampled_from(["91110108MA01ABCDE", "91350100M000100Y4", "91110000100012345"]).map(make_credit_code)
planted = st.one_of(valid_ids, malformed_ids, credit_codes)


def _templates() -> dict[str, tuple[str, str, dict[str, Any]]]:
    subject = {"kind": "resident_id", "id": make_resident_id("110105", "19800101", "001"), "name": "示例"}
    return {
        "judgment": ("court", "/api/v1/judgments", judgment_body(1)),
        "status": ("court", f"/api/v1/judgments/{JID}/status", {"status": "set_aside"}),
        "filing": ("court", "/api/v1/enforcement/cases", {"judgment_id": JID, "case_number": "(2019)京0108执1号",
                                                          "amount_due": 5, "filed_at": "2019-01-01"}),
        "action": ("court", f"/api/v1/enforcement/cases/{JID}/actions", {"kind": "notice"}),
        "listing": ("court", "/api/v1/defaulters/listings", {"subject": subject, "case_id": JID,
                                                             "ground": "able_but_refuses",
                                                             "restrictions": ["flights"]}),
        "removal": ("court", f"/api/v1/defaulters/listings/{JID}/removal", {"reason": "performed"}),
        "check": ("partner", "/api/v1/checks", {"subject": {"kind": "resident_id", "id": subject["id"]},
                                                "restriction": "flights"}),
        "batch": ("partner", "/api/v1/checks/batch", {"subjects": [{"kind": "resident_id", "id": subject["id"]}],
                                                      "restriction": "flights"}),
        "lookup": ("public", "/api/v1/verify/lookup", {"case_number": "(2019)京0108民初1号",
                                                       "document_sha256": "ab" * 32}),
    }


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every leaf position in a JSON body."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, (*prefix, k))] or [prefix]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(v, (*prefix, i))] or [prefix]
    return [prefix]


def _set(body: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        body = body[step]
    body[path[-1]] = value


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    route = draw(st.sampled_from(sorted(_templates())))
    body = json.loads(json.dumps(_templates()[route][2]))
    secret = draw(planted)
    how = draw(st.sampled_from(["field", "unknown_value", "unknown_key", "list", "subject_id", "nested_unknown"]))
    if how == "field":
        _set(body, draw(st.sampled_from(_paths(body))), secret)
    elif how == "unknown_value":
        body[draw(st.sampled_from(["id_number", "note", "身份证号", "x"]))] = secret
    elif how == "unknown_key":
        body[secret] = draw(st.sampled_from([True, 1, "x", secret]))
    elif how == "list":
        _set(body, draw(st.sampled_from(_paths(body))), [secret, {"id": secret}])
    elif how == "nested_unknown":
        parent = draw(st.sampled_from([p[:-1] for p in _paths(body) if len(p) > 1] or [()]))
        target = body
        for step in parent:
            target = target[step]
        if isinstance(target, dict):
            target["extra_" + draw(st.sampled_from(["a", "b"]))] = secret
        else:
            body["extra"] = secret
    else:
        for path in _paths(body):
            if path and path[-1] == "id":
                _set(body, path, secret)
        body.setdefault("unexpected", secret)
    return route, body, secret


def _windows(secret: str, size: int = 8) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)} | {secret}


@pytest.fixture(autouse=True)
def _generous_limit(services):
    services.rate_limiter = RateLimiter(10_000.0, 10_000)


def test_no_error_body_repeats_an_identifier_it_was_sent(court, partner, public):
    clients = {"court": court.api, "partner": partner, "public": public}
    seen: dict[int, int] = {}

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(mutations())
    def run(case: tuple[str, dict[str, Any], str]) -> None:
        route, body, secret = case
        kind, path, _ = _templates()[route]
        response = clients[kind].post(path, body)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        text = response.text
        leaked = [w for w in _windows(secret) if w in text]
        assert not leaked, f"{route} {response.status_code} repeats {leaked[0]!r}: {text[:300]}"

    run()
    assert seen.get(422, 0) > 50, seen  # the fuzz mostly hits error paths, which is what it scans


def test_unknown_keys_are_named_when_they_are_field_names_and_never_echoed(court):
    secret = make_resident_id("110105", "19491231", "002")
    body = {**judgment_body(2), "id_number": secret, secret: True}
    problem = court.api.post("/api/v1/judgments", body).json()
    locations = [e["loc"] for e in problem["errors"]]
    assert ["body", "id_number"] in locations and ["body", "<unknown key>"] in locations, locations
    assert secret not in json.dumps(problem)


def test_an_invalid_identifier_is_described_without_its_digits(partner):
    bad = make_resident_id("110105", "19491231", "002")[:6] + "13449219" + "0021"
    problem = partner.post("/api/v1/checks", {"subject": {"kind": "resident_id", "id": bad},
                                              "restriction": "flights"}).json()
    message = json.dumps(problem, ensure_ascii=False)
    assert "birth date (characters 7-14) is not a real date" in message and "13449219" not in message
