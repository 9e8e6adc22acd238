"""The interpreter's recursion limit, kept at its default.

py_ecc (imported by eth-keys, so by eth-account) raises ``sys.setrecursionlimit`` to 100,000 at import,
and py-evm to 12,288. Under such a limit the C JSON parser overflows the C stack on a document nested a
few tens of thousands deep (a segfault) instead of raising ``RecursionError``. Every entry point that
parses outside input (the service before each request, the console script before it reads a file) calls
:func:`restore_recursion_limit`; importing :mod:`ledger` does too.
"""

from __future__ import annotations

import sys

__all__ = ["RECURSION_LIMIT", "restore_recursion_limit"]

#: CPython's default: deep enough for the library and the service, shallow enough that C recursion cannot
#: exhaust the stack.
RECURSION_LIMIT = 1000


def restore_recursion_limit() -> None:
    """Import the libraries known to raise the recursion limit (so they cannot raise it later), then lower
    it back to :data:`RECURSION_LIMIT` if anything raised it."""
    import py_ecc  # noqa: F401  (raises the limit to 100,000 on import)

    if sys.getrecursionlimit() > RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
