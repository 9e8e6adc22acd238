"""The FastAPI application: ``create_app(settings)`` builds it; ``app`` is the default one for uvicorn.

Run it with ``uvicorn api.app:app`` (settings from ``LEDGER_*`` variables, services built at startup),
``uvicorn --factory api.app:create_app``, or ``python scripts/serve.py`` (chain, deployment, demo data,
then uvicorn on 127.0.0.1). OpenAPI at ``/openapi.json``, interactive docs at ``/docs``, the public
verification page (``api/static``, when present) at ``/verify``. Bodies are bounded in the app
(:mod:`api.limits`); header deadlines and connection limits need uvicorn started with
:func:`api.serving.uvicorn_options`, as ``scripts/serve.py`` does.

Given ready ``services`` (tests, scripts/serve.py), the caller owns their life cycle; otherwise the app
opens them at startup and closes them at shutdown.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api import errors, health
from api.checking import CheckServices
from api.fastcheck import FastSingleCheck
from api.limits import RequestLimits, restore_recursion_limit
from api.routes import API, checks, courts, defaulters, enforcement, judgments, records, sheet, status, verification
from api.services import Services
from api.settings import Settings

__all__ = ["app", "create_app", "create_check_app"]

STATIC = Path(__file__).resolve().parent / "static"
#: The JavaScript verifier (the npm package's sources), which the /verify page imports as it is, at /verify/lib.
VERIFIER_SRC = Path(__file__).resolve().parent.parent / "js" / "verifier" / "src"
#: Swagger UI and ReDoc, shipped inside the fastapi-offline package (we use its files, not its app class).
DOCS_ASSETS = Path(importlib.util.find_spec("fastapi_offline").origin or "").parent / "static"  # type: ignore[union-attr]

DESCRIPTION = """
Write judgments, enforcement actions and dishonest-debtor listings to the judicial trust ledger; let
partners check restrictions; let anyone verify a certificate.

**Authentication** (every endpoint except `/api/v1/verify/*` and `/api/v1/health`): RFC 9421 HTTP
Message Signatures with Ed25519. Send `Signature-Input` and `Signature` (one label, e.g. `sig1`)
covering at least `"@method"`, `"@path"`, `"@query"` and, when there is a body, `"content-digest"`
(with `Content-Digest: sha-256=:BASE64:` per RFC 9530), with the parameters `created` (unix seconds,
±300 s), `keyid` (your client id), `nonce` (16-128 characters of `[A-Za-z0-9_+/=-]`, single use) and
optionally `alg="ed25519"`. Any RFC 9421 library can sign (see docs/clients.md; `ledger sign` prints the
headers for curl). The former `X-Client-Id`/`X-Timestamp`/`X-Nonce`/`X-Signature` headers are not
accepted. A refused signature is a 401 problem document saying what was wrong.

**Writes** answer `202 Accepted` once the write is durably stored, with the outbox id to poll at
`/api/v1/records/{outbox_id}` (accepted -> submitted -> confirmed | failed). Send an `Idempotency-Key`
header to retry safely. Errors are RFC 9457 problem documents.
"""


class HealthOut(BaseModel):
    status: str
    chain_id: int
    indexed_block: int


def _application(
    title: str,
    description: str,
    given: Any,
    open_services: Callable[[], Any],
    close_services: Callable[[Any], None],
    fast_checks: bool,
    settings: Settings | None,
) -> FastAPI:
    """A FastAPI app with our error handling and request bounds whose ``state.services`` is ``given``, or
    is opened at start (``open_services``, in a worker thread) and closed at shutdown. The bounds come from
    ``settings``, else the given services' settings, else the environment."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if given is not None:
            app.state.services = given
            yield
            return
        opened = await run_in_threadpool(open_services)
        try:
            app.state.services = opened
            yield
        finally:
            await run_in_threadpool(close_services, opened)

    application = FastAPI(
        title=title,
        version="0.1.0",
        description=description,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served from our own files below: air-gapped courts reach no CDN
        redoc_url=None,
    )
    _install_docs(application, title)
    if given is not None:
        application.state.services = given
    errors.install(application)
    if fast_checks:
        application.add_middleware(FastSingleCheck)
    bounds = settings or (given.settings if given is not None else Settings())
    application.add_middleware(RequestLimits, settings=bounds)  # added last: runs first
    return application


