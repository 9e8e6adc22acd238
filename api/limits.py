"""Every request bounded before it is read whole: the service's edge, as one ASGI middleware.

Contract of :class:`RequestLimits` (outermost of our middlewares, so it runs before the fast check path
and before FastAPI):

- **Body size per route** (:func:`route_limit`): a small default; larger only for batch checks and notary
  digest batches, judgments and certificates (many parties, many actions) and file uploads. A declared
  ``Content-Length`` over the limit is refused at once (413, ``connection: close``), before any byte of the
  body is read; a chunked body is counted as it arrives and refused the moment it passes the limit.
- **Body read deadline**: the whole body must arrive within the route's time (408 and ``connection:
  close`` otherwise), so a client dripping a body byte by byte holds a connection for a bounded time.
- **JSON routes** (every body except the notary uploads) must say ``Content-Type: application/json``
  (optionally ``; charset=utf-8``; 415 otherwise). The body is read whole (bounded), then, before anything
  parses it into objects, its nesting depth is measured on its brackets outside strings (400 past
  ``max_json_depth``); then it must be valid UTF-8 JSON with no duplicate key in any object and no
  ``NaN``/``Infinity`` (400, saying what is wrong, never quoting the body). The route then gets the same
  bytes.
- **Recursion limit**: py_ecc (imported by eth-keys) and py-evm raise ``sys.setrecursionlimit`` to 100,000
  and 12,288 at import, which lets the C JSON parser overflow the C stack (a segfault) instead of raising.
  :func:`restore_recursion_limit` puts the interpreter's default back; it runs when :mod:`api` is imported
  and again before every request this middleware passes on, if anything raised the limit since.

Header bounds (a read deadline for the request line and headers, a size cap) and connection limits live
in the uvicorn configuration, :mod:`api.serving`.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from api.errors import ServiceError, TooLarge, language_of, problem
from ledger._recursion import RECURSION_LIMIT, restore_recursion_limit

__all__ = [
    "RECURSION_LIMIT",
    "BodyTimeout",
    "Limit",
    "RequestLimits",
    "json_problem",
    "replay",
    "restore_recursion_limit",
    "route_limit",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTimeout(ServiceError):
    status, title, slug = 408, "Request timeout", "request-timeout"


@dataclass(frozen=True)
class Limit:
    """What a route accepts: body bytes, seconds to receive the body, and which media types."""

    max_body: int
    read_timeout: float
    media: str  # "json" | "multipart" | "json-or-multipart"


_API = "/api/v1"
_BATCH_PATHS = {f"{_API}/checks/batch", f"{_API}/notary/digests"}
_RECORD_PATHS = {f"{_API}/judgments", f"{_API}/verify/certificate"}
_UPLOAD = re.compile(rf"^{_API}/notary/(files|receipts/[^/]+/verify)$")


def route_limit(method: str, path: str, settings: Any) -> Limit:
    """The limit of one request, from its method and path (a handful of set look-ups: it runs per request)."""
    timeout = settings.body_timeout_seconds
    if method == "POST":
        if path in _BATCH_PATHS:
            return Limit(settings.max_batch_body_bytes, timeout, "json")
        if path in _RECORD_PATHS:
            return Limit(settings.max_record_body_bytes, timeout, "json")
        match = _UPLOAD.match(path)
        if match is not None:
            media = "multipart" if match.group(1) == "files" else "json-or-multipart"
            return Limit(settings.max_upload_bytes, settings.upload_timeout_seconds, media)
    return Limit(settings.max_body_bytes, timeout, "json")


# -- JSON shape, checked on bytes before any parse ----------------------------------------------------

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN = frozenset(b"[{")


def _too_deep(body: bytes, limit: int) -> bool:
    """True if arrays and objects nest deeper than ``limit``, counted on the brackets outside strings and
    without recursion: each pass of ``bytes.replace`` (C speed) removes the innermost pairs, so a body of
    depth d empties in d passes; what no pass can reduce (unbalanced brackets, invalid JSON anyway) is
    counted one by one on top of the levels removed, stopping as soon as the limit is passed."""
    if b"\\" in body:
        body = _ESCAPE.sub(b"", body)  # escapes (\" among them) only occur inside strings
    skeleton = b"".join(body.split(b'"')[::2]).translate(None, _NOT_BRACKET)  # what lies outside strings
    passes = 0
    while passes < limit:
        reduced = skeleton.replace(b"[]", b"").replace(b"{}", b"")
        if reduced == skeleton:
            break
        skeleton, passes = reduced, passes + 1
    else:
        if b"[]" in skeleton or b"{}" in skeleton:
            return True
    depth = passes  # the levels removed may sit under what is left (an unbalanced, so invalid, body)
    for byte in skeleton:
        if byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> None:
    if len(pairs) > 1 and len({key for key, _ in pairs}) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def json_problem(body: bytes, max_depth: int) -> str | None:
    """What is wrong with a JSON body (a sentence that never quotes it), or None if it may be parsed."""
    if _too_deep(body, max_depth):
        return f"the JSON body nests arrays and objects deeper than {max_depth} levels"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the body is not UTF-8 (byte {exc.start})"
    try:
        json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _Duplicate:
        return "an object in the JSON body has the same key twice; send each key once"
    except json.JSONDecodeError as exc:
        return f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except (ValueError, RecursionError) as exc:
        return f"the body is not acceptable JSON: {exc}" if isinstance(exc, ValueError) else "nested too deep"
    return None


# -- the middleware ---------------------------------------------------------------------------------


def _media_type(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value).lower()
    return None


def _json_media(value: bytes) -> bool:
    kind, _, params = value.partition(b";")
    if kind.strip() != b"application/json":
        return False
    params = params.strip().replace(b" ", b"")
    return params in (b"", b"charset=utf-8", b'charset="utf-8"')


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body already read, then whatever follows."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, title: str, slug: str, detail: str) -> None:
    """A problem document, then the connection is closed (its unread body is not worth reading)."""
    await problem(status, title, slug, detail, headers={"connection": "close"},
                  lang=language_of(scope.get("headers", [])))(scope, receive, send)


_UNSUPPORTED = ("Unsupported media type", "unsupported-media-type")
_JSON_ONLY = "send the body as Content-Type: application/json (charset utf-8)"


class RequestLimits:
    """ASGI middleware bounding each HTTP request; see the module's docstring. ``settings`` gives the limits."""

    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if sys.getrecursionlimit() > RECURSION_LIMIT:
            sys.setrecursionlimit(RECURSION_LIMIT)
        method = scope["method"]
        limit = route_limit(method, scope["path"], self.settings)
        declared = _declared_length(scope)
        if declared is not None and declared > limit.max_body:
            await _refuse(scope, receive, send, 413, TooLarge.title, TooLarge.slug, _too_large(limit))
            return
        if method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, self._bounded(receive, limit), send)
            return
        media = _media_type(scope)
        is_json = media is not None and _json_media(media)
        if limit.media == "multipart" or (limit.media == "json-or-multipart" and not is_json):
            if media is None or not media.startswith(b"multipart/form-data"):
                wanted = "multipart/form-data" if limit.media == "multipart" else "JSON or multipart/form-data"
                await _refuse(scope, receive, send, 415, *_UNSUPPORTED, f"send this request as {wanted}")
                return
            await self.app(scope, self._bounded(receive, limit), send)
            return
        if media is not None and not is_json:
            await _refuse(scope, receive, send, 415, *_UNSUPPORTED, _JSON_ONLY)
            return
        body = await self._read(scope, receive, send, limit)
        if body is None:
            return
        if body:
            wrong = _JSON_ONLY if not is_json else json_problem(body, self.settings.max_json_depth)
            if wrong is not None:
                status, title, slug = (
                    (415, *_UNSUPPORTED) if not is_json else (400, "Malformed request", "malformed-json")
                )
                await _refuse(scope, receive, send, status, title, slug, wrong)
                return
        await self.app(scope, replay(body, True, receive), send)

    async def _read(self, scope: Scope, receive: Receive, send: Send, limit: Limit) -> bytes | None:
        """The whole body, or None once a problem has been answered (or the client left)."""
        parts: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + limit.read_timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return None  # disconnected: nobody to answer
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit.max_body:
                        await _refuse(scope, receive, send, 413, TooLarge.title, TooLarge.slug, _too_large(limit))
                        return None
                    parts.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _refuse(scope, receive, send, 408, BodyTimeout.title, BodyTimeout.slug, _too_slow(limit))
            return None
        return b"".join(parts)

    def _bounded(self, receive: Receive, limit: Limit) -> Receive:
        """``receive`` counting the body and enforcing the deadline; the app's error handler answers."""
        size = 0
        deadline: float | None = None

        async def bounded() -> Message:
            nonlocal size, deadline
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + limit.read_timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(_too_slow(limit), headers={"connection": "close"}) from None
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit.max_body:
                    raise TooLarge(_too_large(limit), headers={"connection": "close"})
            return message

        return bounded


def _too_large(limit: Limit) -> str:
    return f"the body is larger than this endpoint accepts ({limit.max_body:,} bytes)"


def _too_slow(limit: Limit) -> str:
    return f"the body did not arrive within {limit.read_timeout:g} seconds"
