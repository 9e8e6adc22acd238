"""The benchmarks' HTTP load generator counts what the server answered, no more and no less."""

from __future__ import annotations

import threading
import time

import uvicorn

from benchmarks.harness import free_port
from benchmarks.loadgen import raw_request, read_requests, run_load, write_requests


async def _app(scope, receive, send):
    """Answers /ok/N with N bytes of body (sent in two chunks) and anything else with a 404."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    path = scope["path"]
    if path.startswith("/ok/"):
        size = int(path[4:])
        body = b"x" * size
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(size).encode())]})
        await send({"type": "http.response.body", "body": body[: size // 2], "more_body": True})
        await send({"type": "http.response.body", "body": body[size // 2:]})
        return
    await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"9")]})
    await send({"type": "http.response.body", "body": b"not found"})


def test_load_generator_counts_every_answer_and_reports_the_first_error(tmp_path):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        host = f"127.0.0.1:{port}"
        sizes = [0, 1, 70_000, 3, 5_000] * 40
        requests = [raw_request("POST", host, f"/ok/{n}", {"X-Test": "1"}, b"{}") for n in sizes]
        requests.insert(150, raw_request("GET", host, "/missing", {}, b""))
        file = tmp_path / "requests.bin"
        assert write_requests(file, requests) == 201
        assert read_requests(file) == requests
        result = run_load("127.0.0.1", port, file, 4, 60.0)
        assert result["count"] == 201 and result["exhausted"] is True
        assert result["statuses"] == {"200": 200, "404": 1}
        assert result["first_error"] == "404 not found"
        assert result["latency"]["runs"] == 201 and result["latency"]["median_ms"] > 0
        assert result["client_cpu_seconds"] > 0
        # A duration shorter than the work stops early, with every answer received counted.
        many = tmp_path / "many.bin"
        write_requests(many, [raw_request("GET", host, "/ok/10", {}, b"")] * 50_000)
        short = run_load("127.0.0.1", port, many, 2, 0.3)
        assert 0 < short["count"] < 50_000 and short["exhausted"] is False
        assert short["statuses"] == {"200": short["count"]}
    finally:
        server.should_exit = True
        thread.join(10)
