"""Golden certificates: fixed keys and fields give byte-identical certificates, verified here and by ethers.

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

from ledger.certificates import case_certificate, defaulter_certificate, judgment_certificate, notary_certificate
from ledger.client import Written
from ledger.merkle import MerkleTree
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
    sha256_digest,
)
from ledger.signing import Domain, sign_record
from ledger.verify import NetworkDescriptor, TrustAnchors, TrustedContract, verify_certificate

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
}
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
    judgment = Judgment(court=110105, case_number_digest=case_number_digest("(2016)京0102民初1234号"),
                        document_digest=sha256_digest(DOCUMENT), parties_commitment=sha256_digest(b"commitment"),
                        amount=1_300_000, currency="CNY", judgment_date=date(2016, 6, 1),
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
    tree = MerkleTree.build(digests)
    wa = _written(Anchor(court=110105, root=tree.root, size=len(digests)), 4)
    certs = {
        "judgment": judgment_certificate(wj, CHAIN_ID),
        "enforcement_case": case_certificate(wf, CHAIN_ID, actions, state=CaseState.CONCLUDED,
                                             amount_recovered=1_300_000),
        "defaulter_status": defaulter_certificate(wl, CHAIN_ID, at=1_700_000_100, restrictions=Restriction.FLIGHTS,
                                                  restricted=True, until=listing.until),
        "notarized_digest": notary_certificate(wa, CHAIN_ID, digest=digests[0], proof=tree.proof(digests[0])),
    }
    return {kind: cert.to_json() + "\n" for kind, cert in certs.items()}


def trust() -> TrustAnchors:
    descriptor = NetworkDescriptor(
        name="golden", chain_id=CHAIN_ID, genesis_hash="0x" + "00" * 32, governor=GOVERNOR_KEY.address,
        contracts={k: TrustedContract(address=v, artifact_digest="0x" + "00" * 32) for k, v in ADDRESSES.items()},
    ).signed(GOVERNOR_KEY)
    return TrustAnchors.from_descriptors([descriptor], [GOVERNOR_KEY.address])


def test_golden_certificates_are_reproduced():
    made = golden_certificates()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for kind, text in made.items():
            (GOLDEN / f"{kind}.json").write_text(text, encoding="utf-8")
        (GOLDEN / "document.bin").write_bytes(DOCUMENT)
    for kind, text in made.items():
        assert (GOLDEN / f"{kind}.json").read_text(encoding="utf-8") == text, kind


@pytest.mark.parametrize("kind", ["judgment", "enforcement_case", "defaulter_status", "notarized_digest"])
def test_golden_certificates_verify_offline(kind):
    text = (GOLDEN / f"{kind}.json").read_text(encoding="utf-8")
    document = DOCUMENT if kind in ("judgment", "notarized_digest") else None
    result = verify_certificate(text, trust=trust(), document=document)
    assert result.certificate.kind == kind and not result.online


def test_ethers_verifies_the_golden_certificates():
    """A second implementation (ethers v6, JavaScript) recomputes ids and recovers the signers."""
    node = shutil.which("node")
    assert node, "node is required"
    proc = subprocess.run([node, "--test", str(REPO / "tests" / "js")], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "# pass 4" in proc.stdout
