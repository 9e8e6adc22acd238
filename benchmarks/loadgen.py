"""An HTTP/1.1 load generator that costs the client almost nothing per request, run in its own process.

Python HTTP clients (httpx, requests) spend about a millisecond of CPU per request; on a 2-core machine
shared with the server that caps what a benchmark can observe far below what the server does. Here every
request is built (and signed) *before* the clock starts and written as raw bytes over persistent
keep-alive connections by asyncio protocols (uvloop when installed): the measured phase only writes bytes,
reads a status line, headers and ``Content-Length`` bytes, and records a latency. One request in flight
per connection (no pipelining), like ``wrk`` or a pool of real partner clients.

Usage (what :func:`run_load` does)::

    python -m benchmarks.loadgen HOST PORT REQUESTS_FILE CONNECTIONS DURATION > result.json

``REQUESTS_FILE`` holds the raw requests, each prefixed by its length as 4 big-endian bytes. Each request
is sent at most once (nonces are single-use). The result is JSON: ``count``, ``seconds``, ``statuses``,
``rate``, ``latency`` (median, p99, … in ms), ``client_cpu_seconds`` (the generator's own CPU), ``first_error``
(a non-200 answer, if any), ``exhausted`` (every prepared request was sent).
"""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.common import REPO


def raw_request(method: str, host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def write_requests(path: Path, requests: Iterable[bytes]) -> int:
    n = 0
    with open(path, "wb") as f:
        for r in requests:
            f.write(struct.pack(">I", len(r)))
            f.write(r)
            n += 1
    return n


def read_requests(path: Path) -> list[bytes]:
    data = Path(path).read_bytes()
    out, i = [], 0
    while i < len(data):
        (n,) = struct.unpack_from(">I", data, i)
        out.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    return out


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send a request, read its whole answer, send the next."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.started = 0.0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._next()

    def _next(self) -> None:
        run = self.run
        if not run.queue or time.perf_counter() >= run.stop_at:
            assert self.transport is not None
            self.transport.close()
            return
        self.started = time.perf_counter()
        assert self.transport is not None
        self.transport.write(run.queue.pop())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        line_end = head.find(b"\r\n", at)
        length = int(head[at + 15: line_end if line_end > 0 else None]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        run = self.run
        run.latencies.append(time.perf_counter() - self.started)
        status = int(head[9:12])
        run.statuses[status] = run.statuses.get(status, 0) + 1
        if status != 200 and not run.errors:
            text = bytes(self.buffer[end + 4: end + 4 + length])[:300].decode("utf-8", "replace")
            run.errors.append(f"{status} {text}")
        del self.buffer[: end + 4 + length]
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


class _Run:
    def __init__(self, requests: list[bytes], duration: float) -> None:
        self.queue = list(reversed(requests))
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors: list[str] = []
        self.stop_at = time.perf_counter() + duration


async def _main(host: str, port: int, requests: list[bytes], connections: int, duration: float) -> dict[str, Any]:
    from benchmarks.common import latency_summary

    loop = asyncio.get_running_loop()
    cpu0 = time.process_time()
    run = _Run(requests, duration)
    t0 = time.perf_counter()
    conns = [(await loop.create_connection(lambda: _Connection(run), host, port))[1] for _ in range(connections)]
    await asyncio.gather(*(c.done for c in conns))
    seconds = time.perf_counter() - t0
    return {
        "count": len(run.latencies),
        "seconds": seconds,
        "rate": len(run.latencies) / seconds,
        "statuses": {str(k): v for k, v in run.statuses.items()},
        "latency": latency_summary(run.latencies) if run.latencies else {},
        "client_cpu_seconds": time.process_time() - cpu0,
        "first_error": run.errors[0] if run.errors else None,
        "exhausted": not run.queue,
    }


def run_load(host: str, port: int, requests_file: Path, connections: int, duration: float) -> dict[str, Any]:
    """Run the generator in a child process; its JSON result."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.loadgen", host, str(port), str(requests_file), str(connections),
         str(duration)],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=duration + 120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed ({out.returncode}): {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main(argv: list[str]) -> int:
    host, port, path, connections, duration = argv[0], int(argv[1]), Path(argv[2]), int(argv[3]), float(argv[4])
    requests = read_requests(path)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(_main(host, port, requests, connections, duration))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
