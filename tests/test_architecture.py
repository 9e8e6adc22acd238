"""The arrows that must never exist (ARCHITECTURE.md), checked on the import graph of the source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANVIL_ONLY = re.compile(r"""["'](anvil_|evm_|hardhat_)\w+["']""")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_ledger_never_imports_api():
    for path in modules("ledger"):
        assert not any(n == "api" or n.startswith("api.") for n in imports_of(path)), path


def test_pure_modules_import_no_network_code_nor_index():
    pure = [ROOT / "ledger" / "records.py", ROOT / "ledger" / "merkle.py", *modules("ledger/privacy")]
    forbidden = ("web3", "ledger.chain", "ledger.client", "ledger.index", "ledger._node", "requests", "httpx")
    for path in pure:
        for name in imports_of(path):
            assert not name.startswith(forbidden), f"{path.name} imports {name}"


def test_verify_reads_neither_index_nor_vault():
    for name in imports_of(ROOT / "ledger" / "verify.py") | imports_of(ROOT / "ledger" / "certificates.py"):
        assert not name.startswith(("ledger.index", "ledger.privacy.vault", "ledger.notary", "ledger.workspace")), name


def test_no_anvil_only_rpc_methods_outside_developer_tooling():
    for package in ("ledger", "api"):
        for path in modules(package):
            text = path.read_text(encoding="utf-8")
            assert not ANVIL_ONLY.search(text), f"{path} names an anvil-only RPC method"


def test_the_check_finds_an_anvil_method_when_there_is_one():
    assert ANVIL_ONLY.search('w3.provider.make_request("evm_mine", [])')
    assert not ANVIL_ONLY.search('w3.provider.make_request("eth_getLogs", [])')
