"""Digests per second through notarization: ``NotaryBatcher.submit_many`` until every receipt has its proof.

The batcher runs as the service runs it: its background thread closes a batch at 10,000 digests (or
after 2 s), builds the Merkle tree, stores it, signs the ``Anchor`` record and has a relayer send
``anchorBySig``. Clients submit in chunks of 10,000 digests. The clock runs from the first
``submit_many`` until ``receipts()`` returns every receipt anchored with its Merkle proof.
"""

from __future__ import annotations

import os
import time

from benchmarks.common import Context, Goal
from benchmarks.gas import shared_chain
from ledger.merkle import verify_notary_proof

NAME = "notary"
GOAL = Goal(">=", 5_000)
CHUNK = 10_000


def run(ctx: Context) -> None:
    from ledger.notary import NotaryBatcher, _build_tree

    env = shared_chain(ctx)
    court, _ = env.new_court()
    for n in ctx.pick([1_000], [10_000, 100_000]):
        store = ctx.tmp / f"notary-{n}.sqlite"
        batcher = NotaryBatcher(
            store, env.ledger, court.id, court.signer, relayer=env.relayer, max_size=10_000, max_age=2.0
        )
        try:
            digests = [os.urandom(32) for _ in range(n)]
            batcher.start()
            t0 = time.perf_counter()
            ids: list[str] = []
            for start in range(0, n, CHUNK):
                ids += batcher.submit_many(digests[start : start + CHUNK])
            t1 = time.perf_counter()
            deadline = time.monotonic() + 1_800
            while True:
                stats = batcher.stats()
                if stats["pending"] == 0 and stats["unfinished_batches"] == 0:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"notary batches not anchored after 30 min: {stats}")
                time.sleep(0.02)
            t_anchored = time.perf_counter()
            receipts = batcher.receipts(ids)
            t2 = time.perf_counter()
            missing = sum(1 for r in receipts if r.proof is None or r.state != "anchored")
            if missing:
                raise RuntimeError(f"{missing} of {n} receipts have no proof")
            sample = receipts[len(receipts) // 2]
            assert sample.root is not None and sample.proof is not None
            if not verify_notary_proof(sample.root, sample.digest, sample.nonce, sample.proof):
                raise RuntimeError("a notary proof does not verify")
            batches = batcher.stats()["anchored_batches"]
        finally:
            batcher.close()
        ctx.record(
            "notarization end to end (submit -> every receipt has its proof)",
            n / (t2 - t0),
            "digests/s",
            size=n,
            goal=GOAL if n >= 10_000 else None,
            note=f"{batches} batch(es) anchored; {t2 - t0:.2f} s"
            + ("; latency-bound: the batch closes by age (2 s), not by size" if n % 10_000 else ""),
        )
        ctx.record("notary submit_many (durable, SQLite FULL sync)", n / (t1 - t0), "digests/s", size=n)
        ctx.record("notary receipts() read with proofs", n / (t2 - t_anchored), "receipts/s", size=n)
        ctx.record("notary: last anchor confirmed after the last submit", t_anchored - t1, "s", size=n)

    # the Merkle tree of one full batch, alone
    entries = [(os.urandom(32), os.urandom(32)) for _ in range(10_000)]
    t0 = time.perf_counter()
    _build_tree(entries)
    ctx.record("Merkle tree of a 10,000-digest batch (build)", time.perf_counter() - t0, "s", size=10_000)
