"""The outbox worker in a process of its own (``worker_process``, what ``scripts/serve.py`` runs on a node).

The service only accepts; the child sends; one worker per data dir (a lock); a child that dies is spawned
again and nothing accepted is lost; killing the service takes the child with it; readiness says when the
child is down; the memory chain, which lives in one process, refuses the setting by name.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.health import readiness
from api.services import Services
from ledger._node import running_node
from ledger.chain import connect
from ledger.errors import ConfigurationError
from tests.api._service import Service
from tests.api.conftest import service_settings
from tests.api.test_outbox import _court, _judgment


@pytest.fixture
def svc(tmp_path) -> Iterator[Services]:
    chain = connect("local", data_dir=tmp_path / "chain")
    services = Services.open(service_settings(tmp_path, chain="local", worker_process=True), chain=chain)
    try:
        yield services
    finally:
        services.close()
        chain.close()


def _wait_finished(svc: Services, ids: list[str], timeout: float = 120.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        entries = [svc.outbox.get(i) for i in ids]
        if all(e.finished for e in entries) or time.monotonic() > deadline:
            return [e.state for e in entries]
        time.sleep(0.1)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.anvil
def test_the_service_accepts_and_its_worker_process_sends(svc):
    svc.start()
    client = _court(svc, 5101)
    ids = [_judgment(svc, client, n).id for n in range(1, 6)]
    assert _wait_finished(svc, ids) == ["confirmed"] * len(ids)  # after the court's admission
    assert svc.worker._thread is None  # the worker object of the service's own process never ran
    assert svc.worker_process is not None and svc.worker_process.running
    assert svc.worker_process.pid not in (None, os.getpid())
    for i in ids:
        entry = svc.outbox.get(i)
        assert svc.ledger.judgment(entry.record_id)["court"] == 5101
    _, figures = readiness(svc)
    assert figures["outbox"]["worker"] == "process"


@pytest.mark.anvil
def test_a_worker_process_killed_mid_write_is_started_again_and_every_write_lands_once(svc):
    svc.start()
    client = _court(svc, 5102)
    first = [_judgment(svc, client, n).id for n in range(10, 20)]
    assert svc.worker_process is not None
    os.kill(svc.worker_process.pid or 0, signal.SIGKILL)  # perhaps between storing and sending
    later = [_judgment(svc, client, n).id for n in range(20, 25)]
    assert _wait_finished(svc, first + later) == ["confirmed"] * 15
    assert svc.worker_process.spawned >= 2
    blocks = {svc.outbox.get(i).record_id: svc.outbox.get(i).block_number for i in first + later}
    assert len(blocks) == 15
    registry = svc.ledger.contract("JudgmentRegistry")
    logs = registry.events.JudgmentRecorded().get_logs(
        from_block=min(blocks.values()), to_block=max(blocks.values()))
    recorded = [bytes(log["args"]["id"]) for log in logs]
    assert sorted(recorded) == sorted(bytes(r) for r in blocks)  # each once, none twice


@pytest.mark.anvil
def test_a_second_worker_waits_for_the_data_dirs_lock(svc):
    """While another worker holds ``worker.lock`` (one left from a killed service), nothing is sent; once
    it lets go, the waiting worker sends everything."""
    lock = (svc.data_dir / "worker.lock").open("a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        svc.start()
        _court(svc, 5103)
        acts = [e.id for e in svc.outbox.entries("governance", "accepted")]
        assert acts  # the admission (and the signer's coins)
        time.sleep(2.0)
        assert [svc.outbox.get(i).state for i in acts] == ["accepted"] * len(acts)
        assert svc.worker_process is not None and svc.worker_process.running  # alive, waiting
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    assert _wait_finished(svc, acts) == ["confirmed"] * len(acts)


@pytest.mark.anvil
def test_readiness_says_when_the_worker_process_is_down(svc):
    svc.start()
    assert svc.worker_process is not None
    svc.worker_process.stop()
    ok, figures = readiness(svc)
    assert not ok
    assert figures["outbox"]["worker"] == "process down"
    assert any("worker process is not running" in p for p in figures["problems"])


def test_the_memory_chain_refuses_a_worker_process(tmp_path):
    with pytest.raises(ConfigurationError, match="LEDGER_WORKER_PROCESS"):
        Services.open(service_settings(tmp_path, worker_process=True))


@pytest.mark.anvil
def test_killing_the_service_takes_its_worker_process_with_it(tmp_path):
    service = Service(tmp_path / "svc")
    service.start()
    try:
        assert service.proc is not None
        workers = [c for c in _children(service.proc.pid) if _is_worker(c)]
        assert len(workers) == 1  # serve.py on a node runs the worker in a process of its own
        service.kill()
        deadline = time.monotonic() + 20
        while _alive(workers[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(workers[0])
        service.wait_node_gone()
        service.start()  # on the same data dir: one new worker, after the lock was let go
        assert service.alive
        assert len([c for c in _children(service.proc.pid) if _is_worker(c)]) == 1
    finally:
        service.stop()


@pytest.mark.anvil
@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_a_stopped_service_closes_and_stops_its_worker_process_and_node(tmp_path, how):
    """SIGTERM (a process manager) or Ctrl-C (SIGINT to the service and its worker, as a terminal sends
    it): the service shuts down, closes its stores, stops its worker process and its node, exits 0, and
    prints no traceback. (uvicorn raises the signal again after its shutdown; by default SIGTERM then
    ended the process before anything was closed.)"""
    service = Service(tmp_path / "svc")
    service.start()
    try:
        assert service.proc is not None
        [worker] = [c for c in _children(service.proc.pid) if _is_worker(c)]
        if how == "SIGTERM":
            service.proc.send_signal(signal.SIGTERM)
        else:
            for pid in (service.proc.pid, worker):
                os.kill(pid, signal.SIGINT)
        assert service.proc.wait(60) == 0
        assert not _alive(worker)
        assert running_node(service.data_dir / "chain") is None
        assert "Traceback" not in service.log.read_text()
    finally:
        service.stop()
