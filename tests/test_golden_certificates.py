"""Golden certificates (format 2): fixed keys and fields give byte-identical certificates, verified here and by
the JavaScript verifier (js/verifier, run under node's test runner on the golden and forged vectors).

Regenerate with ``UPDATE_GOLDEN=1 pytest tests/test_golden_certificates.py`` after a deliberate format change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from ledger.certificates import case_certificate, defaulter_certificate, judgment_certificate, notary_certificate
from ledger.client import Written
from ledger.merkle import notary_leaf
from ledger.records import (
    Action,
    ActionKind,
    Anchor,
    CaseState,
    Filing,
    Ground,
    Judgment,
    Listing,
    Restriction,
    case_number_digest,
    opened_case_number_digest,
    sha256_digest,
)
from ledger.signing import Domain, sign_record
from ledger.verify import NetworkDescriptor, TrustAnchors, TrustedContract, verify_certificate
from tests.notary_tree import leaf_tree

GOLDEN = Path(__file__).parent / "golden" / "certificates"
REPO = Path(__file__).resolve().parents[1]
CHAIN_ID = 31337
COURT_KEY = Account.from_key("0x" + "4c" * 32)
GOVERNOR_KEY = Account.from_key("0x" + "6b" * 32)
ADDRESSES = {
    "JudgmentRegistry": "0x" + "11" * 20,
    "EnforcementRegistry": "0x" + "22" * 20,
    "DefaulterRegistry": "0x" + "33" * 20,
    "NotaryAnchor": "0x" + "44" * 20,
    "CourtRegistry": "0x" + "55" * 20,
}
CASE_NUMBER = "(2016)京0102民初1234号"
CASE_SALT = bytes.fromhex("73" * 32)
#: beyond 2^53: JSON.parse would lose it as a number, so it travels as a decimal string
BIG_AMOUNT = 123456789012345678901
DOCUMENT = b"%PDF-1.7 golden judgment document\n"


def _written(record, n: int) -> Written:
    name = {Judgment: "JudgmentRegistry", Filing: "EnforcementRegistry", Listing: "DefaulterRegistry",
            Anchor: "NotaryAnchor"}[type(record)]
    domain = Domain(name, CHAIN_ID, ADDRESSES[name])
    return Written(record=record, record_id=record.record_id(), signature=sign_record(COURT_KEY, domain, record),
                   signer=COURT_KEY.address, contract=name, contract_address=ADDRESSES[name],
                   transaction_hash="0x" + f"{n:02x}" * 32, block_number=100 + n,
                   block_hash="0x" + f"{n + 16:02x}" * 32,
                   block_time=1_700_000_000 + n, gas_used=50_000, sender=COURT_KEY.address)


def golden_certificates() -> dict[str, str]:
    judgment = Judgment(court=110105, case_number_digest=opened_case_number_digest(CASE_NUMBER, CASE_SALT),
                        document_digest=sha256_digest(DOCUMENT), parties_commitment=sha256_digest(b"commitment"),
                        amount=BIG_AMOUNT, currency="CNY", judgment_date=date(2016, 6, 1),
                        effective_date=date(2016, 6, 15))
    wj = _written(judgment, 1)
    filing = Filing(court=110105, judgment_id=wj.record_id, case_number_digest=case_number_digest("(2016)京0102执1号"),
                    amount_due=1_300_000, filed_at=date(2016, 7, 1))
    wf = _written(filing, 2)
    actions = [Action(case_id=wf.record_id, sequence=0, kind=ActionKind.ASSET_INQUIRY, detail=3),
               Action(case_id=wf.record_id, sequence=1, kind=ActionKind.PAYMENT_RECEIVED, amount=1_300_000),
               Action(case_id=wf.record_id, sequence=2, kind=ActionKind.CONCLUSION)]
    listing = Listing(court=110105, subject=sha256_digest(b"blind index"), case_id=wf.record_id,
                      ground=Ground.ABLE_BUT_REFUSES, restrictions=Restriction.FLIGHTS | Restriction.RAIL,
                      listed_at=1_700_000_000, until=1_700_000_000 + 730 * 86400)
    wl = _written(listing, 3)
    digests = [sha256_digest(DOCUMENT)] + [sha256_digest(b"golden %d" % i) for i in range(4)]
    nonces = [bytes([0xA0 + i]) * 32 for i in range(len(digests))]
    root, proofs = leaf_tree([notary_leaf(d, n) for d, n in zip(digests, nonces, strict=True)])
    wa = _written(Anchor(court=110105, root=root, size=len(digests)), 4)
    as_of = (110, "0x" + "6e" * 32)
    certs = {
        "judgment": judgment_certificate(wj, CHAIN_ID, case_number=(CASE_NUMBER, CASE_SALT)),
        "enforcement_case": case_certificate(wf, CHAIN_ID, actions, state=CaseState.CONCLUDED,
                                             amount_recovered=1_300_000, as_of=as_of),
        "defaulter_status": defaulter_certificate(wl, CHAIN_ID, as_of=as_of, at=1_700_000_100, until=listing.until),
        "notarized_digest": notary_certificate(wa, CHAIN_ID, digest=digests[0], nonce=nonces[0], proof=proofs[0]),
    }
    return {kind: cert.to_json() + "\n" for kind, cert in certs.items()}


def descriptor() -> NetworkDescriptor:
    """A non-ASCII name pins the canonical form (RFC 8785: UTF-8, not \\u escapes)."""
    return NetworkDescriptor(
        name="中国法院网络 golden", chain_id=CHAIN_ID, genesis_hash="0x" + "00" * 32,
        governor=GOVERNOR_KEY.address,
        contracts={k: TrustedContract(address=to_checksum_address(v), artifact_digest="0x" + "00" * 32)
                   for k, v in ADDRESSES.items()},
    ).signed(GOVERNOR_KEY)


def trust() -> TrustAnchors:
    return TrustAnchors.from_descriptors([descriptor()], [GOVERNOR_KEY.address])


def test_golden_certificates_are_reproduced():
    made = golden_certificates()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for kind, text in made.items():
            (GOLDEN / f"{kind}.json").write_text(text, encoding="utf-8")
        (GOLDEN / "document.bin").write_bytes(DOCUMENT)
        (GOLDEN / "network.json").write_text(_descriptor_json(), encoding="utf-8")
    for kind, text in made.items():
        assert (GOLDEN / f"{kind}.json").read_text(encoding="utf-8") == text, kind
    assert (GOLDEN / "network.json").read_text(encoding="utf-8") == _descriptor_json()


def _descriptor_json() -> str:
    import json

    return json.dumps({"governor_pinned": GOVERNOR_KEY.address, "descriptor": descriptor().model_dump()},
                      indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("kind", ["judgment", "enforcement_case", "defaulter_status", "notarized_digest"])
def test_golden_certificates_verify_offline(kind):
    text = (GOLDEN / f"{kind}.json").read_text(encoding="utf-8")
    document = DOCUMENT if kind in ("judgment", "notarized_digest") else None
    result = verify_certificate(text, trust=trust(), document=document)
    assert result.certificate.kind == kind and not result.online


def test_javascript_verifier_agrees_on_golden_and_forged_vectors():
    """A second implementation (js/verifier, @noble only) on every golden and forged vector, under node --test."""
    node = shutil.which("node")
    assert node, "node is required"
    proc = subprocess.run([node, "--test", str(REPO / "tests" / "js")], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "# fail 0" in proc.stdout and "# pass 0" not in proc.stdout