def _install_docs(application: FastAPI, title: str) -> None:
    """Swagger UI at ``/docs`` and ReDoc at ``/redoc`` from the files the ``fastapi-offline`` package ships,
    mounted at ``/docs-static``: the pages load nothing from outside the service."""
    application.mount("/docs-static", StaticFiles(directory=DOCS_ASSETS), name="docs-static")

    @application.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title}: API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon.png",
        )

    @application.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{title}: API",
            redoc_js_url="/docs-static/redoc.standalone.js",
            redoc_favicon_url="/docs-static/favicon.png",
            with_google_fonts=False,
        )


def create_app(
    settings: Settings | None = None, *, services: Services | None = None, fast_checks: bool = True
) -> FastAPI:
    """The application. Without ``services``, they are opened at startup from ``settings`` (or the env).
    ``fast_checks``: answer valid single checks in :class:`api.fastcheck.FastSingleCheck` (the default)."""

    def open_services() -> Services:
        opened = Services.open(settings or Settings())
        try:
            opened.start()
        except BaseException:
            opened.close()
            raise
        return opened

    application = _application(
        "Judicial trust ledger", DESCRIPTION, services, open_services, Services.close, fast_checks, settings
    )
    for module in (courts, judgments, enforcement, defaulters, checks, verification, sheet, records, status):
        application.include_router(module.router)
    if importlib.util.find_spec("api.routes.notary") is not None:
        application.include_router(importlib.import_module("api.routes.notary").router)

    @application.get(f"{API}/health", response_model=HealthOut, tags=["health"], summary="Liveness")
    async def health_summary() -> HealthOut:
        svc: Services = application.state.services
        return HealthOut(status="ok", chain_id=svc.chain.chain_id, indexed_block=svc.indexed_block)

    health.install(application)

    if STATIC.is_dir():
        # The page's verifier is js/verifier itself, not a copy (mounted first: /verify would take the path).
        application.mount("/verify/lib", StaticFiles(directory=VERIFIER_SRC), name="verifier")
        application.mount("/verify", StaticFiles(directory=STATIC, html=True), name="verify")

        @application.get("/", include_in_schema=False)
        async def home() -> RedirectResponse:
            return RedirectResponse("/verify/")

    return application


class CheckHealthOut(BaseModel):
    status: str
    role: str
    indexed_block: int


def create_check_app(settings: Settings | None = None, *, services: CheckServices | None = None) -> FastAPI:
    """Partner checks only (``POST /api/v1/checks``, ``/checks/batch``, health), answered from the index
    the main service keeps on the same data directory. Holds no key but the blind-index key, never talks
    to the chain, and can run in several worker processes:
    ``uvicorn --factory api.app:create_check_app --workers N`` or ``python scripts/serve.py checks``."""
    application = _application(
        "Judicial trust ledger: partner checks",
        DESCRIPTION.split("**Writes**")[0],
        services,
        lambda: CheckServices.open(settings or Settings()),
        CheckServices.close,
        True,
        settings,
    )
    application.include_router(checks.router)
    health.install_for_checks(application)

    @application.get(f"{API}/health", response_model=CheckHealthOut, tags=["health"], summary="Liveness")
    async def health_summary() -> CheckHealthOut:
        svc: CheckServices = application.state.services
        return CheckHealthOut(status="ok", role="checks", indexed_block=svc.indexed_block)

    return application


app = create_app()
restore_recursion_limit()  # after every import above: py_ecc raises it (see api.limits)
