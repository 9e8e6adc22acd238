"""A judgment's dossier over HTTP: a court files it through the outbox (digests only), a foreign court
verifies the certificate; another court cannot file one; bad input says what is wrong."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3

from ledger.verify import verify_certificate
from tests.api.conftest import judgment_body


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


COPY, SERVICE, EN, FR = b"complete copy\n", b"proof of service\n", b"english\n", b"francais\n"


def _judgment(api) -> tuple[str, bytes]:
    document = b"%PDF-1.7 default judgment\n" + os.urandom(32)
    return api.confirmed(api.post("/api/v1/judgments", judgment_body(document_sha256=_sha(document))))["record_id"], \
        document


def test_court_files_dossier_versions_and_the_certificate_verifies(services, court, trust):
    api = court.api
    jid, document = _judgment(api)
    first = api.confirmed(api.post(f"/api/v1/judgments/{jid}/dossier", {
        "by_default": True, "complete_copy_sha256": _sha(COPY), "proof_of_service_sha256": _sha(SERVICE),
        "translations": [{"language": "fr", "sha256": _sha(FR)}]}))
    assert first["record"]["sequence"] == 0
    second = api.confirmed(api.post(f"/api/v1/judgments/{jid}/dossier", {
        "by_default": True, "complete_copy_sha256": _sha(COPY), "proof_of_service_sha256": _sha(SERVICE),
        "translations": [{"language": "fr", "sha256": _sha(FR)}, {"language": "en", "sha256": "0x" + _sha(EN)}]}))
    assert second["record"]["sequence"] == 1  # the service assigns the version

    cert = api.get(f"/api/v1/records/{second['outbox_id']}/certificate").json()
    assert cert["record_id"] == jid and [t["language"] for t in cert["dossier"]["translations"]] == ["en", "fr"]
    result = verify_certificate(cert, trust=trust, rpc=services.chain.w3, document=document)
    assert "dossier" in [s.name for s in result.steps] and "dossier_chain" in [s.name for s in result.steps]
    assert result.dossier["proof_of_service"]["present"] and result.status["dossier"]["later_versions"] == 0
    old = api.get(f"/api/v1/records/{first['outbox_id']}/certificate").json()
    assert old["dossier"]["sequence"] == 0  # a named older version: certified as of the block before version 1
    assert old["dossier"]["as_of"]["block_number"] == second["block_number"] - 1
    named = verify_certificate(old, trust=trust, rpc=services.chain.w3)
    assert named.status["dossier"]["later_versions"] == 1  # and the later version is reported
    old["dossier"]["as_of"] = cert["dossier"]["as_of"]  # presented as the latest as of now: refused
    with_latest = api.get(f"/api/v1/judgments/{jid}/certificate").json()  # the judgment with its latest dossier
    assert {**with_latest["dossier"], "as_of": None} == {**cert["dossier"], "as_of": None}
    answer = api.post("/api/v1/verify/certificate", {"certificate": cert}, headers={"Accept-Language": "fr"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["dossier"]["translations"] == cert["dossier"]["translations"]
    assert answer.json()["status"]["enforceable"] is True and "dossier" in answer.json()["status"]
    assert any("version 1 du dossier" in s["detail"] for s in answer.json()["steps"])
    refused = api.post("/api/v1/verify/certificate", {"certificate": old})
    assert refused.status_code == 422 and "dossier_chain" in refused.text, refused.text


def test_another_court_cannot_file_a_dossier(services, court, other_court):
    """Refused at the edge once the judgment is indexed; before that, queued and refused by the chain: either
    way nothing is filed for the judgment."""
    forged = {"by_default": False, "complete_copy_sha256": _sha(b"forged copy")}
    early, _ = _judgment(court.api)
    r = other_court.api.post(f"/api/v1/judgments/{early}/dossier", forged)
    if r.status_code == 202:  # the index had not seen the judgment yet: the contract refuses it
        assert other_court.api.wait(r.json()["outbox_id"])["state"] == "failed"
    else:
        assert r.status_code == 403, r.text
    jid, _ = _judgment(court.api)
    services.wait_indexed(services.chain.w3.eth.block_number)
    r = other_court.api.post(f"/api/v1/judgments/{jid}/dossier", forged)
    assert r.status_code == 403 and "authority" in r.json()["detail"] and "outbox_id" not in r.json(), r.text
    for judgment_id in (early, jid):
        assert services.ledger.view("JudgmentRegistry", "dossierOf", bytes.fromhex(judgment_id[2:]))[0] == 0


def test_default_judgment_without_proof_of_service_is_refused_with_a_clear_error(court):
    jid, _ = _judgment(court.api)
    r = court.api.post(f"/api/v1/judgments/{jid}/dossier", {"by_default": True, "complete_copy_sha256": _sha(COPY)})
    assert r.status_code == 422 and "proof_of_service_sha256" in r.text
    r = court.api.post(f"/api/v1/judgments/{jid}/dossier", {
        "by_default": False, "complete_copy_sha256": _sha(COPY),
        "translations": [{"language": "en", "sha256": _sha(EN)}, {"language": "en", "sha256": _sha(FR)}]})
    assert r.status_code == 422 and "same language" in r.text
    r = court.api.post(f"/api/v1/judgments/{jid}/dossier", {"by_default": False, "complete_copy_sha256": "00" * 32})
    assert r.status_code == 422 and "zero" in r.text


def test_a_dossiers_translations_are_kept_in_the_commit_that_accepts_it(services, court):
    """The chain holds only the translations' root: their list is stored with the outbox entry, in the same
    commit, so a service killed right after answering 202 can still certify that version."""
    jid, _ = _judgment(court.api)
    translations = [{"language": "fr", "sha256": _sha(FR)}]
    accepted = court.api.post(f"/api/v1/judgments/{jid}/dossier", {
        "by_default": False, "complete_copy_sha256": _sha(COPY), "translations": translations})
    assert accepted.status_code == 202, accepted.text
    outbox_id = accepted.json()["outbox_id"]
    with sqlite3.connect(services.data_dir / "outbox.sqlite") as db:  # what is on disk, as a restart reads it
        kept = db.execute("SELECT value FROM meta WHERE key = ?", (f"dossier-translations:{outbox_id}",)).fetchone()
    assert kept is not None and json.loads(kept[0]) == [{"language": "fr", "digest": "0x" + _sha(FR)}]
