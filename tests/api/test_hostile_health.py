"""Health tells the truth: liveness and readiness apart; readiness asks the node now and compares it with
the deployment. The stories: the node goes down, and a node serving another genesis block takes its place
(a reset anvil, or another network behind the same URL). Health said "ok" through both before."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from ledger._node import GENESIS_TIME_FILE, ensure_node
from tests.api.conftest import service_settings

READY = "/api/v1/health/ready"


def test_liveness_and_readiness_of_a_healthy_service(http: TestClient, services: Services) -> None:
    assert http.get("/api/v1/health/live").json() == {"status": "alive"}
    services.wait_indexed(services.chain.w3.eth.block_number)
    r = http.get(READY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready" and body["problems"] == []
    assert body["node"]["genesis_hash"] == services.deployment.genesis_hash.lower()
    assert body["node"]["chain_id"] == services.deployment.chain_id
    assert body["index_lag_blocks"] <= services.settings.max_index_lag_blocks
    assert isinstance(body["outbox"]["backlog"], int)
    assert http.get("/health").json()["status"] == "ready"  # the alias orchestrators try first
    legacy = http.get("/api/v1/health").json()  # unchanged shape
    assert set(legacy) == {"status", "chain_id", "indexed_block"} and legacy["status"] == "ok"


@pytest.fixture
def anvil_service(tmp_path: Path) -> Iterator[Services]:
    svc = Services.open(service_settings(tmp_path / "service", chain="local"))
    svc.start()
    try:
        yield svc
    finally:
        svc.close()


def test_service_is_not_ready_while_its_node_is_down_or_serves_another_genesis(
    anvil_service: Services, tmp_path: Path
) -> None:
    web = TestClient(create_app(services=anvil_service))
    anvil_service.wait_indexed(anvil_service.chain.w3.eth.block_number)
    assert web.get(READY).status_code == 200

    node = anvil_service.chain.node
    assert node is not None
    port = node.port
    node.stop()
    down = web.get(READY)
    assert down.status_code == 503
    assert down.json()["status"] == "not_ready" and down.json()["node"]["reachable"] is False
    assert any("does not answer" in p for p in down.json()["problems"])
    assert web.get("/api/v1/health/live").status_code == 200  # alive: restarting the process would not help

    # A fresh chain behind the same URL, stamped a day earlier: a chain started in the same second with the
    # same accounts would have the very same genesis block.
    another = tmp_path / "another-chain"
    another.mkdir()
    (another / GENESIS_TIME_FILE).write_text(f"{int(time.time()) - 86_400}\n")
    impostor = ensure_node(another, port=port)
    try:
        other = web.get(READY)
        assert other.status_code == 503
        body = other.json()
        assert body["node"]["reachable"] is True
        assert body["node"]["genesis_hash"] != anvil_service.deployment.genesis_hash.lower()
        assert any("genesis block is not the deployment's" in p for p in body["problems"])
        assert web.get("/health").status_code == 503
    finally:
        impostor.stop()
