"""Contract tests: writes skip gas estimation (a dry-run eth_call and a fixed gas limit instead).

eth-tester estimates gas by bisection, executing a transaction a dozen times; a dry run executes it
once and raises the same decoded revert, which keeps this directory fast on the memory chain. Gas used
does not depend on the gas limit, so the gas figures the tests assert are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.client import Ledger
from tests.contracts.helpers import dry_run_then_send


@pytest.fixture(scope="module", autouse=True)
def _dry_run_then_send(ledger: Ledger) -> Iterator[None]:
    with dry_run_then_send(ledger):
        yield
