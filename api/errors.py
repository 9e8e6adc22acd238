"""Errors as RFC 9457 problem responses: the one place that decides status codes.

Contract: routes raise; they never build error responses. :func:`install` registers handlers that turn

- the library's :class:`~ledger.errors.LedgerError` tree (by class, most specific first),
- the service's own :class:`ServiceError` tree (authentication, authorisation, idempotency, rate limits),
- request validation errors (422, with the input values removed: no ID number is ever echoed back)

into ``application/problem+json`` bodies with ``type``, ``title``, ``status`` and ``detail``. The
``title`` is the catalog's (``ledger/messages.json``, key ``problem.<slug>``) in the language
``Accept-Language`` asks for (zh, en or fr; en by default), named in ``Content-Language``; the type, the
slug and the English detail stay as they are, so clients branch on ``type``, never on the title. A contract
revert adds ``error`` (the decoded custom error name) and ``arguments``; a verification failure adds
``step``, ``reason`` and the ``steps`` that passed. Unexpected exceptions become a bare 500 whose detail
says nothing about the request.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError as PydanticValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import (
    ChainError,
    ChainUnavailableError,
    ConfigurationError,
    ContractRevertError,
    DeploymentError,
    LedgerError,
    NotFoundError,
    SubjectErasedError,
    TransactionError,
    ValidationError,
    VaultError,
    VerificationError,
)
from ledger.messages import catalog, negotiate

__all__ = [
    "PROBLEM_JSON",
    "Conflict",
    "Forbidden",
    "IdempotencyConflict",
    "NotFound",
    "NotReady",
    "RateLimited",
    "ServiceError",
    "TooLarge",
    "Unauthenticated",
    "install",
    "jsonable",
    "language_of",
    "problem",
    "title_in",
]

log = logging.getLogger("api")

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "/problems/"


class ServiceError(Exception):
    """An error of the service itself (not of the library). Subclasses fix status and title."""

    status = 500
    title = "Internal error"
    slug = "internal"
    headers: ClassVar[dict[str, str] | None] = None

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if headers:
            self.headers = headers  # type: ignore[misc]


class Unauthenticated(ServiceError):
    status, title, slug = 401, "Not authenticated", "unauthenticated"
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": 'Signature realm="judicial-trust-ledger"'}


class Forbidden(ServiceError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(ServiceError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(ServiceError):
    status, title, slug = 409, "Conflict", "conflict"


class IdempotencyConflict(Conflict):
    title, slug = "Idempotency key reused with another request", "idempotency-conflict"


class NotReady(Conflict):
    title, slug = "Not confirmed yet", "not-ready"


class TooLarge(ServiceError):
    status, title, slug = 413, "Request too large", "too-large"


class RateLimited(ServiceError):
    status, title, slug = 429, "Too many requests", "rate-limited"


#: library error class -> (status, title, slug); the first matching class in this order wins.
_LEDGER: list[tuple[type[LedgerError], int, str, str]] = [
    (ContractRevertError, 409, "Contract reverted", "contract-revert"),
    (VerificationError, 422, "Verification failed", "verification-failed"),
    (SubjectErasedError, 410, "Subject erased", "subject-erased"),
    (ValidationError, 422, "Invalid input", "invalid-input"),
    (NotFoundError, 404, "Not found", "not-found"),
    (ChainUnavailableError, 503, "Chain unavailable", "chain-unavailable"),
    (DeploymentError, 503, "Deployment unavailable", "deployment-unavailable"),
    (TransactionError, 502, "Transaction failed", "transaction-failed"),
    (ChainError, 502, "Chain error", "chain-error"),
    (VaultError, 500, "Vault error", "vault-error"),
    (ConfigurationError, 500, "Service misconfigured", "configuration"),
    (LedgerError, 500, "Ledger error", "ledger-error"),
]


try:  # the notary module is optional at import time
    from ledger.notary import NotAnchoredError

    _LEDGER.insert(0, (NotAnchoredError, 409, "Not anchored yet", "not-anchored"))
except ImportError:  # pragma: no cover
    pass


def jsonable(value: Any) -> Any:
    """Bytes as 0x-hex, containers recursively; everything else unchanged."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def title_in(lang: str, slug: str, status: int, fallback: str) -> str:
    """The catalog's title of a problem ``slug`` in ``lang`` (``http``: by status), else ``fallback``."""
    key = "problem." + slug.replace("-", "_")
    if slug == "http":
        key = f"problem.http_{status}" if f"problem.http_{status}" in catalog() else key
    entry = catalog().get(key)
    return entry[lang] if entry is not None else fallback


