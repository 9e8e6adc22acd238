"""Shared fixtures: one deployed chain per backend per test session.

Tests that take ``ledger`` run twice, on the in-process eth-tester chain and on a real anvil node.
Tests share the deployment and stay independent by creating their own courts (fresh ids, fresh signer
keys) with ``new_court``.
"""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass
from datetime import date

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain import Chain, connect, send_transaction
from ledger.client import Ledger
from ledger.deployment import Deployment, deploy
from ledger.records import Judgment, case_number_digest, sha256_digest

BACKENDS = ["memory", "anvil"]


@pytest.fixture(scope="session", params=BACKENDS)
def chain(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    c = connect("memory") if request.param == "memory" else connect("local", data_dir=tmp_path_factory.mktemp("anvil"))
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
        case_number_digest=case_number_digest(f"(2016)京0102民初{1000 + n}号"),
        document_digest=sha256_digest(f"judgment document {court}/{n}".encode()),
        parties_commitment=sha256_digest(f"parties {court}/{n}".encode()),
        amount=1_300_000 + n,
        currency="CNY",
        judgment_date=date(2016, 6, 1),
        effective_date=date(2016, 6, 15),
    )
    fields.update(changes)
    return Judgment(**fields)
