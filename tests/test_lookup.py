"""The foreign court's look-up (ledger.lookup): one verdict naming the recording court, and no spoofing.

The attack of issue 11 (2): court 500113 watches the pending pool of a chain it shares with court 110108,
copies the case-number and document digests of 110108's pending judgment into its own judgment and has it
mined first. The look-up used to answer ``verified`` naming 500113, and ``set_aside`` for 110108's real,
effective judgment once 500113 set its copy aside. Here both courts share one anvil node with automine off,
the attacker reads the pending transaction from the node, and the look-up answers ``conflict`` listing both
records, flags the impostor by the case-number code, and keeps 110108's record effective.
"""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from eth_account import Account

from ledger.chain import connect, send_transaction
from ledger.client import Ledger
from ledger.deployment import deploy
from ledger.errors import ContractRevertError
from ledger.lookup import case_number_names_court, lookup_judgment
from ledger.records import Judgment, JudgmentStatus, JudgmentStatusChange, case_number_digest, sha256_digest
from tests.conftest import CASE_KEY, admit_new_court, make_judgment

DOCUMENT = b"%PDF-1.7 a judgment of court 110108"
VICTIM, ATTACKER = 110108, 500113
_numbers = itertools.count(1)


def test_lookup_names_the_recording_court_and_its_jurisdiction(ledger, governor, funder, deployment):
    court = admit_new_court(ledger, governor, funder, jurisdiction="CN-SH")
    n = 900 + next(_numbers)
    number = f"(2016)京0102民初{1000 + n}号"
    w = ledger.submit(court.signer, make_judgment(court.id, n, document_digest=sha256_digest(DOCUMENT)))
    registry = deployment.address("JudgmentRegistry")

    def ask(case_number: str, digest: bytes, expected: int | None = None):
        return lookup_judgment(ledger.w3, registry, key=CASE_KEY, case_number=case_number, document_digest=digest,
                               from_block=w.block_number, expected_court=expected)

    ok = ask(number, sha256_digest(DOCUMENT))
    assert (ok.verdict, ok.judgment_id, ok.court, ok.jurisdiction, ok.status) == (
        "verified", "0x" + w.record_id.hex(), court.id, "CN-SH", "effective")
    assert ok.case_code_matches is None  # no code recorded for this court: not applicable
    assert ask(number, b"\x01" * 32).verdict == "does_not_match"
    assert ask("(2099)京9999执1号", sha256_digest(DOCUMENT)).verdict == "not_on_chain"
    wrong = ask(number, sha256_digest(DOCUMENT), expected=court.id + 1)
    assert wrong.verdict == "court_mismatch" and wrong.court == court.id and "expected" in (wrong.reason or "")


def test_case_number_code_rule():
    assert case_number_names_court("(2019)京0108民初12345号", "京0108") is True
    assert case_number_names_court("(2019)京0108民初12345号", "京01") is False  # 京01 is the intermediate court
    assert case_number_names_court("(2017)京01民初77号", "京01") is True
    assert case_number_names_court("(2019)渝0113民初1号", "京0108") is False
    assert case_number_names_court("(2019)京0108民初1号", None) is None


def test_two_courts_cannot_carry_the_same_case_number_code(ledger, governor, funder):
    first = admit_new_court(ledger, governor, funder)
    second = admit_new_court(ledger, governor, funder)
    code = f"测{first.id % 10_000_000}"
    ledger.set_case_number_code(governor, first.id, code)
    with pytest.raises(ContractRevertError) as refused:
        ledger.set_case_number_code(governor, second.id, code)
    assert refused.value.error == "CourtRegistryCaseNumberCodeTaken"
    assert ledger.case_number_code(first.id) == code and ledger.case_number_code(second.id) is None


# -- two courts on one node, pending transactions visible ---------------------------------------------


@pytest.fixture(scope="module")
def shared_node(tmp_path_factory):
    """One anvil node, two courts with their case-number codes, then automine off."""
    chain = connect("local", data_dir=tmp_path_factory.mktemp("shared-node"))
    ledger = Ledger(chain, deploy(chain, chain.accounts[0]))
    governor, funder = chain.accounts[0], chain.accounts[1]
    signers = {VICTIM: Account.create(), ATTACKER: Account.create()}
    for court, code, jurisdiction in ((VICTIM, "京0108", "CN-BJ"), (ATTACKER, "渝0113", "CN-CQ")):
        send_transaction(chain, funder, {"to": signers[court].address, "value": 10**18})
        ledger.admit_court(governor, court, jurisdiction, 0, signers[court].address)
        ledger.set_case_number_code(governor, court, code)
    chain.w3.provider.make_request("evm_setAutomine", [False])
    yield ledger, signers
    chain.close()


def _send_pending(ledger: Ledger, signer, record, tip_gwei: int) -> bytes:
    """Sign and send a record's transaction without waiting: it waits in the pool until a block is mined."""
    w3 = ledger.w3
    to, data = ledger.call_data(record)
    base = w3.eth.get_block("latest")["baseFeePerGas"]
    tx = {"to": to, "data": data, "nonce": w3.eth.get_transaction_count(signer.address, "pending"), "gas": 400_000,
          "chainId": w3.eth.chain_id, "maxPriorityFeePerGas": tip_gwei * 10**9,
          "maxFeePerGas": 2 * base + tip_gwei * 10**9}
    return bytes(w3.eth.send_raw_transaction(signer.sign_transaction(tx).raw_transaction))


