"""Partner checks per second: over HTTP against the running service, and in the index without HTTP.

The service's index (``<data_dir>/index.db``) is filled with synthetic listings written straight into
its SQLite ``listings`` table with ``executemany``, in steps of 10x up to 1,000,000: writing a million
listings on chain is out of reach here (a listing costs ~137,000 gas and anvil takes ~100 such
transactions a second, so about three hours). The rows have the shape the indexer writes (columns read
from the table itself); one in ten is removed (not restricting any more). The first 20,000 subjects are
blind indexes of valid resident ID numbers under the service's own blind-index key, so a partner can
also ask by identifier (the service then parses the ID and computes the HMAC).

- **index**: ``Index.check_many`` over 10,000 subjects (half listed), at each index size.
- **single**: ``POST /api/v1/checks`` over 16 keep-alive connections from ``benchmarks.loadgen`` (its own
  process; every request signed with the partner's Ed25519 key and a fresh nonce *before* the clock
  starts, so the client costs ~50-90 us of CPU per request instead of httpx's ~1 ms), against the
  service itself (one process) and against ``serve.py checks`` with 2 worker processes.
- **batch**: ``POST /api/v1/checks/batch`` with 1,000 and 10,000 resident IDs per request, in the plain form
  (``kind`` + ``ids``) and the full form (``subjects``), from 1 client and (check process) 2 clients. Partners
  hold no blind-index key: every request carries identifiers and the service derives the indexes.
- **CPU**: how much two busy processes get done here compared with one, since the load generator and the
  server share the machine.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Context, Goal
from benchmarks.service import shared_service

NAME = "checks"
SINGLE_GOAL = Goal(">=", 2_000)
BATCH_GOAL = Goal(">=", 50_000)
ID_SUBJECTS = 20_000
INSERT_CHUNK = 50_000
CONNECTIONS = 16
CHECK_WORKERS = 2


def listed_subject(i: int) -> bytes:
    return hashlib.sha256(b"bench-listed-%d" % i).digest()


def unlisted_subject(i: int) -> bytes:
    return hashlib.sha256(b"bench-unlisted-%d" % i).digest()


def resident_id(i: int, region: str = "110105") -> str:
    from ledger.privacy import make_resident_id

    birth = date(1970, 1, 1) + timedelta(days=i // 1000)
    return make_resident_id(region, birth.strftime("%Y%m%d"), f"{i % 1000:03d}")


def unlisted_resident_id(k: int) -> str:
    """A valid resident ID no synthetic listing carries (another region)."""
    return resident_id(k % 40_000, "310104")


class Listings:
    """Synthetic rows in the service index's ``listings`` table."""

    def __init__(self, index_path: Path, blind_key: Any, now: int) -> None:
        self.path = index_path
        self.key = blind_key
        self.now = now
        self.count = 0
        self.id_subjects: dict[int, bytes] = {}
        conn = sqlite3.connect(index_path, timeout=120)
        try:
            self.columns = [row[1] for row in conn.execute("PRAGMA table_info(listings)")]
        finally:
            conn.close()
        if not self.columns:
            raise RuntimeError(f"{index_path} has no listings table")

    def subject(self, i: int) -> bytes:
        if i < ID_SUBJECTS:
            found = self.id_subjects.get(i)
            if found is None:
                from ledger.privacy import ResidentId, blind_index

                found = bytes(blind_index(self.key, ResidentId.parse(resident_id(i))))
                self.id_subjects[i] = found
            return found
        return listed_subject(i)

    def removed(self, i: int) -> bool:
        return i % 10 == 9

    def _row(self, i: int) -> tuple[Any, ...]:
        listed_at = self.now - 86_400 - i % 3_600
        until = listed_at + 700 * 86_400
        removed_at = self.now - 3_600 if self.removed(i) else None
        values: dict[str, Any] = {
            "id": hashlib.sha256(b"bench-listing-%d" % i).digest(),
            "subject": self.subject(i),
            "court": 7_000,
            "case_id": hashlib.sha256(b"bench-case-%d" % (i // 2)).digest(),
            "ground": 1 + i % 6,
            "restrictions": 0xFF if i % 4 else 0x3B,
            "listed_at": listed_at,
            "until": until,
            "original_until": until,
            "ends_at": removed_at if removed_at is not None else until,
            "removed_at": removed_at,
            "removal_reason": 1 if removed_at is not None else None,
            "removed_by": 7_000 if removed_at else None,
            "changes": 1 if removed_at is not None else 0,
            "recorded_at": listed_at,
            "block_number": 0,
            "log_index": i,
            "tx_hash": b"\x00" * 32,
        }
        return tuple(values.get(c) for c in self.columns)

    def grow_to(self, size: int) -> float:
        """Insert rows until the table holds ``size`` synthetic listings; returns the seconds it took."""
        t0 = time.perf_counter()
        conn = sqlite3.connect(self.path, timeout=120, isolation_level=None)
        try:
            sql = f"INSERT INTO listings ({', '.join(self.columns)}) VALUES ({', '.join('?' * len(self.columns))})"
            while self.count < size:
                end = min(size, self.count + INSERT_CHUNK)
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(sql, (self._row(i) for i in range(self.count, end)))
                conn.execute("COMMIT")
                self.count = end
        finally:
            conn.close()
        return time.perf_counter() - t0

    def query_ids(self, n: int) -> tuple[list[str], int]:
        """n resident IDs, every other one listed (as :meth:`queries`), and how many are restricted now."""
        span = min(self.count, ID_SUBJECTS)
        out, restricted = [], 0
        for k in range(n):
            if k % 2 == 0:
                i = (k * 7_919) % span
                out.append(resident_id(i))
                restricted += 0 if self.removed(i) else 1
            else:
                out.append(unlisted_resident_id(k))
        return out, restricted

    def queries(self, n: int, *, by_id: bool = False) -> tuple[list[bytes], int]:
        """n subjects, every other one listed; and how many of them are restricted (for flights) now."""
        span = min(self.count, ID_SUBJECTS) if by_id else self.count
        out, restricted = [], 0
        for k in range(n):
            if k % 2 == 0:
                i = (k * 7_919) % span
                out.append(self.subject(i))
                restricted += 0 if self.removed(i) else 1
            else:
                out.append(unlisted_subject(k))
        return out, restricted


def run(ctx: Context) -> None:
    from ledger.index import Index
    from ledger.privacy import BlindIndexKey

    svc = shared_service(ctx)
    secrets = json.loads((svc.data_dir / "dev-secrets.json").read_text())
    key = BlindIndexKey(bytes.fromhex(secrets["LEDGER_BLIND_INDEX_KEY"].removeprefix("0x")))
    now = int(time.time())
    listings = Listings(svc.data_dir / "index.db", key, now)

    # -- the index alone, growing ---------------------------------------------------------------------
    from ledger.records import Restriction

    flights = int(Restriction.FLIGHTS)
    for size in ctx.pick([10_000], [10_000, 100_000, 1_000_000]):
        seconds = listings.grow_to(size)
        ctx.record(
            "synthetic listings inserted (executemany)",
            size,
            "rows",
            size=size,
            note=f"{seconds:.1f} s for this step (not a benchmark of the ledger)",
        )
        index = Index(svc.data_dir / "index.db")
        try:
            subjects, expected = listings.queries(10_000)
            answers = index.check_many(subjects, flights, now)
            if sum(a.restricted for a in answers) != expected:
                raise RuntimeError(
                    f"check_many found {sum(a.restricted for a in answers)} restricted, expected {expected}"
                )
            timings = []
            for _ in range(ctx.pick(3, 5)):
                t0 = time.perf_counter()
                index.check_many(subjects, flights, now)
                timings.append(time.perf_counter() - t0)
            ctx.record(
                "Index.check_many (no HTTP)",
                len(subjects) / min(timings),
                "subjects/s",
                size=size,
                note=f"10,000 subjects per call, half listed; best of {len(timings)}",
            )
            t0 = time.perf_counter()
            for s in subjects[:2_000]:
                index.is_restricted(s, flights, now)
            ctx.record(
                "Index.is_restricted one by one (no HTTP)", 2_000 / (time.perf_counter() - t0), "checks/s", size=size
            )
        finally:
            index.close()

    size = listings.count
    check_process = shared_check_process(ctx, svc)
    targets = [("service", svc.port), (f"check process, {CHECK_WORKERS} workers", check_process.port)]
    measure_cpu(ctx)

    # -- over HTTP: single checks ----------------------------------------------------------------------
    duration = ctx.pick(2.0, 10.0)
    per_second_guess = 3_000
    # Partners send identifiers (they hold no blind-index key); the service derives the index.
    for target, port in targets:
        bodies = []
        for k in range(int(duration * per_second_guess)):
            number = resident_id((k * 7_919) % min(size, ID_SUBJECTS)) if k % 2 == 0 else unlisted_resident_id(k)
            subject: dict[str, Any] = {"kind": "resident_id", "id": number}
            bodies.append(json.dumps({"subject": subject, "restriction": "flights"}).encode())
        _expect_single(svc, port, bodies[0], True, listings)
        result = _load(svc, port, "/api/v1/checks", bodies, CONNECTIONS, duration)
        ctx.record(
            f"HTTP single checks, {target} (by resident ID)",
            result["rate"],
            "checks/s",
            size=size,
            goal=SINGLE_GOAL,
            note=_load_note(result, duration),
            extra=result,
        )

    for target, port in targets:
        result = _load(svc, port, "/api/v1/health", [b""] * 60_000, CONNECTIONS, ctx.pick(2.0, 5.0), method="GET")
        ctx.record(
            f"HTTP GET /api/v1/health, {target} (no auth, no work)",
            result["rate"],
            "requests/s",
            note="the HTTP stack's ceiling here; " + _load_note(result, ctx.pick(2.0, 5.0)),
            extra=result,
        )

    # -- over HTTP: batches ----------------------------------------------------------------------------
    for batch in (1_000, 10_000):
        ids, expected = listings.query_ids(batch)
        plain = json.dumps({"kind": "resident_id", "ids": ids, "restriction": "flights"}).encode()
        full = json.dumps(
            {"subjects": [{"kind": "resident_id", "id": i} for i in ids], "restriction": "flights"}
        ).encode()
        for form, body in (("ids", plain), ("subjects", full)):
            r = svc.partner.post("/api/v1/checks/batch", body)
            if r.status_code != 200:
                raise RuntimeError(f"POST /api/v1/checks/batch: {r.status_code} {r.text[:300]}")
            got = sum(1 for a in r.json()["results"] if a["restricted"])
            if got != expected:
                raise RuntimeError(f"batch check found {got} restricted, expected {expected}")
            for target, port in targets:
                for clients in (1, 2):
                    if clients == 2 and (form == "subjects" or target == "service"):
                        continue
                    runs = ctx.pick(3, 8) * clients
                    result = _load(svc, port, "/api/v1/checks/batch", [body] * runs, clients, 120.0)
                    ctx.record(
                        f"HTTP batch checks, {batch:,} per request, {form}, {target}, {clients} client(s)",
                        result["rate"] * batch,
                        "subjects/s",
                        size=size,
                        goal=BATCH_GOAL if batch == 10_000 and form == "ids" and clients == 1 else None,
                        note=f"{result['count']} requests, median {result['latency']['median_ms']:.0f} ms each",
                        extra=result,
                    )


def shared_check_process(ctx: Context, svc: Any) -> Any:
    from benchmarks.harness import CheckProcess

    return ctx.shared("check_process", lambda: CheckProcess(svc, CHECK_WORKERS), lambda p: p.stop())


def measure_cpu(ctx: Context) -> None:
    """How much two busy processes get done here compared with one: the machine's usable parallelism."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        one = min(pool.map(_spin, [2_000_000]) for _ in range(3))[0]
        two = max(pool.map(_spin, [2_000_000, 2_000_000]))
    ctx.record(
        "CPU: two busy processes' combined speed, relative to one",
        2 * one / two,
        "x",
        note="2.0 on two free cores; the HTTP figures below share this CPU with their load generator",
    )


def _spin(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t0


def _load(
    svc: Any, port: int, path: str, bodies: Sequence[bytes], connections: int, duration: float, method: str = "POST"
) -> dict[str, Any]:
    """Sign every request beforehand (fresh nonces), then send them with the load generator."""
    from api.auth import sign_request
    from benchmarks.loadgen import raw_request, run_load, write_requests

    host = f"127.0.0.1:{port}"
    key = svc.keys["bench-partner"]
    requests = []
    for body in bodies:
        if method == "GET":
            requests.append(raw_request("GET", host, path, {}, b""))
            continue
        headers = sign_request("bench-partner", key, method, path, body)
        headers["Content-Type"] = "application/json"
        requests.append(raw_request(method, host, path, headers, body))
    file = svc.data_dir / "loadgen-requests.bin"
    write_requests(file, requests)
    try:
        result = run_load("127.0.0.1", port, file, connections, duration)
    finally:
        file.unlink(missing_ok=True)
    if result["first_error"] is not None or result["count"] == 0:
        raise RuntimeError(f"{method} {path} on port {port}: {result['statuses']} {result['first_error']}")
    return result


def _load_note(result: dict[str, Any], duration: float) -> str:
    lat = result["latency"]
    client_us = result["client_cpu_seconds"] / max(1, result["count"]) * 1e6
    return (
        f"{CONNECTIONS} connections, {duration:g} s; median {lat['median_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms; "
        f"load generator {client_us:.0f} us CPU per request"
    )


def _expect_single(svc: Any, port: int, body: bytes, by_id: bool, listings: Listings) -> None:
    """One request of the kind about to be timed, checked for its answer (the timing only counts 200s)."""
    from benchmarks.harness import SignedClient

    client = SignedClient(f"http://127.0.0.1:{port}", "bench-partner", svc.keys["bench-partner"])
    try:
        r = client.post("/api/v1/checks", body)
    finally:
        client.close()
    if r.status_code != 200 or r.json().get("restricted") is not True:
        raise RuntimeError(f"a check of a listed subject ({'ID' if by_id else 'blind index'}) answered "
                           f"{r.status_code} {r.text[:300]}")
