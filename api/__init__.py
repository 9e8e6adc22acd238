"""The judicial trust ledger's HTTP service: FastAPI routers over the ``ledger`` library.

Layout: :mod:`api.app` (the application), :mod:`api.settings`, :mod:`api.auth` (signed requests and the
client registry), :mod:`api.deps` (Annotated dependencies), :mod:`api.errors` (problem responses),
:mod:`api.outbox` and :mod:`api.worker` (durable submission), :mod:`api.services` (wiring),
:mod:`api.routes` (one router per resource).
"""
