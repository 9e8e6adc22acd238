"""Public verification: every step or the failing step; one verdict per look-up; rate-limited."""

from __future__ import annotations

import copy
import hashlib
import os

import pytest

from api.services import RateLimiter
from ledger.verify import NetworkDescriptor, TrustAnchors, verify_certificate
from tests.api.conftest import judgment_body
from tests.mutations import high_s_twin, v_zero_or_one


@pytest.fixture(scope="module")
def certified(court):
    document = b"%PDF-1.7 " + os.urandom(200)
    body = judgment_body(document_sha256=hashlib.sha256(document).hexdigest())
    record = court.api.confirmed(court.api.post("/api/v1/judgments", body))
    cert = court.api.get(f"/api/v1/judgments/{record['record_id']}/certificate").json()
    return document, body, record, cert


@pytest.fixture(autouse=True)
def _generous_limit(services):
    services.rate_limiter = RateLimiter(1000.0, 1000)


def test_verify_certificate_lists_every_step(public, certified):
    document, _, record, cert = certified
    r = public.post(
        "/api/v1/verify/certificate",
        {"certificate": cert, "document_sha256": hashlib.sha256(document).hexdigest()},
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert (
        result["verified"] is True and result["online"] is True and result["record_id"] == record["record_id"]
    )
    assert [s["name"] for s in result["steps"]] == [
        "format",
        "network",
        "signature",
        "document",
        "chain",
        "signer",
        "record",
        "status",
    ]
    assert result["authentic"] is True and result["in_force"] is True and result["state"] == "effective"


def test_set_aside_judgment_is_authentic_but_never_a_plain_success(court, public):
    body = judgment_body(document_sha256=hashlib.sha256(os.urandom(64)).hexdigest())
    record = court.api.confirmed(court.api.post("/api/v1/judgments", body))
    cert = court.api.get(f"/api/v1/judgments/{record['record_id']}/certificate").json()
    court.api.confirmed(court.api.post(f"/api/v1/judgments/{record['record_id']}/status",
                                       {"status": "set_aside"}))
    result = public.post("/api/v1/verify/certificate", {"certificate": cert}).json()
    assert result["authentic"] is True and result["in_force"] is False and result["state"] == "set_aside"
    assert "NOT in force" in result["summary"]
    before = cert["transaction"]["block_time"] - 1
    then = public.post("/api/v1/verify/certificate", {"certificate": cert, "at": before}).json()
    assert then["at"] == before and then["state"] == "not_yet_recorded" and then["in_force"] is False


def test_format_1_and_numbers_as_strings_are_refused(public, certified):
    _, _, _, cert = certified
    old = copy.deepcopy(cert)
    old["version"] = 1
    problem = public.post("/api/v1/verify/certificate", {"certificate": old}).json()
    assert problem["step"] == "format" and "ask the court for a v2 certificate" in problem["detail"]
    as_string = copy.deepcopy(cert)
    as_string["transaction"]["block_number"] = str(cert["transaction"]["block_number"])
    problem = public.post("/api/v1/verify/certificate", {"certificate": as_string}).json()
    assert problem["step"] == "format" and "transaction/block_number" in problem["detail"]


def test_a_tampered_certificate_fails_at_its_step(public, certified):
    _, _, _, cert = certified
    forged = copy.deepcopy(cert)
    forged["record"]["amount"] = str(int(cert["record"]["amount"]) + 1)
    forged["record_id"] = cert["record_id"]
    r = public.post("/api/v1/verify/certificate", {"certificate": forged})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["step"] == "format" and problem["steps"] == []

    other = copy.deepcopy(cert)
    other["network"]["contract"] = "0x" + "12" * 20
    problem = public.post("/api/v1/verify/certificate", {"certificate": other}).json()
    assert problem["step"] == "network" and [s["name"] for s in problem["steps"]] == ["format"]

    resigned = copy.deepcopy(cert)
    resigned["signature"]["value"] = "0x" + "11" * 64 + "1b"
    problem = public.post("/api/v1/verify/certificate", {"certificate": resigned}).json()
    assert problem["step"] == "signature"


def test_wrong_document_fails_at_the_document_step(public, certified):
    _, _, _, cert = certified
    r = public.post("/api/v1/verify/certificate", {"certificate": cert, "document_sha256": "ab" * 32})
    problem = r.json()
    assert r.status_code == 422 and problem["step"] == "document"
    assert [s["name"] for s in problem["steps"]] == ["format", "network", "signature"]


def test_lookup_answers_one_verdict(services, public, certified):
    _, body, record, _ = certified
    services.wait_indexed(record["block_number"])
    r = public.post(
        "/api/v1/verify/lookup",
        {"case_number": body["case_number"], "document_sha256": body["document_sha256"]},
    )
    answer = r.json()
    assert answer["verdict"] == "verified" and answer["judgment_id"] == record["record_id"]
    assert answer["status"] == "effective"
    # Full-width brackets and spaces name the same case.
    fullwidth = body["case_number"].replace("(", "（").replace(")", "）")
    assert (
        public.post(
            "/api/v1/verify/lookup",
            {"case_number": " " + fullwidth, "document_sha256": body["document_sha256"]},
        ).json()["verdict"]
        == "verified"
    )
    miss = public.post(
        "/api/v1/verify/lookup", {"case_number": body["case_number"], "document_sha256": "cd" * 32}
    )
    assert miss.json()["verdict"] == "does_not_match" and miss.json().get("judgment_id") is None
    unknown = public.post(
        "/api/v1/verify/lookup", {"case_number": "(2099)京9999执1号", "document_sha256": body["document_sha256"]}
    )
    assert unknown.json()["verdict"] == "not_on_chain"


def test_network_descriptor_is_pinnable(services, public, certified):
    _, _, _, cert = certified
    descriptor = NetworkDescriptor.model_validate(public.get("/api/v1/verify/network").json())
    trust = TrustAnchors.from_descriptors([descriptor], [services.governor.address])
    assert verify_certificate(cert, trust=trust).online is False


def test_rate_limit_is_429_per_address(services, public, certified):
    services.rate_limiter = RateLimiter(0.01, 3)
    _, body, _, _ = certified
    ask = {"case_number": body["case_number"], "document_sha256": body["document_sha256"]}
    codes = [public.post("/api/v1/verify/lookup", ask).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    r = public.post("/api/v1/verify/lookup", ask)
    assert (
        r.headers["content-type"].startswith("application/problem+json")
        and int(r.headers["Retry-After"]) >= 1
    )


def test_no_public_listing_endpoints(http):
    spec = http.get("/openapi.json").json()
    public_paths = [p for p, ops in spec["paths"].items() if p.startswith("/api/v1/verify")]
    assert sorted(public_paths) == [
        "/api/v1/verify/certificate",
        "/api/v1/verify/lookup",
        "/api/v1/verify/network",
        "/api/v1/verify/recorded/{block_number}",  # a block's time, for the printed sheet: no record data
    ]
    assert http.get("/docs").status_code == 200


FORGERIES = {
    "high_s_twin": (lambda c: c["signature"].update(value=high_s_twin(c["signature"]["value"])), "signature"),
    "v_zero": (lambda c: c["signature"].update(value=v_zero_or_one(c["signature"]["value"])), "format"),
    "block_time_plus_one": (lambda c: c["transaction"].update(block_time=c["transaction"]["block_time"] + 1),
                            "signer"),
    "unsigned_status_block": (lambda c: c.update(status={"status": "effective"}), "format"),
    "other_block_hash": (lambda c: c["transaction"].update(block_hash="0x" + "ab" * 32), "signer"),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_the_service_refuses_each_forgery_at_its_step(public, certified, name):
    change, step = FORGERIES[name]
    forged = copy.deepcopy(certified[3])
    change(forged)
    r = public.post("/api/v1/verify/certificate", {"certificate": forged})
    assert r.status_code == 422 and r.json()["step"] == step, r.text
