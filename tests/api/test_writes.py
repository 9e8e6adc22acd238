"""Every write kind, end to end: HTTP -> outbox -> worker -> chain -> confirmed -> certificate -> verify."""

from __future__ import annotations

import hashlib
import os

from ledger.records import sha256_digest
from ledger.verify import verify_certificate
from tests.api.conftest import admit, judgment_body


def _post_all(api, requests):
    """Accept every request first (no waiting), then wait for each: the worker keeps their order."""
    accepted = []
    for path, body in requests:
        r = api.post(path, body)
        assert r.status_code == 202, r.text
        assert r.json()["state"] == "accepted"
        assert r.headers["Location"] == f"/api/v1/records/{r.json()['outbox_id']}"
        accepted.append(r.json())
    return [api.wait(a["outbox_id"]) for a in accepted]


def test_judgment_case_listing_story_confirms_and_certifies(services, court, trust):
    api = court.api
    document = b"%PDF-1.7 signed judgment\n" + os.urandom(64)
    r = api.post("/api/v1/judgments", judgment_body(document_sha256=hashlib.sha256(document).hexdigest()))
    judgment = api.confirmed(r)
    jid = judgment["record_id"]
    assert judgment["block_number"] and judgment["gas_used"] and judgment["block_hash"]
    assert "parties" not in judgment["record"] and judgment["record"]["parties_commitment"].startswith("0x")

    filing = api.confirmed(
        api.post(
            "/api/v1/enforcement/cases",
            {
                "judgment_id": jid,
                "case_number": "(2019)京0108执4567号",
                "amount_due": 1_600_000,
                "filed_at": "2019-04-02",
            },
        )
    )
    case_id = filing["record_id"]
    subject = {"kind": "credit_code", "id": "91350100M000100Y43", "name": "某某公司（示例）"}
    done = _post_all(
        api,
        [
            (f"/api/v1/enforcement/cases/{case_id}/actions", {"kind": "notice"}),
            (f"/api/v1/enforcement/cases/{case_id}/actions", {"kind": "asset_inquiry", "detail": 2}),
            (f"/api/v1/enforcement/cases/{case_id}/actions", {"kind": "freeze"}),
            (
                "/api/v1/defaulters/listings",
                {
                    "subject": subject,
                    "case_id": case_id,
                    "ground": "able_but_refuses",
                    "restrictions": ["flights", "rail"],
                },
            ),
        ],
    )
    assert [d["state"] for d in done] == ["confirmed"] * 4, done
    assert [d["record"]["sequence"] for d in done[:3]] == [0, 1, 2]
    listing_id = done[3]["record_id"]
    later = _post_all(
        api,
        [
            (f"/api/v1/defaulters/listings/{listing_id}/extension", {"years": 1}),
            (
                f"/api/v1/enforcement/cases/{case_id}/actions",
                {"kind": "payment_received", "amount": 1_600_000},
            ),
            (f"/api/v1/defaulters/listings/{listing_id}/removal", {"reason": "performed"}),
            (f"/api/v1/enforcement/cases/{case_id}/actions", {"kind": "disbursement", "amount": 1_600_000}),
            (f"/api/v1/enforcement/cases/{case_id}/actions", {"kind": "conclusion"}),
            (f"/api/v1/judgments/{jid}/status", {"status": "satisfied"}),
        ],
    )
    assert [d["state"] for d in later] == ["confirmed"] * 6, later
    assert later[0]["record"]["sequence"] == 0 and later[2]["record"]["sequence"] == 1  # listing changes
    assert [later[i]["record"]["sequence"] for i in (1, 3, 4)] == [3, 4, 5]
    assert later[5]["record"]["sequence"] == 0

    w3 = services.chain.w3
    cert = api.get(f"/api/v1/judgments/{jid}/certificate").json()
    result = verify_certificate(cert, trust=trust, rpc=w3, document=document)
    assert result.status["status"] == "satisfied"
    assert [s.name for s in result.steps] == [
        "format",
        "network",
        "signature",
        "document",
        "chain",
        "signer",
        "record",
        "status",
    ]

    services.wait_indexed(w3.eth.block_number)
    case_cert = api.get(f"/api/v1/enforcement/cases/{case_id}/certificate").json()
    assert case_cert["case"]["state"] == "concluded" and len(case_cert["case"]["actions"]) == 6
    assert verify_certificate(case_cert, trust=trust, rpc=w3).status["state"] == "concluded"
    # An action's outbox record certifies through its case.
    assert api.get(f"/api/v1/records/{later[4]['outbox_id']}/certificate").json()["record_id"] == case_id

    listing_cert = api.get(f"/api/v1/defaulters/listings/{listing_id}/certificate").json()
    assert listing_cert["defaulter"]["restricted"] is False  # removed
    assert verify_certificate(listing_cert, trust=trust, rpc=w3).status["removal_reason"] == "performed"
    assert "91350100M000100Y43" not in str(listing_cert)

    view = api.get(f"/api/v1/enforcement/cases/{case_id}").json()
    assert view["state"] == "concluded" and [a["kind"] for a in view["actions"]][-1] == "conclusion"
    assert api.get(f"/api/v1/judgments/{jid}").json()["status"] == "satisfied"


