"""The single check's fast path answers exactly as the FastAPI route does; the check-only process; the
plain batch form; the group-committed nonce and audit row."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient

from api.app import create_app, create_check_app
from api.auth import ClientRegistry, generate_key, sign_request
from api.checking import CheckAudit, CheckServices
from ledger.privacy import blind_index, parse_subject
from tests.api.conftest import ApiClient, resident_id
from tests.api.test_checks import _listed_subject, _wait_answer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def listed(services, court, partner):
    number, listing = _listed_subject(services, court)
    _wait_answer(partner, {"subject": {"kind": "resident_id", "id": number}, "restriction": "flights"}, True)
    return number, listing


@pytest.fixture(scope="module")
def route_only(services):
    """The same service without the fast path: every check goes through the FastAPI route."""
    with TestClient(create_app(services=services, fast_checks=False)) as client:
        yield client


def _send(http, client_id, key, body: bytes, *, content_type="application/json", sign_key=None, headers=None):
    signed = sign_request(client_id, sign_key or key, "POST", "/api/v1/checks", body) if client_id else {}
    signed["Content-Type"] = content_type
    return http.post("/api/v1/checks", content=body, headers={**signed, **(headers or {})})


def _cases(number: str) -> list[tuple[str, bytes, dict]]:
    ask = {"subject": {"kind": "resident_id", "id": number}, "restriction": "flights"}
    return [
        ("listed, by ID", json.dumps(ask).encode(), {}),
        ("listed, other restriction", json.dumps({**ask, "restriction": "company_office"}).encode(), {}),
        ("unlisted ID",
         json.dumps({"subject": {"kind": "resident_id", "id": "11010519491231002X"}, "restriction": "rail"}).encode(),
         {}),
        ("a blind index (partners hold no key)",
         json.dumps({"subject": {"blind_index": "0x" + "5a" * 32}, "restriction": "rail"}).encode(), {}),
        ("malformed JSON", b'{"subject": ', {}),
        ("no subject", json.dumps({"subject": {}, "restriction": "flights"}).encode(), {}),
        ("bad ID check digit",
         json.dumps({"subject": {"kind": "resident_id", "id": number[:-1] + ("0" if number[-1] != "0" else "1")},
                     "restriction": "flights"}).encode(), {}),
        ("unknown restriction", json.dumps({**ask, "restriction": "boats"}).encode(), {}),
        ("extra member", json.dumps({**ask, "why": "curious"}).encode(), {}),
        ("not JSON content type", json.dumps(ask).encode(), {"content_type": "text/plain"}),
        ("unsigned", json.dumps(ask).encode(), {"unsigned": True}),
        ("wrong key", json.dumps(ask).encode(), {"wrong_key": True}),
    ]


def _answer_of(response):
    body = response.json()
    return response.status_code, body


def test_fast_path_and_route_give_the_same_answers(services, http, route_only, partner, listed, monkeypatch):
    number, _ = listed
    used = []
    original = services.audit.record_once

    async def counting(*args, **kwargs):
        used.append(args[0])
        return await original(*args, **kwargs)

    monkeypatch.setattr(services.audit, "record_once", counting)
    other_key = generate_key()
    for name, body, how in _cases(number):
        answers = []
        for client in (http, route_only):
            kw = {}
            if how.get("content_type"):
                kw["content_type"] = how["content_type"]
            if how.get("wrong_key"):
                kw["sign_key"] = other_key
            cid = None if how.get("unsigned") else partner.client_id
            answers.append(_answer_of(_send(client, cid, partner.key, body, **kw)))
        assert answers[0] == answers[1], name
        if name == "listed, by ID":
            assert answers[0][0] == 200 and answers[0][1]["restricted"] is True
        if name in ("malformed JSON", "no subject", "bad ID check digit", "unknown restriction", "extra member",
                    "a blind index (partners hold no key)"):
            assert answers[0][0] in (400, 422), (name, answers[0])
        if name in ("unsigned", "wrong key"):
            assert answers[0][0] == 401, (name, answers[0])
    # The three valid requests to the main app were answered by the fast path, nothing else was.
    assert used == [partner.client_id] * 3


def test_fast_path_refuses_a_replay_and_other_clients_like_the_route(services, http, court, partner, listed):
    number, _ = listed
    body = json.dumps({"subject": {"kind": "resident_id", "id": number}, "restriction": "flights"}).encode()
    headers = sign_request(partner.client_id, partner.key, "POST", "/api/v1/checks", body)
    headers["Content-Type"] = "application/json"
    before = len(services.audit.rows(partner.client_id))
    first = http.post("/api/v1/checks", content=body, headers=headers)
    again = http.post("/api/v1/checks", content=body, headers=headers)
    assert first.status_code == 200 and first.json()["restricted"] is True
    assert again.status_code == 401 and "already used" in again.json()["detail"]
    assert len(services.audit.rows(partner.client_id)) == before + 1  # the replay was not answered
    # A court client is not a partner: the route's 403, from either path.
    r = court.api.post("/api/v1/checks", json.loads(body))
    assert r.status_code == 403 and "partner" in r.json()["detail"]


def test_group_commit_writes_each_answer_once_and_refuses_replays_in_the_same_group(tmp_path):
    path = tmp_path / "service.sqlite"
    ClientRegistry(path).close()
    audit = CheckAudit(path)
    try:
        async def main():
            calls = []
            for k in range(300):
                nonce = f"nonce-{k % 250:06d}-padding"  # 50 nonces sent twice, at the same moment
                calls.append(audit.record_once("p1", nonce, 2**40, 1_000 + k, 1, bytes([k % 256]) * 32, k % 2 == 0,
                                               5_000 if k % 2 == 0 else None))
            return await asyncio.gather(*calls)

        results = asyncio.run(main())
        assert sum(results) == 250
        for k in range(50):
            assert results[k] is True and results[k + 250] is False  # the first of each pair won
        rows = audit.rows("p1")
        assert len(rows) == 250
        assert sorted(r["at"] for r in rows) == list(range(1_000, 1_250))
        assert all((r["until"] == 5_000) == r["restricted"] for r in rows)
    finally:
        audit.close()


def test_plain_batch_form_and_audit_by_subject(services, http, partner, listed):
    number, _ = listed
    blind = bytes(blind_index(services.blind_key, parse_subject("resident_id", number)))
    other_ids = [resident_id(5_000 + i) for i in range(499)]
    others = [bytes(blind_index(services.blind_key, parse_subject("resident_id", i))) for i in other_ids]
    asked = [*other_ids[:200], number, *other_ids[200:]]
    r = partner.post("/api/v1/checks/batch", {"kind": "resident_id", "ids": asked, "restriction": "flights"})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results) == 500 and [i for i, a in enumerate(results) if a["restricted"]] == [200]
    assert results[200]["until"] > time.time() and all(a["until"] is None for a in results[:200])
    # The audit log answers "who checked this subject", inside batches too.
    mine = services.audit.rows(partner.client_id, subject=blind)
    assert mine[-1]["batch"] is not None and mine[-1]["restricted"] is True
    assert services.audit.rows(partner.client_id, subject=others[7])[-1]["restricted"] is False
    # Exactly one form per request, every identifier well formed.
    both = {"kind": "resident_id", "ids": [number], "subjects": [{"kind": "resident_id", "id": number}],
            "restriction": "flights"}
    assert partner.post("/api/v1/checks/batch", both).status_code == 422
    assert partner.post("/api/v1/checks/batch", {"restriction": "flights"}).status_code == 422
    assert partner.post("/api/v1/checks/batch", {"ids": [number], "restriction": "flights"}).status_code == 422
    bad = partner.post("/api/v1/checks/batch", {"kind": "resident_id", "ids": ["1234"], "restriction": "flights"})
    assert bad.status_code == 422


def test_check_only_app_answers_from_the_same_index_and_shares_nonces(services, http, partner, court, listed):
    number, _ = listed
    checks = CheckServices(services.settings, services.blind_key)
    try:
        with TestClient(create_check_app(services=checks)) as client:
            remote = ApiClient(client, partner.client_id, partner.key)
            ask = {"subject": {"kind": "resident_id", "id": number}, "restriction": "flights"}
            there = remote.post("/api/v1/checks", ask).json()
            here = partner.post("/api/v1/checks", ask).json()
            assert there == here and there["restricted"] is True
            batch = remote.post("/api/v1/checks/batch", {"kind": "resident_id", "ids": [number], "restriction": "rail"})
            assert batch.json() == {"results": [{"restricted": True, "until": there["until"]}]}
            # One nonce store for both processes: a request answered here is a replay there.
            body = json.dumps(ask).encode()
            headers = sign_request(partner.client_id, partner.key, "POST", "/api/v1/checks", body)
            headers["Content-Type"] = "application/json"
            assert http.post("/api/v1/checks", content=body, headers=headers).status_code == 200
            replay = client.post("/api/v1/checks", content=body, headers=headers)
            assert replay.status_code == 401 and "already used" in replay.json()["detail"]
            # Checks only: no writes, no court clients.
            assert ApiClient(client, court.api.client_id, court.api.key).post("/api/v1/checks", ask).status_code == 403
            assert remote.post("/api/v1/judgments", {}).status_code in (404, 405)
            health = client.get("/api/v1/health").json()
            assert health["role"] == "checks" and health["indexed_block"] >= 0
    finally:
        checks.close()


def test_serve_checks_runs_workers_on_the_main_data_dir(services, partner, listed, tmp_path):
    from benchmarks.harness import free_port

    number, _ = listed
    port = free_port()
    env = {**os.environ, "LEDGER_CLOCK_SKEW_SECONDS": "300"}
    argv = [sys.executable, str(ROOT / "scripts" / "serve.py"), "checks", "--data-dir", str(services.data_dir),
            "--port", str(port), "--workers", "2", "--log-level", "warning"]
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180  # two processes starting and catching up with a busy node
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "serve.py checks did not answer"
            time.sleep(0.2)
        import httpx

        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            api = ApiClient(http, partner.client_id, partner.key)
            answers = [api.post("/api/v1/checks", {"subject": {"kind": "resident_id", "id": number},
                                                  "restriction": "flights"}) for _ in range(20)]
        assert all(a.status_code == 200 and a.json()["restricted"] is True for a in answers)
    finally:
        process.terminate()
        process.wait(30)
    # Without an index (no main service ever ran there) it refuses to start, and says why.
    empty = subprocess.run([sys.executable, str(ROOT / "scripts" / "serve.py"), "checks", "--data-dir",
                            str(tmp_path / "nothing"), "--port", "0"], cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
    assert empty.returncode == 2 and "start the main service" in empty.stderr


def test_a_check_process_needs_only_the_blind_key_in_production(tmp_path):
    from api.settings import Settings, resolve_blind_key
    from ledger.errors import ConfigurationError
    from ledger.privacy import BlindIndexKey

    with pytest.raises(ConfigurationError, match="LEDGER_BLIND_INDEX_KEY"):
        resolve_blind_key(Settings(mode="production", data_dir=tmp_path))
    given = "3f" + "a1b2c3d4" * 7 + "9e7c5d"
    key = resolve_blind_key(Settings(mode="production", data_dir=tmp_path, blind_index_key=given))
    subject = parse_subject("resident_id", resident_id())
    assert blind_index(key, subject) == blind_index(BlindIndexKey(bytes.fromhex(given)), subject)
    with pytest.raises(ConfigurationError, match="placeholder"):
        resolve_blind_key(Settings(mode="production", data_dir=tmp_path, blind_index_key="00" * 32))


def test_both_apps_open_their_services_from_settings_at_startup(tmp_path):
    from tests.api.conftest import service_settings

    settings = service_settings(tmp_path / "own")
    with TestClient(create_app(settings)) as main:
        health = main.get("/api/v1/health").json()
        assert health["status"] == "ok" and health["indexed_block"] >= 0
        # The main app wrote the index; a check app started on the same data dir reads it.
        with TestClient(create_check_app(settings)) as checks:
            assert checks.get("/api/v1/health").json() == {
                "status": "ok", "role": "checks", "indexed_block": checks.app.state.services.indexed_block,
            }
            assert checks.app.state.services.indexed_block >= 0
            assert checks.post("/api/v1/judgments", json={}).status_code == 404
