"""Fixtures for the service: one memory-chain service per test session (per xdist worker), signed clients.

With ``JTL_TEST_RPC`` (see ``tests/conftest.py``) the session's service runs on that node instead, its
governance account a fresh one funded there.

``api_for(client_id, key)`` gives an :class:`ApiClient` that signs every request like a real client;
``new_court()`` admits a fresh court through the governance endpoints and returns a signed court client.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import generate_key, public_key_text, sign_request
from api.services import Services
from api.settings import Settings
from ledger.chain import connect
from ledger.privacy import make_resident_id
from ledger.verify import TrustAnchors
from tests.conftest import TEST_RPC, funded_accounts

FINAL = ("confirmed", "failed")


class ApiClient:
    """A TestClient (or httpx client) that signs each request as ``client_id``."""

    def __init__(self, http: Any, client_id: str | None, key: Any) -> None:
        self.http = http
        self.client_id = client_id
        self.key = key

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        signed = sign_request(self.client_id, self.key, method, path, raw) if self.client_id else {}
        if raw and "Content-Type" not in signed:
            signed["Content-Type"] = "application/json"
        return self.http.request(method, path, content=raw, headers={**signed, **(headers or {})})

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, None, **kw)

    def wait(self, outbox_id: str, timeout: float = 60.0, states: tuple[str, ...] = FINAL) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            r = self.get(f"/api/v1/records/{outbox_id}")
            assert r.status_code == 200, r.text
            body = r.json()
            if body["state"] in states:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"{outbox_id} still {body['state']} after {timeout}s: {body}")
            time.sleep(0.05)

    def confirmed(self, response: Any, timeout: float = 60.0) -> dict[str, Any]:
        assert response.status_code == 202, response.text
        record = self.wait(response.json()["outbox_id"], timeout)
        assert record["state"] == "confirmed", record
        return record


@dataclass
class CourtClient:
    court_id: int
    api: ApiClient
    signer: str


_ids = itertools.count(random.Random(os.getpid() ^ int(time.time())).randrange(10_000, 2_000_000_000, 1_000))


def register(
    services: Services,
    kind: str,
    court_id: int | None = None,
    scopes: list[str] | None = None,
    client_id: str | None = None,
) -> tuple[str, Any]:
    key = generate_key()
    client_id = client_id or f"{kind}-{next(_ids)}"
    services.clients.add(client_id, kind, public_key_text(key), court_id=court_id, scopes=scopes)
    return client_id, key


def admit(
    gov: ApiClient, services: Services, http: Any, court_id: int | None = None, appellate: int = 0
) -> CourtClient:
    court_id = court_id or next(_ids)
    r = gov.post(
        "/api/v1/courts", {"court_id": court_id, "jurisdiction": "CN-BJ", "appellate_court": appellate}
    )
    gov.confirmed(r)
    signer = r.json()["signer"]
    cid, key = register(services, "court", court_id)
    return CourtClient(court_id, ApiClient(http, cid, key), signer)


def service_settings(data_dir: Any, **changes: Any) -> Settings:
    values: dict[str, Any] = dict(
        mode="development",
        data_dir=data_dir,
        chain="memory",
        keystore_kdf="pbkdf2",
        worker_interval_seconds=0.02,
        index_interval_seconds=0.2,
    )
    values.update(changes)
    return Settings(**values)


def _on_test_node(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Settings for a service on ``JTL_TEST_RPC``: a governance account funded there, thrifty signer funding."""
    if not TEST_RPC:
        return {}
    with connect(TEST_RPC) as chain:
        (governor,) = funded_accounts(chain, 1, tmp_path_factory.getbasetemp().parent)
    return {"chain": TEST_RPC, "governance_key": governor.key.hex(), "signer_funding_wei": 10**17}


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    svc = Services.open(service_settings(tmp_path_factory.mktemp("service"), **_on_test_node(tmp_path_factory)))
    svc.start()
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def http(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as client:
        yield client


@pytest.fixture(scope="session")
def gov(services: Services, http: TestClient) -> ApiClient:
    cid, key = register(services, "governance")
    return ApiClient(http, cid, key)


@pytest.fixture(scope="session")
def court(services: Services, http: TestClient, gov: ApiClient) -> CourtClient:
    """One court shared by the session's tests (admitting one costs a key derivation and two transactions)."""
    return admit(gov, services, http)


@pytest.fixture(scope="session")
def other_court(services: Services, http: TestClient, gov: ApiClient) -> CourtClient:
    return admit(gov, services, http)


@pytest.fixture(scope="session")
def partner(services: Services, http: TestClient) -> ApiClient:
    cid, key = register(services, "partner")
    return ApiClient(http, cid, key)


@pytest.fixture(scope="session")
def public(http: TestClient) -> ApiClient:
    return ApiClient(http, None, None)


@pytest.fixture(scope="session")
def trust(services: Services) -> TrustAnchors:
    """What a foreign verifier pins: the network descriptor and the governance address, out of band."""
    return TrustAnchors.from_descriptors([services.descriptor], [services.governor.address])


_seq = itertools.count(1)


def resident_id(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    return make_resident_id("110105", f"19{70 + n % 30:02d}0{1 + n % 9}1{n % 9}", f"{n % 1000:03d}")


def judgment_body(n: int | None = None, **changes: Any) -> dict[str, Any]:
    n = next(_seq) if n is None else n
    body: dict[str, Any] = {
        "case_number": f"(2019)京0108民初{10_000 + n}号",
        "document_sha256": os.urandom(32).hex(),
        "parties": [
            {"role": "creditor", "kind": "resident_id", "id": resident_id(n), "name": "李明（示例）"},
            {
                "role": "debtor",
                "kind": "credit_code",
                "id": "91110108MA01ABCDE" + _credit_check("91110108MA01ABCDE"),
                "name": "北京某某网络科技有限公司（示例）",
            },
        ],
        "amount": 1_300_000,
        "currency": "CNY",
        "judgment_date": "2019-03-01",
        "effective_date": "2019-03-18",
    }
    body.update(changes)
    return body


def _credit_check(body17: str) -> str:
    from ledger.privacy import make_credit_code

    return make_credit_code(body17)[-1]
