"""The pipeline's many-at-once path: batched answers taken one by one, consecutive nonces stored together
before anything is sent, and the fees of a replacement for a transaction the node holds but never mines.

Runs on the memory chain (eth-tester, which takes no JSON-RPC batches: the calls go one by one) and on
anvil (one HTTP batch); nothing waits for a block to be mined at once: receipts are polled for.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from eth_account import Account
from web3.exceptions import TransactionNotFound

from ledger.chain import Chain
from ledger.client import Ledger
from ledger.errors import ContractRevertError
from ledger.pipeline import FeePolicy, Next, Pipeline, Refused, next_step
from ledger.pipeline.core import Signed
from ledger.pipeline.rpc import Refusal, batch, block_times, eth_call
from tests.conftest import fund


def _wait_receipts(pipeline: Pipeline, hashes: list[str], timeout: float = 60.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = pipeline.receipts(hashes)
        if all(r is not None for r in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_one_bad_answer_in_a_batch_spoils_none_of_the_others(chain: Chain, ledger: Ledger, funder):
    """A receipt the node does not have and a reverting estimate come back as their own errors, while
    the other answers in the same batch are read normally."""
    w3 = chain.w3
    stranger = funder  # funded, but not governance
    registry = ledger.contract("CourtRegistry")
    forbidden = registry.encode_abi("retireCourt", args=[999_999])  # only governance may: reverts
    outcomes = batch(
        w3,
        [
            eth_call(w3, "get_transaction_receipt", "0x" + "11" * 32),
            eth_call(w3, "estimate_gas", {"from": stranger.address, "to": registry.address, "data": forbidden}),
            eth_call(w3, "get_block", 0),
            eth_call(w3, "get_balance", funder.address),
        ],
    )
    assert isinstance(outcomes[0], TransactionNotFound)
    assert isinstance(outcomes[1], Exception) and not isinstance(outcomes[1], TransactionNotFound)
    assert bytes(outcomes[2]["hash"]) == bytes(chain.genesis_hash)
    assert outcomes[3] == w3.eth.get_balance(funder.address) and outcomes[3] > 0
    [gas] = Pipeline(chain).estimate_many(stranger.address, [(registry.address, forbidden, 0)])
    assert isinstance(gas, ContractRevertError)  # decoded, as a single estimate raises it


def test_many_writes_of_one_sender_take_consecutive_nonces_and_are_stored_before_sending(chain: Chain, funder):
    """``sign_many`` hands every signed transaction to ``store`` at once, before ``send_many`` sends
    any; the nonces follow each other from the account's count; every one is mined, each once."""
    sender = Account.create()
    fund(chain, funder, sender.address)
    pipeline = Pipeline(chain)
    calls = [((sender.address, "0x", 0), 21_000) for _ in range(5)]
    seen_by_node_at_store: list[int] = []

    def store(signed: list[Signed], head: Any) -> list[Signed]:
        seen_by_node_at_store.append(chain.w3.eth.get_transaction_count(sender.address, "pending"))
        return signed

    signed = pipeline.sign_many(sender, calls, store)
    assert seen_by_node_at_store == [0]  # nothing had reached the node when they were stored
    assert [s.nonce for s in signed] == [0, 1, 2, 3, 4]
    assert pipeline.send_many([s.raw for s in signed]) == [None] * 5
    again = pipeline.send_many([s.raw for s in signed])  # sent twice: known, or mined already
    assert all(r is not None and r.kind in (Refusal.KNOWN, Refusal.NONCE_TAKEN) for r in again), again
    receipts = _wait_receipts(pipeline, [s.tx_hash for s in signed])
    assert [r["status"] for r in receipts] == [1] * 5
    assert chain.w3.eth.get_transaction_count(sender.address) == 5


