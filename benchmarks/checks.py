"""Partner checks per second: over HTTP against the running service, and in the index without HTTP.

The service's index (``<data_dir>/index.db``) is filled with synthetic listings written straight into
its SQLite ``listings`` table with ``executemany``, in steps of 10x up to 1,000,000: writing a million
listings on chain is out of reach here (a listing costs ~137,000 gas and anvil takes ~100 such
transactions a second, so about three hours). The rows have the shape the indexer writes (columns read
from the table itself); one in ten is removed (not restricting any more). The first 20,000 subjects are
blind indexes of valid resident ID numbers under the service's own blind-index key, so a partner can
also ask by identifier (the service then parses the ID and computes the HMAC).

- **index**: ``Index.check_many`` over 10,000 subjects (half listed), at each index size.
- **single**: ``POST /api/v1/checks`` from 8 client threads (httpx, one connection each, every request
  signed with the partner's Ed25519 key and a fresh nonce), for a bounded time, on loopback.
- **batch**: ``POST /api/v1/checks/batch`` with 1,000 and 10,000 subjects per request.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Context, Goal, latency_summary
from benchmarks.service import shared_service

NAME = "checks"
SINGLE_GOAL = Goal(">=", 2_000)
BATCH_GOAL = Goal(">=", 50_000)
ID_SUBJECTS = 20_000
INSERT_CHUNK = 50_000
THREADS = 8


def listed_subject(i: int) -> bytes:
    return hashlib.sha256(b"bench-listed-%d" % i).digest()


def unlisted_subject(i: int) -> bytes:
    return hashlib.sha256(b"bench-unlisted-%d" % i).digest()


def resident_id(i: int) -> str:
    from ledger.privacy import make_resident_id

    birth = date(1970, 1, 1) + timedelta(days=i // 1000)
    return make_resident_id("110105", birth.strftime("%Y%m%d"), f"{i % 1000:03d}")


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
    # -- over HTTP: single checks from concurrent clients ----------------------------------------------
    for by_id in (False, True):
        label = "by resident ID" if by_id else "by blind index"
        subjects, _ = listings.queries(5_000, by_id=by_id)
        ids = [resident_id((k * 7_919) % min(size, ID_SUBJECTS)) for k in range(5_000)] if by_id else []
        duration = ctx.pick(2.0, 10.0)
        rate, lat = _single_checks(svc, subjects, ids, duration)
        ctx.record(
            f"HTTP single checks, {THREADS} client threads ({label})",
            rate,
            "checks/s",
            size=size,
            goal=SINGLE_GOAL if not by_id else None,
            note=f"{duration:g} s; median {lat['median_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms per request",
            extra=lat,
        )

    rate, lat = concurrent_load(svc, None, lambda client, k: client.get("/api/v1/health"), ctx.pick(2.0, 5.0))
    ctx.record(
        f"HTTP GET /api/v1/health, {THREADS} client threads (no auth, no work)",
        rate,
        "requests/s",
        note=f"the HTTP stack's ceiling here; median {lat['median_ms']:.1f} ms",
        extra=lat,
    )

    # -- over HTTP: batches ----------------------------------------------------------------------------
    for batch in (1_000, 10_000):
        subjects, expected = listings.queries(batch)
        body = json.dumps(
            {"subjects": [{"blind_index": "0x" + s.hex()} for s in subjects], "restriction": "flights"}
        ).encode()
        timings = []
        for _ in range(ctx.pick(2, 5)):
            t0 = time.perf_counter()
            r = svc.partner.post("/api/v1/checks/batch", body)
            timings.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise RuntimeError(f"POST /api/v1/checks/batch: {r.status_code} {r.text[:300]}")
            got = sum(1 for a in r.json()["results"] if a["restricted"])
            if got != expected:
                raise RuntimeError(f"batch check found {got} restricted, expected {expected}")
        best = min(timings)
        ctx.record(
            f"HTTP batch checks, {batch:,} subjects per request",
            batch / best,
            "subjects/s",
            size=size,
            goal=BATCH_GOAL if batch == 10_000 else None,
            note=f"best of {len(timings)}: {best * 1000:.0f} ms per request (median "
            f"{sorted(timings)[len(timings) // 2] * 1000:.0f} ms)",
        )


def _single_checks(
    svc: Any, subjects: Sequence[bytes], ids: Sequence[str], duration: float, cap: int = 200_000
) -> tuple[float, dict[str, float]]:
    """Concurrent POST /api/v1/checks for ``duration`` seconds; (checks/s, latency summary)."""

    def request(client: Any, k: int) -> Any:
        if ids:
            subject: dict[str, Any] = {"kind": "resident_id", "id": ids[k % len(ids)]}
        else:
            subject = {"blind_index": "0x" + subjects[k % len(subjects)].hex()}
        return client.post("/api/v1/checks", json.dumps({"subject": subject, "restriction": "flights"}).encode())

    return concurrent_load(svc, "bench-partner", request, duration, cap)


def concurrent_load(
    svc: Any, client_id: str | None, request: Any, duration: float, cap: int = 200_000
) -> tuple[float, dict[str, float]]:
    """THREADS clients calling ``request(client, k)`` for ``duration`` seconds; (requests/s, latencies)."""
    from benchmarks.harness import SignedClient

    stop = time.perf_counter() + duration
    lock = threading.Lock()
    latencies: list[float] = []
    count = [0]

    def worker(offset: int) -> None:
        client = svc.client(client_id) if client_id else SignedClient(svc.base_url, None, None)
        mine: list[float] = []
        k = offset
        try:
            while time.perf_counter() < stop and count[0] < cap:
                t0 = time.perf_counter()
                r = request(client, k)
                mine.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")
                k += THREADS
                with lock:
                    count[0] += 1
        finally:
            client.close()
            with lock:
                latencies.extend(mine)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        for f in [pool.submit(worker, i) for i in range(THREADS)]:
            f.result()
    elapsed = time.perf_counter() - t0
    return count[0] / elapsed, latency_summary(latencies)
