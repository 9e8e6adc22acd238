"""The real service in a subprocess (scripts/serve.py: uvicorn on a loopback port, anvil or a node URL),
and the client-side helpers the end-to-end and fault tests share.

``Service`` starts, SIGKILLs, stops and restarts one service on a data dir; ``Load`` runs client threads
that post judgments with Idempotency-Keys and records what each request got; ``chain_judgments`` reads
the JudgmentRecorded events straight from the node. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from web3 import Web3

from api.auth import ClientRegistry, generate_key, private_key_text, public_key_text
from ledger._node import running_node
from tests.api.conftest import FINAL, ApiClient, judgment_body

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """One service process on ``data_dir``: ``start`` (again after a kill), ``kill`` (SIGKILL), ``stop``.

    Its stdout and stderr go to ``log`` (appended across restarts). ``chain`` is passed to serve.py
    (``local``: anvil in ``<data_dir>/chain``, a child of the service; or a node URL); ``env`` adds
    ``LEDGER_*`` settings.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        chain: str = "local",
        demo: bool = False,
        env: dict[str, str] | None = None,
        log_level: str = "warning",
        log: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.chain = chain
        self.demo = demo
        self.env = env or {}
        self.log_level = log_level
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = log or data_dir.parent / f"service-{data_dir.name}.log"

    def start(self, timeout: float = 120.0) -> None:
        env = {
            **os.environ,
            "LEDGER_KEYSTORE_KDF": "pbkdf2",
            "LEDGER_WORKER_INTERVAL_SECONDS": "0.02",
            "LEDGER_INDEX_INTERVAL_SECONDS": "0.2",
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }
        argv = [
            sys.executable,
            str(ROOT / "scripts" / "serve.py"),
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--chain",
            self.chain,
            "--demo" if self.demo else "--no-demo",
            "--log-level",
            self.log_level,
        ]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("the service did not come up:\n" + self.log.read_text()[-3000:])

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the service; its anvil child (``local``) gets SIGTERM from the kernel and saves its state."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def wait_node_gone(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while running_node(self.data_dir / "chain") is not None:
            assert time.monotonic() < deadline, "anvil outlived the killed service"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        node = running_node(self.data_dir / "chain")
        if node is not None:
            node.stop()

    # -- clients -------------------------------------------------------------------------------

    def dev_keys(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "dev-clients.json").read_text())

    def http(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=timeout)

    def dev_client(self, client_id: str, http: httpx.Client | None = None) -> ApiClient:
        return ApiClient(http or self.http(), client_id, self.dev_keys()[client_id]["private_key"])

    def add_client(self, client_id: str, kind: str, court: int | None = None) -> str:
        """Register a client in the service's registry (as ``python -m api.auth add`` does); its key."""
        key = generate_key()
        registry = ClientRegistry(self.data_dir / "service.sqlite")
        try:
            registry.add(client_id, kind, public_key_text(key), court_id=court)
        finally:
            registry.close()
        return private_key_text(key)

    def node_url(self) -> str:
        if self.chain != "local":
            return self.chain
        return f"http://127.0.0.1:{(self.data_dir / 'chain' / 'anvil.port').read_text().strip()}"


def client_cli(data_dir: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "api.auth", "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def admit_court(service: Service, gov: ApiClient, court_id: int, client_id: str) -> tuple[ApiClient, str]:
    """Governance admits a court through ``service``: a signed court client for it, and its signer."""
    r = gov.post("/api/v1/courts", {"court_id": court_id, "jurisdiction": "CN-ZJ"})
    gov.confirmed(r, timeout=60)
    return ApiClient(service.http(), client_id, service.add_client(client_id, "court", court_id)), r.json()["signer"]


# -- load ----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one Idempotency-Key got: the body sent, the 202 answer (if any), other statuses, errors."""

    key: str
    body: dict[str, Any]
    accepted: dict[str, Any] | None = None
    statuses: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)


