"""``python -m ledger.cli``: the console script."""

from ledger.cli import main

main()
