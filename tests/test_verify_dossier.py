"""A judgment's dossier and its effect in the State of origin, verified online: what a requested court sees.

Each test is a story on a live chain: a court files a dossier and a foreign court verifies it; a later
version appears; a stay of enforcement comes and goes. The forged dossiers are in tests/golden/forged and
tests/test_verify.py::test_online_forged_vector_is_refused_at_its_step.
"""

from __future__ import annotations

import time

import pytest

from ledger.certificates import judgment_certificate
from ledger.dossiers import certify_dossier, file_dossier, prepare_dossier
from ledger.errors import ContractRevertError
from ledger.records import JudgmentStatus, JudgmentStatusChange, sha256_digest
from ledger.verify import NetworkDescriptor, TrustAnchors, verify_certificate
from tests.test_verify import DOCUMENT, _dossier_cert, _judgment_cert

SERVICE = b"served by post on 2016-06-03\n"


@pytest.fixture(scope="module")
def trust(deployment, governor) -> TrustAnchors:
    """What the foreign court pins: the network descriptor, signed by the governance key it was given."""
    return TrustAnchors.from_descriptors([NetworkDescriptor.from_deployment(deployment, "test").signed(governor)],
                                         [governor.address])


@pytest.fixture
def court(new_court):
    return new_court()


def _status(ledger, court, jid, status, sequence):
    ledger.submit(court.signer, JudgmentStatusChange(judgment_id=jid, status=status, sequence=sequence))


def test_foreign_court_verifies_a_dossier_against_the_chain(ledger, court, trust):
    wj, filed, cert = _dossier_cert(ledger, court, 70)
    result = verify_certificate(cert, trust=trust, rpc=ledger.w3, document=DOCUMENT)
    assert [s.name for s in result.steps] == ["format", "network", "signature", "dossier", "document", "chain",
                                              "signer", "record", "dossier_chain", "status"]
    assert result.authentic and result.in_force and result.state == "effective"
    assert result.dossier["complete_copy"] == "0x" + sha256_digest(DOCUMENT).hex()
    assert result.dossier["proof_of_service"] == {"required": True, "present": True,
                                                  "digest": "0x" + sha256_digest(SERVICE).hex()}
    english = "0x" + sha256_digest(b"translation\n").hex()
    assert result.dossier["translations"] == [{"language": "en", "digest": english}]
    assert result.status["dossier"] == {"versions": 1, "later_versions": 0,
                                        "latest": "0x" + filed.written.record_id.hex()}
    assert result.status["enforceable"] is True and result.status["appeal_pending"] is False
    assert result.status["effective_since"] == wj.record.effective_date.isoformat()


def test_a_later_dossier_version_is_reported_not_hidden(ledger, court, trust):
    """The court adds a French translation after the certificate: the old certificate still verifies (it was
    the latest as of its block) and the verdict says a later version exists."""
    wj, _, cert = _dossier_cert(ledger, court, 71)
    later = file_dossier(ledger, court.signer, court.id, wj.record_id, complete_copy=DOCUMENT, by_default=True,
                         proof_of_service=SERVICE, translations={"en": b"translation\n", "fr": b"traduction\n"})
    old = verify_certificate(cert, trust=trust, rpc=ledger.w3)
    assert old.authentic and old.status["dossier"]["later_versions"] == 1
    assert old.status["dossier"]["latest"] == "0x" + later.written.record_id.hex()
    assert "later version" in old.steps[-1].detail and "版本" in old.steps[-1].localized("zh").detail
    new = verify_certificate(judgment_certificate(wj, ledger.chain.chain_id, dossier=certify_dossier(ledger, later)),
                             trust=trust, rpc=ledger.w3)
    assert new.status["dossier"]["later_versions"] == 0 and new.dossier["sequence"] == 1
    assert [t["language"] for t in new.dossier["translations"]] == ["en", "fr"]


def test_another_court_cannot_amend_a_dossier(ledger, court, new_court, trust):
    """A court without authority tries to file a version with another complete copy: refused, and the
    certificate of the genuine version stays the latest."""
    wj, _, cert = _dossier_cert(ledger, court, 72)
    other = new_court()
    with pytest.raises(ContractRevertError) as refused:
        file_dossier(ledger, other.signer, other.id, wj.record_id, complete_copy=b"another copy")
    assert refused.value.error == "CourtAuthorizedNoAuthority"
    result = verify_certificate(cert, trust=trust, rpc=ledger.w3)
    assert result.status["dossier"]["versions"] == 1 and result.status["dossier"]["later_versions"] == 0


def test_stayed_judgment_is_authentic_not_in_force_and_not_enforceable(ledger, court, trust):
    w, cert = _judgment_cert(ledger, court, 73)
    before = int(ledger.w3.eth.get_block("latest")["timestamp"])
    time.sleep(1.1)
    _status(ledger, court, w.record_id, JudgmentStatus.STAYED, 0)
    stayed = verify_certificate(cert, trust=trust, rpc=ledger.w3)
    assert stayed.authentic is True and stayed.in_force is False and stayed.state == "stayed"
    assert stayed.status["stayed"] is True and stayed.status["enforceable"] is False and stayed.exit_code == 3
    assert "暂缓执行" in stayed.as_dict("zh")["steps"][-1]["detail"]
    assert verify_certificate(cert, trust=trust, rpc=ledger.w3, at=before).status["enforceable"] is True
    during = int(ledger.w3.eth.get_block("latest")["timestamp"])
    time.sleep(1.1)
    _status(ledger, court, w.record_id, JudgmentStatus.EFFECTIVE, 1)  # the stay is lifted
    lifted = verify_certificate(cert, trust=trust, rpc=ledger.w3)
    assert lifted.in_force is True and lifted.status["enforceable"] is True and lifted.status["stayed"] is False
    then = verify_certificate(cert, trust=trust, rpc=ledger.w3, at=during)
    assert then.state == "stayed" and then.status["enforceable"] is False


def test_judgment_under_appeal_reports_the_pending_appeal(ledger, court, trust):
    w, cert = _judgment_cert(ledger, court, 74)
    _status(ledger, court, w.record_id, JudgmentStatus.UNDER_APPEAL, 0)
    result = verify_certificate(cert, trust=trust, rpc=ledger.w3)
    assert result.status["appeal_pending"] is True and result.status["enforceable"] is False
    _status(ledger, court, w.record_id, JudgmentStatus.STAYED, 1)  # enforcement stayed pending the appeal
    assert verify_certificate(cert, trust=trust, rpc=ledger.w3).status["stayed"] is True


def test_prepare_dossier_refuses_what_the_contract_would(ledger):
    jid = b"\x01" * 32
    with pytest.raises(ValueError, match="proof of service"):
        prepare_dossier(jid, sequence=0, complete_copy=b"copy", by_default=True)
    with pytest.raises(ValueError, match="complete copy is empty"):
        prepare_dossier(jid, sequence=0, complete_copy=b"")
    with pytest.raises(ValueError, match="translation is empty"):
        prepare_dossier(jid, sequence=0, complete_copy=b"copy", translations={"en": b""})
    with pytest.raises(ValueError):
        prepare_dossier(jid, sequence=0, complete_copy=b"copy", translations={"English": b"x"})
