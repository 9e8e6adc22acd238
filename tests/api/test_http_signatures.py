"""RFC 9421 request signatures: an off-the-shelf signer is accepted; each attacker move is refused.

Every refused request is followed by the genuine one with the same signature, which still goes through:
the refusal used up nothing (no nonce burnt, nothing written).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import time
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from api.auth import sign_request
from ledger.request_signing import content_digest
from tests.api.conftest import judgment_body

BASE = "http://testserver"
ANY_RECORD = "/api/v1/records/ob_" + "0" * 24
CHECK = {"subject": {"kind": "resident_id", "id": "11010519491231002X"}, "restriction": "flights"}


def _library_signed(
    client_id: str,
    key: Any,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    components: tuple[str, ...] = ("@method", "@path", "@query"),
    created: float | None = None,
    nonce: str | None = None,
    base: str = BASE,
    label: str = "sig1",
    existing: dict[str, str] | None = None,
) -> dict[str, str]:
    """Headers made by the ``http-message-signatures`` library (pyauth), not by our code: for the request
    as sent to ``base``; with ``existing`` signature headers, the new label is appended to them."""
    request = requests.Request(method, base + target, data=body or None, headers=existing or {}).prepare()
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={client_id: key}),
    )
    when = datetime.datetime.fromtimestamp(created if created is not None else time.time(), datetime.UTC)
    signer.sign(
        request,
        key_id=client_id,
        created=when,
        nonce=nonce or base64.urlsafe_b64encode(hashlib.sha256(str(time.time_ns()).encode()).digest()[:18]).decode(),
        label=label,
        covered_component_ids=components,
        body=body if body else None,
        append_if_signature_exists=existing is not None,
        use_existing_digest=existing is not None and "Content-Digest" in existing,
    )
    headers = {name: request.headers[name] for name in ("Signature-Input", "Signature")}
    if body:
        headers["Content-Digest"] = request.headers["Content-Digest"]
        headers["Content-Type"] = "application/json"
    return headers


def _refused(response: Any, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert reason in response.json()["detail"], response.json()["detail"]


def test_request_signed_by_the_http_message_signatures_library_is_accepted(http, court, partner):
    headers = _library_signed(court.api.client_id, court.api.key, "GET", ANY_RECORD + "?x=1")
    assert http.get(ANY_RECORD + "?x=1", headers=headers).status_code == 404  # authenticated; no such record
    body = json.dumps(CHECK).encode()
    headers = _library_signed(
        partner.client_id, partner.key, "POST", "/api/v1/checks", body,
        components=("@method", "@path", "@query", "content-digest", "@authority"),
    )  # fmt: skip
    r = http.post("/api/v1/checks", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["restricted"] is False


def test_attacker_cannot_replay_the_method_on_another_verb(http, court):
    headers = sign_request(court.api.client_id, court.api.key, "DELETE", ANY_RECORD)
    _refused(http.get(ANY_RECORD, headers=headers), "bad signature")
    assert http.delete(ANY_RECORD, headers=headers).status_code in (404, 405)  # authenticated, not refused


def test_attacker_cannot_move_a_signature_to_another_path(http, court):
    headers = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD)
    _refused(http.get("/api/v1/records/ob_" + "1" * 24, headers=headers), "bad signature")
    assert http.get(ANY_RECORD, headers=headers).status_code == 404


def test_attacker_cannot_change_the_query(http, court):
    headers = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD + "?page=1")
    _refused(http.get(ANY_RECORD + "?page=2", headers=headers), "bad signature")
    _refused(http.get(ANY_RECORD, headers=headers), "bad signature")
    assert http.get(ANY_RECORD + "?page=1", headers=headers).status_code == 404


def test_attacker_cannot_change_the_body_even_with_a_matching_digest(http, court, services):
    body = json.dumps(judgment_body()).encode()
    headers = sign_request(court.api.client_id, court.api.key, "POST", "/api/v1/judgments", body)
    tampered = body.replace(b"1300000", b"9300000")
    assert tampered != body
    _refused(http.post("/api/v1/judgments", content=tampered, headers=headers), "Content-Digest does not match")
    redigested = {**headers, "Content-Digest": content_digest(tampered)}
    _refused(http.post("/api/v1/judgments", content=tampered, headers=redigested), "bad signature")
    genuine = http.post("/api/v1/judgments", content=body, headers=headers)
    assert genuine.status_code == 202, genuine.text  # the refusals burnt nothing and wrote nothing else


def test_replayed_nonce_is_refused(http, court):
    headers = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD)
    assert http.get(ANY_RECORD, headers=headers).status_code == 404
    _refused(http.get(ANY_RECORD, headers=headers), "replayed")


def test_signature_over_fewer_components_than_required_is_refused(http, court, partner):
    headers = _library_signed(court.api.client_id, court.api.key, "GET", ANY_RECORD, components=("@method", "@path"))
    _refused(http.get(ANY_RECORD, headers=headers), "does not cover @query")
    body = json.dumps(CHECK).encode()
    # a body whose digest is not covered: the body could be swapped in transit
    headers = _library_signed(partner.client_id, partner.key, "POST", "/api/v1/checks", b"")
    _refused(
        http.post("/api/v1/checks", content=body, headers={**headers, "Content-Type": "application/json"}),
        "does not cover content-digest",
    )


def test_created_outside_the_window_is_refused(http, court):
    # A minute beyond the window: a future ``created`` comes closer while the request travels, and a busy
    # machine may take seconds between signing and checking.
    for skew in (-360, 360):
        headers = _library_signed(
            court.api.client_id, court.api.key, "GET", ANY_RECORD, created=time.time() + skew
        )
        _refused(http.get(ANY_RECORD, headers=headers), "outside ±300 s")


def test_unknown_keyid_is_refused(http, court):
    headers = sign_request("nobody-at-all", court.api.key, "GET", ANY_RECORD)
    _refused(http.get(ANY_RECORD, headers=headers), "unknown or inactive client")


def test_signature_under_another_algorithm_is_refused(http, court):
    headers = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD)
    swapped = headers["Signature-Input"].replace('alg="ed25519"', 'alg="hmac-sha256"')
    _refused(http.get(ANY_RECORD, headers={**headers, "Signature-Input": swapped}), "algorithm must be")


def test_former_x_signature_headers_are_refused(http, court):
    """The pre-RFC 9421 scheme is no longer accepted: the answer names the headers to send instead."""
    stamp, nonce = str(int(time.time())), "legacy-nonce-0123456789"
    message = "\n".join(["GET", ANY_RECORD, stamp, nonce, hashlib.sha256(b"").hexdigest()]).encode()
    legacy = {
        "X-Client-Id": court.api.client_id,
        "X-Timestamp": stamp,
        "X-Nonce": nonce,
        "X-Signature": base64.b64encode(court.api.key.sign(message)).decode(),
    }
    _refused(http.get(ANY_RECORD, headers=legacy), "Signature-Input")


def test_malformed_signature_fields_are_401_not_500(http, court):
    good = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD)
    raw = base64.b64decode(good["Signature"][len("sig1=:") : -1])
    for field, value in (
        ("Signature", "sig1=:" + base64.b64encode(raw[:40]).decode() + ":"),
        ("Signature", "sig1=:" + base64.b64encode(bytes(64)).decode() + ":"),
        ("Signature", "sig1=not base64!"),
        ("Signature", "other=:" + base64.b64encode(raw).decode() + ":"),
        ("Signature-Input", "sig1=(\"@method\""),
        ("Signature-Input", good["Signature-Input"].replace("created=", "created=\"").replace(";keyid", "\";keyid")),
        ("Signature-Input", good["Signature-Input"].replace("nonce=\"", "nonce=\"!")),
        ("Signature-Input", good["Signature-Input"] + ";extra=1"),
    ):
        fresh = sign_request(court.api.client_id, court.api.key, "GET", ANY_RECORD)
        r = http.get(ANY_RECORD, headers={**fresh, field: value})
        assert r.status_code == 401, (field, value, r.text)
        assert r.json()["detail"], value


# -- @target-uri and several signatures (RFC 9421 sections 2.2.2 and 4.3) --------------------------------

TARGET_URI = ("@method", "@target-uri", "@path", "@query")


def test_target_uri_signed_by_the_library_for_this_service_is_accepted(http, court):
    headers = _library_signed(court.api.client_id, court.api.key, "GET", ANY_RECORD + "?x=1", components=TARGET_URI)
    assert http.get(ANY_RECORD + "?x=1", headers=headers).status_code == 404  # authenticated; no such record


def test_attacker_cannot_replay_a_request_signed_for_another_server(http, court):
    headers = _library_signed(court.api.client_id, court.api.key, "GET", ANY_RECORD, components=TARGET_URI,
                              base="http://other-court.example")
    _refused(http.get(ANY_RECORD, headers=headers), "bad signature")
    # Forwarded headers do not make it ours: they are never read.
    forwarded = {**headers, "X-Forwarded-Host": "other-court.example", "Forwarded": "host=other-court.example"}
    _refused(http.get(ANY_RECORD, headers=forwarded), "bad signature")
    https = _library_signed(court.api.client_id, court.api.key, "GET", ANY_RECORD, components=TARGET_URI,
                            base="https://testserver")
    _refused(http.get(ANY_RECORD, headers={**https, "X-Forwarded-Proto": "https"}), "bad signature")


def test_behind_a_proxy_target_uri_is_compared_with_the_configured_public_url(http, court, services):
    public = "https://ledger.court.example"
    services.auth.public_url = public
    try:
        as_client_sent = _library_signed(court.api.client_id, court.api.key, "GET", ANY_RECORD,
                                         components=TARGET_URI, base=public)
        assert http.get(ANY_RECORD, headers=as_client_sent).status_code == 404  # the proxy's http://testserver
        as_seen_inside = _library_signed(court.api.client_id, court.api.key, "GET", ANY_RECORD,
                                         components=TARGET_URI)
        _refused(http.get(ANY_RECORD, headers=as_seen_inside), "bad signature")
    finally:
        services.auth.public_url = None


def test_a_gateways_extra_signature_is_neither_verified_nor_refused(http, court, partner):
    body = json.dumps(CHECK).encode()
    components = ("@method", "@path", "@query", "content-digest")
    mine = _library_signed(partner.client_id, partner.key, "POST", "/api/v1/checks", body, components=components)
    gateway_key = Ed25519PrivateKey.generate()
    both = _library_signed("gateway-7", gateway_key, "POST", "/api/v1/checks", body, components=("@method",),
                           label="gw", existing=mine)
    assert both["Signature-Input"].startswith("sig1=") and ", gw=" in both["Signature-Input"]
    r = http.post("/api/v1/checks", content=body, headers=both)
    assert r.status_code == 200, r.text
    first = _library_signed("gateway-7", gateway_key, "GET", ANY_RECORD, components=("@method",), label="gw")
    behind = _library_signed(court.api.client_id, court.api.key, "GET", ANY_RECORD, label="sig1", existing=first)
    assert behind["Signature-Input"].startswith("gw=")  # the covering label comes second: it is the one verified
    assert http.get(ANY_RECORD, headers=behind).status_code == 404


def test_attacker_cannot_pass_as_a_client_by_adding_a_label_that_covers_more(http, court, partner):
    """The client's label covers too little for a body; an added label covering everything is the one
    verified, and it is not the client's: the request is refused, nothing is answered as the client."""
    body = json.dumps(CHECK).encode()
    thin = _library_signed(partner.client_id, partner.key, "POST", "/api/v1/checks", b"")
    forged = _library_signed(partner.client_id, Ed25519PrivateKey.generate(), "POST", "/api/v1/checks", body,
                             components=("@method", "@path", "@query", "content-digest"), label="evil",
                             existing={k: v for k, v in thin.items() if k.startswith("Signature")})
    _refused(http.post("/api/v1/checks", content=body, headers=forged), "bad signature")
