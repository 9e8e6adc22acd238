"""ledger.chain: chain specs, the persistent local node, sending, and reverts that look alike everywhere."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from eth_abi import encode
from eth_account import Account
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.types import RPCEndpoint, TxParams

from ledger import _statekeeper
from ledger._node import find_anvil
from ledger.chain import Chain, connect, running_node, send_transaction
from ledger.errors import (
    ChainUnavailableError,
    ConfigurationError,
    InsufficientFundsError,
    TransactionError,
    ValidationError,
)

REPO = Path(__file__).resolve().parent.parent


def _anvil_available() -> bool:
    try:
        find_anvil()
    except ConfigurationError:
        return False
    return True


ANVIL = [pytest.mark.anvil, pytest.mark.skipif(not _anvil_available(), reason="anvil not installed (npm ci)")]


def needs_anvil(test: Callable[..., None]) -> Callable[..., None]:
    for mark in ANVIL:
        test = mark(test)
    return test


# -- hand-assembled contracts (no compiler needed) ---------------------------------------------


def _deploy_code(runtime: bytes) -> bytes:
    """Init code: copy ``runtime`` (after these 12 bytes) to memory and return it."""
    assert len(runtime) < 256
    n = len(runtime)
    return bytes([0x60, n, 0x60, 0x0C, 0x60, 0x00, 0x39, 0x60, n, 0x60, 0x00, 0xF3]) + runtime


def _reverting_runtime(data: bytes) -> bytes:
    """Runtime that always reverts with ``data`` (stored after these 14 bytes of code)."""
    n = len(data)
    code = bytes(
        [
            0x61,
            n >> 8,
            n & 0xFF,
            0x60,
            0x0E,
            0x60,
            0x00,
            0x39,  # CODECOPY(0, 14, n)
            0x61,
            n >> 8,
            n & 0xFF,
            0x60,
            0x00,
            0xFD,
        ]
    )  # REVERT(0, n)
    return code + data


# Init code that emits LOG1(topic 0x..07, data 42) during deployment and leaves no code.
LOGGING_DEPLOY = bytes.fromhex("602a600052600760206000a100")

CUSTOM_ERROR = bytes.fromhex("deadbeef") + encode(["uint256"], [42])
# A custom error whose arguments are one string: eth-tester alone would decode it as a reason and
# drop the selector.
CUSTOM_ERROR_WITH_STRING = bytes.fromhex("cafebabe") + encode(["string"], ["hello"])
ERROR_STRING = bytes.fromhex("08c379a0") + encode(["string"], ["nope"])


def _wait_for_state(state_file: Path, block: int, timeout: float = 15.0) -> None:
    """Until anvil's periodic dump holds ``block`` (the file is rewritten in place: retry on junk)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            best = json.loads(state_file.read_bytes())["best_block_number"]
            if (int(best, 0) if isinstance(best, str) else best) >= block:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    pytest.fail(f"{state_file} never reached block {block}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def memory() -> Iterator[Chain]:
    with connect("memory") as chain:
        yield chain


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Chain]:
    with connect("local", data_dir=tmp_path / "chain") as chain:
        yield chain


@pytest.fixture(scope="module")
def shared_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with connect("local", data_dir=tmp_path_factory.mktemp("shared")) as chain:
        yield chain


# -- memory ------------------------------------------------------------------------------------


def test_memory_chain_runs_prague_with_funded_signing_accounts(memory: Chain) -> None:
    assert memory.kind == "memory"
    assert len(memory.accounts) == 10
    assert all(memory.w3.eth.get_balance(a.address) > 10**21 for a in memory.accounts)
    # requestsHash (EIP-7685) is a Prague header field
    assert "requestsHash" in memory.w3.eth.get_block("latest")
    sender, receiver = memory.accounts[0], memory.accounts[1]
    before = memory.w3.eth.get_balance(receiver.address)
    receipt = send_transaction(memory, sender, {"to": receiver.address, "value": 7})
    assert receipt["status"] == 1
    assert memory.w3.eth.get_balance(receiver.address) == before + 7
    assert memory.genesis_hash == memory.w3.eth.get_block(0)["hash"]


# -- reverts: the same exception and data on every backend -------------------------------------


