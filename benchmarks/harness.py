"""Environments the benchmarks run in: a deployed anvil chain, a bulk load generator, the HTTP service.

- :class:`ChainEnv`: anvil started by ``ledger.chain.connect("local", data_dir=...)`` (the project's own
  node, with its one-second state persistence), the suite deployed by ``ledger.deployment.deploy``,
  courts admitted with fresh funded signer keys, exactly as a user of the library does it.
- :class:`BulkWriter`: fills a chain with many records quickly, for the benchmarks that need a big
  chain (the indexer). It is *not* the library's write path: anvil signs the transactions itself for
  its unlocked development accounts (``eth_sendTransaction`` in JSON-RPC batches) and mines a block per
  ``per_block`` transactions (``evm_setAutomine`` / ``evm_mine``, anvil-only methods). The records and
  events are the contracts' real ones; only how they got there differs.
- :class:`ServiceProcess`: ``scripts/serve.py`` in its own process on 127.0.0.1 with its own anvil
  (``--chain local`` under its data dir), API clients loaded from a clients file, and a
  :class:`SignedClient` that signs each request with ``api.auth.sign_request``.
- :class:`CheckProcess`: ``scripts/serve.py checks`` (partner checks only, N workers) on its data dir.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from benchmarks.common import REPO
from ledger.chain import Chain, connect, send_transaction
from ledger.client import FUNCTIONS, Ledger
from ledger.deployment import Deployment, deploy
from ledger.records import CONTRACT_OF, Record

# -- a deployed chain ------------------------------------------------------------------------------


@dataclass
class Court:
    id: int
    signer: LocalAccount


class MemoryAnvil:
    """anvil without ``--state``: the same node and arguments as ``connect("local")`` but no persistence.

    The project's node rewrites its whole history to ``state.json`` every second (``--state-interval 1``,
    about 7 KB per block of one transaction, 2.6 KB per transaction in blocks of 100): at 100,000 records
    that is ~260 MB a second. Filling a chain to 100,000 records took 756 s on it against 312 s on this
    node (anvil also slows down as its in-memory history grows). The indexer benchmark, which needs a big
    chain and only reads it, uses this node; everything else runs on ``connect("local")``.
    """

    def __init__(self, data_dir: Path, timeout: float = 30.0) -> None:
        from ledger import _node

        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "anvil.log"
        argv = [
            str(_node.find_anvil()),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--chain-id",
            str(_node.DEFAULT_CHAIN_ID),
            "--hardfork",
            _node.DEFAULT_HARDFORK,
            "--mnemonic",
            _node.DEV_MNEMONIC,
            "--accounts",
            str(_node.DEV_ACCOUNT_COUNT),
        ]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            port = _node._wait_for_port(self.log_path, 0, self.process, timeout)
        except BaseException:
            self.stop()
            raise
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, 10)
        self._log.close()


class ChainEnv:
    """anvil (``connect("local")`` in ``data_dir``) with the suite deployed and helpers to admit courts.

    With ``persist=False`` the node is a :class:`MemoryAnvil` reached by URL, with the same dev accounts.
    """

    def __init__(self, data_dir: Path, *, first_court: int = 1_000, persist: bool = True) -> None:
        self.data_dir = Path(data_dir)
        self.memory_node: MemoryAnvil | None = None
        if persist:
            self.chain: Chain = connect("local", data_dir=self.data_dir)
        else:
            from ledger.chain import _dev_accounts

            self.memory_node = MemoryAnvil(self.data_dir)
            try:
                self.chain = connect(self.memory_node.url, keys=_dev_accounts())
            except BaseException:
                self.memory_node.stop()
                raise
        try:
            self.governor, self.funder, self.relayer = self.chain.accounts[:3]
            self.deployment: Deployment = deploy(self.chain, self.governor)
            self.ledger = Ledger(self.chain, self.deployment)
        except BaseException:
            self.close()
            raise
        self.w3 = self.chain.w3
        self._court_ids = itertools.count(first_court)

    def fund(self, address: str, wei: int = 10**20) -> None:
        receipt = send_transaction(self.chain, self.funder, {"to": address, "value": wei})
        if receipt["status"] != 1:
            raise RuntimeError(f"funding {address} failed")

    def new_court(
        self, *, signer: LocalAccount | None = None, appellate: int = 0, fund: bool = True, court_id: int | None = None
    ) -> tuple[Court, Any]:
        """Admit a court with a fresh (funded) signer; returns the court and the admitCourt receipt."""
        court_id = court_id or next(self._court_ids)
        signer = signer or Account.create()
        if fund:
            self.fund(signer.address)
        receipt = self.ledger.admit_court(self.governor, court_id, "CN-BJ", appellate, signer.address)
        return Court(court_id, signer), receipt

    def block_time(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def close(self) -> None:
        self.chain.close()
        if self.memory_node is not None:
            self.memory_node.stop()


@dataclass(frozen=True)
class Calldata:
    to: str
    data: bytes


_SELECTORS: dict[type[Record], bytes] = {}


def direct_call(ledger: Ledger, record: Record) -> Calldata:
    """The calldata of the direct write of ``record``: selector + the struct's words (all fields static).

    Equal to ``ledger.call_data(record)`` (checked once per kind) but without web3's ABI machinery, so a
    load generator can build many thousands per second.
    """
    kind = type(record)
    selector = _SELECTORS.get(kind)
    if selector is None:
        function = FUNCTIONS[kind][0]
        types = ",".join(t for _, t, _ in record.FIELDS)
        selector = keccak(f"{function}(({types}))".encode())[:4]
        _to, expected = ledger.call_data(record)
        if "0x" + (selector + record.encode()[32:]).hex() != expected:
            raise AssertionError(f"fast calldata of {kind.__name__} differs from Ledger.call_data")
        _SELECTORS[kind] = selector
    return Calldata(ledger.deployment.address(CONTRACT_OF[kind]), selector + record.encode()[32:])


# -- bulk load -----------------------------------------------------------------------------------


class BulkWriter:
    """Many transactions from anvil's unlocked dev accounts, ``per_block`` to a block (anvil-only RPC)."""

    def __init__(self, chain: Chain, *, per_block: int = 100) -> None:
        if chain.url is None:
            raise ValueError("BulkWriter needs an HTTP node")
        self.chain = chain
        self.url = chain.url
        self.per_block = per_block
        self.session = requests.Session()
        self._id = itertools.count(1)

    def _rpc(self, payload: Any) -> Any:
        response = self.session.post(self.url, json=payload, timeout=300)
        response.raise_for_status()
        answers = response.json()
        for answer in answers if isinstance(answers, list) else [answers]:
            if "error" in answer:
                raise RuntimeError(f"anvil refused a bulk request: {answer['error']}")
        return answers

    def call(self, method: str, params: list[Any]) -> Any:
        return self._rpc({"jsonrpc": "2.0", "id": next(self._id), "method": method, "params": params})["result"]

    def send(self, sender: str, txs: Iterable[tuple[Calldata, int]]) -> int:
        """Send ``(calldata, gas limit)`` transactions from ``sender`` in order; returns how many were mined."""
        w3 = self.chain.w3
        nonce: int = w3.eth.get_transaction_count(to_checksum_address(sender), "pending")
        first = nonce
        self.call("evm_setAutomine", [False])
        try:
            batch: list[dict[str, Any]] = []
            for call, gas in txs:
                batch.append(
                    {
                        "jsonrpc": "2.0",
                        "id": next(self._id),
                        "method": "eth_sendTransaction",
                        "params": [
                            {
                                "from": sender,
                                "to": call.to,
                                "data": "0x" + call.data.hex(),
                                "gas": hex(gas),
                                "nonce": hex(nonce),
                            }
                        ],
                    }
                )
                nonce += 1
                if len(batch) >= self.per_block:
                    self._rpc(batch)
                    self.call("evm_mine", [])
                    batch = []
            if batch:
                self._rpc(batch)
                self.call("evm_mine", [])
            for _ in range(1_000):  # anything left over (block gas limit) goes into further blocks
                status = self.call("txpool_status", [])
                if int(status["pending"], 16) == 0 and int(status["queued"], 16) == 0:
                    break
                self.call("evm_mine", [])
        finally:
            self.call("evm_setAutomine", [True])
        mined = w3.eth.get_transaction_count(to_checksum_address(sender), "latest") - first
        if mined != nonce - first:
            raise RuntimeError(f"only {mined} of {nonce - first} bulk transactions were mined")
        return mined


