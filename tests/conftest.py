"""Shared fixtures: one deployed chain per backend per test session.

Tests that take ``ledger`` run twice, on the in-process eth-tester chain and on a real anvil node.
Tests share the deployment and stay independent by creating their own courts (fresh ids, fresh signer
keys) with ``new_court``.

``JTL_TEST_RPC=<node URL>`` runs them on that node instead (any EVM JSON-RPC node: anvil with 2-second
blocks and zero gas price, ``geth --dev --dev.period 2``, a consortium's test network), and the
service tests' shared service too. Each test session (each xdist worker) gets fresh accounts funded by
the node's funded account: the private keys in ``JTL_TEST_KEYS`` (comma-separated) if given, else the
node's own first account (``eth_accounts``, sending with ``eth_sendTransaction``, as dev nodes allow).
Set ``LEDGER_GAS_PRICE=0`` on a zero-fee network. Only the tests that use the node are collected then
(see :func:`pytest_collection_modifyitems`); the rest ran in the ordinary pass.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import cast

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.chain import Chain, connect, send_transaction
from ledger.client import Ledger
from ledger.deployment import Deployment, deploy
from ledger.records import CaseNumberKey, Judgment, case_number_digest, sha256_digest

#: A node URL to run the chain-backed tests on, instead of the memory chain and a local anvil.
TEST_RPC = os.environ.get("JTL_TEST_RPC", "").strip()
BACKENDS = ["rpc"] if TEST_RPC else ["memory", "anvil"]
#: What each fresh test account is given on a node URL (dev nodes hold thousands of coins per account).
TEST_ACCOUNT_WEI = 100 * 10**18
#: Fixtures through which a test reaches the chain: with JTL_TEST_RPC, only tests using one run.
NODE_FIXTURES = frozenset({"chain", "services"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``JTL_TEST_RPC``, deselect the tests that never touch that node (they ran in the first pass)."""
    if not TEST_RPC:
        return
    keep, drop = [], []
    for item in items:
        closure = set(getattr(item, "fixturenames", ()))
        on_node = closure & NODE_FIXTURES and _chain_params(item) <= {"rpc"}  # not pinned to memory or anvil
        (keep if on_node and item.get_closest_marker("moves_clock") is None else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _chain_params(item: pytest.Item) -> set[str]:
    callspec = getattr(item, "callspec", None)
    return {str(callspec.params["chain"])} if callspec is not None and "chain" in callspec.params else set()


def funded_accounts(chain: Chain, count: int, lock_dir: Path, wei: int = TEST_ACCOUNT_WEI) -> list[LocalAccount]:
    """``count`` fresh accounts holding ``wei`` each, funded by the node's funded account.

    The funder is the first key of ``JTL_TEST_KEYS``, else the node's first ``eth_accounts`` entry (which
    the node signs for). A file lock shared by the xdist workers keeps their funding transactions from
    taking the same nonce.
    """
    accounts = [cast(LocalAccount, Account.create()) for _ in range(count)]
    keys = [k.strip() for k in os.environ.get("JTL_TEST_KEYS", "").split(",") if k.strip()]
    with (lock_dir / "funding.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if keys:
            funder = cast(LocalAccount, Account.from_key(keys[0]))
            for account in accounts:
                assert send_transaction(chain, funder, {"to": account.address, "value": wei})["status"] == 1
            return accounts
        node_accounts = chain.w3.eth.accounts
        if not node_accounts:
            pytest.fail(f"the node at {TEST_RPC} holds no account: give funded keys in JTL_TEST_KEYS")
        sender = to_checksum_address(node_accounts[0])
        hashes = [chain.w3.eth.send_transaction({"from": sender, "to": a.address, "value": wei}) for a in accounts]
    for tx_hash in hashes:
        assert chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.2)["status"] == 1
    return accounts


def _connect_backend(name: str, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    if name == "memory":
        return connect("memory")
    if name == "anvil":
        return connect("local", data_dir=tmp_path_factory.mktemp("anvil"))
    chain = connect(TEST_RPC)
    try:
        chain.accounts.extend(funded_accounts(chain, 3, tmp_path_factory.getbasetemp().parent))
    except BaseException:
        chain.close()
        raise
    return chain

#: The case-number key (K_case) of the test networks: fixed, so digests are reproducible across tests.
CASE_KEY = CaseNumberKey(bytes.fromhex("c45e" * 16))


@pytest.fixture(scope="session", params=BACKENDS)
def chain(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    c = _connect_backend(request.param, tmp_path_factory)
    yield c
    c.close()


@pytest.fixture(scope="session")
def deployment(chain: Chain) -> Deployment:
    return deploy(chain, chain.accounts[0])


@pytest.fixture(scope="session")
def ledger(chain: Chain, deployment: Deployment) -> Ledger:
    return Ledger(chain, deployment)


@pytest.fixture(scope="session")
def governor(chain: Chain) -> LocalAccount:
    return chain.accounts[0]


@pytest.fixture(scope="session")
def relayer(chain: Chain) -> LocalAccount:
    return chain.accounts[2]


@pytest.fixture(scope="session")
def funder(chain: Chain) -> LocalAccount:
    return chain.accounts[1]


_court_ids = itertools.count(random.Random(os.getpid()).randrange(1_000, 4_000_000_000 // 2, 1_000))


@dataclass
class Court:
    id: int
    signer: LocalAccount
    jurisdiction: str


def fund(chain: Chain, funder: LocalAccount, address: str, wei: int = 10**18) -> None:
    receipt = send_transaction(chain, funder, {"to": address, "value": wei})
    assert receipt["status"] == 1


def admit_new_court(ledger: Ledger, governor: LocalAccount, funder: LocalAccount, appellate: int = 0,
                    jurisdiction: str = "CN-BJ") -> Court:
    """Admit a fresh court (unique id) with a fresh funded signer."""
    court_id = next(_court_ids)
    signer: LocalAccount = Account.create()
    fund(ledger.chain, funder, signer.address)
    ledger.admit_court(governor, court_id, jurisdiction, appellate, signer.address)
    return Court(court_id, signer, jurisdiction)


@pytest.fixture
def new_court(ledger: Ledger, governor: LocalAccount, funder: LocalAccount):
    """Admit a fresh court with a fresh funded signer: ``new_court(appellate=0) -> Court``."""

    def make(appellate: int = 0, jurisdiction: str = "CN-BJ") -> Court:
        return admit_new_court(ledger, governor, funder, appellate, jurisdiction)

    return make


def make_judgment(court: int, n: int = 0, **changes) -> Judgment:
    """A valid judgment whose fields differ with ``n``."""
    fields = dict(
        court=court,
        case_number_digest=case_number_digest(CASE_KEY, f"(2016)京0102民初{1000 + n}号"),
        document_digest=sha256_digest(f"judgment document {court}/{n}".encode()),
        parties_commitment=sha256_digest(f"parties {court}/{n}".encode()),
        amount=1_300_000 + n,
        currency="CNY",
        judgment_date=date(2016, 6, 1),
        effective_date=date(2016, 6, 15),
    )
    fields.update(changes)
    return Judgment(**fields)
