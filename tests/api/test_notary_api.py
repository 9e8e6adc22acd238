"""Notary endpoints: digests and files in, receipts at once, proofs and certificates once anchored."""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

import pytest

from ledger.merkle import verify_notary_proof
from ledger.verify import verify_certificate
from tests.api.conftest import ApiClient, register

NOTARY = "/api/v1/notary"


@pytest.fixture(scope="module")
def notary(services, court):
    """The service's batcher, anchoring under the session court (small batches, short age)."""
    saved = services.settings
    services.settings = saved.model_copy(
        update={"notary_court": court.court_id, "notary_max_size": 64, "notary_max_age_seconds": 0.1}
    )
    services.start_notary()
    batcher = services.notary
    assert batcher is not None and batcher.court == court.court_id
    deadline = time.monotonic() + 60
    # Funded through the outbox where gas costs coins; on a zero-fee network it needs none.
    while services.funding_wei and services.chain.w3.eth.get_balance(batcher.relayer.address) == 0:
        assert time.monotonic() < deadline, "the notary relayer was never funded"
        time.sleep(0.05)
    yield batcher
    services.notary = None
    batcher.close()
    services.settings = saved


@pytest.fixture(scope="module")
def api(notary, court) -> ApiClient:
    return court.api


def multipart(files: list[tuple[str, bytes]], field: str = "files") -> tuple[bytes, dict[str, str]]:
    boundary = "notary-" + os.urandom(8).hex()
    body = b""
    for name, data in files:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def anchored(api: ApiClient, receipt_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = api.get(f"{NOTARY}/receipts/{receipt_id}")
        assert r.status_code == 200, r.text
        if r.json()["state"] == "anchored":
            return r.json()
        assert time.monotonic() < deadline, f"receipt {receipt_id} not anchored: {r.json()}"
        time.sleep(0.05)


def test_digests_get_receipts_then_proofs_and_a_certificate(api, services, trust, public):
    documents = [b"%%PDF evidence %d " % i + os.urandom(16) for i in range(3)]
    digests = [hashlib.sha256(d).hexdigest() for d in documents]
    r = api.post(f"{NOTARY}/digests", {"digests": [*digests, "0x" + digests[0]]})
    assert r.status_code == 202, r.text
    body = r.json()
    ids = body["receipt_ids"]
    assert body["count"] == 4 and ids[3] == ids[0] and len(set(ids)) == 3

    receipt = anchored(api, ids[1])
    assert receipt["digest"] == "0x" + digests[1]
    proof = [bytes.fromhex(p[2:]) for p in receipt["proof"]]
    root, digest = bytes.fromhex(receipt["root"][2:]), bytes.fromhex(digests[1])
    nonce = bytes.fromhex(receipt["nonce"][2:])
    assert verify_notary_proof(root, digest, nonce, proof)
    assert services.ledger.verify_inclusion(services.notary.court, root, digest, nonce, proof)
    assert receipt["anchor"]["contract"] == services.deployment.address("NotaryAnchor")

    cert = api.get(f"{NOTARY}/receipts/{ids[1]}/certificate")
    assert cert.status_code == 200, cert.text
    result = verify_certificate(cert.json(), trust=trust, rpc=services.chain.w3, document=documents[1])
    assert "document" in [s.name for s in result.steps]
    # The public verification endpoint agrees, from the digest alone.
    verify = "/api/v1/verify/certificate"
    checked = public.post(verify, {"certificate": cert.json(), "document_sha256": digests[1]})
    assert checked.status_code == 200 and checked.json()["verified"] is True
    wrong = public.post(verify, {"certificate": cert.json(), "document_sha256": digests[2]})
    assert wrong.status_code == 422 and wrong.json()["step"] == "document"
    # The same certificate as a W3C Verifiable Credential verifies the same way.
    vc = api.get(f"{NOTARY}/receipts/{ids[1]}/certificate?format=vc").json()
    assert vc["type"] == ["VerifiableCredential", "NotarizedDigestCredential"] and "credentialStatus" not in vc
    assert vc["evidence"][0]["certificate"] == cert.json()
    as_vc = verify_certificate(vc, trust=trust, rpc=services.chain.w3, document=documents[1])
    assert [s.name for s in as_vc.steps] == [s.name for s in result.steps]


def test_certificate_is_409_until_anchored(api, notary):
    notary.stop()
    try:
        r = api.post(f"{NOTARY}/digests", {"digests": [os.urandom(32).hex()]})
        rid = r.json()["receipt_ids"][0]
        pending = api.get(f"{NOTARY}/receipts/{rid}").json()
        assert pending["state"] == "pending" and pending["proof"] is None and pending["anchor"] is None
        assert api.get(f"{NOTARY}/receipts/{rid}/certificate").status_code == 409
    finally:
        notary.start()
    anchored(api, rid)
    assert api.get(f"{NOTARY}/receipts/{rid}/certificate").status_code == 200


def test_files_are_hashed_on_the_way_in(api, notary):
    files = [("judgment.pdf", b"%PDF-1.7 " + os.urandom(200_000)), ("报告.txt", "执行报告".encode())]
    body, headers = multipart(files)
    r = api.post(f"{NOTARY}/files", body, headers=headers)
    assert r.status_code == 202, r.text
    out = r.json()["files"]
    assert [f["filename"] for f in out] == ["judgment.pdf", "报告.txt"]
    assert [f["size"] for f in out] == [len(d) for _, d in files]
    assert [f["digest"] for f in out] == ["0x" + hashlib.sha256(d).hexdigest() for _, d in files]
    rid = out[0]["receipt_id"]
    anchored(api, rid)

    same, headers = multipart([("copy.pdf", files[0][1])], field="file")
    ok = api.post(f"{NOTARY}/receipts/{rid}/verify", same, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["match"] is True and ok.json()["state"] == "anchored"

    tampered = bytearray(files[0][1])
    tampered[-1] ^= 1
    bad, headers = multipart([("judgment.pdf", bytes(tampered))], field="file")
    no = api.post(f"{NOTARY}/receipts/{rid}/verify", bad, headers=headers).json()
    assert no["match"] is False and no["digest"] == "0x" + hashlib.sha256(bytes(tampered)).hexdigest()


def test_verify_by_digest(api):
    digest = os.urandom(32).hex()
    rid = api.post(f"{NOTARY}/digests", {"digests": [digest]}).json()["receipt_ids"][0]
    anchored(api, rid)
    yes = api.post(f"{NOTARY}/receipts/{rid}/verify", {"digest": digest}).json()
    assert yes["match"] is True and "block" in yes["detail"]
    no = api.post(f"{NOTARY}/receipts/{rid}/verify", {"digest": os.urandom(32).hex()}).json()
    assert no["match"] is False and "not the one" in no["detail"]


def test_ten_thousand_digests_in_one_request(api, notary):
    digests = [os.urandom(32).hex() for _ in range(10_000)]
    r = api.post(f"{NOTARY}/digests", {"digests": digests})
    assert r.status_code == 202, r.text
    ids = r.json()["receipt_ids"]
    assert len(set(ids)) == 10_000
    assert api.get(f"{NOTARY}/receipts/{ids[-1]}").json()["digest"] == "0x" + digests[-1]


def test_a_notary_client_may_notarize(services, http, notary):
    cid, key = register(services, "notary", court_id=notary.court)
    client = ApiClient(http, cid, key)
    r = client.post(f"{NOTARY}/digests", {"digests": [os.urandom(32).hex()]})
    assert r.status_code == 202, r.text


def test_refusals(api, partner, public, services, http, notary):
    one = {"digests": [os.urandom(32).hex()]}
    assert public.post(f"{NOTARY}/digests", one).status_code == 401
    assert partner.post(f"{NOTARY}/digests", one).status_code == 403
    cid, key = register(services, "court", court_id=notary.court, scopes=["records:read"])
    assert ApiClient(http, cid, key).post(f"{NOTARY}/digests", one).status_code == 403
    for bad in (
        {"digests": []},
        {"digests": ["zz" * 32]},
        {"digests": ["ab" * 31]},
        {"digests": [os.urandom(32).hex()] * 10_001},
        {"digest": "ab" * 32},
    ):
        assert api.post(f"{NOTARY}/digests", bad).status_code == 422, bad
    assert api.get(f"{NOTARY}/receipts/{'0' * 32}").status_code == 404
    assert api.get(f"{NOTARY}/receipts/not-an-id").status_code == 422
    empty, headers = multipart([])
    assert api.post(f"{NOTARY}/files", empty, headers=headers).status_code == 422
    plain = api.post(f"{NOTARY}/files", b"not multipart", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415  # refused by the edge (api.limits) before the body is read


def test_rotating_a_courts_key_through_the_api_while_anchors_are_pending_signs_the_next_anchor_with_it(
    services, http, gov, tmp_path
):
    """The court's key is rotated through the governance endpoints while its digests wait for a batch: the
    next anchor is signed with the new key (never the retired one, which the contract would refuse)."""
    from tests.api.conftest import admit

    court = admit(gov, services, http)
    batcher = services.notary_for(court.court_id, tmp_path / "rotating.sqlite")
    assert batcher is not None
    try:
        documents = [os.urandom(64) for _ in range(3)]
        ids = batcher.submit_many([hashlib.sha256(d).digest() for d in documents])

        rotated = gov.post(f"/api/v1/courts/{court.court_id}/signers")
        gov.confirmed(rotated)
        new_signer = rotated.json()["signer"]
        gov.confirmed(gov.post(f"/api/v1/courts/{court.court_id}/signers/{court.signer}/retire"))

        deadline = time.monotonic() + 60
        # Funded through the outbox where gas costs coins; on a zero-fee network it needs none.
        while services.funding_wei and services.chain.w3.eth.get_balance(batcher.relayer.address) == 0:
            assert time.monotonic() < deadline, "the notary relayer was never funded"
            time.sleep(0.05)
        result = batcher.run_once(force=True)
        assert result is not None
        certificate = batcher.certificate(ids[0])
        assert certificate.signature.signer == new_signer != court.signer
        assert {r.state for r in batcher.receipts(ids)} == {"anchored"}
        assert batcher.verify(ids[0], document=documents[0], on_chain=True)
    finally:
        batcher.close()
