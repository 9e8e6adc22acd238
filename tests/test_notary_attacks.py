"""The notary against another court of the network, and against its own failures.

Two courts share one anvil node with automine off, so a pending anchor is visible before it is mined, as on
a court network's public mempool. The attacker copies the victim's pending root into its own anchor, pays a
higher tip, and has it mined first. Anchors are unique per (court, root), so no harm is done: the victim's
batch is anchored for the victim, its receipts verify on chain, and later batches keep flowing.

Beside the attack: a batch the contract refuses for good is set aside with its reason (never retried in a
loop) while later batches flow, and a key rotated while anchors are pending is the key the next anchor is
signed with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account

from ledger.chain import Chain, connect
from ledger.client import Ledger
from ledger.deployment import deploy
from ledger.notary import BatchResult, NotaryBatcher
from ledger.notary.anchoring import Anchoring
from ledger.records import Anchor, sha256_digest
from tests.conftest import Court, admit_new_court, fund


def _digests(n: int, tag: str) -> list[bytes]:
    return [sha256_digest(f"notary attack {tag} {time.time_ns()} {i}".encode()) for i in range(n)]


def _rpc(chain: Chain, method: str, *params: Any) -> Any:
    response = chain.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Chain, Ledger, Court, Court]]:
    """One anvil node, the suite deployed, two courts: (chain, ledger, victim, attacker)."""
    chain = connect("local", data_dir=tmp_path_factory.mktemp("two-courts"))
    try:
        ledger = Ledger(chain, deploy(chain, chain.accounts[0]))
        victim = admit_new_court(ledger, chain.accounts[0], chain.accounts[1])
        attacker = admit_new_court(ledger, chain.accounts[0], chain.accounts[1])
        yield chain, ledger, victim, attacker
    finally:
        chain.close()


def _pending_anchor(chain: Ledger, sender: str, timeout: float = 30.0) -> dict[str, Any]:
    """The victim's anchor transaction as the node's pool shows it to anyone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pool = _rpc(chain.chain, "txpool_content")["pending"]
        for address, by_nonce in pool.items():
            if address.lower() == sender.lower():
                return next(iter(by_nonce.values()))
        time.sleep(0.02)
    raise AssertionError("the victim's anchor never showed up in the pool")


def _front_run(ledger: Ledger, attacker: Court, victim_tx: dict[str, Any]) -> str:
    """Copy the victim's root into the attacker's own anchor, tipped higher; the transaction hash."""
    contract = ledger.contract("NotaryAnchor")
    _, args = contract.decode_function_input(victim_tx["input"])
    theirs = args["anchor_"]
    copy = Anchor(court=attacker.id, root=bytes(theirs["root"]), size=theirs["size"],
                  metadata_digest=bytes(theirs["metadataDigest"]))
    to, data = ledger.call_data(copy, None)
    w3 = ledger.w3
    tip = int(victim_tx["maxPriorityFeePerGas"], 16) + 10**9
    signed = attacker.signer.sign_transaction({
        "to": to,
        "data": data,
        "chainId": ledger.chain.chain_id,
        "nonce": w3.eth.get_transaction_count(attacker.signer.address, "pending"),
        "gas": 200_000,
        "maxPriorityFeePerGas": tip,
        "maxFeePerGas": int(victim_tx["maxFeePerGas"], 16) + tip,
    })
    return "0x" + bytes(w3.eth.send_raw_transaction(signed.raw_transaction)).hex()


def test_court_cannot_front_run_another_courts_anchor(network, tmp_path):
    chain, ledger, victim, attacker = network
    batcher = NotaryBatcher(tmp_path / "victim.db", ledger, victim.id, victim.signer, max_age=3600.0)
    values = _digests(5, "victim")
    ids = batcher.submit_many(values)
    outcome: list[BatchResult | BaseException | None] = []

    def anchor_in_background() -> None:
        try:
            outcome.append(batcher.run_once(force=True))
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    _rpc(chain, "evm_setAutomine", False)
    try:
        runner = threading.Thread(target=anchor_in_background)
        runner.start()
        victim_tx = _pending_anchor(ledger, victim.signer.address)
        copied = _front_run(ledger, attacker, victim_tx)
        _rpc(chain, "evm_mine")
        runner.join(60)
        assert not runner.is_alive(), "the victim's batcher never finished"
    finally:
        _rpc(chain, "evm_setAutomine", True)

    result = outcome[0]
    assert isinstance(result, BatchResult), result
    theirs = ledger.w3.eth.get_transaction_receipt(copied)  # type: ignore[arg-type]
    ours = ledger.w3.eth.get_transaction_receipt(result.transaction_hash)  # type: ignore[arg-type]
    assert theirs["status"] == 1 and ours["status"] == 1
    assert (theirs["blockNumber"], theirs["transactionIndex"]) < (ours["blockNumber"], ours["transactionIndex"])
    # no harm: the root stands for the victim, its receipts verify on chain, the copy is the attacker's own
    assert ledger.anchor(victim.id, result.root)["court"] == victim.id
    assert ledger.anchor(attacker.id, result.root)["court"] == attacker.id
    for rid, value in zip(ids, values, strict=True):
        assert batcher.verify(rid, value, on_chain=True)
    # and the next batch flows
    later = batcher.submit_many(_digests(3, "later"))
    assert batcher.run_once(force=True) is not None
    assert {r.state for r in batcher.receipts(later)} == {"anchored"}
    batcher.close()