@pytest.mark.parametrize("backend", ["memory", pytest.param("local", marks=ANVIL)])
@pytest.mark.parametrize(
    "data",
    [CUSTOM_ERROR, CUSTOM_ERROR_WITH_STRING, ERROR_STRING, b""],
    ids=["custom", "custom-string", "error-string", "empty"],
)
def test_revert_data_reaches_the_caller_whole(
    backend: str, data: bytes, request: pytest.FixtureRequest
) -> None:
    chain: Chain = request.getfixturevalue(backend)
    account = chain.accounts[0]
    deployed = send_transaction(chain, account, {"data": _deploy_code(_reverting_runtime(data))})
    target = deployed["contractAddress"]
    assert target is not None
    call: TxParams = {"from": account.address, "to": target, "data": b""}
    for attempt in (
        chain.w3.eth.call,
        chain.w3.eth.estimate_gas,
        lambda tx: send_transaction(chain, account, {"to": target}),
    ):
        with pytest.raises(ContractLogicError) as caught:
            attempt(call)
        assert caught.value.data == "0x" + data.hex()
        if data[:4] in (CUSTOM_ERROR[:4], CUSTOM_ERROR_WITH_STRING[:4]):
            assert isinstance(caught.value, ContractCustomError)
    # Mined anyway (explicit gas): a receipt with status 0, not an exception.
    assert send_transaction(chain, account, {"to": target, "gas": 100_000})["status"] == 0


# -- local node ---------------------------------------------------------------------------------


@needs_anvil
def test_local_chain_survives_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "chain"
    first = connect("local", data_dir=data_dir)
    assert first.kind == "local" and first.chain_id == 31337
    account = first.accounts[0]
    transfer = send_transaction(first, account, {"to": first.accounts[1].address, "value": 1})
    logged = send_transaction(first, account, {"data": LOGGING_DEPLOY})
    assert len(logged["logs"]) == 1
    last = send_transaction(first, account, {"to": first.accounts[2].address, "value": 2})
    blocks = [first.w3.eth.get_block(n) for n in range(last["blockNumber"] + 1)]
    node = first.node
    assert node is not None

    _wait_for_state(data_dir / "state.json", last["blockNumber"])
    os.kill(node.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while node.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not node.is_alive()
    assert (data_dir / "anvil.pid").exists()  # stale: the restart must see through it

    with connect("local", data_dir=data_dir) as again:
        assert again.node is not None and again.node.pid != node.pid
        assert again.genesis_hash == first.genesis_hash
        assert again.w3.eth.block_number >= last["blockNumber"]
        assert [again.w3.eth.get_block(n)["hash"] for n in range(len(blocks))] == [b["hash"] for b in blocks]
        for receipt in (transfer, logged, last):
            assert again.w3.eth.get_transaction(receipt["transactionHash"])["from"] == account.address
            assert again.w3.eth.get_transaction_receipt(receipt["transactionHash"])["status"] == 1
        logs = again.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest"})
        assert [(log["transactionHash"], log["data"]) for log in logs] == [
            (logged["transactionHash"], logged["logs"][0]["data"])
        ]
        # and it keeps going
        assert send_transaction(again, account, {"to": account.address, "value": 0})["status"] == 1
    first.close()


@needs_anvil
def test_second_connect_reuses_the_running_node(local: Chain, tmp_path: Path) -> None:
    assert local.node is not None and local.node.owned
    with connect("local", data_dir=tmp_path / "chain") as again:
        assert again.node is not None
        assert again.node.pid == local.node.pid and again.url == local.url
        assert not again.node.owned
    assert local.node.is_alive()  # closing the borrower left the node alone
    with pytest.raises(ConfigurationError, match="chain id"):
        connect("local", data_dir=tmp_path / "chain", chain_id=1)


@needs_anvil
def test_reconnect_follows_the_node_restarted_on_another_port(tmp_path: Path) -> None:
    data_dir = tmp_path / "chain"
    chain = connect("local", data_dir=data_dir)
    try:
        receipt = send_transaction(chain, chain.accounts[0], {"to": chain.accounts[1].address, "value": 5})
        assert chain.node is not None
        old_url = chain.url
        assert not chain.reconnect()  # the same node: nothing to do
        chain.node.stop()
        with connect("local", data_dir=data_dir) as restarted:  # someone else starts it again
            assert restarted.url != old_url
            assert chain.reconnect() and chain.url == restarted.url
            assert chain.w3.eth.get_transaction_receipt(receipt["transactionHash"])["status"] == 1
            assert chain.node is not None and not chain.node.owned
        # A node serving another chain from that directory is not followed.
        (data_dir / "state.json").unlink()
        (data_dir / "state.json.bak").unlink(missing_ok=True)
        with (
            connect("local", data_dir=data_dir, chain_id=1337),
            pytest.raises(ChainUnavailableError, match="another chain"),
        ):
            chain.reconnect()
    finally:
        chain.close()


@needs_anvil
def test_close_stops_the_node_and_writes_its_state(tmp_path: Path) -> None:
    data_dir = tmp_path / "chain"
    chain = connect("local", data_dir=data_dir)
    receipt = send_transaction(chain, chain.accounts[0], {"to": chain.accounts[1].address, "value": 3})
    node = chain.node
    assert node is not None
    chain.close()
    assert not node.is_alive()
    assert running_node(data_dir) is None
    assert not (data_dir / "anvil.pid").exists()
    state = json.loads((data_dir / "state.json").read_text())
    assert state["best_block_number"] == receipt["blockNumber"]  # written on SIGTERM, no waiting


@needs_anvil
def test_a_transaction_that_is_not_mined_in_time_is_a_transaction_error(local: Chain) -> None:
    local.w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])  # tests may use anvil's own
    account = local.accounts[0]
    with pytest.raises(TransactionError, match=r"not mined within 0\.5s"):
        send_transaction(local, account, {"to": account.address, "value": 1}, timeout=0.5)


