"""Hostile requests against the real server (uvicorn over a socket on 127.0.0.1): each test is one move of an
outsider with no credentials, or of a client abusing its own, and shows the service refuses it early, says
why, and is unharmed (it still answers; nothing was accepted)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.limits import RECURSION_LIMIT, json_problem
from api.services import Services
from tests.api._live import closed_by_server, connect, live_server, read_response, request_head
from tests.api.conftest import ApiClient, CourtClient, judgment_body

LOOKUP = "/api/v1/verify/lookup"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def base(services: Services) -> Iterator[str]:
    with live_server(services, header_timeout_seconds=1.0, body_timeout_seconds=1.0) as url:
        yield url


@pytest.fixture(scope="module")
def web(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=20) as client:
        yield client


def _alive(web: httpx.Client) -> bool:
    return web.get("/api/v1/health/live").json() == {"status": "alive"}


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# -- item 1: the crash --------------------------------------------------------------------------


def test_outsider_cannot_kill_the_service_with_json_nested_100000_deep(web: httpx.Client) -> None:
    # The body (200 KB) is past this endpoint's size bound before its depth matters.
    _problem(web.post(LOOKUP, content="[" * 100_000 + "]" * 100_000, headers=JSON), 413)
    # Within the size bound (under 64 KiB), the depth bound refuses it before any parser recurses.
    for body in ("[" * 30_000 + "]" * 30_000, '{"a":' * 10_000 + "1" + "}" * 10_000, "[" * 60_000):
        problem = _problem(web.post(LOOKUP, content=body, headers=JSON), 400)
        assert "deeper than 32 levels" in problem["detail"]
    assert _alive(web)


def test_importing_the_service_leaves_no_raised_recursion_limit() -> None:
    """The issue's reproduction: the C JSON parser must raise RecursionError, not overflow the C stack."""
    code = "import json, sys, api.app; print(sys.getrecursionlimit()); json.loads('[' * 100000 + ']' * 100000)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])  # an exception, not a signal
    assert done.stdout.split() == [str(RECURSION_LIMIT)]
    assert "RecursionError" in done.stderr


def test_a_library_raising_the_recursion_limit_later_does_not_reach_request_handling(web: httpx.Client) -> None:
    sys.setrecursionlimit(100_000)  # what py-evm or py_ecc do when a later import loads them
    try:
        assert _alive(web)
        assert sys.getrecursionlimit() == RECURSION_LIMIT
    finally:
        sys.setrecursionlimit(RECURSION_LIMIT)


# -- item 2: bodies ---------------------------------------------------------------------------------


def test_declared_huge_body_is_refused_before_a_byte_of_it_is_read(base: str, web: httpx.Client) -> None:
    with connect(base) as sock:
        sock.sendall(request_head("POST", LOOKUP, {**JSON, "Content-Length": str(50 * 1024 * 1024)}))
        status, headers, body = read_response(sock)  # answered without our sending any of the 50 MB
        assert status == 413 and headers["connection"] == "close"
        assert "65,536 bytes" in json.loads(body)["detail"]
        assert closed_by_server(sock, within=5)
    assert _alive(web)


def _drip_chunks(sock: Any, chunk: bytes, most: int) -> tuple[int, int]:
    """Send ``chunk`` as chunked-encoding pieces, at most ``most`` times, until the server answers (or
    closes): the answer's status and how many chunks were sent."""
    status, sent = 0, 0
    for sent in range(1, most + 1):  # noqa: B007 - the count is returned
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            break
        sock.settimeout(0.05)
        try:
            status = read_response(sock)[0]
            break
        except TimeoutError:
            continue
    sock.settimeout(5)
    if status == 0:
        status = read_response(sock)[0]
    return status, sent


def test_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit(base: str, web: httpx.Client) -> None:
    with connect(base) as sock:
        sock.sendall(request_head("POST", LOOKUP, {**JSON, "Transfer-Encoding": "chunked"}))
        chunk = b"[" + b"0," * 8191 + b"0]"  # 16 KiB of valid JSON text per chunk, never finished
        status, sent = _drip_chunks(sock, chunk, 64)  # bounded: at most 1 MiB, sixteen times the limit
        assert status == 413
        assert sent <= 8  # refused within the first 128 KiB, not after reading everything
    assert _alive(web)


def test_batch_endpoints_take_bigger_bodies_than_the_rest(web: httpx.Client) -> None:
    batch = json.dumps({"blind_indexes": ["0x" + "ab" * 32] * 10_000, "restriction": "flights"})
    assert 600_000 < len(batch) < 2 * 1024 * 1024
    # Past the size bound, the batch goes on to authentication (401: unsigned); the lookup stops at 413.
    assert web.post("/api/v1/checks/batch", content=batch, headers=JSON).status_code == 401
    _problem(web.post(LOOKUP, content=batch, headers=JSON), 413)


def test_slow_body_is_answered_408_and_closed(base: str, web: httpx.Client) -> None:
    with connect(base) as sock:
        sock.sendall(request_head("POST", LOOKUP, {**JSON, "Content-Length": "100"}))
        started = time.monotonic()
        status = 0
        for _ in range(40):  # one byte every 0.1 s: 100 bytes would take 10 s
            try:
                sock.sendall(b" ")
            except OSError:
                break
            sock.settimeout(0.1)
            try:
                status, _, _ = read_response(sock)
                break
            except TimeoutError:
                continue
        assert status == 408
        assert time.monotonic() - started < 4  # the 1 s bound, not the 10 s the drip needs
        assert closed_by_server(sock, within=5)
    assert _alive(web)


