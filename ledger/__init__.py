"""Judicial trust ledger: the library a court or a verifier needs, with no web framework.

Importing it keeps the interpreter's recursion limit at its default (see :mod:`ledger._recursion`).
"""

from ledger._recursion import restore_recursion_limit

__version__ = "0.1.0"

restore_recursion_limit()
