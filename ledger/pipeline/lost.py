"""Transactions settled in blocks the chain no longer holds: found newest block first.

A node may lose its newest blocks (anvil killed between two state dumps and restarted from the last one;
a reorganisation), and the transactions in them. The owner of the settled writes (the outbox, the
notary) answers, for a block bound, what it settled in its newest block below the bound; the block's
hash is compared with the chain's block of that number (one call when nothing was lost). On a difference
the stale ones go to ``handle`` (which settles them from their receipt if they were mined again
elsewhere, or sends them again), and the walk goes on below, down to a block the chain still holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from ledger.pipeline.journal import JournalRow
from ledger.pipeline.rpc import block_hash, receipt

__all__ = ["Settled", "recheck_journal", "recheck_lost_blocks"]


class Settled(Protocol):
    @property
    def block_number(self) -> int | None: ...

    @property
    def block_hash(self) -> str | None: ...


S = TypeVar("S", bound=Settled)


def recheck_lost_blocks(
    w3: Any, newest_below: Callable[[int | None], Sequence[S]], handle: Callable[[S, int], None]
) -> int:
    """Hand every write settled in a block the chain lost to ``handle(write, block_number)``; how many.

    ``newest_below(bound)`` returns the writes settled in the newest block below ``bound`` (no bound:
    the newest block of all), all in one block, or nothing.
    """
    moved = 0
    below: int | None = None
    while True:
        settled = newest_below(below)
        if not settled:
            return moved
        number = settled[0].block_number
        assert number is not None
        held = block_hash(w3, number)
        stale = [s for s in settled if s.block_hash != held]
        if not stale:
            return moved  # the chain holds this block, so every earlier one too
        for write in stale:
            handle(write, number)
            moved += 1
        below = number


def recheck_journal(
    w3: Any,
    newest_below: Callable[[int | None], Sequence[JournalRow]],
    *,
    mined_again: Callable[[JournalRow, Any], bool],
    lost: Callable[[JournalRow, int], None],
) -> int:
    """:func:`recheck_lost_blocks` over the journal's settled transactions (:mod:`ledger.pipeline.journal`).

    A transaction whose block is gone and that has a receipt again (mined again, in another block) goes to
    ``mined_again(row, receipt)``, which settles its owner from it and answers True (False: treat it as
    lost); any other goes to ``lost(row, block_number)``, where its owner goes back to be sent again (the
    same stored bytes when it has them).
    """

    def handle(row: JournalRow, number: int) -> None:
        found = receipt(w3, row.tx_hash)
        if found is not None and mined_again(row, found):
            return
        lost(row, number)

    return recheck_lost_blocks(w3, newest_below, handle)
