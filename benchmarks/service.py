"""Writes through the HTTP service with durable submission, from the first POST until all are confirmed.

The service runs as ``scripts/serve.py`` in its own process on 127.0.0.1 with its own anvil (``--chain
local`` in its data dir), uvicorn with one worker and its access log off (``--log-level warning``). A
court is admitted through the governance endpoint; then N judgments are POSTed to
``/api/v1/judgments`` by 4 client threads, each request signed with the court client's Ed25519 key
(``api.auth.sign_request``). Each answer is ``202 Accepted`` once the write is durable in the outbox;
the outbox worker (on a node, ``serve.py`` runs it in a process of its own: ``api.worker.process``) signs
and sends it. The clock stops when every outbox record is ``confirmed``.

The same on a node that mines a block a second with zero gas price (:func:`on_block_node`: anvil
``--block-time 1``, the service on it by URL), as a consortium network runs, in the full preset.

Beside it, the outbox worker alone (:func:`worker_drain`): N judgments accepted in process (no HTTP) by
4 threads while the worker is stopped (timed too: what accepting does without HTTP), then its thread
started and timed until every entry is confirmed: what the sending side confirms when acceptance is not
the bound.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.common import Context
from benchmarks.harness import ServiceProcess, SignedClient, judgment_body

NAME = "service"
CLIENT_THREADS = 4


def shared_service(ctx: Context) -> ServiceProcess:
    def start() -> ServiceProcess:
        t0 = time.perf_counter()
        svc = ServiceProcess(ctx.tmp / "service")
        try:
            svc.admit_court()
        except BaseException:
            svc.stop()
            raise
        ctx.record(
            "service start (anvil, deploy, stores) and court admission", time.perf_counter() - t0, "s", area="service"
        )
        return svc

    return ctx.shared("service", start, lambda svc: svc.stop())


def submit_judgments(svc: ServiceProcess, n: int, salt: str) -> tuple[list[str], float, float]:
    """POST n judgments with CLIENT_THREADS threads; (outbox ids in order, first-submit time, last-202 time)."""
    local = threading.local()
    clients: list[SignedClient] = []
    lock = threading.Lock()

    def client() -> SignedClient:
        c = getattr(local, "client", None)
        if c is None:
            c = svc.client("bench-court")
            local.client = c
            with lock:
                clients.append(c)
        return c

    def post(i: int) -> str:
        r = client().post("/api/v1/judgments", judgment_body(i, salt))
        if r.status_code != 202:
            raise RuntimeError(f"POST /api/v1/judgments: {r.status_code} {r.text[:300]}")
        return str(r.json()["outbox_id"])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        ids = list(pool.map(post, range(n)))
    t1 = time.perf_counter()
    for c in clients:
        c.close()
    return ids, t0, t1


def wait_all(svc: ServiceProcess, ids: list[str], timeout: float = 1_800.0) -> dict[str, int]:
    states: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    for outbox_id in ids:
        record = svc.wait_record(svc.court, outbox_id, timeout=max(1.0, deadline - time.monotonic()), poll=0.05)
        states[record["state"]] = states.get(record["state"], 0) + 1
    return states


def run(ctx: Context) -> None:
    svc = shared_service(ctx)
    salt = os.urandom(4).hex()
    for n in ctx.pick([20], [100, 1_000]):
        ids, t0, t1 = submit_judgments(svc, n, f"{salt}-{n}")
        states = wait_all(svc, ids)
        t2 = time.perf_counter()
        if states.get("confirmed", 0) != n:
            raise RuntimeError(f"of {n} judgments: {states}; see {svc.log_path}")
        ctx.record(
            "HTTP judgments accepted (202, durable in the outbox)",
            n / (t1 - t0),
            "records/s",
            size=n,
            note=f"{CLIENT_THREADS} client threads",
        )
        ctx.record(
            "HTTP judgments confirmed on chain, end to end",
            n / (t2 - t0),
            "records/s",
            size=n,
            note=f"first POST to last confirmed: {t2 - t0:.1f} s",
        )
    ctx.shared("service_judgments", lambda: ids)
    for n in ctx.pick([], [1_000]):
        accepted, confirmed = on_block_node(ctx, n)
        ctx.record("HTTP judgments accepted, node mining a block a second", accepted, "records/s", size=n,
                   note=f"{CLIENT_THREADS} client threads; anvil --block-time 1, zero gas price")
        ctx.record("HTTP judgments confirmed, node mining a block a second", confirmed, "records/s", size=n,
                   note="first POST to last confirmed")
    for n in ctx.pick([100], [1_000]):
        accepted, confirmed = worker_drain(ctx, n)
        ctx.record(
            "accepting alone: judgments accepted (in process, no HTTP)",
            accepted,
            "records/s",
            size=n,
            note=f"{CLIENT_THREADS} threads calling Submissions, the worker stopped",
        )
        ctx.record(
            "outbox worker alone: accepted judgments confirmed (in process, no HTTP)",
            confirmed,
            "records/s",
            size=n,
            note="accepted with the worker stopped, then drained by its thread",
        )


def on_block_node(ctx: Context, n: int) -> tuple[float, float]:
    """Records per second accepted and confirmed (first POST to last confirmed) through a service on a node
    that mines a block a second at zero gas price."""
    import subprocess

    from benchmarks.harness import free_port
    from ledger._node import find_anvil

    port = free_port()
    argv = [str(find_anvil()), "--port", str(port), "--block-time", "1", "--gas-price", "0", "--base-fee", "0",
            "--hardfork", "prague", "--silent"]
    node = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    svc: ServiceProcess | None = None
    try:
        svc = ServiceProcess(ctx.tmp / "service-blocks", chain=f"http://127.0.0.1:{port}",
                             extra_env={"LEDGER_GAS_PRICE": "0"})
        svc.admit_court()
        ids, t0, t1 = submit_judgments(svc, n, os.urandom(4).hex())
        states = wait_all(svc, ids)
        if states.get("confirmed", 0) != n:
            raise RuntimeError(f"of {n} judgments on the 1-second-block node: {states}; see {svc.log_path}")
        return n / (t1 - t0), n / (time.perf_counter() - t0)
    finally:
        if svc is not None:
            svc.stop()
        node.terminate()
        node.wait(timeout=30)


def worker_drain(ctx: Context, n: int) -> tuple[float, float]:
    """Records per second accepted in process by CLIENT_THREADS threads while the worker is stopped, and
    then confirmed by the outbox worker from that backlog of n judgments."""
    from datetime import date

    from api.auth import Client
    from api.services import Services, WriteContext
    from api.settings import Settings
    from ledger.chain import connect
    from ledger.privacy import Party, make_resident_id, parse_subject

    root = ctx.tmp / f"drain-{n}"
    chain = connect("local", data_dir=root / "chain")
    settings = Settings(mode="development", data_dir=root, chain="local", keystore_kdf="pbkdf2")
    svc = Services.open(settings, chain=chain)
    try:
        court_id = 7_100
        signer = svc.signers.create()
        gov = Client("bench-governance", "governance", None, frozenset({"courts:write"}))
        call = {"court": court_id, "jurisdiction": "CN-BJ", "appellate_court": 0, "signer": signer.address}
        svc.writes.submit_governance(
            gov,
            WriteContext(None, b"admit"),
            "admit_court",
            call,
            signer_key=(court_id, signer.address),
            fund=signer.address,
        )
        while svc.outbox.counts()["accepted"] + svc.outbox.counts()["submitted"]:
            svc.worker.run_once()
        client = Client("bench-court", "court", court_id, frozenset({"judgments:write"}))
        desk = svc.desk(court_id)

        def accept(i: int) -> None:
            party = Party(
                role="debtor",
                subject=parse_subject("resident_id", make_resident_id(seq=f"{i % 1000:03d}")),
                name="某人（示例）",
            )
            svc.writes.submit_record(
                client,
                WriteContext(None, b"j%d" % i),
                court_id,
                lambda _: desk.judgment(
                    case_number=f"(2024)京0108民初{200_000 + i}号",
                    document_digest=(i + 1).to_bytes(32, "big"),
                    parties=[party],
                    amount=1_000 + i,
                    currency="CNY",
                    judgment_date=date(2024, 3, 1),
                    effective_date=date(2024, 3, 18),
                ),
            )

        t0 = time.perf_counter()
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            list(pool.map(accept, range(n)))
        accepted = n / (time.perf_counter() - t0)
        confirmed_before = svc.outbox.counts()["confirmed"]
        t0 = time.perf_counter()
        svc.worker.start()
        while svc.outbox.counts()["confirmed"] - confirmed_before < n:
            if svc.outbox.counts()["failed"]:
                failed = [e.error for e in svc.outbox.entries(f"court:{court_id}", "failed")]
                raise RuntimeError(f"outbox worker drain: {svc.outbox.counts()}: {failed[:1]}")
            time.sleep(0.02)
        return accepted, n / (time.perf_counter() - t0)
    finally:
        svc.close()
        chain.close()


def outbox_ids(ctx: Context) -> list[Any]:
    return list(ctx.shared("service_judgments", lambda: []))
