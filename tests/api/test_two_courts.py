"""Two courts' service instances against one chain, and a foreign court verifying records of both.

One anvil node, started once; each court runs its own service (its own data dir: keystore, vault, outbox,
index) pointed at the node by URL. Both use the one deployment (the second instance is given the first's
deployments file, so it reuses the contracts instead of deploying its own) and the network's governance
key, which admits each court through that court's service. Each court writes judgments through its own
service. A foreign court then holds only the certificates, the documents, the network descriptor
(``GET /api/v1/verify/network``, with the governance address pinned out of band) and the node's RPC URL,
and verifies every certificate with ``ledger.verify.verify_certificate``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil

import httpx
import pytest
from eth_account import Account

from ledger.chain import connect, send_transaction
from ledger.errors import ConfigurationError, VerificationError
from ledger.verify import NetworkDescriptor, TrustAnchors, verify_certificate
from tests.api._service import Service, admit_court
from tests.api.conftest import ApiClient, judgment_body

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

PER_COURT = 3


def _judgments(court: ApiClient, court_id: int, n0: int) -> list[tuple[bytes, dict]]:
    """(document, certificate) of each judgment the court writes through its service."""
    out = []
    for n in range(n0, n0 + PER_COURT):
        document = f"judgment {court_id}/{n} {os.urandom(8).hex()}".encode()
        body = judgment_body(n, document_sha256=hashlib.sha256(document).hexdigest())
        record = court.confirmed(court.post("/api/v1/judgments", body))
        r = court.get(f"/api/v1/judgments/{record['record_id']}/certificate")
        assert r.status_code == 200, r.text
        out.append((document, r.json()))
    return out


def test_two_court_services_one_chain_a_foreign_court_verifies_both(tmp_path):
    chain = connect("local", data_dir=tmp_path / "chain")
    assert chain.url is not None
    governor = Account.create()
    assert send_transaction(chain, chain.accounts[0], {"to": governor.address, "value": 1_000 * 10**18})["status"]
    # The network's keys are shared by its courts: governance, and K_case (so both compute one case digest).
    env = {"LEDGER_GOVERNANCE_KEY": governor.key.hex(), "LEDGER_CASE_NUMBER_KEY": os.urandom(32).hex()}
    first = Service(tmp_path / "court-a", chain=chain.url, env=env)
    second = Service(tmp_path / "court-b", chain=chain.url, env=env)
    try:
        first.start()
        second.data_dir.mkdir()
        shutil.copy(first.data_dir / "deployment.json", second.data_dir / "deployment.json")
        deployment = json.loads((first.data_dir / "deployment.json").read_text())
        second.start()
        assert json.loads((second.data_dir / "deployment.json").read_text()) == deployment  # reused, not redeployed

        court_a, signer_a = admit_court(first, first.dev_client("dev-governance"), 330_106, "court-hangzhou")
        court_b, signer_b = admit_court(second, second.dev_client("dev-governance"), 110_105, "court-beijing")
        assert signer_a != signer_b
        issued = _judgments(court_a, 330_106, 100) + _judgments(court_b, 110_105, 200)
        # A court's service holds only its own court's signer key: it cannot write for the other court.
        stray = ApiClient(second.http(), "hangzhou-at-b", second.add_client("hangzhou-at-b", "court", 330_106))
        r = stray.post("/api/v1/judgments", judgment_body(300))
        assert r.status_code == 409 and "no signer key" in r.json()["detail"], r.text

        # The foreign court: the descriptor from either service (the same network), pinned governor, RPC URL.
        descriptors = [httpx.get(f"{s.base}/api/v1/verify/network", timeout=60).json() for s in (first, second)]
        assert descriptors[0] == descriptors[1]
        trust = TrustAnchors.from_descriptors([NetworkDescriptor.model_validate(descriptors[0])], [governor.address])
        courts = set()
        for document, certificate in issued:
            result = verify_certificate(json.dumps(certificate), trust=trust, rpc=chain.url, document=document)
            assert result.online and [s.name for s in result.steps][-1] == "status", result.as_dict()
            assert result.status["status"] == "effective", result.status
            courts.add(result.certificate.record["court"])
        assert courts == {330_106, 110_105}

        # Failures the foreign court must see: another document, an altered record, an unpinned network.
        document, certificate = issued[0]
        with pytest.raises(VerificationError) as failed:
            verify_certificate(certificate, trust=trust, rpc=chain.url, document=document + b".")
        assert failed.value.step == "document"
        altered = copy.deepcopy(certificate)
        altered["record"]["amount"] = int(altered["record"]["amount"]) + 1
        with pytest.raises(VerificationError) as failed:
            verify_certificate(altered, trust=trust, rpc=chain.url)
        assert failed.value.step in ("format", "signature")
        pinned_elsewhere = [Account.create().address]
        with pytest.raises(ConfigurationError, match="not signed by a pinned governance key"):
            TrustAnchors.from_descriptors([NetworkDescriptor.model_validate(descriptors[0])], pinned_elsewhere)
        with pytest.raises(VerificationError) as failed:
            verify_certificate(issued[-1][1], trust=TrustAnchors([]), rpc=chain.url)
        assert failed.value.step == "network"

        # Each service indexes the whole chain: court B's public look-up confirms court A's judgment.
        hangzhou = issued[0][1]
        lookup = httpx.post(
            f"{second.base}/api/v1/verify/lookup",
            json={
                "case_number": judgment_body(100)["case_number"],
                "document_sha256": hashlib.sha256(issued[0][0]).hexdigest(),
            },
            timeout=60,
        ).json()
        assert lookup["verdict"] == "verified" and lookup["court"] == 330_106, lookup
        assert lookup["judgment_id"] == hangzhou["record_id"]
    finally:
        first.stop()
        second.stop()
        chain.close()
