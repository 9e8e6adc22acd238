"""Judicial trust ledger: the library a court or a verifier needs, with no web framework."""

__version__ = "0.1.0"