def test_a_transaction_from_someone_else_is_refused(memory: Chain) -> None:
    with pytest.raises(ValidationError):
        send_transaction(memory, memory.accounts[0], {"from": memory.accounts[1].address, "value": 1})


@needs_anvil
def test_a_corrupt_state_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    data_dir = tmp_path / "chain"
    data_dir.mkdir()
    (data_dir / "state.json").write_text('{"block": {"number": ')
    with pytest.raises(ChainUnavailableError, match="unreadable"):
        connect("local", data_dir=data_dir)
    assert (data_dir / "state.json").read_text() == '{"block": {"number": '


def _dump(best: int, padding: int = 0) -> bytes:
    return json.dumps({"best_block_number": hex(best), "blocks": ["x" * padding]}).encode()


@pytest.mark.parametrize("cut", [0, 1, 17, -1])
def test_a_torn_dump_is_never_loaded(tmp_path: Path, cut: int) -> None:
    """A kill -9 while anvil rewrites its dump leaves a prefix of it: the state file stays as it was."""
    state, dump = tmp_path / "state.json", tmp_path / "anvil-dump.json"
    state.write_bytes(_dump(5))
    whole = _dump(9, padding=100)
    dump.write_bytes(whole[:cut])
    _statekeeper.recover(state, dump)
    assert json.loads(state.read_bytes())["best_block_number"] == hex(5)
    assert not dump.exists()


def test_a_complete_dump_ahead_of_the_state_file_is_recovered(tmp_path: Path) -> None:
    """The node (or its keeper) was killed after anvil's last dump but before the keeper copied it."""
    state, dump = tmp_path / "state.json", tmp_path / "anvil-dump.json"
    state.write_bytes(_dump(5))
    dump.write_bytes(_dump(9))
    _statekeeper.recover(state, dump)
    assert json.loads(state.read_bytes())["best_block_number"] == hex(9)
    dump.write_bytes(_dump(7))  # a dump behind the state file (restored by hand) never wins
    _statekeeper.recover(state, dump)
    assert json.loads(state.read_bytes())["best_block_number"] == hex(9)


