"""No name and no ID number of the demo (or of any request) in the service's logs.

The real service runs at log level debug (uvicorn's, the service's and the libraries' loggers, on its
stdout and stderr) with the demo stories seeded; clients then use the personal data the way they would:
partner checks by ID number, judgments and a listing naming the demo's people, invalid requests carrying
the numbers, a reused Idempotency-Key, public look-ups. After a clean stop, the captured output and every
log file in the data dir (anvil's included) are scanned for each name and identifier, as text, in JSON's
escaped form and as hex. The personal strings are read back from the service's own vault (the demo's
records' parties), so the scan looks for what the service really holds.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from ledger.demo import DEMO_COURT
from ledger.privacy import Vault, make_credit_code, make_resident_id
from tests.api._service import Service, wait_final
from tests.api.conftest import judgment_body

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

OWN_PERSON = make_resident_id("320106", "19790214", "358")
OWN_NAME = "周某某（测试）"


def _demo_parties(data_dir: Path) -> list[tuple[str, str]]:
    """(identifier, name) of every party of the demo's judgments, from the service's vault."""
    secrets = json.loads((data_dir / "dev-secrets.json").read_text())
    with sqlite3.connect(f"file:{data_dir / 'outbox.sqlite'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT record_id FROM outbox WHERE client_id = 'demo' AND kind = 'judgment'")
        ids = [bytes(r) for (r,) in rows]
    vault = Vault.open(data_dir / "vault.db", bytes.fromhex(secrets["LEDGER_VAULT_KEY"]), create=False)
    try:
        parties = [p for rid in ids for p in vault.get_record_secret(rid).parties]
    finally:
        vault.close()
    return [(p.subject.canonical().split(":")[-1], p.name) for p in parties]


def _needles(pairs: list[tuple[str, str]]) -> set[str]:
    out = set()
    for ident, name in pairs:
        for text in (ident, name, name.split("（")[0]):
            out |= {text, json.dumps(text)[1:-1], text.encode().hex()}
    return {n for n in out if len(n) >= 2}


def test_service_logs_hold_no_name_and_no_id_number(tmp_path):
    data_dir = tmp_path / "data"
    log = tmp_path / "service.log"
    service = Service(data_dir, demo=True, log_level="debug", log=log)
    try:
        service.start()
        parties = _demo_parties(data_dir)
        idents = {i for i, _ in parties}
        assert len(parties) == 6 and make_resident_id("110108", "19920314", "215") in idents
        assert make_credit_code("91110108MA01ABCDE") in idents and "赵强（示例）" in {n for _, n in parties}

        court = service.dev_client(f"dev-court-{DEMO_COURT}")
        partner = service.dev_client("dev-partner")
        with sqlite3.connect(f"file:{data_dir / 'outbox.sqlite'}?mode=ro", uri=True) as db:
            (case_id,) = db.execute("SELECT record_id FROM outbox WHERE kind = 'filing' LIMIT 1").fetchone()
        people = [(i, n) for i, n in parties if len(i) == 18 and not i.startswith("91")]
        companies = [(i, n) for i, n in parties if (i, n) not in people]

        # Partner checks by ID number, one by one and in a batch.
        for ident, _ in people:
            ask = {"subject": {"kind": "resident_id", "id": ident}, "restriction": "flights"}
            assert partner.post("/api/v1/checks", ask).status_code == 200
        batch = [{"kind": "credit_code", "id": i} for i, _ in companies]
        r = partner.post("/api/v1/checks/batch", {"subjects": batch, "restriction": "company_office"})
        assert r.status_code == 200, r.text
        # Writes naming the demo's people and the test's own.
        written = []
        for n, (ident, name) in enumerate(people):
            body = judgment_body(900 + n)
            body["parties"] = [
                {"role": "creditor", "kind": "resident_id", "id": ident, "name": name},
                {"role": "debtor", "kind": "resident_id", "id": OWN_PERSON, "name": OWN_NAME},
            ]
            r = court.post("/api/v1/judgments", body, headers={"Idempotency-Key": f"privacy-{n}"})
            assert r.status_code == 202, r.text
            written.append(r.json()["outbox_id"])
            again = {**body, "amount": 1}  # the same key with another request
            r = court.post("/api/v1/judgments", again, headers={"Idempotency-Key": f"privacy-{n}"})
            assert r.status_code == 409, r.text
        listing = {
            "subject": {"kind": "resident_id", "id": people[0][0], "name": people[0][1]},
            "case_id": "0x" + bytes(case_id).hex(),
            "ground": "able_but_refuses",
            "restrictions": ["flights", "rail"],
        }
        r = court.post("/api/v1/defaulters/listings", listing)
        assert r.status_code == 202, r.text
        written.append(r.json()["outbox_id"])
        # Invalid requests carrying the numbers: a wrong check digit, a wrong kind, an unknown field.
        ident, name = people[1]
        wrong = ident[:-1] + ("0" if ident[-1] != "0" else "1")
        for party in (
            {"role": "debtor", "kind": "resident_id", "id": wrong, "name": name},
            {"role": "debtor", "kind": "credit_code", "id": ident, "name": name},
            {"role": "debtor", "kind": "resident_id", "id": ident, "name": name, "note": ident},
        ):
            r = court.post("/api/v1/judgments", judgment_body(950, parties=[party]))
            assert r.status_code == 422, r.text
        r = partner.post("/api/v1/checks", {"subject": {"kind": "passport", "id": ident}, "restriction": "flights"})
        assert r.status_code == 422
        lookup = service.http().post(
            "/api/v1/verify/lookup", json={"case_number": "(2019)京0108民初12345号", "document_sha256": "00" * 32}
        )
        assert lookup.status_code == 200
        final = wait_final(court, written, timeout=60)
        assert len(final) == len(written)
        time.sleep(0.5)  # the index and the worker log what they do after the last answer
    finally:
        service.stop()

    needles = _needles([*parties, (OWN_PERSON, OWN_NAME)])
    files = [log, *sorted(p for p in data_dir.rglob("*") if p.is_file() and p.suffix == ".log")]
    assert any(p.name == "anvil.log" for p in files)
    scanned = 0
    for path in files:
        text = path.read_text(errors="replace")
        scanned += len(text)
        found = sorted(n for n in needles if n in text)
        assert not found, f"personal data in {path}: {found}"
    service_log = log.read_text()
    assert "api.worker" in service_log or "api.services" in service_log  # the service's own loggers were on
    assert "POST /api/v1/checks" in service_log and scanned > 10_000
