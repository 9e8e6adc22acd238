"""Benchmarks of the judicial trust ledger, apart from the tests: ``python -m benchmarks.run [--quick]``.

Each module measures one area and records figures through :class:`benchmarks.common.Context`; the runner
prints them as a table and writes them as JSON. A benchmark prints figures and compares them with the
goals; it never fails on a timing (it fails only when the code under measurement raises).

Areas (``--only`` names): ``gas`` (gas of every write, notary batches, the EAS peer and the calldata
floor), ``writes`` (records per second through the library), ``service`` (writes through the HTTP
service), ``notary`` (digests per second through notarization), ``verify`` (certificate verification
offline, online and over HTTP), ``checks`` (partner checks over HTTP and in the index) and ``index``
(indexer sync and rebuild).
"""