def language_of(headers: Any) -> str:
    """The language a request asks for: ``Accept-Language`` of a Request's headers or an ASGI scope's."""
    if isinstance(headers, list):  # ASGI scope headers: [(name, value), ...] in bytes
        value = next((v.decode("latin-1") for k, v in headers if k.lower() == b"accept-language"), None)
        return negotiate(value)
    return negotiate(headers.get("accept-language"))


def problem(
    status: int, title: str, slug: str, detail: str, *, headers: dict[str, str] | None = None,
    lang: str | None = None, **extra: Any
) -> JSONResponse:
    """A problem document; with ``lang``, its title from the catalog in that language."""
    if lang is not None:
        title = title_in(lang, slug, status, title)
        headers = {**(headers or {}), "Content-Language": lang}
    body = {"type": _TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update({k: jsonable(v) for k, v in extra.items()})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def ledger_problem(exc: LedgerError, lang: str | None = None) -> JSONResponse:
    status, title, slug = next((s, t, g) for cls, s, t, g in _LEDGER if isinstance(exc, cls))
    extra: dict[str, Any] = {}
    detail = str(exc)
    if isinstance(exc, ContractRevertError):
        extra = {"error": exc.error, "arguments": exc.arguments}
        if exc.contract:
            extra["contract"] = exc.contract
    elif isinstance(exc, VerificationError):
        steps = getattr(exc, "steps", [])
        extra = {
            "step": exc.step,
            "reason": exc.reason,
            "steps": [{"name": s.name, "ok": True, "detail": s.detail} for s in steps],
        }
    if status >= 500:
        # Library messages carry no personal data, but server-side faults are not the client's business.
        log.error("ledger error answered %s: %s", status, type(exc).__name__)
        if isinstance(exc, ConfigurationError | VaultError):
            detail = "the service cannot complete this request; see the service log"
    return problem(status, title, slug, detail, lang=lang, **extra)


#: A key the error may name: what a schema's field names look like. Anything else (an ID number sent as a
#: key, free text) is described, never echoed.
_NAMEABLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,39}$")
_MIN_SECRET = 4  # shorter ASCII strings ("CN", "x") are too common to scrub without mangling every message


def _request_strings(value: Any, out: set[str]) -> set[str]:
    """Every value of a request body (and every key that is not a field name): what a message must not
    repeat. Keys that look like field names are kept, so a message may still name the field."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not _nameable(str(k)):
                out.add(str(k))
            _request_strings(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _request_strings(v, out)
    elif isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= _MIN_SECRET or (len(text) >= 2 and not text.isascii()):
            out.add(text)
            out.update(part for part in re.findall(r"[0-9A-Za-z]+", text) if len(part) >= 6)
    return out


def _nameable(key: str) -> bool:
    return bool(_NAMEABLE_KEY.match(key)) and not re.search(r"\d{4}", key)


def _scrub(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "<redacted>")
    return text


def _loc_part(part: Any) -> str:
    return str(part) if isinstance(part, int) or _nameable(str(part)) else "<unknown key>"


def _clean_errors(errors: Any, body: Any = None) -> list[dict[str, Any]]:
    """loc, msg and type of each validation error: never the input, never its context, and neither in
    the message nor in the location any string the request carried (an unknown key is named only when it
    looks like a field name; an ID number sent as a key is "<unknown key>")."""
    secrets = _request_strings(body, set())
    for err in errors:
        _request_strings(err.get("input"), secrets)
    out = []
    for err in errors:
        out.append(
            {
                "loc": [_loc_part(p) for p in err.get("loc", ())],
                "msg": _scrub(str(err.get("msg", "")), secrets),
                "type": str(err.get("type", "")),
            }
        )
    return out


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""

    @app.exception_handler(LedgerError)
    async def _ledger(request: Request, exc: LedgerError) -> JSONResponse:
        return ledger_problem(exc, language_of(request.headers))

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.slug, exc.detail, headers=exc.headers,
                       lang=language_of(request.headers))

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(
            422,
            "Invalid request",
            "invalid-request",
            "the request does not match the schema",
            lang=language_of(request.headers),
            errors=_clean_errors(exc.errors(), exc.body),
        )

    @app.exception_handler(PydanticValidationError)
    async def _pydantic(request: Request, exc: PydanticValidationError) -> JSONResponse:
        return problem(
            422,
            "Invalid input",
            "invalid-input",
            "a value is not acceptable",
            lang=language_of(request.headers),
            errors=_clean_errors(exc.errors()),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        return problem(exc.status_code, title, "http", str(exc.detail), headers=getattr(exc, "headers", None),
                       lang=language_of(request.headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The frames, not the message: an unknown exception's message might quote request data.
        log.error(
            "unexpected %s on %s %s\n%s",
            type(exc).__name__,
            request.method,
            request.url.path,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return problem(500, "Internal error", "internal", "the service failed; see the service log",
                       lang=language_of(request.headers))
