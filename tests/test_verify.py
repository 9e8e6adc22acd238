"""record -> certificate -> verify, online and offline, for every kind; each tampering fails at its step."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest

from ledger.certificates import (
    case_certificate,
    defaulter_certificate,
    judgment_certificate,
    notary_certificate,
    parse_certificate,
)
from ledger.errors import VerificationError
from ledger.merkle import MerkleTree
from ledger.records import (
    Action,
    ActionKind,
    Anchor,
    CaseState,
    Filing,
    Ground,
    Listing,
    Restriction,
    case_number_digest,
    sha256_digest,
)
from ledger.verify import NetworkDescriptor, TrustAnchors, lookup_judgment, verify_certificate
from tests.conftest import admit_new_court, make_judgment

DOCUMENT = b"%PDF-1.7 judgment of the Dongcheng court, signed\n" * 20


@pytest.fixture(scope="session")
def trust(deployment, governor) -> TrustAnchors:
    descriptor = NetworkDescriptor.from_deployment(deployment, "test-network").signed(governor)
    return TrustAnchors.from_descriptors([descriptor], [governor.address])


@pytest.fixture
def court(new_court):
    return new_court()


def _judgment_cert(ledger, court, n=0):
    j = make_judgment(court.id, n, document_digest=sha256_digest(DOCUMENT))
    w = ledger.submit(court.signer, j)
    return w, judgment_certificate(w, ledger.chain.chain_id)


def _all_certificates(ledger, court):
    """One certificate of each kind, on chain."""
    wj, cj = _judgment_cert(ledger, court)
    filing = Filing(court=court.id, judgment_id=wj.record_id,
                    case_number_digest=case_number_digest("(2019)京0105执1号"),
                    amount_due=1_300_000, filed_at=date(2019, 1, 2))
    wf = ledger.submit(court.signer, filing)
    actions = [
        Action(case_id=wf.record_id, sequence=0, kind=ActionKind.ASSET_INQUIRY, detail=0b11),
        Action(case_id=wf.record_id, sequence=1, kind=ActionKind.PAYMENT_RECEIVED, amount=1_600_000 // 2),
    ]
    for a in actions:
        ledger.submit(court.signer, a)
    cc = case_certificate(wf, ledger.chain.chain_id, actions, state=CaseState.OPEN, amount_recovered=800_000)
    block_time = wf.block_time
    listing = Listing(court=court.id, subject=sha256_digest(b"blind-index-%d" % court.id), case_id=wf.record_id,
                      ground=Ground.ABLE_BUT_REFUSES, restrictions=Restriction.FLIGHTS | Restriction.RAIL,
                      listed_at=block_time, until=block_time + 730 * 86400)
    wl = ledger.submit(court.signer, listing)
    cl = defaulter_certificate(wl, ledger.chain.chain_id, at=wl.block_time, restrictions=Restriction.FLIGHTS,
                               restricted=True, until=listing.until)
    digests = [sha256_digest(DOCUMENT)] + [sha256_digest(b"doc %d/%d" % (court.id, i)) for i in range(6)]
    tree = MerkleTree.build(digests)
    wa = ledger.submit(court.signer, Anchor(court=court.id, root=tree.root, size=len(digests)))
    cn = notary_certificate(wa, ledger.chain.chain_id, digest=digests[0], proof=tree.proof(digests[0]))
    return {"judgment": cj, "enforcement_case": cc, "defaulter_status": cl, "notarized_digest": cn}


@pytest.fixture(scope="module")
def certificates(ledger, governor, funder):
    return _all_certificates(ledger, admit_new_court(ledger, governor, funder))


KINDS = ["judgment", "enforcement_case", "defaulter_status", "notarized_digest"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_verifies_online_and_offline(certificates, kind, ledger, trust):
    cert = certificates[kind]
    text = cert.to_json()
    offline = verify_certificate(text, trust=trust)
    assert not offline.online
    assert [s.name for s in offline.steps][:3] == ["format", "network", "signature"]
    online = verify_certificate(text, trust=trust, rpc=ledger.w3)
    names = [s.name for s in online.steps]
    assert online.online and names[-4:] == ["chain", "signer", "record", "status"]
    if kind == "notarized_digest":
        assert "proof" in names


def test_document_matches_and_one_byte_differs(certificates, ledger, trust):
    for kind in ("judgment", "notarized_digest"):
        cert = certificates[kind]
        result = verify_certificate(cert, trust=trust, rpc=ledger.w3, document=DOCUMENT)
        assert "document" in [s.name for s in result.steps]
        tampered = bytearray(DOCUMENT)
        tampered[100] ^= 0x01
        with pytest.raises(VerificationError) as exc:
            verify_certificate(cert, trust=trust, document=bytes(tampered))
        assert exc.value.step == "document"


def _mutate(cert, path, value):
    data = json.loads(cert.to_json())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize("field", ["amount", "currency", "court", "document_digest", "parties_commitment",
                                   "case_number_digest", "judgment_date", "effective_date"])
def test_changing_any_judgment_field_fails(certificates, trust, field):
    cert = certificates["judgment"]
    record = cert.record
    changed = {
        "amount": record["amount"] + 1,
        "currency": "USD",
        "court": record["court"] + 1,
        "document_digest": "0x" + "ab" * 32,
        "parties_commitment": "0x" + "cd" * 32,
        "case_number_digest": "0x" + "ef" * 32,
        "judgment_date": "2016-05-31",
        "effective_date": "2016-06-16",
    }[field]
    # Keep record_id consistent with the changed fields so the forgery passes the format step.
    data = json.loads(_mutate(cert, ["record", field], changed))
    from ledger.records import Judgment

    data["record_id"] = "0x" + Judgment.model_validate(data["record"]).record_id().hex()
    with pytest.raises(VerificationError) as exc:
        verify_certificate(json.dumps(data), trust=trust)
    assert exc.value.step == "signature"


def test_field_change_without_new_id_fails_format(certificates, trust):
    cert = certificates["judgment"]
    with pytest.raises(VerificationError) as exc:
        verify_certificate(_mutate(cert, ["record", "amount"], 1), trust=trust)
    assert exc.value.step == "format"


def test_forged_signature_fails(certificates, trust):
    cert = certificates["judgment"]
    sig = bytearray(bytes.fromhex(cert.signature.value[2:]))
    sig[5] ^= 0xFF
    with pytest.raises(VerificationError) as exc:
        verify_certificate(_mutate(cert, ["signature", "value"], "0x" + sig.hex()), trust=trust)
    assert exc.value.step == "signature"


def test_swapped_signature_fails(certificates, trust):
    other = certificates["enforcement_case"].signature.value
    with pytest.raises(VerificationError) as exc:
        verify_certificate(_mutate(certificates["judgment"], ["signature", "value"], other), trust=trust)
    assert exc.value.step == "signature"


def test_proof_for_another_root_fails(certificates, trust):
    cert = certificates["notarized_digest"]
    other = MerkleTree.build([sha256_digest(DOCUMENT), sha256_digest(b"x"), sha256_digest(b"y")])
    forged = _mutate(cert, ["notary", "proof"], ["0x" + p.hex() for p in other.proof(sha256_digest(DOCUMENT))])
    with pytest.raises(VerificationError) as exc:
        verify_certificate(forged, trust=trust)
    assert exc.value.step == "proof"


def test_malformed_and_wrong_version_fail_format(certificates, trust):
    with pytest.raises(VerificationError) as exc:
        verify_certificate("{not json", trust=trust)
    assert exc.value.step == "format"
    with pytest.raises(VerificationError) as exc:
        verify_certificate(_mutate(certificates["judgment"], ["version"], 2), trust=trust)
    assert exc.value.step == "format" and "version" in exc.value.reason
    with pytest.raises(VerificationError) as exc:
        verify_certificate(_mutate(certificates["judgment"], ["transaction", "hash"], "0x12"), trust=trust)
    assert exc.value.step == "format"


def test_untrusted_deployment_fails_network(certificates, trust):
    forged = _mutate(certificates["judgment"], ["network", "contract"], "0x" + "12" * 20)
    with pytest.raises(VerificationError) as exc:
        verify_certificate(forged, trust=trust)
    assert exc.value.step == "network" and "not a trusted deployment" in exc.value.reason


def test_descriptor_not_signed_by_pinned_governor_is_refused(deployment, relayer, governor):
    from ledger.errors import ConfigurationError

    descriptor = NetworkDescriptor.from_deployment(deployment, "evil").signed(relayer)
    with pytest.raises(ConfigurationError):
        TrustAnchors.from_descriptors([descriptor], [governor.address])


def test_key_used_outside_its_validity_fails_signer(ledger, new_court, governor, funder, trust):
    from eth_account import Account

    from tests.conftest import fund

    court = new_court()
    w, cert = _judgment_cert(ledger, court, 1)
    late_key = Account.create()
    fund(ledger.chain, funder, late_key.address)
    time.sleep(1.1)  # so the new key's validFrom is after the judgment's block time on every backend
    ledger.governance(governor, "addSigner", court.id, late_key.address)
    # The new key signs the same record; the certificate claims it at the old block time.
    sig = ledger.sign(late_key, w.record)
    data = json.loads(cert.to_json())
    data["signature"]["signer"] = late_key.address
    data["signature"]["value"] = "0x" + sig.hex()
    verify_certificate(json.dumps(data), trust=trust)  # offline cannot tell
    with pytest.raises(VerificationError) as exc:
        verify_certificate(json.dumps(data), trust=trust, rpc=ledger.w3)
    assert exc.value.step == "signer"


def test_record_not_on_chain_fails_record(ledger, court, trust):
    _, cert = _judgment_cert(ledger, court, 2)
    _, other = _judgment_cert(ledger, court, 3)
    data = json.loads(cert.to_json())
    data["transaction"] = json.loads(other.to_json())["transaction"]
    with pytest.raises(VerificationError) as exc:
        verify_certificate(json.dumps(data), trust=trust, rpc=ledger.w3)
    assert exc.value.step == "record"


def test_status_now_reports_superseded_and_by_which(ledger, court, trust):
    from ledger.records import JudgmentStatus, JudgmentStatusChange

    old, cert = _judgment_cert(ledger, court, 4)
    new, _ = _judgment_cert(ledger, court, 5)
    ledger.submit(court.signer, JudgmentStatusChange(judgment_id=old.record_id, status=JudgmentStatus.SUPERSEDED,
                                                     superseded_by=new.record_id, sequence=0))
    result = verify_certificate(cert, trust=trust, rpc=ledger.w3)
    assert result.status["status"] == "superseded"
    assert result.status["superseded_by"] == "0x" + new.record_id.hex()


def test_case_certificate_with_altered_actions_fails(certificates, trust):
    cert = certificates["enforcement_case"]
    data = json.loads(cert.to_json())
    data["case"]["actions"][1]["amount"] = 1
    with pytest.raises(VerificationError) as exc:
        verify_certificate(json.dumps(data), trust=trust)
    assert exc.value.step == "format"


def test_lookup_returns_one_verdict(ledger, court, deployment):
    w, _ = _judgment_cert(ledger, court, 6)
    registry = deployment.address("JudgmentRegistry")
    start = w.block_number
    number = f"(2016)京0102民初{1000 + 6}号"
    ok = lookup_judgment(ledger.w3, registry, case_number=number, document_digest=sha256_digest(DOCUMENT),
                         from_block=start)
    assert ok.verdict == "verified" and ok.judgment_id == "0x" + w.record_id.hex()
    wrong_doc = lookup_judgment(ledger.w3, registry, case_number=number, document_digest=b"\x01" * 32,
                                from_block=start)
    assert wrong_doc.verdict == "does_not_match"
    unknown = lookup_judgment(ledger.w3, registry, case_number="(2099)京9999执1号",
                              document_digest=sha256_digest(DOCUMENT), from_block=start)
    assert unknown.verdict == "not_on_chain"


def test_parse_roundtrip(certificates):
    for cert in certificates.values():
        assert parse_certificate(cert.to_json()) == cert
