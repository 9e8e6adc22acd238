"""The indexer: events per second while syncing, and the time to rebuild the index from the chain.

A chain of its own is filled with enforcement stories: a judgment, its
case filing, two actions (notice, asset inquiry), a listing of the debtor, and for one story in four the
listing's removal: 5.25 records (one event each) per story. The records are written with
:class:`benchmarks.harness.BulkWriter` (anvil signs for its unlocked dev account, 100 transactions per
block), which is how a big chain is made in minutes; the contracts and their events are the real ones.
That chain's anvil runs without ``--state`` persistence (:class:`benchmarks.harness.MemoryAnvil`): the
project's node rewrites its entire history every second, which made filling 100,000 records 2.4 times
slower (756 s against 312 s) and competes with the sync for the CPU; the indexer only reads the chain.

At each size (10x steps) a fresh index file is built from the deployment block by ``Indexer.sync`` (the
library's defaults: ranges of 500 blocks, one ``eth_getLogs`` per range): that is the rebuild time, and
events / rebuild time is the sync rate. Sizes not measured in this run are extrapolated from the largest
one that was, and marked so.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from datetime import date

from benchmarks.common import Context
from benchmarks.gas import CASE_KEY
from benchmarks.harness import BulkWriter, Calldata, ChainEnv, direct_call
from ledger.records import (
    Action,
    ActionKind,
    Filing,
    Ground,
    Judgment,
    Listing,
    Removal,
    RemovalReason,
    Restriction,
    case_number_digest,
)

NAME = "index"
RECORDS_PER_STORY = 5.25
PER_BLOCK = 100
GAS = {Judgment: 80_000, Filing: 160_000, Action: 70_000, Listing: 180_000, Removal: 60_000}


def stories(env: ChainEnv, court: int, first: int, count: int, now: int) -> Iterator[tuple[Calldata, int]]:
    ledger = env.ledger
    for n in range(first, first + count):
        seed = n.to_bytes(8, "big")
        j = Judgment(
            court=court,
            case_number_digest=case_number_digest(CASE_KEY, f"(2024)京0108民初{n}号"),
            document_digest=os.urandom(24) + seed,
            parties_commitment=os.urandom(32),
            amount=1_000_000 + n,
            currency="CNY",
            judgment_date=date(2024, 1, 2),
            effective_date=date(2024, 1, 20),
        )
        f = Filing(
            court=court,
            judgment_id=j.record_id(),
            case_number_digest=case_number_digest(CASE_KEY, f"(2024)京0108执{n}号"),
            amount_due=1_000_000 + n,
            filed_at=date(2024, 2, 1),
        )
        case = f.record_id()
        listing = Listing(
            court=court,
            subject=os.urandom(24) + seed,
            case_id=case,
            ground=Ground.ABLE_BUT_REFUSES,
            restrictions=Restriction.FLIGHTS | Restriction.RAIL,
            listed_at=now,
            until=now + 700 * 86_400,
        )
        records = [
            j,
            f,
            Action(case_id=case, sequence=0, kind=ActionKind.NOTICE),
            Action(case_id=case, sequence=1, kind=ActionKind.ASSET_INQUIRY, detail=0b101),
            listing,
        ]
        if n % 4 == 3:
            records.append(Removal(listing_id=listing.record_id(), reason=RemovalReason.PERFORMED, sequence=0))
        for record in records:
            yield direct_call(ledger, record), GAS[type(record)]


def run(ctx: Context) -> None:
    from ledger.index import Index, Indexer

    env = ChainEnv(ctx.tmp / "index-chain", persist=False)
    ctx.on_close(env.close)
    signer = env.chain.accounts[4]  # an anvil dev account: anvil signs its transactions (bulk load)
    court, _ = env.new_court(signer=signer, fund=False)
    writer = BulkWriter(env.chain, per_block=PER_BLOCK)
    made_stories = 0
    sizes = ctx.pick([1_000, 10_000], [1_000, 10_000, 100_000])
    rate = None
    for size in sizes:
        wanted = math.ceil(size / RECORDS_PER_STORY)
        t0 = time.perf_counter()
        written = writer.send(
            signer.address, stories(env, court.id, made_stories, wanted - made_stories, env.block_time())
        )
        made = time.perf_counter() - t0
        made_stories = wanted
        ctx.record(
            "bulk load into anvil (not the library's write path)",
            written / made,
            "tx/s",
            size=size,
            note=f"{written:,} transactions in {made:.0f} s; anvil signs, {PER_BLOCK} per block",
        )
        path = ctx.tmp / f"index-{size}.db"
        index = Index(path)
        try:
            t0 = time.perf_counter()
            result = Indexer(env.ledger, index).sync()
            elapsed = time.perf_counter() - t0
            stats = index.statistics()
        finally:
            index.close()
        if stats["judgments_recorded"] != made_stories:
            raise RuntimeError(f"index holds {stats['judgments_recorded']} judgments, the chain {made_stories}")
        records = result.events
        rate = records / elapsed
        ctx.record(
            "index rebuild from the chain (fresh file, Indexer.sync)",
            elapsed,
            "s",
            size=records,
            note=f"{result.to_block - result.from_block + 1:,} blocks; {os.path.getsize(path) / 1e6:.0f} MB",
        )
        ctx.record("indexer sync rate", rate, "events/s", size=records)
    if rate is not None and sizes[-1] < 100_000:
        ctx.record(
            "index rebuild from the chain (fresh file, Indexer.sync)",
            100_000 / rate,
            "s",
            size=100_000,
            basis="extrapolated",
            note=f"from the {sizes[-1]:,}-record rate, assuming it stays linear",
        )
