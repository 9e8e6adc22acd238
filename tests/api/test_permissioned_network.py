"""The service on a permissioned network's conditions: zero gas price and base fee, a block every 2 seconds
(no instant mining), no faucet: anvil ``--block-time 2 --gas-price 0 --base-fee 0``, which still suggests
1 gwei through ``eth_gasPrice``.

Configured with gas price 0 (``serve.py --gas-price 0``), ``serve.py --chain URL`` deploys with an account
that holds nothing and serves writes; configured with nothing, it pays what the node suggests, and stops
with a message naming the account and the amount it lacks, not a traceback.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from ledger._node import find_anvil, rpc_chain_id
from tests.api._service import ROOT, Service, free_port
from tests.api.conftest import ApiClient

pytestmark = [pytest.mark.anvil]


@pytest.fixture(scope="module")
def zero_fee_node() -> Iterator[str]:
    port = free_port()
    argv = [str(find_anvil()), "--port", str(port), "--hardfork", "prague", "--block-time", "2",
            "--gas-price", "0", "--base-fee", "0", "--silent"]
    node = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while rpc_chain_id(url) is None:
            assert node.poll() is None and time.monotonic() < deadline, "anvil did not start"
            time.sleep(0.1)
        yield url
    finally:
        node.terminate()
        node.wait(10)


def _production_env(governance_key: str) -> dict[str, str]:
    return {
        "LEDGER_MODE": "production",
        "LEDGER_VAULT_KEY": secrets.token_hex(32),
        "LEDGER_BLIND_INDEX_KEY": secrets.token_hex(32),
        "LEDGER_CASE_NUMBER_KEY": secrets.token_hex(32),
        "LEDGER_KEYSTORE_PASSWORD": secrets.token_urlsafe(18),
        "LEDGER_GOVERNANCE_KEY": governance_key,
    }


def _balance(url: str, address: str) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": [address, "latest"]}
    return int(httpx.post(url, json=body).json()["result"], 16)


def test_an_unfunded_governance_account_is_named_with_the_amount_it_lacks(zero_fee_node: str, tmp_path: Path) -> None:
    governor = Account.create()
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "serve.py"), "--data-dir", str(tmp_path / "data"),
         "--chain", zero_fee_node, "--port", str(free_port())],
        cwd=ROOT, env={**_environ(), **_production_env(governor.key.hex())}, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert f"account {governor.address} needs " in result.stderr and "wei" in result.stderr
    assert "deploying CourtRegistry" in result.stderr and "holds 0 wei" in result.stderr
    assert "LEDGER_GAS_PRICE=0" in result.stderr  # the way out on a network that charges nothing


def test_production_service_with_gas_price_zero_deploys_and_writes_with_no_funds(
    zero_fee_node: str, tmp_path: Path
) -> None:
    governor = Account.create()
    env = {**_production_env(governor.key.hex()), "LEDGER_GAS_PRICE": "0"}
    service = Service(tmp_path / "data", chain=zero_fee_node, env=env)
    service.start(timeout=180)
    try:
        gov = ApiClient(service.http(), "gov", service.add_client("gov", "governance"))
        admitted = gov.post("/api/v1/courts", {"court_id": 61_000, "jurisdiction": "CN-BJ"})
        record = gov.confirmed(admitted, timeout=90)
        assert record["state"] == "confirmed"
        signer = admitted.json()["signer"]
        assert _balance(zero_fee_node, governor.address) == 0  # deployed and governed with no coins
        assert _balance(zero_fee_node, signer) == 0  # nobody was funded: nothing needs funds here
    finally:
        service.stop()


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
