"""``Ledger.encode`` (eth-abi from each function's selector and types, read once) gives exactly the
calldata web3's ``Contract.encode_abi`` gives, for every function of every contract of the suite, and
``Ledger.call_data`` for records, direct and delegated."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from eth_account import Account

from ledger.build import load_artifact
from ledger.client import Ledger, _abi_type
from ledger.deployment import CONTRACTS
from tests.conftest import make_judgment


def _value(item: dict[str, Any]) -> Any:
    """An argument of the ABI type of ``item``, with random content."""
    kind = item["type"]
    if kind.endswith("[]"):
        return [_value({**item, "type": kind[:-2]}) for _ in range(2)]
    if kind == "tuple":
        return tuple(_value(c) for c in item["components"])
    if kind == "address":
        return Account.create().address
    if kind == "bool":
        return True
    if kind == "string":
        return "（2024）京0108民初1号"
    if kind == "bytes":
        return os.urandom(45)
    if (m := re.fullmatch(r"bytes(\d+)", kind)) is not None:
        return os.urandom(int(m.group(1)))
    if (m := re.fullmatch(r"u?int(\d*)", kind)) is not None:
        bits = int(m.group(1) or 256)
        return int.from_bytes(os.urandom(bits // 8), "big") >> (1 if kind.startswith("int") else 0)
    raise AssertionError(f"no sample for ABI type {kind}")


def _functions() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name in CONTRACTS:
        for item in load_artifact(name).abi:
            if item["type"] == "function":
                out.append((name, item))
    return out


@pytest.mark.parametrize(("contract", "function"), _functions(),
                         ids=lambda v: v if isinstance(v, str) else v["name"])
def test_every_function_encodes_as_web3_does(ledger: Ledger, contract: str, function: dict[str, Any]):
    args = [_value(i) for i in function["inputs"]]
    web3_data = ledger.contract(contract).encode_abi(function["name"], args=args)
    assert ledger.encode(contract, function["name"], args) == web3_data
    types = ",".join(_abi_type(i) for i in function["inputs"])
    assert web3_data.startswith("0x")  # and the selector is the signature's, not a neighbour's
    assert bytes.fromhex(web3_data[2:10]) == ledger.w3.keccak(text=f"{function['name']}({types})")[:4]


def test_a_record_encodes_as_web3_does_direct_and_delegated(ledger: Ledger):
    record = make_judgment(4_401, 7)
    signature = os.urandom(65)
    struct = tuple(record.message()[n] for n, _, _ in record.FIELDS)
    registry = ledger.contract("JudgmentRegistry")
    assert ledger.call_data(record) == (registry.address, registry.encode_abi("recordJudgment", args=[struct]))
    assert ledger.call_data(record, signature) == (
        registry.address, registry.encode_abi("recordJudgmentBySig", args=[struct, signature]))


def test_a_wrong_argument_is_refused_not_encoded(ledger: Ledger):
    with pytest.raises(Exception, match=r"(?i)encod|type|value"):
        ledger.encode("CourtRegistry", "retireCourt", ["not a number"])
