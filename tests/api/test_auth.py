"""Signed requests: who may call what, and every way a request is refused."""

from __future__ import annotations

import base64
import json
import time

from api.auth import generate_key, public_key_text, sign_request
from tests.api.conftest import ApiClient, judgment_body, register

ANY_RECORD = "/api/v1/records/ob_" + "0" * 24


def _problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == status
    return body


def test_no_credentials_is_401(public):
    _problem(public.get(ANY_RECORD), 401)
    _problem(public.post("/api/v1/judgments", judgment_body()), 401)
    _problem(
        public.post(
            "/api/v1/checks", {"subject": {"kind": "resident_id", "id": "11010519491231002X"}, "restriction": "flights"}
        ),
        401,
    )


def test_bad_signature_is_401(http, court):
    other_key = generate_key()
    forged = ApiClient(http, court.api.client_id, other_key)
    assert "bad signature" in _problem(forged.get(ANY_RECORD), 401)["detail"]


def test_malformed_signatures_are_401_not_500(http, court):
    headers = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD, b"")
    good = base64.b64decode(headers["Signature"][len("sig1=:") : -1])
    for bad in (
        good[:40],  # too short
        good + b"\x00",  # too long
        bytes(64),  # all zero
        good[:32] + bytes([good[32] ^ 1]) + good[33:],  # one bit of S flipped
    ):
        fresh = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD, b"")
        value = f"sig1=:{base64.b64encode(bad).decode()}:"
        detail = _problem(http.get(ANY_RECORD, headers={**fresh, "Signature": value}), 401)["detail"]
        assert "signature" in detail.lower(), bad


def test_body_altered_after_signing_is_401(http, court):
    body = json.dumps(judgment_body()).encode()
    headers = sign_request(court.api.client_id, court.api.key, "POST", "/api/v1/judgments", body)
    tampered = body.replace(b"1300000", b"9300000")
    _problem(http.post("/api/v1/judgments", content=tampered, headers=headers), 401)


def test_path_and_query_are_signed(http, court):
    headers = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD)
    _problem(http.get(ANY_RECORD + "?x=1", headers=headers), 401)
    headers = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD + "?x=1")
    _problem(http.get(ANY_RECORD + "?x=1", headers=headers), 404)  # authenticated; the record does not exist


def test_expired_or_future_timestamp_is_401(http, court):
    for skew in (-301, 301):
        headers = sign_request(
            court.api.client_id, court.api.key, "GET", ANY_RECORD, timestamp=int(time.time()) + skew
        )
        assert "outside" in _problem(http.get(ANY_RECORD, headers=headers), 401)["detail"]


def test_replayed_nonce_is_401(http, court):
    headers = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD)
    assert http.get(ANY_RECORD, headers=headers).status_code == 404
    assert "replayed" in _problem(http.get(ANY_RECORD, headers=headers), 401)["detail"]


def test_unknown_inactive_and_rotated_clients_are_401(services, http, court):
    key = generate_key()
    _problem(ApiClient(http, "nobody-at-all", key).get(ANY_RECORD), 401)
    cid, key = register(services, "partner")
    client = ApiClient(http, cid, key)
    assert client.get(ANY_RECORD).status_code == 404
    services.clients.set_active(cid, False)
    _problem(client.get(ANY_RECORD), 401)
    services.clients.set_active(cid, True)
    new_key = generate_key()
    services.clients.rotate(cid, public_key_text(new_key))
    _problem(client.get(ANY_RECORD), 401)  # the old key stopped working at once
    assert ApiClient(http, cid, new_key).get(ANY_RECORD).status_code == 404


def test_malformed_headers_are_401(http, court):
    headers = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD)
    given = headers["Signature-Input"]
    nonce = given.split('nonce="')[1].split('"')[0]
    _problem(http.get(ANY_RECORD, headers={**headers, "Signature-Input": given.replace(nonce, "short")}), 401)
    _problem(http.get(ANY_RECORD, headers={**headers, "Signature-Input": given.replace("created=", "created=-")}), 401)
    _problem(http.get(ANY_RECORD, headers={**headers, "Signature": "sig1=:not base64!:"}), 401)
    forged = f"sig1=:{base64.b64encode(b'x' * 64).decode()}:"
    _problem(http.get(ANY_RECORD, headers={**headers, "Signature": forged}), 401)


def test_court_cannot_write_as_another_court(court, other_court):
    body = judgment_body(court=other_court.court_id)
    detail = _problem(court.api.post("/api/v1/judgments", body), 403)["detail"]
    assert str(court.court_id) in detail
    filing = {
        "court": other_court.court_id,
        "judgment_id": "0x" + "11" * 32,
        "case_number": "(2019)京0108执1号",
        "amount_due": 1,
        "filed_at": "2019-04-02",
    }
    _problem(court.api.post("/api/v1/enforcement/cases", filing), 403)


def test_court_cannot_read_another_courts_records(court, other_court):
    r = court.api.post("/api/v1/judgments", judgment_body())
    assert r.status_code == 202
    outbox_id = r.json()["outbox_id"]
    _problem(other_court.api.get(f"/api/v1/records/{outbox_id}"), 404)
    _problem(other_court.api.get(f"/api/v1/courts/{court.court_id}"), 403)
    assert court.api.get(f"/api/v1/courts/{court.court_id}").json()["status"] == "active"


def test_wrong_kind_of_client_is_403(court, partner, gov):
    _problem(partner.post("/api/v1/judgments", judgment_body()), 403)
    _problem(court.api.post("/api/v1/courts", {"court_id": 5, "jurisdiction": "CN-BJ"}), 403)
    _problem(
        court.api.post(
            "/api/v1/checks", {"subject": {"kind": "resident_id", "id": "11010519491231002X"}, "restriction": "flights"}
        ),
        403,
    )
    _problem(gov.post("/api/v1/judgments", judgment_body()), 403)


def test_missing_scope_is_403(services, http):
    cid, key = register(services, "court", court_id=123, scopes=["records:read"])
    r = ApiClient(http, cid, key).post("/api/v1/judgments", judgment_body())
    assert "judgments:write" in _problem(r, 403)["detail"]


def test_court_without_key_here_is_409(services, http):
    cid, key = register(services, "court", court_id=987_654_321)
    r = ApiClient(http, cid, key).post("/api/v1/judgments", judgment_body())
    assert "no signer key" in _problem(r, 409)["detail"]


def test_clients_file_is_loaded_and_upserted(tmp_path):
    from api.auth import ClientRegistry

    key, rotated = generate_key(), generate_key()
    path = tmp_path / "clients.json"
    path.write_text(
        json.dumps(
            [
                {"client_id": "airline-1", "kind": "partner", "public_key": public_key_text(key)},
                {
                    "client_id": "court-9",
                    "kind": "court",
                    "court_id": 9,
                    "public_key": public_key_text(key),
                    "scopes": ["records:read"],
                },
            ]
        )
    )
    registry = ClientRegistry(tmp_path / "service.sqlite")
    try:
        assert registry.load_file(path) == 2
        found = registry.get("court-9")
        assert found is not None and found[0].court_id == 9 and found[0].scopes == {"records:read"}
        path.write_text(
            json.dumps(
                [
                    {
                        "client_id": "airline-1",
                        "kind": "partner",
                        "public_key": public_key_text(rotated),
                        "active": False,
                    }
                ]
            )
        )
        registry.load_file(path)
        airline = registry.get("airline-1")
        assert airline is not None and airline[0].active is False and airline[0].scopes == {"checks:read"}
    finally:
        registry.close()
