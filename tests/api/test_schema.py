"""The API against its own OpenAPI document (/openapi.json), property-based, with schemathesis.

The real service (uvicorn + anvil on loopback, demo data seeded so that reads find records) is fed
generated requests for every operation: valid ones (positive mode) and ones that break the schema
(negative mode), at most ``MAX_EXAMPLES`` each, deterministic. Requests to authenticated operations are
signed like a real client's (Ed25519 over the exact method, target and body bytes, see api.auth) by a
client of the kind the operation is for. The read operations also run with the ids of real records.

Every response must be: no 5xx; a documented status code; a documented content type; a body that
matches the documented schema; and an invalid request must be refused (4xx).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.auth import private_key_from_text, sign_request
from ledger.demo import DEMO_COURT
from tests.api._service import Service
from tests.api.conftest import judgment_body

MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


class Signed(requests.auth.AuthBase):
    """Sign the prepared request: its final method, target (path and query) and body bytes."""

    def __init__(self, client_id: str, key: Any) -> None:
        self.client_id = client_id
        self.key = private_key_from_text(key) if isinstance(key, str) else key

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        r.headers.update(sign_request(self.client_id, self.key, r.method or "GET", r.path_url, body))
        return r


def _sessions(service: Service) -> dict[str, requests.Session]:
    keys = service.dev_keys()
    out = {}
    for kind, client_id in (
        ("governance", "dev-governance"),
        ("partner", "dev-partner"),
        ("court", f"dev-court-{DEMO_COURT}"),
    ):
        session = requests.Session()
        session.auth = Signed(client_id, keys[client_id]["private_key"])
        out[kind] = session
    out["public"] = requests.Session()
    return out


def _client_for(path: str) -> str:
    if path.startswith("/api/v1/courts"):
        return "governance"
    if path.startswith("/api/v1/checks"):
        return "partner"
    if path.startswith(("/api/v1/verify", "/api/v1/health")):
        return "public"
    return "court"


def _known_ids(service: Service, court: requests.Session) -> dict[str, str]:
    """Ids of real records of the demo court, for the read operations' path parameters."""
    with sqlite3.connect(f"file:{service.data_dir / 'outbox.sqlite'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT kind, id, record_id FROM outbox WHERE court = ? AND state = 'confirmed' ORDER BY seq",
            (DEMO_COURT,),
        ).fetchall()
    first = {}
    for kind, outbox_id, record_id in rows:
        first.setdefault(kind, ("0x" + bytes(record_id).hex(), outbox_id))
    r = court.post(f"{service.base}/api/v1/notary/digests", json={"digests": ["ab" * 32]})
    assert r.status_code == 202, r.text
    return {
        "judgment_id": first["judgment"][0],
        "case_id": first["filing"][0],
        "listing_id": first["listing"][0],
        "outbox_id": first["judgment"][1],
        "court_id": str(DEMO_COURT),
        "receipt_id": r.json()["receipt_ids"][0],
    }


def _property(
    base: str,
    operation: Any,
    mode: GenerationMode,
    path_parameters: dict[str, Any] | None,
    session: requests.Session,
    examples: Counter[str],
) -> Any:
    """A hypothesis test: generated requests for ``operation``, each response checked."""
    checks = CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE else [])

    @settings(
        max_examples=MAX_EXAMPLES if path_parameters is None else 5,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def call(case: Any) -> None:
        examples[operation.label] += 1
        response = case.call(base_url=base, session=session, timeout=60)
        case.validate_response(response, checks=checks)

    return call


@pytest.mark.anvil
@pytest.mark.slow
def test_every_operation_answers_within_its_own_schema(tmp_path):
    service = Service(
        tmp_path / "data",
        demo=True,
        env={"LEDGER_VERIFY_RATE_PER_SECOND": "100000", "LEDGER_VERIFY_BURST": "100000"},
    )
    try:
        service.start()
        sessions = _sessions(service)
        known = _known_ids(service, sessions["court"])
        schema = schemathesis.openapi.from_url(f"{service.base}/openapi.json")
        examples: Counter[str] = Counter()
        failures: dict[str, list[str]] = {}
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            session = sessions[_client_for(operation.path)]
            runs: list[tuple[GenerationMode, dict[str, Any] | None]] = [
                (GenerationMode.POSITIVE, None),
                (GenerationMode.NEGATIVE, None),
            ]
            names = {p.name for p in operation.path_parameters}
            if operation.method.upper() == "GET" and names and names <= set(known):
                runs.append((GenerationMode.POSITIVE, {n: known[n] for n in names}))
            for mode, path_parameters in runs:
                call = _property(service.base, operation, mode, path_parameters, session, examples)
                try:
                    call()
                except Unsatisfiable:
                    assert mode == GenerationMode.NEGATIVE  # nothing in the request can be made invalid
                except (Exception, BaseExceptionGroup) as exc:  # schemathesis groups its failures
                    failures.setdefault(operation.label, []).append(f"{mode.value}: {exc}"[:3000])
        assert not failures, "\n\n".join(f"{label}\n" + "\n".join(v) for label, v in failures.items())
        assert len(examples) == len(operations) >= 30
        print(f"\nschemathesis: {len(operations)} operations, {sum(examples.values())} requests checked")
    finally:
        service.stop()


# -- what schemathesis found, pinned (memory chain, the session's service) ---------------------------


def test_a_boolean_or_numeric_text_is_not_an_integer(gov, court):
    for court_id in (True, "7"):
        r = gov.post("/api/v1/courts", {"court_id": court_id, "jurisdiction": "CN-BJ"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "court_id", r.text
    r = court.api.post("/api/v1/judgments", judgment_body(amount=True))
    assert r.status_code == 422, r.text


def test_a_date_before_1970_is_refused_not_a_server_error(court):
    r = court.api.post("/api/v1/judgments", judgment_body(judgment_date="1969-12-31", effective_date="1970-01-02"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "judgment_date", r.text
    filing = {"judgment_id": "0x" + "11" * 32, "case_number": "(2019)京0108执1号", "amount_due": 1}
    filing["filed_at"] = "0413-09-02"
    r = court.api.post("/api/v1/enforcement/cases", filing)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "filed_at", r.text


def test_errors_are_documented_as_problem_documents(http):
    spec = http.get("/openapi.json").json()
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path.endswith("/health") or "/health/" in path:
                continue
            for status in ("400", "404", "409", "422"):
                content = operation["responses"][status]["content"]
                assert content["application/problem+json"]["schema"] == problem, (method, path, status)
