"""Concurrent writers against one court, through the real service (uvicorn + anvil on loopback).

20 client threads post judgments for 10 seconds, each request with its own Idempotency-Key. The outbox
worker serialises the court's transactions on one signer account: no client ever sees a nonce error (every
request is answered 202), every accepted record is confirmed, none twice, and the signer's nonces have no
gap: its on-chain transaction count equals the number of its confirmed transactions, which used the nonces
0, 1, 2, ... exactly once.
"""

from __future__ import annotations

import os
import sqlite3
import time

import pytest
from web3 import Web3

from tests.api._service import Load, Service, admit_court, assert_exactly_once

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

WRITERS = 20
SECONDS = 10.0


def test_twenty_writers_for_ten_seconds_one_court(tmp_path):
    court_id = 61_000 + os.getpid() % 1000
    service = Service(tmp_path / "data")
    try:
        service.start()
        court, signer = admit_court(service, service.dev_client("dev-governance"), court_id, "court-busy")

        load = Load(service.base, court.client_id, court.key, "busy", 40_000)
        started = time.monotonic()
        load.run(WRITERS, seconds=SECONDS, retry_for=5.0)
        accepting = time.monotonic() - started

        statuses = load.statuses()
        assert sorted(statuses) == [202], (statuses, [p for o in load.outcomes.values() for p in o.problems][:3])
        assert not [o for o in load.outcomes.values() if o.exceptions], "a request got no answer"
        accepted = len(load.accepted())
        assert accepted >= WRITERS  # every writer got through at least once

        records = assert_exactly_once(court, load, service.node_url(), service.data_dir, court_id)
        confirming = time.monotonic() - started
        assert all(r["error"] is None for r in records.values())

        w3 = Web3(Web3.HTTPProvider(service.node_url()))
        assert w3.eth.get_transaction_count(Web3.to_checksum_address(signer)) == accepted
        with sqlite3.connect(f"file:{service.data_dir / 'outbox.sqlite'}?mode=ro", uri=True) as db:
            nonces = [n for (n,) in db.execute("SELECT nonce FROM outbox WHERE sender = ? ORDER BY nonce", (signer,))]
        assert nonces == list(range(accepted))
        print(
            f"\nconcurrency: {WRITERS} writers x {SECONDS:g}s: accepted={accepted} "
            f"({accepted / accepting:.1f}/s), all confirmed after {confirming:.1f}s "
            f"({accepted / confirming:.1f}/s end to end), signer nonce={accepted}"
        )
    finally:
        service.stop()
