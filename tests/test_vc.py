"""Certificates as W3C Verifiable Credentials (ledger.vc): the W3C VC 2.0 JSON Schema, the proof any EIP-712
library checks, and the forgeries a credential invites (a claim that is not the signed one).

Golden credentials (``tests/golden/credentials/<kind>.json``) and forged credentials
(``tests/golden/credentials/forged/*.json``, each ``{forgery, step, credential}``) are shared with the
JavaScript verifier. Regenerate with ``UPDATE_GOLDEN=1 pytest tests/test_vc.py`` after a deliberate change.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from jsonschema import Draft202012Validator

from ledger.errors import VerificationError
from ledger.vc import STATUS_LIST_SIZE, certificate_from_credential, credential, status_entries
from ledger.verify import verify_certificate
from tests.test_golden_certificates import DOCUMENT, GOLDEN, trust

REPO = Path(__file__).resolve().parents[1]
W3C_SCHEMA = REPO / "docs" / "schemas" / "w3c" / "verifiable-credential-2.0.schema.json"
CREDENTIALS = GOLDEN.parent / "credentials"
KINDS = ["judgment", "enforcement_case", "defaulter_status", "notarized_digest", "judgment_with_dossier"]
STATUS_BASE = "https://ledger.example/api/v1/status"
#: a position in the second list, so list number and index both show
POSITION = STATUS_LIST_SIZE + 7


def _certificate(kind: str) -> dict:
    return json.loads((GOLDEN / f"{kind}.json").read_text(encoding="utf-8"))


def golden_credentials() -> dict[str, dict]:
    return {k: credential(_certificate(k), status_entries(k.removesuffix("_with_dossier"), POSITION, STATUS_BASE)
                          or None) for k in KINDS}


def _w3c() -> Draft202012Validator:
    return Draft202012Validator(json.loads(W3C_SCHEMA.read_text(encoding="utf-8")))


@pytest.mark.parametrize("kind", KINDS)
def test_every_credential_follows_the_w3c_vc_2_0_schema(kind):
    vc = golden_credentials()[kind]
    errors = [e.message for e in _w3c().iter_errors(vc)]
    assert errors == []
    assert vc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert vc["type"][0] == "VerifiableCredential" and len(vc["type"]) == 2


def test_the_schema_is_not_a_rubber_stamp():
    vc = golden_credentials()["judgment"]
    for broken in ({**vc, "@context": ["https://www.w3.org/2018/credentials/v1"]}, {**vc, "validFrom": "yesterday"},
                   {k: v for k, v in vc.items() if k != "issuer"}):
        assert list(_w3c().iter_errors(broken))


def _reproduced(directory: Path, made: dict[str, dict]) -> None:
    """Each file ``directory/<name>.json`` is exactly ``made[name]`` (written first with UPDATE_GOLDEN=1)."""
    if os.environ.get("UPDATE_GOLDEN"):
        directory.mkdir(parents=True, exist_ok=True)
        for name, value in made.items():
            (directory / f"{name}.json").write_text(_dump(value), encoding="utf-8")
    assert sorted(p.stem for p in directory.glob("*.json")) == sorted(made)
    for name, value in made.items():
        assert (directory / f"{name}.json").read_text(encoding="utf-8") == _dump(value), name


def test_golden_credentials_are_reproduced():
    _reproduced(CREDENTIALS, golden_credentials())


def _dump(value: dict) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("kind", KINDS)
def test_the_proof_is_the_courts_eip712_signature_any_library_checks(kind):
    """eth_account's generic EIP-712 (eth_signTypedData_v4) recovers the issuer's key from the proof alone."""
    vc = golden_credentials()[kind]
    proof = vc["proof"]
    signable = encode_typed_data(full_message=proof["eip712"])
    recovered = Account.recover_message(signable, signature=bytes.fromhex(proof["proofValue"][2:]))
    assert vc["issuer"]["id"] == f"did:ethr:0x7a69:{recovered}"
    assert proof["type"] == "EthereumEip712Signature2021" and proof["verificationMethod"].startswith(vc["issuer"]["id"])


def test_claims_are_the_certified_record():
    cert, vc = _certificate("judgment"), golden_credentials()["judgment"]
    subject = vc["credentialSubject"]
    assert {k: subject[k] for k in cert["record"]} == cert["record"]
    assert subject["record_id"] == cert["record_id"] and subject["case_number"] == cert["case_number"]["text"]
    assert vc["validFrom"] == "2023-11-14T22:13:21Z"  # block_time 1700000001
    assert vc["evidence"][0]["certificate"] == cert


def test_dossier_claims_are_the_certified_dossier():
    cert, vc = _certificate("judgment_with_dossier"), golden_credentials()["judgment_with_dossier"]
    claims, d = vc["credentialSubject"]["dossier"], cert["dossier"]
    assert claims == {"version": 1, "filed_by": 110105, "filed_at": "2023-11-14T22:13:25Z", "by_default": True,
                      "complete_copy": d["complete_copy"], "proof_of_service": d["proof_of_service"],
                      "translations": d["translations"], "latest_as_of_block": 110}
    assert "dossier" not in golden_credentials()["judgment"]["credentialSubject"]


def test_status_entries_point_at_list_and_index():
    entries = status_entries("judgment", POSITION, STATUS_BASE)
    assert [e["statusPurpose"] for e in entries] == ["revocation", "suspension"]
    assert entries[0]["statusListCredential"] == f"{STATUS_BASE}/revocation/1" and entries[0]["statusListIndex"] == "7"
    assert [e["statusPurpose"] for e in status_entries("defaulter_status", 0, STATUS_BASE)] == ["revocation"]
    assert status_entries("notarized_digest", 0, STATUS_BASE) == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_credential_verifies_like_its_certificate(kind):
    document = DOCUMENT if kind in ("judgment", "notarized_digest", "judgment_with_dossier") else None
    vc = golden_credentials()[kind]
    as_vc = verify_certificate(json.dumps(vc), trust=trust(), document=document)
    as_cert = verify_certificate(_certificate(kind), trust=trust(), document=document)
    assert [s.name for s in as_vc.steps] == [s.name for s in as_cert.steps]
    assert "Verifiable Credential" in as_vc.steps[0].detail
    assert certificate_from_credential(vc) == _certificate(kind)


# -- forgeries: one credential per attacker move; both verifiers refuse each at its step -------------


def _forgeries() -> dict[str, dict]:
    vcs = golden_credentials()
    out: dict[str, dict] = {}

    def forge(name: str, kind: str, step: str, change) -> None:
        vc = copy.deepcopy(vcs[kind])
        change(vc)
        out[name] = {"forgery": name, "step": step, "credential": vc}

    def inflate_amount(vc):
        vc["credentialSubject"]["amount"] = str(int(vc["credentialSubject"]["amount"]) * 10)

    def other_court(vc):
        vc["issuer"]["court"] = 110000

    def other_issuer(vc):
        vc["issuer"]["id"] = "did:web:courts.example"

    def backdated(vc):
        vc["validFrom"] = "2016-06-15T00:00:00Z"

    def restricted_claim(vc):
        vc["credentialSubject"]["as_of"]["restricted"] = False

    def extra_claim(vc):
        vc["credentialSubject"]["enforceable_abroad"] = True

    def swapped_message(vc):
        vc["proof"]["eip712"]["message"]["amount"] = "1"

    def other_type(vc):
        vc["type"][1] = "DefaulterListingCredential"

    def no_evidence(vc):
        del vc["evidence"]

    def status_dropped(vc):
        vc["credentialStatus"] = vc["credentialStatus"][:1]  # the suspension entry hides under-appeal

    def status_elsewhere(vc):
        vc["credentialStatus"][0]["id"] = "https://other.example/list#7"

    def dossier_not_by_default(vc):
        vc["credentialSubject"]["dossier"]["by_default"] = False

    def dossier_translation_added(vc):
        vc["credentialSubject"]["dossier"]["translations"].append({"language": "it", "digest": "0x" + "ab" * 32})

    def dossier_claims_dropped(vc):
        del vc["credentialSubject"]["dossier"]

    def evidence_altered(vc):
        vc["evidence"][0]["certificate"]["record"]["amount"] = "1"
        vc["credentialSubject"]["amount"] = "1"
        vc["proof"]["eip712"]["message"]["amount"] = 1

    for name, kind, change in [
        ("vc_subject_amount_inflated", "judgment", inflate_amount),
        ("vc_issuer_names_another_court", "judgment", other_court),
        ("vc_issuer_is_another_did", "judgment", other_issuer),
        ("vc_backdated_valid_from", "judgment", backdated),
        ("vc_listing_claims_not_restricted", "defaulter_status", restricted_claim),
        ("vc_unsigned_extra_claim", "judgment", extra_claim),
        ("vc_proof_message_swapped", "judgment", swapped_message),
        ("vc_type_of_another_kind", "judgment", other_type),
        ("vc_without_its_certificate", "judgment", no_evidence),
        ("vc_suspension_entry_dropped", "judgment", status_dropped),
        ("vc_status_entry_points_elsewhere", "judgment", status_elsewhere),
        ("vc_certificate_and_claims_altered_together", "judgment", evidence_altered),
        ("vc_dossier_claims_not_by_default", "judgment_with_dossier", dossier_not_by_default),
        ("vc_dossier_claims_an_uncertified_translation", "judgment_with_dossier", dossier_translation_added),
        ("vc_dossier_claims_dropped", "judgment_with_dossier", dossier_claims_dropped),
    ]:
        forge(name, kind, "format", change)
    return out


FORGED = CREDENTIALS / "forged"


def test_forged_credential_vectors_are_reproduced():
    _reproduced(FORGED, _forgeries())


@pytest.mark.parametrize("name", sorted(_forgeries()))
def test_forged_credential_is_refused_at_its_step(name):
    """No harm: the forged credential never verifies, and the refusal names the vector's step."""
    vector = _forgeries()[name]
    with pytest.raises(VerificationError) as err:
        verify_certificate(json.dumps(vector["credential"]), trust=trust(), document=DOCUMENT)
    assert err.value.step == vector["step"]
    assert not getattr(err.value, "steps", [])  # nothing passed: the format step refused it first


def test_altering_certificate_and_claims_together_is_refused():
    """A consistent edit of claims, message and embedded certificate changes the record id: still refused."""
    vector = _forgeries()["vc_certificate_and_claims_altered_together"]
    with pytest.raises(VerificationError) as err:
        certificate_from_credential(vector["credential"])
    assert "record_id" in err.value.reason


def test_a_deeply_nested_document_offered_as_a_credential_is_refused_at_format():
    """verify_certificate reads JSON once, for both forms, with the recursion guard of ledger.certificates."""
    deep = '{"@context": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(VerificationError) as err:
        verify_certificate(deep, trust=trust())
    assert err.value.step == "format" and "nested too deeply" in err.value.reason
