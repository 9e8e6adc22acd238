"""Writes through the HTTP service with durable submission, from the first POST until all are confirmed.

The service runs as ``scripts/serve.py`` in its own process on 127.0.0.1 with its own anvil (``--chain
local`` in its data dir), uvicorn with one worker and its access log off (``--log-level warning``). A
court is admitted through the governance endpoint; then N judgments are POSTed to
``/api/v1/judgments`` by 4 client threads, each request signed with the court client's Ed25519 key
(``api.auth.sign_request``). Each answer is ``202 Accepted`` once the write is durable in the outbox;
the outbox worker signs and sends it. The clock stops when every outbox record is ``confirmed``.
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


def outbox_ids(ctx: Context) -> list[Any]:
    return list(ctx.shared("service_judgments", lambda: []))
