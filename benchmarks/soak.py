"""Soak: the service under mixed load, honest and hostile, for a fixed time (60 s; ``--quick`` 15 s).

``scripts/serve.py`` runs in its own process on 127.0.0.1 with its own anvil, as in production (uvicorn with
the bounds of :mod:`api.serving`, one worker). Client threads, all at once, for the whole time:

- **writes**: a court posts judgments (202 once durable); at the end, how many the chain confirmed;
- **checks**: two partner threads ask single checks by resident ID (200);
- **verifications**: the public looks a recorded judgment up (``/verify/lookup``, 200);
- **hostile**: an outsider cycles through a JSON body nested 30,000 deep (400), a 50 MB declared body
  (413), a duplicate key (400), ``application/evil+json`` (415) and control characters in a case number
  (422), while 20 slowloris connections drip header bytes (each must be closed by the server).

Each kind reports its throughput, its p99 latency and its errors (any answer other than the expected one,
or an exception); the service process's resident memory is read at the start and the end of the load.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import Context, percentile
from benchmarks.harness import ServiceProcess, SignedClient, judgment_body

NAME = "soak"
SLOWLORIS = 20


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    def add(self, seconds: float, ok: bool, what: str = "") -> None:
        if ok:
            self.latencies.append(seconds)
        else:
            self.errors += 1
            self.first_error = self.first_error or what


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _hostile_requests(public: SignedClient) -> list[tuple[str, Callable[[], Any], int]]:
    lookup = "/api/v1/verify/lookup"
    json_type = {"Content-Type": "application/json"}
    deep = "[" * 30_000 + "]" * 30_000
    doubled = '{"case_number": "a", "case_number": "b", "document_sha256": "' + "ab" * 32 + '"}'
    control = json.dumps({"case_number": "(2024)京0108\x1c民初1号", "document_sha256": "ab" * 32})
    http = public.http
    return [
        ("deep JSON", lambda: http.post(lookup, content=deep, headers=json_type), 400),
        ("50 MB declared", lambda: _declared_huge(http.base_url.host, http.base_url.port, lookup), 413),
        ("duplicate key", lambda: http.post(lookup, content=doubled, headers=json_type), 400),
        (
            "evil media type",
            lambda: http.post(lookup, content=doubled, headers={"Content-Type": "application/evil+json"}),
            415,
        ),
        ("control character", lambda: http.post(lookup, content=control, headers=json_type), 422),
    ]


class _Status:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def _declared_huge(host: str, port: int | None, path: str) -> _Status:
    """Headers announcing 50 MB, and none of the body: the answer must come before the body would."""
    with socket.create_connection((host, port or 80), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {50 * 1024 * 1024}\r\n\r\n".encode()
        )
        head = sock.recv(4096).split(b"\r\n", 1)[0].split()
        return _Status(int(head[1]) if len(head) > 1 else 0)


def _slowloris(port: int, stop: threading.Event, closed: list[int]) -> None:
    """SLOWLORIS connections sending a header line every second until the server closes each."""
    socks = []
    for _ in range(SLOWLORIS):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /api/v1/verify/lookup HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    open_ = set(range(SLOWLORIS))
    while open_ and not stop.wait(1.0):
        for i in list(open_):
            try:
                socks[i].sendall(b"X-Slow: 1\r\n")
                socks[i].setblocking(False)
                if socks[i].recv(4096) == b"":
                    open_.discard(i)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                open_.discard(i)
    closed.append(SLOWLORIS - len(open_))
    for s in socks:
        s.close()


async def _timed(target: Any, scope: dict[str, Any], raw: bytes, runs: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    t0 = time.perf_counter()
    for _ in range(runs):
        await target(scope, receive, None)
    return (time.perf_counter() - t0) / runs


def _edge_cost(ctx: Context) -> None:
    """What :class:`api.limits.RequestLimits` adds to a request, in process (no HTTP): a single check's body
    and a 10,000-subject batch, through the middleware to an app that reads the body and answers."""
    import asyncio

    from api.limits import RequestLimits
    from api.settings import Settings

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    limits = RequestLimits(app, Settings())
    single = json.dumps({"subject": {"kind": "resident_id", "id": "11010519900101123X"}, "restriction": "flights"})
    batch = json.dumps(
        {"subjects": [{"kind": "resident_id", "id": "11010519900101123X"}] * 10_000, "restriction": "flights"}
    )
    for name, path, body, runs in (
        ("single check", "/api/v1/checks", single, 20_000),
        ("batch of 10,000", "/api/v1/checks/batch", batch, 20),
    ):
        raw = body.encode()
        scope = {
            "type": "http",
            "method": "POST",
            "path": path,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
        }

        bare, bounded = asyncio.run(_timed(app, scope, raw, runs)), asyncio.run(_timed(limits, scope, raw, runs))
        ctx.record(
            f"edge bounds per request, {name} ({len(raw):,} B)",
            (bounded - bare) * 1e6,
            "µs",
            note="api.limits.RequestLimits in process: size, media type, depth, duplicate keys",
        )


def run(ctx: Context) -> None:
    _edge_cost(ctx)
    duration = ctx.pick(15.0, 60.0)
    svc = ServiceProcess(ctx.tmp / "soak", court_id=7_300)
    try:
        svc.admit_court()
        _soak(ctx, svc, duration)
    finally:
        svc.stop()


def _soak(ctx: Context, svc: ServiceProcess, duration: float) -> None:
    salt = os.urandom(4).hex()
    court, public = svc.court, svc.public
    known = judgment_body(0, salt)
    first = court.post("/api/v1/judgments", known)
    svc.wait_record(court, first.json()["outbox_id"], timeout=120)
    lookup = {"case_number": known["case_number"], "document_sha256": known["document_sha256"]}
    check = {"subject": {"kind": "resident_id", "id": known["parties"][0]["id"]}, "restriction": "flights"}
    deadline = time.monotonic() + 60
    while public.post("/api/v1/verify/lookup", lookup).json().get("verdict") != "verified":  # indexed
        if time.monotonic() > deadline:
            raise RuntimeError("the first judgment was not indexed within 60 s")
        time.sleep(0.1)
    tallies = {kind: Tally() for kind in ("writes", "checks", "verifications", "hostile")}
    written: list[str] = []
    stop = threading.Event()
    hostile = _hostile_requests(SignedClient(svc.base_url, None, None))

    def loop(kind: str, step: Callable[[int], tuple[bool, str]]) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            t0 = time.perf_counter()
            try:
                ok, what = step(i)
            except Exception as exc:  # a refused connection, a timeout: an error of this kind
                ok, what = False, f"{type(exc).__name__}: {exc}"[:200]
            tallies[kind].add(time.perf_counter() - t0, ok, what)

    def write(i: int) -> tuple[bool, str]:
        r = court.post("/api/v1/judgments", judgment_body(i, salt))
        if r.status_code == 202:
            written.append(r.json()["outbox_id"])
        return r.status_code == 202, f"{r.status_code} {r.text[:120]}"

    def checker() -> Callable[[int], tuple[bool, str]]:
        client = svc.client("bench-partner")

        def one(_: int) -> tuple[bool, str]:
            r = client.post("/api/v1/checks", check)
            return r.status_code == 200, f"{r.status_code} {r.text[:120]}"

        return one

    def verify(_: int) -> tuple[bool, str]:
        r = public.post("/api/v1/verify/lookup", lookup)
        return r.status_code == 200 and r.json()["verdict"] == "verified", f"{r.status_code} {r.text[:120]}"

    def attack(i: int) -> tuple[bool, str]:
        name, send, expected = hostile[i % len(hostile)]
        r = send()
        return r.status_code == expected, f"{name}: {r.status_code}, expected {expected}"

    closed: list[int] = []
    rss_start = _rss_mib(svc.pid)
    threads = [
        threading.Thread(target=loop, args=("writes", write)),
        threading.Thread(target=loop, args=("checks", checker())),
        threading.Thread(target=loop, args=("checks", checker())),
        threading.Thread(target=loop, args=("verifications", verify)),
        threading.Thread(target=loop, args=("hostile", attack)),
        threading.Thread(target=_slowloris, args=(svc.port, stop, closed)),
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    stop.wait(duration)
    stop.set()
    for t in threads:
        t.join(60)
    elapsed = time.perf_counter() - started
    rss_end = _rss_mib(svc.pid)
    outcomes = [svc.wait_record(court, oid, timeout=300)["state"] for oid in written]

    for kind, tally in tallies.items():
        n = len(tally.latencies)
        p99 = percentile(tally.latencies, 99) * 1000 if n else None
        note = f"{n:,} answered as expected in {elapsed:.0f} s, p99 {p99:.1f} ms, {tally.errors} errors" if n else ""
        if tally.first_error:
            note += f" (first: {tally.first_error})"
        ctx.record(f"{kind}: throughput", n / elapsed, "requests/s", note=note)
        ctx.record(f"{kind}: p99 latency", p99, "ms")
        ctx.record(f"{kind}: errors", tally.errors, "count")
    confirmed = outcomes.count("confirmed")
    ctx.record(
        "writes: confirmed on chain",
        confirmed,
        "count",
        note=f"of {len(written)} accepted; {len(written) - confirmed} failed",
    )
    ctx.record(
        "slowloris connections closed by the server",
        closed[0] if closed else 0,
        "count",
        note=f"of {SLOWLORIS}, each dripping a header line a second",
    )
    ctx.record(
        "service RSS growth",
        rss_end - rss_start,
        "MiB",
        note=f"{rss_start:.0f} -> {rss_end:.0f} MiB over {elapsed:.0f} s of load",
    )