def test_outsider_cannot_smuggle_a_second_value_for_a_key(services: Services, court: CourtClient, base: str) -> None:
    """The issue: ``court`` 330100 then 110108 was accepted for 110108. Now no JSON with a repeated key is read."""
    before = sum(services.outbox.counts().values())
    body = json.dumps(judgment_body(court=court.court_id))
    doubled = body.replace('{"case_number"', '{"court": 330100, "case_number"', 1).encode()
    assert doubled.count(b'"court"') == 2
    with httpx.Client(base_url=base, timeout=20) as web:
        signed = ApiClient(web, court.api.client_id, court.api.key)
        problem = _problem(signed.post("/api/v1/judgments", doubled), 400)
        assert "same key twice" in problem["detail"]
        # a key repeated deep inside (a party) is refused too
        party = body.replace('"role": "creditor"', '"role": "debtor", "role": "creditor"', 1).encode()
        _problem(signed.post("/api/v1/judgments", party), 400)
    assert sum(services.outbox.counts().values()) == before  # nothing accepted


@pytest.mark.parametrize(
    "media",
    ["application/evil+json", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_json_endpoints_take_only_application_json(web: httpx.Client, media: str) -> None:
    body = json.dumps({"case_number": "(2019)京0108民初1号", "document_sha256": "ab" * 32})
    problem = _problem(web.post(LOOKUP, content=body.encode(), headers={"Content-Type": media}), 415)
    assert "application/json" in problem["detail"]
    assert web.post(LOOKUP, content=body.encode(), headers=JSON).json()["verdict"] == "not_on_chain"
    utf8 = {"Content-Type": "application/json; charset=UTF-8"}
    assert web.post(LOOKUP, content=body.encode(), headers=utf8).json()["verdict"] == "not_on_chain"


def test_json_body_without_media_type_is_refused(base: str) -> None:
    with connect(base) as sock:
        body = b'{"case_number": "x", "document_sha256": "' + b"ab" * 32 + b'"}'
        sock.sendall(request_head("POST", LOOKUP, {"Content-Length": str(len(body))}) + body)
        assert read_response(sock)[0] == 415


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"a": NaN}', "not a JSON number"),
        (b'{"a": 1', "not valid JSON"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b"[" * 33 + b"]" * 33, "deeper than 32"),
        (b"[" * 30 + b"[" * 10 + b"]" * 10, "deeper than 32"),  # unclosed on top of a closed part
        (b'{"x": "' + b"[" * 1000 + b'"}', None),  # brackets inside a string are text, not nesting
        (b"[" * 32 + b"]" * 32, None),
    ],
)
def test_json_shape_is_checked_without_parsing_into_objects_first(body: bytes, says: str | None) -> None:
    wrong = json_problem(body, 32)
    assert (wrong is None) if says is None else (wrong is not None and says in wrong)


# -- item 2: headers and connections ---------------------------------------------------------------


def test_thirty_slowloris_connections_are_closed_and_the_service_keeps_answering(base: str, web: httpx.Client) -> None:
    sockets = [connect(base) for _ in range(30)]
    try:
        for sock in sockets:
            sock.sendall(b"POST /api/v1/verify/lookup HTTP/1.1\r\nHost: x\r\n")
        for _ in range(3):  # keep dripping header bytes, as slowloris does
            time.sleep(0.2)
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X-a: b\r\n")
        assert _alive(web)  # answered meanwhile
        for sock in sockets:
            assert closed_by_server(sock, within=5)
    finally:
        for sock in sockets:
            sock.close()
    assert _alive(web)


def test_slow_headers_on_a_kept_alive_connection_are_closed_too(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(request_head("GET", "/api/v1/health/live", {}))
        assert read_response(sock)[0] == 200  # a first, honest request keeps the connection alive
        sock.sendall(b"GET /api/v1/health/live HTTP/1.1\r\nHost: x\r\n")  # then the next one never ends
        status, _, _ = read_response(sock)
        assert status == 408
        assert closed_by_server(sock, within=5)


def test_endless_headers_are_refused(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(b"GET /api/v1/health/live HTTP/1.1\r\nHost: x\r\n")
        for _ in range(64):  # 64 x 1 KiB: twice the 32 KiB bound
            try:
                sock.sendall(b"X-Filler: " + b"a" * 1014 + b"\r\n")
            except OSError:
                break
        sock.settimeout(5)
        status, _, _ = read_response(sock)
        assert status == 431


def test_connections_past_the_limit_get_503_until_others_close(services: Services) -> None:
    with live_server(services, max_connections=6, header_timeout_seconds=30.0) as url:
        idle = [connect(url) for _ in range(6)]
        try:
            time.sleep(0.2)
            with httpx.Client(base_url=url, timeout=10) as web:
                assert web.get("/api/v1/health/live").status_code == 503
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=10) as web:
            assert web.get("/api/v1/health/live").status_code == 200


def test_upload_without_a_declared_length_is_cut_off_at_its_bound(services: Services) -> None:
    """Uploads (multipart) are read by the route as they stream: the bound holds there too."""
    with live_server(services, max_upload_bytes=256 * 1024) as url, connect(url) as sock:
        media = "multipart/form-data; boundary=x"
        sock.sendall(
            request_head("POST", "/api/v1/notary/files", {"Content-Type": media, "Transfer-Encoding": "chunked"})
        )
        chunk = b"--x\r\nContent-Disposition: form-data; name=files; filename=a\r\n\r\n" + b"a" * 65536
        status, _ = _drip_chunks(sock, chunk, 32)  # bounded: 2 MiB at most, eight times the bound
        assert status == 413
