"""The single partner check, ``POST /api/v1/checks``, answered without FastAPI's routing and dependencies.

A single check is the service's hottest request (an airline asks at every boarding) and its own work is
small: one Ed25519 verification (~0.13 ms here), one index lookup, a nonce and an audit row. FastAPI's
request, routing and dependency machinery costs about as much again, so this ASGI middleware answers the
request itself when, and only when, everything about it is in order:

- the body parses as :class:`~api.routes.checks.CheckIn` (``Content-Type: application/json``);
- the signature headers verify (:meth:`~api.auth.Authenticator.verify`, no side effect yet);
- the client is a partner holding ``checks:read``.

Anything else (malformed JSON, an invalid subject, a bad or missing signature, a court client, a query
string, services not ready) goes on, untouched and with its body, to the FastAPI route in
:mod:`api.routes.checks`, which gives the documented error; that route answers valid requests the same
way too, and the tests compare both paths on every kind of request. Only after the checks above does
this path use the nonce up (a replay found then is also handed to the route, which refuses it) and
write the audit row, before answering.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import Headers

from api.errors import Unauthenticated
from api.limits import replay
from api.routes import API
from api.routes.checks import CheckIn, lookup

__all__ = ["FastSingleCheck"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = f"{API}/checks"
MAX_BODY = 16 * 1024  # a single check is a few hundred bytes; anything bigger is the route's business


class FastSingleCheck:
    """ASGI middleware: ``app.add_middleware(FastSingleCheck)``; see the module's docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != PATH
            or scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        body, state = await _read_body(receive)
        if state == "disconnected":
            return  # nobody to answer
        answer = await self._answer(scope, body) if state == "complete" else None
        if answer is None:
            await self.app(scope, replay(body, state == "complete", receive), send)
            return
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())],
        })
        await send({"type": "http.response.body", "body": answer})

    async def _answer(self, scope: Scope, body: bytes) -> bytes | None:
        """The response body, or None to hand the request to the route."""
        app = scope.get("app")
        services = getattr(getattr(app, "state", None), "services", None)
        if services is None:
            return None
        headers = Headers(scope=scope)
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return None
        try:
            request = CheckIn.model_validate_json(body)
        except ValidationError:
            return None
        raw_path = scope.get("raw_path")
        target = raw_path.decode("latin-1") if raw_path else scope["path"]
        try:
            client, nonce, expires_at = services.auth.verify("POST", target, headers, body,
                                                             scheme=scope.get("scheme", "http"))
        except Unauthenticated:
            return None
        if client.kind != "partner" or "checks:read" not in client.scopes:
            return None
        blind = request.subject.blind(services.blind_key)
        mask, at, ((restricted, until),) = lookup(services, [blind], request.restriction)
        once = services.audit.record_once(client.client_id, nonce, expires_at, at, mask, blind, restricted, until)
        if not await once:
            return None  # a replay: the route refuses it with the same problem document
        services.auth.purge_due()
        return json.dumps({"restricted": restricted, "until": until}, separators=(",", ":")).encode()


async def _read_body(receive: Receive) -> tuple[bytes, str]:
    """The body read so far and its state: complete, partial (more than MAX_BODY), or disconnected."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", "disconnected"
        chunk = message.get("body", b"")
        parts.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(parts), "complete"
        if size > MAX_BODY:
            return b"".join(parts), "partial"