def test_action_on_a_concluded_case_fails_with_the_decoded_revert(court, monkeypatch):
    """What the chain refuses after the edge let it through (another service of the court concluded the case
    first, say) fails with the decoded revert. The edge's own refusal is tests/api/test_state_edge.py's."""
    monkeypatch.setattr("api.routes.enforcement.require_action_possible", lambda *args, **kwargs: None)
    api = court.api
    jid = api.confirmed(api.post("/api/v1/judgments", judgment_body()))["record_id"]
    case_id = api.confirmed(
        api.post(
            "/api/v1/enforcement/cases",
            {
                "judgment_id": jid,
                "case_number": "(2020)京0108执888号",
                "amount_due": 100,
                "filed_at": "2020-06-15",
            },
        )
    )["record_id"]
    done = _post_all(
        api,
        [
            (f"/api/v1/enforcement/cases/{case_id}/actions", {"kind": k})
            for k in ("notice", "conclusion", "freeze")
        ],
    )
    assert [d["state"] for d in done] == ["confirmed", "confirmed", "failed"]
    error = done[2]["error"]
    assert error["name"] == "EnforcementRegistryCaseConcluded"
    assert error["arguments"] == {"caseId": case_id}
    assert error["contract"] == "EnforcementRegistry"
    r = api.get(f"/api/v1/records/{done[2]['outbox_id']}/certificate")
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    # A failed action does not take a sequence: the next one gets the slot again.
    nxt = api.post(f"/api/v1/enforcement/cases/{case_id}/actions", {"kind": "notice"})
    assert api.wait(nxt.json()["outbox_id"])["record"]["sequence"] == 2


def test_filing_on_an_unknown_judgment_fails(court):
    r = court.api.post(
        "/api/v1/enforcement/cases",
        {
            "judgment_id": "0x" + "42" * 32,
            "case_number": "(2020)京1执1号",
            "amount_due": 5,
            "filed_at": "2020-01-01",
        },
    )
    record = court.api.wait(r.json()["outbox_id"])
    assert record["state"] == "failed"
    assert record["error"]["name"] == "EnforcementRegistryJudgmentNotEnforceable"


def test_governance_acts_and_key_rotation(services, http, gov, trust):
    court = admit(gov, services, http)
    api = court.api
    first = api.confirmed(api.post("/api/v1/judgments", judgment_body()))
    rotated = gov.post(f"/api/v1/courts/{court.court_id}/signers")
    gov.confirmed(rotated)
    new_signer = rotated.json()["signer"]
    assert new_signer != court.signer
    gov.confirmed(gov.post(f"/api/v1/courts/{court.court_id}/signers/{court.signer}/retire"))
    second = api.confirmed(api.post("/api/v1/judgments", judgment_body()))
    cert = api.get(f"/api/v1/judgments/{second['record_id']}/certificate").json()
    assert cert["signature"]["signer"] == new_signer
    old_cert = api.get(f"/api/v1/judgments/{first['record_id']}/certificate").json()
    assert old_cert["signature"]["signer"] == court.signer
    verify_certificate(old_cert, trust=trust, rpc=services.chain.w3)  # valid at its time, after the rotation

    gov.confirmed(gov.post(f"/api/v1/courts/{court.court_id}/suspend"))
    suspended = api.post("/api/v1/judgments", judgment_body())
    failed = api.wait(suspended.json()["outbox_id"])
    assert failed["state"] == "failed" and failed["error"]["name"].startswith("CourtAuthorized")
    gov.confirmed(gov.post(f"/api/v1/courts/{court.court_id}/reinstate"))
    api.confirmed(api.post("/api/v1/judgments", judgment_body()))
    gov.confirmed(gov.post(f"/api/v1/courts/{court.court_id}/retire"))
    status = gov.get(f"/api/v1/courts/{court.court_id}").json()
    assert status["status"] == "retired"
    assert {s["state"] for s in status["signers_held"]} == {"active", "retired"}
    again = gov.post("/api/v1/courts", {"court_id": court.court_id, "jurisdiction": "CN-BJ"})
    record = gov.wait(again.json()["outbox_id"])
    assert record["state"] == "failed" and record["error"]["name"] == "CourtRegistryCourtExists"


def test_document_digest_is_what_goes_on_chain(court):
    document = b"a judgment"
    r = court.api.post(
        "/api/v1/judgments", judgment_body(document_sha256="0x" + hashlib.sha256(document).hexdigest())
    )
    record = court.api.confirmed(r)
    assert record["record"]["document_digest"] == "0x" + sha256_digest(document).hex()
