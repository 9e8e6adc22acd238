"""The real service end to end: uvicorn on a loopback port, anvil behind it, a temporary data dir.

Signed HTTP writes, public verification, a partner check before and after delisting, and a SIGKILL of the
service right after a burst of accepted writes: after a restart every accepted write ends confirmed exactly
once, and retrying with the same Idempotency-Keys returns the same records.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from ledger._node import running_node
from ledger.index import Index
from ledger.privacy import make_resident_id
from tests.api._service import Service, client_cli, free_port
from tests.api.conftest import ApiClient, judgment_body

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def _wait_check(partner: ApiClient, body: dict, restricted: bool, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = partner.post("/api/v1/checks", body)
        assert r.status_code == 200, r.text
        if r.json()["restricted"] is restricted:
            return r.json()
        assert time.monotonic() < deadline, r.json()
        time.sleep(0.2)


def test_service_survives_sigkill_with_every_accepted_write_confirmed_once(tmp_path):
    data_dir = tmp_path / "data"
    service = Service(data_dir, free_port(), demo=True, log=tmp_path / "service.log")
    try:
        service.start()
        http = httpx.Client(base_url=service.base, timeout=30)
        keys = json.loads((data_dir / "dev-clients.json").read_text())
        gov = ApiClient(http, "dev-governance", keys["dev-governance"]["private_key"])
        partner = ApiClient(http, "dev-partner", keys["dev-partner"]["private_key"])
        demo_court = ApiClient(http, "dev-court-110108", keys["dev-court-110108"]["private_key"])
        assert http.get("/docs").status_code == 200
        assert http.get("/openapi.json").json()["info"]["title"] == "Judicial trust ledger"

        court_id = 31_000 + os.getpid() % 1000
        gov.confirmed(gov.post("/api/v1/courts", {"court_id": court_id, "jurisdiction": "CN-ZJ"}))
        cred = client_cli(data_dir, "add", "court-e2e", "--kind", "court", "--court", str(court_id))
        court = ApiClient(http, "court-e2e", cred["private_key"])

        judgment = judgment_body(7)
        jid = court.confirmed(court.post("/api/v1/judgments", judgment))["record_id"]
        case_id = court.confirmed(
            court.post(
                "/api/v1/enforcement/cases",
                {
                    "judgment_id": jid,
                    "case_number": "(2019)浙0106执1号",
                    "amount_due": 2_000_000,
                    "filed_at": "2019-05-01",
                },
            )
        )["record_id"]
        number = make_resident_id("330106", "19880808", "417")
        listing_id = court.confirmed(
            court.post(
                "/api/v1/defaulters/listings",
                {
                    "subject": {"kind": "resident_id", "id": number, "name": "钱某（示例）"},
                    "case_id": case_id,
                    "ground": "able_but_refuses",
                    "restrictions": ["flights", "rail"],
                },
            )
        )["record_id"]
        ask = {"subject": {"kind": "resident_id", "id": number}, "restriction": "flights"}
        assert _wait_check(partner, ask, True)["until"] > time.time()

        # A burst of accepted writes, then SIGKILL without waiting for any of them.
        burst = [("/api/v1/judgments", judgment_body(100 + i)) for i in range(12)]
        burst += [
            (f"/api/v1/enforcement/cases/{case_id}/actions", {"kind": k})
            for k in ("notice", "property_report_order", "asset_inquiry", "freeze")
        ]
        accepted = {}
        for i, (path, body) in enumerate(burst):
            r = court.post(path, body, headers={"Idempotency-Key": f"burst-{i}"})
            assert r.status_code == 202, r.text
            accepted[f"burst-{i}"] = r.json()
        # Freeze the node so that the last writes are certainly accepted and not yet on chain when the
        # service dies (a judgment is accepted without asking the chain anything).
        node = running_node(data_dir / "chain")
        assert node is not None
        frozen = _with_children(node.pid)  # the state keeper and anvil, its child: the whole node
        assert len(frozen) >= 2
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            for i in range(len(burst), len(burst) + 6):
                body = judgment_body(100 + i)
                burst.append(("/api/v1/judgments", body))
                r = court.post("/api/v1/judgments", body, headers={"Idempotency-Key": f"burst-{i}"})
                assert r.status_code == 202, r.text
                accepted[f"burst-{i}"] = r.json()
            with sqlite3.connect(data_dir / "outbox.sqlite") as db:
                open_ids = {row[0] for row in db.execute("SELECT id FROM outbox WHERE state != 'confirmed'")}
            assert {a["outbox_id"] for a in list(accepted.values())[-6:]} <= open_ids
            service.kill()
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)  # the keeper then takes the kernel's SIGTERM and saves the state
        service.wait_node_gone()

        service.start()
        for i, (path, body) in enumerate(burst):  # the client retries: same keys, same records
            r = court.post(path, body, headers={"Idempotency-Key": f"burst-{i}"})
            assert r.json()["outbox_id"] == accepted[f"burst-{i}"]["outbox_id"]
        records = [court.wait(a["outbox_id"]) for a in accepted.values()]
        assert [r["state"] for r in records] == ["confirmed"] * len(records), [
            r.get("error") for r in records
        ]
        assert [r["record"]["sequence"] for r in records[12:16]] == [0, 1, 2, 3]
        assert len({r["transaction_hash"] for r in records}) == len(records)

        # Exactly once on chain: the index (rebuilt from the chain's events) holds each record once.
        head = httpx.post(
            f"http://127.0.0.1:{(data_dir / 'chain' / 'anvil.port').read_text().strip()}",
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
        ).json()
        deadline = time.monotonic() + 30
        while http.get("/api/v1/health").json()["indexed_block"] < int(head["result"], 16):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        with Index(data_dir / "index.db") as index:
            assert index.statistics(courts=[court_id])["judgments_recorded"] == 1 + 12 + 6
            case = index.case_history(bytes.fromhex(case_id[2:]))
            assert case is not None and [a.sequence for a in case.actions] == [0, 1, 2, 3]

        # Verification through the public endpoint, with the document's digest.
        cert = court.get(f"/api/v1/judgments/{jid}/certificate").json()
        verified = http.post(
            "/api/v1/verify/certificate",
            json={"certificate": cert, "document_sha256": judgment["document_sha256"]},
        ).json()
        assert verified["verified"] is True and [s["name"] for s in verified["steps"]][-1] == "status"
        lookup = http.post(
            "/api/v1/verify/lookup",
            json={"case_number": judgment["case_number"], "document_sha256": judgment["document_sha256"]},
        ).json()
        assert lookup["verdict"] == "verified" and lookup["judgment_id"] == jid

        # The demo was seeded once, before the crash, and not again after it.
        demo_records = demo_court.post(
            "/api/v1/verify/lookup", {"case_number": "(2019)京0108民初12345号", "document_sha256": "00" * 32}
        )
        assert demo_records.status_code == 200
        with Index(data_dir / "index.db") as index:
            assert index.statistics(courts=[110108])["judgments_recorded"] == 3

        # Delisting after the restart: the partner sees it.
        court.confirmed(
            court.post(f"/api/v1/defaulters/listings/{listing_id}/removal", {"reason": "performed"})
        )
        assert _wait_check(partner, ask, False) == {"restricted": False, "until": None}
        assert number not in service.log.read_text()
    finally:
        service.stop()


def _with_children(pid: int) -> list[int]:
    """``pid`` and its child processes (``running_node`` names the state keeper, which runs anvil)."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return [pid, *children]
