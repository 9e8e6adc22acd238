"""Bitstring Status Lists and certificates as Verifiable Credentials, through the service.

The status bit follows the chain: setting a judgment aside or removing a listing flips its revocation bit,
an appeal its suspension bit. The lists carry nothing but bits.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
from jsonschema import Draft202012Validator

from api.services import RateLimiter
from ledger.vc import STATUS_LIST_SIZE, status_bit
from tests.api.conftest import judgment_body, resident_id

W3C_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "w3c" / "verifiable-credential-2.0.schema.json"


@pytest.fixture(autouse=True)
def _generous_limit(services):
    services.rate_limiter = RateLimiter(1000.0, 1000)


def _w3c_errors(vc: dict) -> list[str]:
    return [e.message for e in Draft202012Validator(json.loads(W3C_SCHEMA.read_text("utf-8"))).iter_errors(vc)]


def _judgment(court) -> dict:
    body = judgment_body(document_sha256=hashlib.sha256(os.urandom(64)).hexdigest())
    return court.api.confirmed(court.api.post("/api/v1/judgments", body))


def _credential(court, record: dict, **kw) -> dict:
    r = court.api.get(f"/api/v1/records/{record['outbox_id']}/certificate" + kw.get("query", ""),
                      headers=kw.get("headers"))
    assert r.status_code == 200, r.text
    return r.json()


def _bit(public, services, entry: dict, block: int) -> bool:
    assert services.wait_indexed(block)
    r = public.get(urlparse(entry["statusListCredential"]).path)
    assert r.status_code == 200, r.text
    listing = r.json()
    assert listing["type"] == ["VerifiableCredential", "BitstringStatusListCredential"] and not _w3c_errors(listing)
    subject = listing["credentialSubject"]
    assert subject["statusPurpose"] == entry["statusPurpose"]
    return status_bit(subject["encodedList"], int(entry["statusListIndex"]))


def test_certificate_route_answers_a_credential_when_asked(court, services):
    record = _judgment(court)
    by_query = _credential(court, record, query="?format=vc")
    by_accept = _credential(court, record, headers={"Accept": "application/vc+ld+json"})
    plain = _credential(court, record)
    assert by_query == by_accept and not _w3c_errors(by_query)
    assert plain["version"] == 2 and by_query["evidence"][0]["certificate"] == plain
    assert [e["statusPurpose"] for e in by_query["credentialStatus"]] == ["revocation", "suspension"]
    position = services.index.status_position(bytes.fromhex(record["record_id"][2:]))
    assert by_query["credentialStatus"][0]["statusListIndex"] == str(position % STATUS_LIST_SIZE)


def test_setting_a_judgment_aside_flips_its_revocation_bit(court, public, services):
    record = _judgment(court)
    revocation, suspension = _credential(court, record, query="?format=vc")["credentialStatus"]
    assert not _bit(public, services, revocation, record["block_number"])
    appealed = court.api.confirmed(court.api.post(f"/api/v1/judgments/{record['record_id']}/status",
                                                  {"status": "under_appeal"}))
    assert _bit(public, services, suspension, appealed["block_number"])
    assert not _bit(public, services, revocation, appealed["block_number"])
    set_aside = court.api.confirmed(court.api.post(f"/api/v1/judgments/{record['record_id']}/status",
                                                   {"status": "set_aside"}))
    assert _bit(public, services, revocation, set_aside["block_number"])
    assert not _bit(public, services, suspension, set_aside["block_number"])


def test_a_stay_of_enforcement_sets_the_suspension_bit_until_lifted(court, public, services):
    record = _judgment(court)
    revocation, suspension = _credential(court, record, query="?format=vc")["credentialStatus"]
    path = f"/api/v1/judgments/{record['record_id']}/status"
    stayed = court.api.confirmed(court.api.post(path, {"status": "stayed"}))
    assert _bit(public, services, suspension, stayed["block_number"])
    assert not _bit(public, services, revocation, stayed["block_number"])
    lifted = court.api.confirmed(court.api.post(path, {"status": "effective"}))
    assert not _bit(public, services, suspension, lifted["block_number"])


def test_removing_a_listing_flips_its_revocation_bit(court, public, services):
    judgment = _judgment(court)
    filing = court.api.confirmed(court.api.post("/api/v1/enforcement/cases", {
        "judgment_id": judgment["record_id"], "case_number": "(2019)京0108执4567号", "amount_due": 13_000,
        "filed_at": "2019-04-02"}))
    listing = court.api.confirmed(court.api.post("/api/v1/defaulters/listings", {
        "subject": {"kind": "resident_id", "id": resident_id(), "name": "张三"}, "case_id": filing["record_id"],
        "ground": "able_but_refuses", "restrictions": ["flights"]}))
    vc = _credential(court, listing, query="?format=vc")
    assert not _w3c_errors(vc) and vc["validUntil"]
    (revocation,) = vc["credentialStatus"]
    assert not _bit(public, services, revocation, listing["block_number"])
    removed = court.api.confirmed(court.api.post(f"/api/v1/defaulters/listings/{listing['record_id']}/removal",
                                                 {"reason": "performed"}))
    assert _bit(public, services, revocation, removed["block_number"])


def test_status_list_is_sixteen_kilobytes_of_bits_and_nothing_else(court, public, services):
    record = _judgment(court)
    r = public.get("/api/v1/status/revocation/0")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vc")
    subject = r.json()["credentialSubject"]
    assert set(subject) == {"id", "type", "statusPurpose", "encodedList"}
    body = subject["encodedList"][1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert len(bits) == STATUS_LIST_SIZE // 8 == 16_384
    assert record["record_id"][2:] not in r.text and str(court.court_id) not in r.text
    assert public.get("/api/v1/status/expired/0").status_code == 422
    assert public.get("/api/v1/status/revocation/-1").status_code == 422


def test_a_credential_verifies_through_the_service(court, public):
    vc = _credential(court, _judgment(court), query="?format=vc")
    result = public.post("/api/v1/verify/certificate", {"certificate": vc})
    assert result.status_code == 200, result.text
    assert result.json()["authentic"] is True and "Verifiable Credential" in result.json()["steps"][0]["detail"]


def test_a_credential_claiming_another_amount_is_refused_by_the_service(court, public):
    vc = _credential(court, _judgment(court), query="?format=vc")
    forged = copy.deepcopy(vc)
    forged["credentialSubject"]["amount"] = str(int(vc["credentialSubject"]["amount"]) * 100)
    problem = public.post("/api/v1/verify/certificate", {"certificate": forged}).json()
    assert problem["step"] == "format" and "credentialSubject/amount" in problem["detail"]
    assert "authentic" not in problem


def test_each_records_own_certificate_route_answers_a_credential_when_asked(court, services):
    judgment = _judgment(court)
    case = court.api.confirmed(court.api.post("/api/v1/enforcement/cases", {
        "judgment_id": judgment["record_id"], "case_number": "(2019)京0108执7301号", "amount_due": 1_000,
        "filed_at": "2019-04-02"}))
    listing = court.api.confirmed(court.api.post("/api/v1/defaulters/listings", {
        "subject": {"kind": "resident_id", "id": resident_id(), "name": "张三"}, "case_id": case["record_id"],
        "ground": "able_but_refuses", "restrictions": ["flights"]}))
    assert services.wait_indexed(listing["block_number"])
    for path, record in ((f"/api/v1/judgments/{judgment['record_id']}/certificate", judgment),
                         (f"/api/v1/enforcement/cases/{case['record_id']}/certificate", case),
                         (f"/api/v1/defaulters/listings/{listing['record_id']}/certificate", listing)):
        plain = court.api.get(path)
        vc = court.api.get(path + "?format=vc")
        assert plain.status_code == vc.status_code == 200, (path, vc.text)
        assert plain.json()["version"] == 2 and plain.json()["record_id"] == record["record_id"]
        assert not _w3c_errors(vc.json()), path
        assert vc.json()["evidence"][0]["certificate"]["record_id"] == record["record_id"]
