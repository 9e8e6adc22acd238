"""Idempotency-Key: a retried write returns the same outbox record, never a second one."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from api.auth import sign_request
from tests.api.conftest import judgment_body


def test_retry_with_the_same_key_returns_the_same_record(services, court):
    body = judgment_body()
    first = court.api.post("/api/v1/judgments", body, headers={"Idempotency-Key": "retry-1"})
    again = court.api.post("/api/v1/judgments", body, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 202
    # The same record; only its progress may differ, as the worker can move it on between the two calls.
    progress = ("state", "transaction_hash", "block_number", "error")
    assert {k: v for k, v in first.json().items() if k not in progress} == {
        k: v for k, v in again.json().items() if k not in progress
    }
    court.api.confirmed(first)
    after = court.api.post("/api/v1/judgments", body, headers={"Idempotency-Key": "retry-1"})
    assert after.json()["outbox_id"] == first.json()["outbox_id"] and after.json()["state"] == "confirmed"
    # Only one judgment reached the chain and the vault: a second accept would have a fresh salt and id.
    assert services.outbox.by_record_id(bytes.fromhex(first.json()["record_id"][2:])) is not None


def test_same_key_different_body_is_409(court):
    court.api.post("/api/v1/judgments", judgment_body(), headers={"Idempotency-Key": "retry-2"})
    r = court.api.post("/api/v1/judgments", judgment_body(), headers={"Idempotency-Key": "retry-2"})
    assert r.status_code == 409
    assert r.json()["type"].endswith("idempotency-conflict")


def test_keys_are_per_client(court, other_court):
    a = court.api.post("/api/v1/judgments", judgment_body(), headers={"Idempotency-Key": "shared"})
    b = other_court.api.post("/api/v1/judgments", judgment_body(), headers={"Idempotency-Key": "shared"})
    assert a.json()["outbox_id"] != b.json()["outbox_id"]


def test_without_a_key_each_post_is_a_new_record(court):
    body = judgment_body()
    a = court.api.post("/api/v1/judgments", body)
    b = court.api.post("/api/v1/judgments", body)
    assert a.json()["outbox_id"] != b.json()["outbox_id"]
    assert a.json()["record_id"] != b.json()["record_id"]  # fresh commitment salt each time


def test_concurrent_retries_make_one_record(http, court):
    raw = json.dumps(judgment_body()).encode()

    def send(_):
        headers = sign_request(court.api.client_id, court.api.key, "POST", "/api/v1/judgments", raw)
        return http.post("/api/v1/judgments", content=raw, headers={**headers, "Idempotency-Key": "race"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {r.status_code for r in answers} == {202}
    assert len({r.json()["outbox_id"] for r in answers}) == 1


def test_governance_retry_creates_one_signer_key(services, gov, court):
    before = len(services.keystore.addresses())
    a = gov.post(f"/api/v1/courts/{court.court_id}/suspend", headers={"Idempotency-Key": "g1"})
    b = gov.post(f"/api/v1/courts/{court.court_id}/suspend", headers={"Idempotency-Key": "g1"})
    assert a.json()["outbox_id"] == b.json()["outbox_id"]
    gov.confirmed(a)
    gov.confirmed(gov.post(f"/api/v1/courts/{court.court_id}/reinstate"))
    assert len(services.keystore.addresses()) == before