# -- the HTTP service ----------------------------------------------------------------------------


def wait_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float) -> None:
    """Until ``GET /api/v1/health`` answers 200; RuntimeError, with the log's tail, if the process exits
    or does not answer in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited ({process.returncode}); see {log_path}:\n" + log_tail(log_path)
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(base_url + "/api/v1/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{base_url} did not answer within {timeout:g}s; see {log_path}:\n" + log_tail(log_path))


def log_tail(path: Path, n: int = 4000) -> str:
    with contextlib.suppress(OSError):
        return path.read_bytes()[-n:].decode("utf-8", "replace")
    return ""


def stop_process(process: subprocess.Popen[bytes], sig: int, grace: float) -> None:
    """Send ``sig``, wait ``grace`` seconds, then kill."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SignedClient:
    """An httpx client that signs every request as an API client (``api.auth.sign_request``)."""

    def __init__(self, base_url: str, client_id: str | None, key: Any, *, timeout: float = 120.0) -> None:
        import httpx

        self.client_id = client_id
        self.key = key
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        from api.auth import sign_request

        raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = sign_request(self.client_id, self.key, method, path, raw) if self.client_id else {}
        if raw:
            headers["Content-Type"] = "application/json"
        return self.http.request(method, path, content=raw, headers=headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def close(self) -> None:
        self.http.close()


class ServiceProcess:
    """``scripts/serve.py`` on 127.0.0.1 in its own process, with governance, partner and court clients."""

    def __init__(
        self, data_dir: Path, *, court_id: int = 7_000, extra_env: dict[str, str] | None = None, chain: str = "local"
    ) -> None:
        from api.auth import generate_key, public_key_text

        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.court_id = court_id
        self.keys = {name: generate_key() for name in ("bench-governance", "bench-partner", "bench-court")}
        clients: list[dict[str, Any]] = [
            {"client_id": "bench-governance", "kind": "governance"},
            {"client_id": "bench-partner", "kind": "partner"},
            {"client_id": "bench-court", "kind": "court", "court_id": court_id},
        ]
        for c in clients:
            c["public_key"] = public_key_text(self.keys[c["client_id"]])
        clients_file = self.data_dir / "bench-clients.json"
        clients_file.write_text(json.dumps(clients))
        env = {
            **os.environ,
            "LEDGER_CLIENTS_FILE": str(clients_file),
            "LEDGER_KEYSTORE_KDF": "pbkdf2",
            # Public verification is rate-limited per address (5/s): lifted so the endpoint itself is timed.
            "LEDGER_VERIFY_RATE_PER_SECOND": "1000000",
            "LEDGER_VERIFY_BURST": "1000000",
            **(extra_env or {}),
        }
        self.log_path = self.data_dir / "serve.log"
        self._log = self.log_path.open("ab")
        argv = [
            sys.executable,
            str(REPO / "scripts" / "serve.py"),
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--chain",
            chain,
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(
            argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            self._wait_healthy(180.0)
        except BaseException:
            self.stop()
            raise
        self.governance = self.client("bench-governance")
        self.partner = self.client("bench-partner")
        self.court = self.client("bench-court")
        self.public = SignedClient(self.base_url, None, None)

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self, client_id: str) -> SignedClient:
        return SignedClient(self.base_url, client_id, self.keys[client_id])

    def _wait_healthy(self, timeout: float) -> None:
        wait_healthy(self.process, self.base_url, self.log_path, timeout)

    def log_tail(self, n: int = 4000) -> str:
        return log_tail(self.log_path, n)

    def wait_record(
        self, client: SignedClient, outbox_id: str, timeout: float = 300.0, poll: float = 0.05
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            r = client.get(f"/api/v1/records/{outbox_id}")
            if r.status_code != 200:
                raise RuntimeError(f"GET record {outbox_id}: {r.status_code} {r.text[:300]}")
            body = r.json()
            if body["state"] in ("confirmed", "failed"):
                return dict(body)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{outbox_id} still {body['state']} after {timeout:g}s")
            time.sleep(poll)

    def admit_court(self) -> str:
        """Admit the benchmark court through governance; returns its signer address once confirmed."""
        r = self.governance.post(
            "/api/v1/courts", {"court_id": self.court_id, "jurisdiction": "CN-BJ", "appellate_court": 0}
        )
        if r.status_code != 202:
            raise RuntimeError(f"admitting the court: {r.status_code} {r.text[:300]}")
        record = self.wait_record(self.governance, r.json()["outbox_id"])
        if record["state"] != "confirmed":
            raise RuntimeError(f"admitting the court failed: {record}")
        return str(r.json()["signer"])

    def stop(self) -> None:
        for client in ("governance", "partner", "court", "public"):
            with contextlib.suppress(Exception):
                getattr(self, client).close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown; services close their node
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
        self._log.close()
        # The service's anvil normally stops with it; stop it by its recorded pid if it did not.
        from ledger._node import running_node

        node = running_node(self.data_dir / "chain")
        if node is not None:
            node.stop()


class CheckProcess:
    """``scripts/serve.py checks`` beside a :class:`ServiceProcess`, on its data dir, with N workers."""

    def __init__(self, service: ServiceProcess, workers: int) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = service.data_dir / "checks.log"
        self._log = self.log_path.open("ab")
        argv = [sys.executable, str(REPO / "scripts" / "serve.py"), "checks", "--data-dir", str(service.data_dir),
                "--port", str(self.port), "--workers", str(workers), "--log-level", "warning"]
        self.process = subprocess.Popen(
            argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            wait_healthy(self.process, self.base_url, self.log_path, 120.0)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT, 30)
        self._log.close()


def judgment_body(n: int, salt: str) -> dict[str, Any]:
    """A valid POST /api/v1/judgments body (fictitious parties with valid check digits)."""
    from ledger.privacy import make_credit_code, make_resident_id

    return {
        "case_number": f"(2024)京0108民初{100_000 + n}号",
        "document_sha256": keccak(f"bench document {salt}/{n}".encode()).hex(),
        "parties": [
            {
                "role": "creditor",
                "kind": "resident_id",
                "id": make_resident_id("110105", f"19{70 + n % 30:02d}0{1 + n % 9}1{n % 9}", f"{n % 1000:03d}"),
                "name": "李明（示例）",
            },
            {
                "role": "debtor",
                "kind": "credit_code",
                "id": make_credit_code("91110108MA01ABCDE"),
                "name": "北京某某网络科技有限公司（示例）",
            },
        ],
        "amount": 1_300_000 + n,
        "currency": "CNY",
        "judgment_date": "2024-03-01",
        "effective_date": "2024-03-18",
    }


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