def test_a_dump_with_state_ahead_of_its_blocks_is_never_loaded(tmp_path: Path) -> None:
    """anvil can dump an account's nonce (and storage) after a transaction whose block the dump lacks:
    loaded, that chain would hold a record no log shows. Such a dump is skipped like a torn one."""
    sender = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"

    def dump(best: int, nonce: int) -> bytes:
        mined = [{"info": {"from": sender, "nonce": n}} for n in range(best)]  # one transaction a block
        return json.dumps({"best_block_number": hex(best), "transactions": mined,
                           "accounts": {sender: {"nonce": nonce}}}).encode()

    state, dump_file = tmp_path / "state.json", tmp_path / "anvil-dump.json"
    state.write_bytes(dump(5, 5))
    dump_file.write_bytes(dump(9, 10))  # the effects of a 10th transaction, but 9 in its blocks
    _statekeeper.recover(state, dump_file)
    assert json.loads(state.read_bytes())["best_block_number"] == hex(5)
    dump_file.write_bytes(dump(9, 9))
    _statekeeper.recover(state, dump_file)
    assert json.loads(state.read_bytes())["best_block_number"] == hex(9)


@needs_anvil
def test_a_node_killed_before_its_first_dump_keeps_its_genesis(tmp_path: Path) -> None:
    data_dir = tmp_path / "chain"
    first = connect("local", data_dir=data_dir)
    genesis = first.genesis_hash
    assert first.node is not None
    os.killpg(first.node.pid, signal.SIGKILL)  # keeper and anvil at once, before any state was saved
    first.close()
    time.sleep(1.1)  # a later start would stamp a later genesis time
    with connect("local", data_dir=data_dir) as again:
        assert again.genesis_hash == genesis


@needs_anvil
def test_an_account_without_coins_is_named_with_what_it_needs(shared_node: Chain) -> None:
    poor = Account.create()
    with pytest.raises(InsufficientFundsError) as raised:
        send_transaction(shared_node, poor, {"to": shared_node.accounts[0].address, "value": 5})
    assert raised.value.account == poor.address and raised.value.balance == 0
    assert raised.value.needed > 5 + 21_000  # the value plus gas at the node's non-zero price
    assert poor.address in str(raised.value) and f"{raised.value.needed} wei" in str(raised.value)


