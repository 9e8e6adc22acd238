"""How the service is served: the uvicorn options, with the bounds that belong below the application.

:func:`uvicorn_options` is what ``scripts/serve.py`` (and the tests' live servers) pass to uvicorn:

- **header deadline and size**: the request line and headers must arrive within
  ``header_timeout_seconds`` and fit in ``max_header_bytes`` (uvicorn has neither for its default
  httptools parser), on the first request of a connection and on every later one it keeps alive.
  A connection that sends its headers slowly (slowloris) is answered 408 and closed; one that sends too
  many header bytes is answered 431 and closed.
- **connections**: past ``max_connections`` open connections (or running requests), uvicorn answers 503;
  idle keep-alive connections close after ``keep_alive_seconds``.

Bodies are bounded in the application (:mod:`api.limits`), per route.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from api.settings import Settings

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Fast
except ImportError:  # pragma: no cover - httptools is optional in uvicorn
    _Fast = H11Protocol  # type: ignore[misc, assignment]

__all__ = ["BoundedHeaders", "BoundedHttpProtocol", "protocol_class", "uvicorn_options"]

_REFUSALS = {
    408: b"HTTP/1.1 408 Request Timeout\r\n",
    431: b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
}


class BoundedHeaders:
    """Mixin for a uvicorn HTTP protocol: a deadline and a byte budget for each request's headers.

    The deadline starts when a connection opens, and again when data arrives on a kept-alive connection
    whose last response is complete; it ends when the protocol has parsed the headers (a new request
    cycle exists).
    """

    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def __init__(self, *args: Any, header_timeout: float, max_header_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.max_header_bytes = max_header_bytes

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        self._header_bytes = 0
        self._waiting_cycle = self.cycle
        self._header_timer = self.loop.call_later(self.header_timeout, self._refuse, 408, "request headers too slow")

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the next request on a kept-alive connection
        if self._header_timer is not None:
            self._header_bytes += len(data)
        super().data_received(data)  # type: ignore[misc]
        if self._header_timer is None:
            return
        if self.cycle is not self._waiting_cycle:
            self._disarm()  # the headers are in
        elif self._header_bytes > self.max_header_bytes:
            self._refuse(431, "request headers too large")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _refuse(self, status: int, reason: str) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        body = reason.encode()
        self.transport.write(
            _REFUSALS[status]
            + b"content-type: text/plain\r\nconnection: close\r\n"
            + b"content-length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        self.transport.close()


class BoundedHttpProtocol(BoundedHeaders, _Fast):  # type: ignore[misc]
    """uvicorn's fastest HTTP protocol (httptools when installed) with :class:`BoundedHeaders`."""


def protocol_class(settings: Settings) -> Callable[..., asyncio.Protocol]:
    """The protocol factory for ``uvicorn.Config(http=...)`` with ``settings``' header bounds (a partial of
    a module-level class, so that uvicorn's worker processes can unpickle it)."""
    return functools.partial(
        BoundedHttpProtocol,
        header_timeout=settings.header_timeout_seconds,
        max_header_bytes=settings.max_header_bytes,
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` / ``uvicorn.run``: address, protocol and limits."""
    return {
        "host": settings.host,
        "port": settings.port,
        "http": protocol_class(settings),
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "server_header": False,
    }
