"""The demo stories end to end, and a scan of the whole chain for personal data."""

from __future__ import annotations

import hashlib
import secrets

import pytest
from eth_utils import keccak

from ledger.chain import connect
from ledger.client import Ledger
from ledger.demo import DEMO_COURT, play
from ledger.deployment import deploy
from ledger.privacy import BlindIndexKey, CaseNumberKey, Vault


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    chain = connect("memory")
    ledger = Ledger(chain, deploy(chain, chain.accounts[0]))
    vault = Vault.open(tmp_path_factory.mktemp("vault") / "vault.db", secrets.token_bytes(32))
    result = play(ledger, chain.accounts[0], vault, BlindIndexKey.generate(), CaseNumberKey.generate(),
                  funder=chain.accounts[1])
    yield ledger, vault, result
    vault.close()
    chain.close()


def test_stories_reach_their_outcomes(demo):
    ledger, _, result = demo
    assert result.registry_check_before is True
    assert result.registry_check_after is False
    case = ledger.case(result.writes["building_auction"][1].record_id)
    assert case["state"] == 3 and case["amount_recovered"] == 977_000_000 * 100
    remote = ledger.case(result.writes["remote_deposit"][1].record_id)
    assert remote["amount_recovered"] == 16_000 * 100 and remote["state"] == 3
    assert ledger.anchor(DEMO_COURT, result.notary_root)["size"] == 3


def _personal_strings(vault, result) -> list[bytes]:
    """Every name and identifier behind the demo's commitments, raw, hex and plainly hashed."""
    parties = []
    for writes in result.writes.values():
        for w in writes:
            if type(w.record).__name__ == "Judgment":
                parties += vault.get_record_secret(w.record_id).parties
    assert len(parties) == 6
    needles: list[bytes] = []
    for party in parties:
        ident = party.subject.canonical().split(":")[-1]
        for text in {ident, party.name, party.name.split("（")[0], party.subject.canonical()}:
            raw = text.encode("utf-8")
            needles += [raw, raw.hex().encode(), hashlib.sha256(raw).digest(), keccak(raw)]
    return needles


def test_no_personal_data_in_any_calldata_or_log(demo):
    ledger, vault, result = demo
    needles = _personal_strings(vault, result)
    w3 = ledger.w3
    scanned_tx = scanned_logs = 0
    for number in range(w3.eth.block_number + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            data = bytes(tx.get("input", tx.get("data", b"")))
            scanned_tx += 1
            for needle in needles:
                assert needle not in data, f"personal data in calldata of {tx['hash'].hex()}"
            for log in w3.eth.get_transaction_receipt(tx["hash"])["logs"]:
                blob = bytes(log["data"]) + b"".join(bytes(t) for t in log["topics"])
                scanned_logs += 1
                for needle in needles:
                    assert needle not in blob, "personal data in a log"
    assert scanned_tx > 40 and scanned_logs > 40


def test_scan_would_catch_a_leak(demo):
    """The scan is not vacuous: a plaintext ID number put in calldata is found."""
    _, vault, result = demo
    needles = _personal_strings(vault, result)
    leaked = b"\x00" * 4 + needles[0] + b"\x00" * 4
    assert any(n in leaked for n in needles)
