"""The outbox worker's lanes on a node that does not mine at once: a lane's accepted entries signed, stored
and sent together; a node that lost some of them gets them back lowest nonce first; a transaction the
node holds but never mines is replaced at its nonce with higher fees.

On anvil with mining switched off by test-only RPC methods (``evm_setAutomine``, ``evm_mine``,
``anvil_dropTransaction``): the node holds what it is sent until the test lets it mine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from web3.exceptions import TransactionNotFound

from api.services import Services
from api.worker import OutboxWorker
from ledger.chain import connect
from ledger.pipeline import Pipeline
from tests.api.conftest import service_settings
from tests.api.test_outbox import _court, _drain, _judgment


@pytest.fixture
def svc(tmp_path) -> Iterator[Services]:
    """A service on its own anvil, its worker driven by hand."""
    chain = connect("local", data_dir=tmp_path / "chain")
    services = Services.open(service_settings(tmp_path, chain="local"), chain=chain)
    try:
        yield services
    finally:
        services.close()
        chain.close()


def _rpc(svc: Services, method: str, *params: Any) -> Any:
    answer = svc.chain.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in answer, answer
    return answer.get("result")


def _ready(svc: Services, court_id: int) -> tuple[Any, OutboxWorker]:
    """A court admitted (mined at once), then mining switched off; a worker that looks every pass and
    calls a transaction held for 0.3 s stuck."""
    client = _court(svc, court_id)
    _drain(svc.worker, svc, [e.id for e in svc.outbox.entries("governance", "accepted")])
    _rpc(svc, "evm_setAutomine", False)
    pipeline = Pipeline(svc.chain, nonces=svc.outbox, resend_after=0.0, stuck_after=0.3)
    return client, OutboxWorker(svc.ledger, svc.outbox, svc.signers, svc.governor, pipeline=pipeline)


def _mine_and_drain(svc: Services, worker: OutboxWorker, ids: list[str]) -> None:
    _rpc(svc, "evm_setAutomine", True)
    _rpc(svc, "evm_mine")
    _drain(worker, svc, ids)


@pytest.mark.anvil
def test_a_lanes_accepted_writes_go_together_with_consecutive_nonces(svc):
    client, worker = _ready(svc, 4810)
    ids = [_judgment(svc, client, n).id for n in range(60, 66)]
    worker.run_once()
    stored = [svc.outbox.get(i) for i in ids]
    assert [e.state for e in stored] == ["submitted"] * 6  # all signed, stored and sent in one pass
    first = stored[0].nonce or 0
    assert [e.nonce for e in stored] == list(range(first, first + 6))  # in acceptance order
    assert all(svc.chain.w3.eth.get_transaction(e.tx_hash or "")["blockNumber"] is None for e in stored)
    _mine_and_drain(svc, worker, ids)
    done = [svc.outbox.get(i) for i in ids]
    assert [(e.state, e.tx_hash) for e in done] == [("confirmed", e.tx_hash) for e in stored]
    assert all(svc.ledger.judgment(e.record_id)["court"] == 4810 for e in done)


@pytest.mark.anvil
def test_when_the_node_loses_a_lanes_lowest_transaction_it_is_sent_again_and_the_lane_moves(svc):
    """The trap of a restart: the lowest nonce gone from the node's pool while the higher ones wait
    behind the gap. The worker sends the lost one again (the same bytes) and every write is mined once."""
    client, worker = _ready(svc, 4820)
    ids = [_judgment(svc, client, n).id for n in range(70, 74)]
    worker.run_once()
    stored = [svc.outbox.get(i) for i in ids]
    _rpc(svc, "anvil_dropTransaction", stored[0].tx_hash)
    with pytest.raises(TransactionNotFound):
        svc.chain.w3.eth.get_transaction(stored[0].tx_hash or "")
    worker.run_once()
    assert svc.chain.w3.eth.get_transaction(stored[0].tx_hash or "")["nonce"] == stored[0].nonce
    _mine_and_drain(svc, worker, ids)
    done = [svc.outbox.get(i) for i in ids]
    assert [(e.state, e.tx_hash, e.nonce) for e in done] == [("confirmed", e.tx_hash, e.nonce) for e in stored]
    assert all(svc.ledger.judgment(e.record_id)["court"] == 4820 for e in done)


@pytest.mark.anvil
def test_after_the_node_lost_its_pool_a_lane_is_sent_again_lowest_nonce_first(svc, monkeypatch):
    client, worker = _ready(svc, 4830)
    ids = [_judgment(svc, client, n).id for n in range(80, 84)]
    worker.run_once()
    nonce_of = {svc.outbox.get(i).raw_tx: svc.outbox.get(i).nonce for i in ids}
    _rpc(svc, "anvil_dropAllTransactions")
    resent: list[int | None] = []
    send = worker.pipeline.send
    monkeypatch.setattr(worker.pipeline, "send", lambda raw: resent.append(nonce_of[raw]) or send(raw))
    worker.run_once()
    assert resent == sorted(nonce_of.values())
    _mine_and_drain(svc, worker, ids)
    assert {svc.outbox.get(i).state for i in ids} == {"confirmed"}


@pytest.mark.anvil
def test_a_transaction_the_node_holds_but_never_mines_is_replaced_with_higher_fees(svc):
    client, worker = _ready(svc, 4840)
    entry = _judgment(svc, client, 90)
    worker.run_once()
    sent = svc.outbox.get(entry.id)
    w3 = svc.chain.w3
    held = w3.eth.get_transaction(sent.tx_hash or "")
    assert held["blockNumber"] is None
    worker.run_once()  # held, not mined: from now on it is watched
    time.sleep(0.4)
    worker.run_once()  # held past the bound with nothing of ours before it: replaced
    replaced = svc.outbox.get(entry.id)
    assert replaced.state == "submitted" and replaced.nonce == sent.nonce and replaced.tx_hash != sent.tx_hash
    assert [p.tx_hash for p in replaced.previous_transactions] == [sent.tx_hash]
    new = w3.eth.get_transaction(replaced.tx_hash or "")
    assert new["maxFeePerGas"] > held["maxFeePerGas"]
    assert new["maxPriorityFeePerGas"] > held["maxPriorityFeePerGas"]
    _mine_and_drain(svc, worker, [entry.id])
    done = svc.outbox.get(entry.id)
    assert done.state == "confirmed" and done.tx_hash == replaced.tx_hash
    assert svc.ledger.judgment(done.record_id)["court"] == 4840
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction_receipt(sent.tx_hash or "")  # the one it replaced never went to the chain
