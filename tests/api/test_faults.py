"""Faults under load, against the real service (uvicorn + anvil on loopback, a temporary data dir).

1. The service is SIGKILLed while 12 clients post 500 judgments; it is started again on the same data dir.
2. The chain node is SIGKILLed in the middle of the same load (anvil keeps its state up to the last
   second: blocks mined after its last dump are lost) and started again, on another port.
3. The node is stopped for a while; writes are accepted into the outbox meanwhile; it comes back.

Each time: every key that got a 202 ends confirmed, on chain exactly once, with the record the client
was told about; a retry with the same Idempotency-Key returns the same record; no judgment is twice on
chain. The clients retry a request that got no answer with the same key, as the API asks them to.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ledger._node import running_node
from ledger.chain import connect
from tests.api._service import (
    Load,
    Service,
    admit_court,
    assert_exactly_once,
    block_number,
    kill_node,
    outbox_counts,
    wait_final,
)
from tests.api.conftest import ApiClient

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

RECORDS = 500
THREADS = 12


def _service_with_court(tmp_path: Path, court_id: int) -> tuple[Service, ApiClient]:
    service = Service(tmp_path / "data")
    service.start()
    gov = service.dev_client("dev-governance")
    return service, admit_court(service, gov, court_id, f"court-{court_id}")[0]


def _report(name: str, load: Load, **figures: object) -> None:
    accepted = len(load.accepted())
    retried = sum(1 for o in load.outcomes.values() if o.exceptions)
    extra = " ".join(f"{k}={v}" for k, v in figures.items())
    print(f"\n{name}: keys={len(load.outcomes)} accepted={accepted} retried_after_no_answer={retried} {extra}")


def test_service_killed_under_load_loses_and_duplicates_nothing(tmp_path):
    court_id = 51_000 + os.getpid() % 1000
    service, court = _service_with_court(tmp_path, court_id)
    try:
        load = Load(service.base, court.client_id, court.key, "svc-crash", 10_000).start(THREADS, count=RECORDS)
        load.wait_accepted(RECORDS * 2 // 5)
        service.kill()
        open_at_kill = outbox_counts(service.data_dir)
        service.wait_node_gone()
        service.start()
        load.join()

        assert sorted(load.statuses()) == [202], load.statuses()  # every key was answered 202 in the end
        assert len(load.accepted()) == RECORDS
        assert any(o.exceptions for o in load.outcomes.values()), "no request was cut off by the crash"
        assert open_at_kill.get("accepted", 0) + open_at_kill.get("submitted", 0) > 0, open_at_kill
        records = assert_exactly_once(court, load, service.node_url(), service.data_dir, court_id)
        assert len(records) == RECORDS
        _report("service SIGKILL", load, open_at_kill=open_at_kill, confirmed=len(records))
    finally:
        service.stop()


def test_node_killed_under_load_every_accepted_record_confirmed_once(tmp_path):
    court_id = 52_000 + os.getpid() % 1000
    service, court = _service_with_court(tmp_path, court_id)
    chain_dir = service.data_dir / "chain"
    restarted = None
    try:
        load = Load(service.base, court.client_id, court.key, "node-crash", 20_000).start(THREADS, count=RECORDS)
        load.wait_accepted(RECORDS * 2 // 5)
        deadline = time.monotonic() + 60  # kill while transactions are being mined
        while outbox_counts(service.data_dir).get("confirmed", 0) < 40:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        head_before = block_number(service.node_url())
        killed = kill_node(chain_dir)
        at_kill = outbox_counts(service.data_dir)
        time.sleep(1.0)  # the service keeps accepting writes while the node is away
        restarted = connect("local", data_dir=chain_dir)
        assert restarted.node is not None and restarted.node.pid != killed
        head_after = block_number(restarted.url or "")
        load.join()

        assert sorted(load.statuses()) == [202], load.statuses()
        records = assert_exactly_once(court, load, restarted.url or "", service.data_dir, court_id)
        assert len(records) == RECORDS
        _report(
            "node SIGKILL",
            load,
            outbox_at_kill=at_kill,
            head_before_kill=head_before,
            head_after_restart=head_after,
            blocks_lost=max(0, head_before - head_after),
            confirmed=len(records),
        )
    finally:
        service.stop()
        if restarted is not None:
            restarted.close()


def test_node_unreachable_for_a_while_writes_wait_in_the_outbox(tmp_path):
    court_id = 53_000 + os.getpid() % 1000
    service, court = _service_with_court(tmp_path, court_id)
    chain_dir = service.data_dir / "chain"
    restarted = None
    try:
        first = Load(service.base, court.client_id, court.key, "before", 30_000)
        first.run(2, count=4)
        wait_final(court, [o.accepted["outbox_id"] for o in first.accepted()])  # type: ignore[index]

        node = running_node(chain_dir)
        assert node is not None
        node.stop()  # SIGTERM: the node saves its state and exits
        assert running_node(chain_dir) is None

        load = Load(service.base, court.client_id, court.key, "offline", 31_000)
        load.run(4, count=40)
        assert sorted(load.statuses()) == [202], load.statuses()
        time.sleep(1.5)  # several worker passes fail meanwhile
        answers = [court.get(f"/api/v1/records/{o.accepted['outbox_id']}") for o in load.accepted()]  # type: ignore[index]
        assert {r.status_code for r in answers} == {200}, answers[0].text
        states = {r.json()["state"] for r in answers}
        assert states <= {"accepted", "submitted"}, states  # nothing can be confirmed without the node
        assert service.http().get("/api/v1/health").status_code == 200

        restarted = connect("local", data_dir=chain_dir)
        records = assert_exactly_once(court, load, restarted.url or "", service.data_dir, court_id, extra_ids=4)
        assert len(records) == 40
        _report("node away", load, states_while_away=sorted(states), confirmed=len(records))
    finally:
        service.stop()
        if restarted is not None:
            restarted.close()