class Load:
    """Client threads posting judgments of one court, each with its own Idempotency-Key.

    Each thread has its own HTTP connection. A request that dies with the connection is an unknown
    outcome (the client does not know whether it was accepted); it is retried later with the same key.
    """

    def __init__(self, base: str, client_id: str, key: Any, prefix: str, seed: int) -> None:
        self.base = base
        self.client_id = client_id
        self.key = key
        self.prefix = prefix
        self.seed = seed
        self.outcomes: dict[str, Outcome] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._stopped = threading.Event()

    def _take(self, limit: int | None) -> Outcome | None:
        with self._lock:
            if limit is not None and self._next >= limit:
                return None
            n = self._next
            self._next += 1
        key = f"{self.prefix}-{n}"
        body = judgment_body(self.seed + n)
        outcome = Outcome(key, body)
        with self._lock:
            self.outcomes[key] = outcome
        return outcome

    def post(self, api: ApiClient, outcome: Outcome) -> bool:
        """One attempt; True when it got an answer worth keeping (not a lost connection, not a 5xx)."""
        try:
            r = api.post("/api/v1/judgments", outcome.body, headers={"Idempotency-Key": outcome.key})
        except httpx.HTTPError as exc:
            outcome.exceptions.append(type(exc).__name__)
            return False
        outcome.statuses.append(r.status_code)
        if r.status_code == 202:
            answer = r.json()
            if outcome.accepted is not None:
                assert answer["outbox_id"] == outcome.accepted["outbox_id"], (outcome.key, answer)
            outcome.accepted = answer
        else:
            outcome.problems.append(r.text[:500])
        return r.status_code < 500

    def run(
        self,
        threads: int,
        *,
        count: int | None = None,
        seconds: float | None = None,
        retry_every: float = 0.2,
        retry_for: float = 120.0,
        pause: float = 0.0,
    ) -> None:
        """Post until ``count`` keys were used or ``seconds`` passed (new keys; bounded either way).

        Like a careful client, a thread whose request got no answer (the service is down) or a 5xx tries
        the same key again every ``retry_every`` seconds, until ``retry_for`` seconds have passed. Each
        thread waits ``pause`` seconds between keys (a court's pace rather than a flood).
        """
        assert count is not None or seconds is not None
        deadline = time.monotonic() + (seconds if seconds is not None else 300.0)

        def worker() -> None:
            with httpx.Client(base_url=self.base, timeout=15) as http:
                api = ApiClient(http, self.client_id, self.key)
                while time.monotonic() < deadline and not self._stopped.is_set():
                    outcome = self._take(count)
                    if outcome is None:
                        return
                    give_up = time.monotonic() + retry_for
                    while not self.post(api, outcome) and time.monotonic() < give_up:
                        time.sleep(retry_every)
                    time.sleep(pause)

        pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(max(0.0, deadline - time.monotonic()) + retry_for + 30)
            assert not t.is_alive(), "a client thread hung"

    def start(self, threads: int, **kw: Any) -> Load:
        """``run`` in the background; :meth:`join` waits for it and raises what it raised."""

        def target() -> None:
            try:
                self.run(threads, **kw)
            except BaseException as exc:
                self._error = exc

        self._error: BaseException | None = None
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """No new keys from now on (a key already taken is still sent, and retried, to its end)."""
        self._stopped.set()

    def join(self, timeout: float = 400.0) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the load did not finish"
        if self._error is not None:
            raise self._error

    def wait_accepted(self, n: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.accepted_count() < n:
            assert time.monotonic() < deadline, f"only {self.accepted_count()} accepted after {timeout}s"
            assert self._thread.is_alive() or self._error is None, self._error
            time.sleep(0.05)

    def run_retries(self, threads: int) -> None:
        """Send every key not answered 202 yet once more, same body, from ``threads`` threads."""
        todo = [o for o in self.outcomes.values() if o.accepted is None]

        def worker(part: list[Outcome]) -> None:
            with httpx.Client(base_url=self.base, timeout=30) as http:
                api = ApiClient(http, self.client_id, self.key)
                for outcome in part:
                    self.post(api, outcome)

        pool = [threading.Thread(target=worker, args=(todo[i::threads],), daemon=True) for i in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(300)
            assert not t.is_alive(), "a retry thread hung"

    def accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.accepted is not None]

    def accepted_count(self) -> int:
        with self._lock:
            return sum(1 for o in self.outcomes.values() if o.accepted is not None)

    def statuses(self) -> Counter[int]:
        return Counter(s for o in self.outcomes.values() for s in o.statuses)


def wait_final(
    api: ApiClient, outbox_ids: Iterable[str], timeout: float = 120.0, data_dir: Path | None = None
) -> dict[str, dict[str, Any]]:
    """GET /records/{id} for each until it is final; the final records by outbox id.

    With ``data_dir``, first wait (reading the outbox file, not asking the service, which is busy with
    the backlog) until no entry is open.
    """
    deadline = time.monotonic() + timeout
    while data_dir is not None:
        counts = outbox_counts(data_dir)
        if not counts.get("accepted", 0) + counts.get("submitted", 0):
            break
        assert time.monotonic() < deadline, f"outbox still open after {timeout}s: {counts}"
        time.sleep(0.5)
    done: dict[str, dict[str, Any]] = {}
    pending = list(outbox_ids)
    while pending:
        still = []
        for outbox_id in pending:
            r = api.get(f"/api/v1/records/{outbox_id}")
            assert r.status_code == 200, r.text
            body = r.json()
            if body["state"] in FINAL:
                done[outbox_id] = body
            else:
                still.append(outbox_id)
        pending = still
        if pending:
            assert time.monotonic() < deadline, f"{len(pending)} records not final after {timeout}s"
            time.sleep(0.5)
    return done


def chain_judgments(rpc_url: str, registry: str, court: int) -> list[dict[str, Any]]:
    """Every JudgmentRecorded event of ``court`` on the node: id, document digest, transaction, sender."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    topic0 = Web3.keccak(
        text="JudgmentRecorded(bytes32,uint32,bytes32,bytes32,bytes32,uint128,bytes3,uint40,uint40)"
    )
    logs = w3.eth.get_logs(
        {
            "fromBlock": 0,
            "toBlock": "latest",
            "address": Web3.to_checksum_address(registry),
            "topics": ["0x" + bytes(topic0).hex(), None, "0x" + court.to_bytes(32, "big").hex()],
        }
    )
    return [
        {
            "id": "0x" + bytes(log["topics"][1]).hex(),
            "document_digest": "0x" + bytes(log["data"][:32]).hex(),
            "transaction_hash": "0x" + bytes(log["transactionHash"]).hex(),
            "block_number": int(log["blockNumber"]),
        }
        for log in logs
    ]


def registry_address(data_dir: Path, name: str = "JudgmentRegistry") -> str:
    return str(json.loads((data_dir / "deployment.json").read_text())["contracts"][name]["address"])


def assert_exactly_once(
    api: ApiClient,
    load: Load,
    rpc_url: str,
    data_dir: Path,
    court: int,
    *,
    extra_ids: int = 0,
    timeout: float = 180.0,
) -> dict[str, dict[str, Any]]:
    """Every 202 of ``load`` is confirmed, on chain once, with its own record id; nothing else of ours is.

    Retrying every key (accepted or not) returns the same outbox record for the accepted ones.
    """
    accepted = load.accepted()
    records = wait_final(api, [o.accepted["outbox_id"] for o in accepted], timeout, data_dir)  # type: ignore[index]
    failed = {k: v for k, v in records.items() if v["state"] != "confirmed"}
    assert not failed, list(failed.values())[:3]
    retry = Load(load.base, load.client_id, load.key, load.prefix, load.seed)  # a retry of every key ...
    retry.outcomes = {o.key: Outcome(o.key, o.body) for o in accepted}
    retry.run_retries(4)
    for o in accepted:  # ... is answered with the same record
        again = retry.outcomes[o.key]
        assert again.accepted is not None and again.accepted["outbox_id"] == o.accepted["outbox_id"], again  # type: ignore[index]
    on_chain = chain_judgments(rpc_url, registry_address(data_dir), court)
    ids = Counter(e["id"] for e in on_chain)
    docs = Counter(e["document_digest"] for e in on_chain)
    assert max(ids.values(), default=1) == 1 and max(docs.values(), default=1) == 1, "a judgment twice"
    by_id = {e["id"]: e for e in on_chain}
    for o in accepted:
        record = records[o.accepted["outbox_id"]]  # type: ignore[index]
        event = by_id.get(record["record_id"])
        assert event is not None, f"{o.key}: confirmed {record['record_id']} is not on chain"
        assert event["document_digest"] == "0x" + o.body["document_sha256"], o.key
        assert event["transaction_hash"] == record["transaction_hash"], o.key
    # Judgments of this court on chain that no client was told about: only keys whose answer was lost.
    told = {records[o.accepted["outbox_id"]]["record_id"] for o in accepted}  # type: ignore[index]
    unknown = [o for o in load.outcomes.values() if o.accepted is None]
    assert len(set(ids) - told) <= len(unknown) + extra_ids
    return records


def outbox_counts(data_dir: Path) -> dict[str, int]:
    """The outbox's entries by state, read from its file (the service keeps running)."""
    import sqlite3

    db = sqlite3.connect(f"file:{data_dir / 'outbox.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        return dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    finally:
        db.close()


def node_processes(keeper: int) -> list[int]:
    """The node of a data dir is its state keeper (``anvil.pid``) and anvil, the keeper's child: both pids."""
    try:
        children = Path(f"/proc/{keeper}/task/{keeper}/children").read_text().split()
    except OSError:
        children = []
    return [keeper, *map(int, children)]


def kill_node(chain_dir: Path, which: str = "anvil") -> int:
    """SIGKILL the node of ``chain_dir`` at whatever it is doing, its state file writes included; its pid.

    ``which``: ``anvil`` (the process writing its dump), ``keeper`` (the process copying it to
    ``state.json``; anvil then gets SIGTERM from the kernel) or ``both`` at once (the process group).
    """
    node = running_node(chain_dir)
    assert node is not None, "no node to kill"
    keeper, *anvil = node_processes(node.pid)
    if which == "both":
        os.killpg(keeper, signal.SIGKILL)
    else:
        os.kill(anvil[0] if which == "anvil" and anvil else keeper, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while running_node(chain_dir) is not None:
        assert time.monotonic() < deadline, "the killed node is still there"
        time.sleep(0.02)
    return node.pid


def block_number(rpc_url: str) -> int:
    answer = httpx.post(rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []})
    return int(answer.json()["result"], 16)
