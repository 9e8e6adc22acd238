"""The ``ledger`` console script: thin commands over the library.

A user's mistake (bad input, a revert, a missing deployment) prints one clear line and exits 1, without a
stack trace. Commands work on a data directory (``--data-dir``, default ``.data``) shared with the service.

One module per command group: ``chain`` (local node, deploy, bytecode check), ``courts`` (governance),
``judgments`` (records, status, dossiers), ``enforcement`` (cases and listings), ``notary``, ``verification``
(verify, trust descriptor, certificate), ``readmodel`` (index, stats, demo) and ``signing`` (``ledger sign``,
RFC 9421 request headers); ``base`` holds the application and ``main``, ``context`` the data dir's workspace
and chain, ``params`` the argument parsers and the printing of a write.
"""

from __future__ import annotations

from ledger.cli.base import app, main
from ledger.cli.signing import sign

app.command("sign")(sign)  # RFC 9421 request headers

# Importing a module registers its commands; ``ledger --help`` lists them in this order.
from ledger.cli import chain, courts, enforcement, judgments, notary, verification  # noqa: E402

# isort: split
from ledger.cli import readmodel  # noqa: E402  (``stats`` and ``demo`` come last)

__all__ = ["app", "chain", "courts", "enforcement", "judgments", "main", "notary", "readmodel", "verification"]