def test_estimates_in_one_batch_read_each_answer_as_a_single_estimate_would(chain: Chain, ledger: Ledger, funder):
    """Over HTTP the estimates travel as one plain JSON-RPC batch and are read without web3's formatters:
    a revert among them is decoded into its custom error, the others are the gas a single call offers."""
    registry = ledger.contract("CourtRegistry")
    forbidden = registry.encode_abi("retireCourt", args=[999_999])  # only governance may: reverts
    pipeline = Pipeline(chain)
    transfer = (funder.address, "0x", 1)
    outcomes = pipeline.estimate_many(funder.address, [transfer, (registry.address, forbidden, 0), transfer])
    single = pipeline.estimate(funder.address, *transfer)
    assert outcomes[0] == outcomes[2] == single > 21_000  # the estimate and its margin
    assert isinstance(outcomes[1], ContractRevertError)
    with pytest.raises(ContractRevertError) as alone:
        pipeline.estimate(funder.address, registry.address, forbidden)
    assert outcomes[1].error == alone.value.error != "UnknownRevert"


def test_block_times_are_the_blocks_own_and_a_block_the_chain_lacks_is_left_out(chain: Chain):
    w3 = chain.w3
    latest = w3.eth.block_number
    times = block_times(w3, [0, latest, latest, 10**9])
    assert times == {0: w3.eth.get_block(0)["timestamp"], latest: w3.eth.get_block(latest)["timestamp"]}


class _Prices:
    """A chain's fee reading, fixed: what :class:`FeePolicy` asks the node for."""

    def __init__(self, fees: dict[str, int]) -> None:
        self._fees = fees

    def fees(self, latest: Any = None) -> dict[str, int]:
        return dict(self._fees)


def test_a_stuck_transaction_is_replaced_with_fees_an_eighth_higher_than_its_own():
    policy = FeePolicy(_Prices({"maxFeePerGas": 100, "maxPriorityFeePerGas": 10}))  # type: ignore[arg-type]
    held = {"maxFeePerGas": 2_000, "maxPriorityFeePerGas": 800, "gasPrice": 2_000}
    assert policy.bumped(held) == {"maxFeePerGas": 2_251, "maxPriorityFeePerGas": 901}
    cheap = {"maxFeePerGas": 16, "maxPriorityFeePerGas": 1}  # below today's prices: today's prices win
    assert policy.bumped(cheap) == {"maxFeePerGas": 100, "maxPriorityFeePerGas": 10}


def test_on_a_zero_fee_network_a_stuck_transaction_is_not_repriced():
    """Nothing to raise: the caller sends the same bytes again instead of signing a replacement that a
    zero-fee network's accounts (holding no coins) could not pay for."""
    policy = FeePolicy(_Prices({"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}))  # type: ignore[arg-type]
    assert policy.bumped({"maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "gasPrice": 0}) is None
    legacy = FeePolicy(_Prices({"gasPrice": 0}))  # type: ignore[arg-type]
    assert legacy.bumped({"gasPrice": 0}) is None


def test_one_reading_of_a_refusal_for_every_writer():
    """``next_step``: known -> wait; nonce taken -> settle from the write's own mined transaction, else sign
    again; underpriced -> reprice; anything else -> retry later. Only a taken nonce asks what was mined."""
    asked: list[str] = []

    def mined(found: Any) -> Any:
        def look() -> Any:
            asked.append("mined")
            return found

        return look

    def refused(kind: Refusal) -> Refused:
        return Refused(kind, kind.value)

    assert next_step(refused(Refusal.KNOWN), mined("x")) == (Next.WAIT, None)
    assert next_step(refused(Refusal.UNDERPRICED), mined("x")) == (Next.REPRICE, None)
    assert next_step(refused(Refusal.OTHER), mined("x")) == (Next.RETRY, None)
    assert asked == []
    assert next_step(refused(Refusal.NONCE_TAKEN), mined("receipt")) == (Next.SETTLE, "receipt")
    assert next_step(refused(Refusal.NONCE_TAKEN), mined(None)) == (Next.SIGN_AGAIN, None)
    assert asked == ["mined", "mined"]