@needs_anvil
def test_devchain_script_leaves_a_detached_node_running(tmp_path: Path) -> None:
    data_dir = tmp_path / "chain"

    def devchain(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(REPO / "scripts/devchain.py"), *args, "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    try:
        started = devchain("start")
        assert started.returncode == 0, started.stderr
        node = running_node(data_dir)  # the script has exited; its node has not
        assert node is not None and node.is_alive()
        status = devchain("status")
        assert status.returncode == 0 and node.url in status.stdout
        with connect("local", data_dir=data_dir) as chain:
            assert chain.node is not None and chain.node.pid == node.pid
        stopped = devchain("stop")
        assert stopped.returncode == 0, stopped.stderr
        assert running_node(data_dir) is None
        assert devchain("status").returncode == 3
    finally:
        leftover = running_node(data_dir)
        if leftover is not None:
            leftover.stop()


@needs_anvil
def test_an_attached_node_dies_with_its_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "chain"
    script = (
        "import sys, time\n"
        "from ledger.chain import connect\n"
        "chain = connect('local', data_dir=sys.argv[1])\n"
        "print(chain.node.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script, str(data_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        pid = int(owner.stdout.readline())
        node = running_node(data_dir)
        assert node is not None and node.pid == pid
        owner.kill()  # SIGKILL: no atexit, only the kernel's parent-death signal is left
        owner.wait()
        deadline = time.monotonic() + 10
        while node.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not node.is_alive()
    finally:
        owner.kill()
        leftover = running_node(data_dir)
        if leftover is not None:
            leftover.stop()


def test_missing_anvil_binary_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_ANVIL", str(tmp_path / "no-such-anvil"))
    with pytest.raises(ConfigurationError, match="LEDGER_ANVIL"):
        connect("local", data_dir=tmp_path / "chain")


# -- URL nodes ----------------------------------------------------------------------------------


@needs_anvil
@pytest.mark.parametrize("scheme", ["http", "ws"])
def test_url_spec_connects_to_any_node(shared_node: Chain, scheme: str) -> None:
    assert shared_node.url is not None
    url = shared_node.url.replace("http", scheme, 1)
    key = "0x" + "11" * 32
    with connect(url, keys=[key]) as chain:
        assert chain.kind == "rpc"
        assert chain.chain_id == shared_node.chain_id
        assert chain.genesis_hash == shared_node.genesis_hash
        assert [a.key.hex() for a in chain.accounts] == ["11" * 32]
        funder = shared_node.accounts[3]
        receipt = send_transaction(chain, funder, {"to": chain.accounts[0].address, "value": 9})
        assert receipt["status"] == 1
    with pytest.raises(ConfigurationError, match="chain id"):
        connect(url, chain_id=1)


@pytest.mark.parametrize("scheme", ["http", "ws"])
def test_dead_url_is_chain_unavailable(scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:{_free_port()}"
    with pytest.raises(ChainUnavailableError, match=url):
        connect(url)


@pytest.mark.parametrize("spec", ["", "mainnet", "ftp://example.org", "localhost:8545"])
def test_unknown_spec_is_a_configuration_error(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="chain spec"):
        connect(spec)


# -- fees ---------------------------------------------------------------------------------------


def _fake_w3(base_fee: int | None, gas_price: int, tip: int = 10**9) -> object:
    block = {} if base_fee is None else {"baseFeePerGas": base_fee}
    eth = SimpleNamespace(get_block=lambda _: block, gas_price=gas_price, max_priority_fee=tip)
    return SimpleNamespace(eth=eth)


@pytest.mark.parametrize(
    ("base_fee", "gas_price", "expected"),
    [
        (7, 10**9, {"maxFeePerGas": 14 + 10**9, "maxPriorityFeePerGas": 10**9}),
        (None, 5, {"gasPrice": 5}),  # pre-London or legacy-only network
        (0, 0, {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}),  # free-gas Besu, London
        (None, 0, {"gasPrice": 0}),  # free-gas Besu, legacy
    ],
)
def test_fees_follow_the_node(base_fee: int | None, gas_price: int, expected: dict[str, int]) -> None:
    fake = SimpleNamespace(w3=_fake_w3(base_fee, gas_price), gas_price=None)
    assert Chain.fees(fake) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("base_fee", "configured", "expected"),
    [
        (0, 0, {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}),  # anvil --base-fee 0 still suggests 1 gwei
        (None, 0, {"gasPrice": 0}),
        (7, 100, {"maxFeePerGas": 100, "maxPriorityFeePerGas": 93}),
        (None, 100, {"gasPrice": 100}),
    ],
)
def test_a_configured_gas_price_is_paid_whatever_the_node_suggests(
    base_fee: int | None, configured: int, expected: dict[str, int]
) -> None:
    fake = SimpleNamespace(w3=_fake_w3(base_fee, gas_price=10**9, tip=10**9), gas_price=configured)
    assert Chain.fees(fake) == expected  # type: ignore[arg-type]


def test_a_base_fee_above_the_configured_price_is_a_configuration_error() -> None:
    fake = SimpleNamespace(w3=_fake_w3(base_fee=8, gas_price=10**9), gas_price=0)
    with pytest.raises(ConfigurationError, match="base fee is 8 wei"):
        Chain.fees(fake)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["-1", "1.5", "one gwei"])
def test_a_malformed_gas_price_setting_is_refused(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("LEDGER_GAS_PRICE", text)
    with pytest.raises(ConfigurationError, match="LEDGER_GAS_PRICE"):
        connect("memory")


@pytest.mark.anvil
def test_regression_restart_appends_genesis_blocks(tmp_path):
    """anvil appends a new block 0 at each start; the genesis hash must still never change."""
    import json as _json
    import time as _time

    seen = set()
    for _ in range(4):
        chain = connect("local", data_dir=tmp_path)
        try:
            account = chain.accounts[0]
            send_transaction(chain, account, {"to": account.address, "value": 1})
            seen.add(bytes(chain.genesis_hash))
            assert bytes(chain.w3.eth.get_block(1)["parentHash"]) == bytes(chain.genesis_hash)
        finally:
            chain.close()
        _time.sleep(1.1)  # a later start stamps a later genesis time
    assert len(seen) == 1
    blocks = _json.loads((tmp_path / "state.json").read_text())["blocks"]
    assert sum(int(b["header"]["number"], 16) == 0 for b in blocks) <= 2  # ours plus the one this stop saved
