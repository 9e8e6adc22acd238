"""The judicial trust ledger's HTTP service: FastAPI routers over the ``ledger`` library.

Layout: :mod:`api.app` (the application), :mod:`api.settings`, :mod:`api.auth` (signed requests and the
client registry), :mod:`api.deps` (Annotated dependencies), :mod:`api.errors` (problem responses),
:mod:`api.outbox` and :mod:`api.worker` (durable submission), :mod:`api.services` (wiring),
:mod:`api.routes` (one router per resource), :mod:`api.limits` (request bounds), :mod:`api.serving`
(uvicorn options), :mod:`api.health` (liveness and readiness).

Importing this package lowers the interpreter's recursion limit back to its default once the libraries
that raise it are loaded (see :func:`api.limits.restore_recursion_limit`).
"""

from api.limits import restore_recursion_limit

restore_recursion_limit()
