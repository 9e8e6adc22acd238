"""The application served by real uvicorn over a socket on 127.0.0.1, in a thread of the test process, with
the options ``scripts/serve.py`` uses (:func:`api.serving.uvicorn_options`), and raw-socket helpers for
requests no HTTP client library would send (slow headers, lying Content-Length, endless chunks)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from api.app import create_app
from api.services import Services
from api.serving import uvicorn_options
from tests.api._service import free_port


@contextlib.contextmanager
def live_server(services: Services, **limits: Any) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of the app over ``services``, with ``limits`` changed in its settings."""
    settings = services.settings.model_copy(update={"host": "127.0.0.1", "port": free_port(), **limits})
    config = uvicorn.Config(create_app(settings, services=services), log_level="warning", **uvicorn_options(settings))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(15)


def connect(base: str, timeout: float = 10.0) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def read_response(sock: socket.socket, limit: int = 1 << 20) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response (by Content-Length), or status 0 if the server closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, {}, data
        data += chunk
        assert len(data) < limit
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True if the server closes the connection (after any response) within ``within`` seconds."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
