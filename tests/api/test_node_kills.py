"""The local chain node SIGKILLed again and again at random moments while the service writes.

Each kill hits anvil (possibly while it writes its dump), the state keeper (possibly while it replaces
``state.json``) or both at once; the node is started again at once on the same data dir. Every start must
succeed, on the same genesis block, and in the end every judgment the service acknowledged (202) is
confirmed and on chain exactly once. The number of kills is what fits in ``JTL_NODE_KILL_SECONDS``
(default 45 s, about 35 kills) or exactly ``JTL_NODE_KILLS``; ``python -m benchmarks.node_kills`` runs 200.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from ledger._node import ensure_node, rpc_chain_id
from tests.api._service import Load, Service, admit_court, assert_exactly_once, kill_node, outbox_counts

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

KILL_SECONDS = float(os.environ.get("JTL_NODE_KILL_SECONDS", "45"))
KILLS = int(os.environ.get("JTL_NODE_KILLS", "0"))  # 0: as many as fit in KILL_SECONDS


def _genesis(url: str) -> str:
    import httpx

    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["0x0", False]}
    return str(httpx.post(url, json=body, timeout=10).json()["result"]["hash"])


def test_random_kills_of_the_node_lose_no_acknowledged_write(tmp_path: Path) -> None:
    rng = random.Random(os.getpid())
    court_id = 54_000 + os.getpid() % 1000
    service = Service(tmp_path / "data")
    service.start()
    chain_dir = service.data_dir / "chain"
    restarted = []
    try:
        gov = service.dev_client("dev-governance")
        court = admit_court(service, gov, court_id, f"court-{court_id}")[0]
        genesis = _genesis(service.node_url())
        load = Load(service.base, court.client_id, court.key, "kills", 40_000).start(2, seconds=3_600, pause=0.1)
        load.wait_accepted(5)
        kinds: Counter[str] = Counter()
        started = time.monotonic()
        while (kinds.total() < KILLS) if KILLS else (time.monotonic() - started < KILL_SECONDS):
            time.sleep(rng.uniform(0.0, 1.5))  # any moment: mid-dump, mid-copy, mid-block, idle
            which = rng.choice(["anvil", "anvil", "keeper", "both"])
            kill_node(chain_dir, which)
            kinds[which] += 1
            node = ensure_node(chain_dir, detach=True)  # must start every time, whatever the files hold
            restarted.append(node)
            assert rpc_chain_id(node.url) == 31337
            assert _genesis(node.url) == genesis, f"kill {kinds.total()} ({which}) changed the genesis block"
        killing = time.monotonic() - started
        load.stop()
        load.join()
        records = assert_exactly_once(court, load, restarted[-1].url, service.data_dir, court_id, timeout=600)
        assert len(records) == len(load.accepted()) > 0
        print(
            f"\nnode kills: {kinds.total()} ({dict(kinds)}) in {killing:.0f} s, "
            f"every start succeeded on the same genesis; {len(records)} acknowledged writes confirmed "
            f"exactly once; outbox {outbox_counts(service.data_dir)}"
        )
    finally:
        service.stop()
        for node in restarted:
            if node.is_alive():
                node.stop()