# -- the batcher's own failures (in-memory chain) --------------------------------------------------------


@pytest.fixture
def memory(tmp_path) -> Iterator[tuple[Chain, Ledger, Court]]:
    chain = connect("memory")
    try:
        ledger = Ledger(chain, deploy(chain, chain.accounts[0]))
        yield chain, ledger, admit_new_court(ledger, chain.accounts[0], chain.accounts[1])
    finally:
        chain.close()


def test_a_refused_batch_fails_with_its_reason_and_later_batches_keep_flowing(memory, tmp_path):
    chain, ledger, court = memory
    governor = chain.accounts[0]
    batcher = NotaryBatcher(tmp_path / "n.db", ledger, court.id, court.signer, max_age=3600.0)
    refused = batcher.submit_many(_digests(4, "refused"))
    ledger.governance(governor, "suspendCourt", court.id)

    assert batcher.run_once(force=True) is None  # refused for good: set aside, not retried in a loop
    failed = batcher.receipts(refused)
    assert {r.state for r in failed} == {"failed"}
    assert failed[0].error is not None and "CourtAuthorizedInactiveWriter" in failed[0].error
    assert batcher.stats()["failed_batches"] == 1 and not batcher.due()

    ledger.governance(governor, "reinstateCourt", court.id)
    later_values = _digests(3, "later")
    later = batcher.submit_many(later_values)
    result = batcher.run_once(force=True)
    assert result is not None and result.batch == 2  # the next batch goes through
    assert {r.state for r in batcher.receipts(later)} == {"anchored"}
    assert batcher.verify(later[0], later_values[0], on_chain=True)

    assert batcher.reanchor(failed[0].batch)  # once the cause is fixed, the failed batch is sent again
    again = batcher.run_once()
    assert again is not None and again.batch == failed[0].batch
    assert {r.state for r in batcher.receipts(refused)} == {"anchored"}
    batcher.close()


def test_rotating_a_courts_key_while_anchors_are_pending_signs_the_next_anchor_with_the_new_key(
    memory, tmp_path, monkeypatch
):
    chain, ledger, court = memory
    governor = chain.accounts[0]
    current = [court.signer]
    batcher = NotaryBatcher(tmp_path / "n.db", ledger, court.id, lambda: current[0], max_age=3600.0)

    class PowerCut(Exception):
        pass

    def cut(self: NotaryBatcher, batch: Any) -> None:
        raise PowerCut

    signed_values = _digests(3, "signed before")
    signed_ids = batcher.submit_many(signed_values)
    with monkeypatch.context() as m:  # the first batch is signed with the old key, never sent
        m.setattr(Anchoring, "_send_raw", cut)
        with pytest.raises(PowerCut):
            batcher.run_once(force=True)
    pending_ids = batcher.submit_many(_digests(4, "pending"))

    new_key = Account.create()
    fund(chain, chain.accounts[1], new_key.address)
    ledger.governance(governor, "addSigner", court.id, new_key.address)
    ledger.governance(governor, "retireSigner", court.signer.address)
    current[0] = new_key

    first = batcher.run_once()  # the old key's transaction is refused on chain: signed anew with the new key
    second = batcher.run_once(force=True)
    assert first is not None and second is not None
    for result, ids in ((first, signed_ids), (second, pending_ids)):
        tx = ledger.w3.eth.get_transaction(result.transaction_hash)  # type: ignore[arg-type]
        assert tx["from"] == new_key.address
        certificate = batcher.certificate(ids[0])
        assert certificate.signature.signer == new_key.address
        assert {r.state for r in batcher.receipts(ids)} == {"anchored"}
    assert batcher.verify(signed_ids[0], signed_values[0], on_chain=True)
    batcher.close()
