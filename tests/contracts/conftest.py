"""Contract tests: writes skip gas estimation (a dry-run eth_call and a fixed gas limit instead).

eth-tester estimates gas by bisection, executing a transaction a dozen times; a dry run executes it
once and raises the same decoded revert, which keeps this directory fast on the memory chain. Gas used
is independent of the gas limit, so the gas figures the tests assert are unaffected.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.exceptions import ContractLogicError

from ledger.client import Ledger, _revert_data, decode_revert

GAS_LIMIT = 6_000_000


@pytest.fixture(scope="module", autouse=True)
def _dry_run_then_send(ledger: Ledger):
    original = ledger.transact

    def transact(sender: LocalAccount, to: str, data: str, **fields: Any) -> Any:
        if "gas" not in fields:
            try:
                ledger.w3.eth.call({"from": sender.address, "to": to, "data": data})
            except ContractLogicError as exc:
                raise decode_revert(_revert_data(exc)) from None
            fields["gas"] = GAS_LIMIT
        return original(sender, to, data, **fields)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ledger, "transact", transact)
        yield