def _mine(ledger: Ledger) -> None:
    ledger.w3.provider.make_request("evm_mine", [])


def _pending_judgments(ledger: Ledger) -> list[dict]:
    """What any node user sees: the pending block's transactions, decoded as recordJudgment calls."""
    block = ledger.w3.provider.make_request("eth_getBlockByNumber", ["pending", True])["result"]
    registry = ledger.contract("JudgmentRegistry")
    out = []
    for tx in block["transactions"]:
        if tx["to"] and tx["to"].lower() == registry.address.lower():
            _, args = registry.decode_function_input(tx["input"])
            out.append(args["judgment"])
    return out


def test_court_cannot_spoof_the_lookup_by_front_running_another_courts_judgment(shared_node):
    ledger, signers = shared_node
    number = "(2024)京0108民初31415号"
    victim = Judgment(court=VICTIM, case_number_digest=case_number_digest(CASE_KEY, number),
                      document_digest=sha256_digest(DOCUMENT), parties_commitment=sha256_digest(b"parties"),
                      amount=1_300_000, currency="CNY", judgment_date=date(2024, 3, 1),
                      effective_date=date(2024, 3, 18))
    victim_tx = _send_pending(ledger, signers[VICTIM], victim, tip_gwei=1)

    # The attacker copies both digests out of the pending transaction and outbids it.
    seen = _pending_judgments(ledger)
    assert len(seen) == 1
    copied = seen[0]
    forged = Judgment(court=ATTACKER, case_number_digest=bytes(copied["caseNumberDigest"]),
                      document_digest=bytes(copied["documentDigest"]),
                      parties_commitment=sha256_digest(b"anything"), amount=1, currency="CNY",
                      judgment_date=date(2024, 3, 1), effective_date=date(2024, 3, 18))
    forged_tx = _send_pending(ledger, signers[ATTACKER], forged, tip_gwei=50)
    _mine(ledger)
    w3 = ledger.w3
    first, second = w3.eth.get_transaction_receipt(forged_tx), w3.eth.get_transaction_receipt(victim_tx)
    assert first["blockNumber"] == second["blockNumber"] and first["transactionIndex"] < second["transactionIndex"]
    assert first["status"] == 1 and second["status"] == 1  # the victim's judgment is not blocked

    def ask(expected: int | None = None):
        return lookup_judgment(w3, ledger.deployment.address("JudgmentRegistry"), key=CASE_KEY, case_number=number,
                               document_digest=sha256_digest(DOCUMENT), from_block=first["blockNumber"],
                               expected_court=expected)

    answer = ask()
    assert answer.verdict == "conflict" and answer.court is None and answer.status is None
    by_court = {r.court: r for r in answer.records}
    assert set(by_court) == {VICTIM, ATTACKER}
    assert by_court[VICTIM].judgment_id == "0x" + victim.record_id().hex()
    assert (by_court[VICTIM].case_code_matches, by_court[ATTACKER].case_code_matches) == (True, False)
    assert (by_court[VICTIM].jurisdiction, by_court[ATTACKER].jurisdiction) == ("CN-BJ", "CN-CQ")
    assert ask(expected=VICTIM).verdict == "conflict"  # naming the expected court never verifies one claimant

    # The attacker sets its copy aside: the victim's judgment stays effective, on chain and in the answer.
    change = JudgmentStatusChange(judgment_id=forged.record_id(), status=JudgmentStatus.SET_ASIDE, sequence=0)
    _send_pending(ledger, signers[ATTACKER], change, tip_gwei=50)
    _mine(ledger)
    after = ask()
    assert after.verdict == "conflict" and after.status is None
    statuses = {r.court: r.status for r in after.records}
    assert statuses == {VICTIM: "effective", ATTACKER: "set_aside"}
    assert ledger.judgment(victim.record_id())["status"] == JudgmentStatus.EFFECTIVE


def test_court_cannot_pass_off_a_case_number_that_names_another_court(shared_node):
    ledger, signers = shared_node
    number = "(2024)京0108执2718号"  # names 110108, recorded only by 500113
    forged = Judgment(court=ATTACKER, case_number_digest=case_number_digest(CASE_KEY, number),
                      document_digest=sha256_digest(b"forged"), parties_commitment=sha256_digest(b"p"), amount=5,
                      currency="CNY", judgment_date=date(2024, 1, 1), effective_date=date(2024, 1, 2))
    tx = _send_pending(ledger, signers[ATTACKER], forged, tip_gwei=1)
    _mine(ledger)
    block = ledger.w3.eth.get_transaction_receipt(tx)["blockNumber"]
    answer = lookup_judgment(ledger.w3, ledger.deployment.address("JudgmentRegistry"), key=CASE_KEY,
                             case_number=number, document_digest=sha256_digest(b"forged"), from_block=block)
    assert answer.verdict == "court_mismatch" and answer.court == ATTACKER and answer.case_code_matches is False
