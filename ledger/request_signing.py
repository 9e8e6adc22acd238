"""Signing a request to the service: RFC 9421 HTTP Message Signatures with Ed25519 (the client side).

One place for the signature base (RFC 9421 section 2.5) of our profile, used by the service's verifier
(:mod:`api.httpsig`), its test clients and benchmarks (:func:`api.auth.sign_request`) and ``ledger sign``.
The profile: label ``sig1``; covered ``"@method" "@path" "@query"`` and, with a body, ``"content-digest"``
(RFC 9530 ``sha-256``); parameters ``created``, ``keyid`` (the client id), ``nonce`` and ``alg="ed25519"``.
Any RFC 9421 library produces the same headers (docs/clients.md).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_sf.innerlist import ser_innerlist

__all__ = [
    "ALG",
    "DIGEST",
    "LABEL",
    "REQUIRED_COMPONENTS",
    "content_digest",
    "private_key_from_text",
    "sign_headers",
    "signature_base",
]

#: Components every signature covers; ``content-digest`` too when the request has a body.
REQUIRED_COMPONENTS = ("@method", "@path", "@query")
DIGEST = "content-digest"
ALG = "ed25519"
LABEL = "sig1"


def private_key_from_text(text: str | bytes) -> Ed25519PrivateKey:
    """A private key from base64 of its 32 raw bytes, or from PEM (PKCS#8). ValueError if neither."""
    data = text.encode() if isinstance(text, str) else text
    if data.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM key is not an Ed25519 key")
        return key
    raw = base64.b64decode(data.strip(), validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 private key is 32 bytes (base64) or PEM")
    return Ed25519PrivateKey.from_private_bytes(raw)


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value of a body: ``sha-256=:BASE64:``."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def signature_base(
    components: tuple[str, ...], params_line: str, method: str, target: str, headers: Mapping[str, str],
    *, origin: str | None = None,
) -> bytes:
    """The RFC 9421 signature base of a request. ``target`` is ``PATH?QUERY`` exactly as sent; ``headers``
    are looked up by lowercase name; ``origin`` (``scheme://authority``) makes ``@target-uri`` the origin
    followed by the target. ValueError for a covered header the request lacks, ``@target-uri`` without an
    origin, or non-ASCII."""
    path, _, query = target.partition("?")
    lines = []
    for name in components:
        if name == "@method":
            value = method.upper()
        elif name == "@path":
            value = path or "/"
        elif name == "@query":
            value = "?" + query
        elif name == "@authority":
            value = headers.get("host", "").lower()
        elif name == "@target-uri":
            if origin is None:
                raise ValueError("the signature covers @target-uri, which this verifier cannot rebuild")
            value = origin + (target or "/")
        else:
            found = headers.get(name)
            if found is None:
                raise ValueError(f"the signature covers the header {name!r}, which the request lacks")
            value = found.strip()
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {params_line}')
    try:
        return "\n".join(lines).encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("a covered component is not ASCII (percent-encode the path and query)") from None


def sign_headers(
    keyid: str,
    sign: Callable[[bytes], bytes],
    method: str,
    target: str,
    body: bytes,
    *,
    created: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """``Signature-Input``, ``Signature`` and (with a body) ``Content-Digest`` for one request.

    ``sign`` maps the signature base to the 64-byte Ed25519 signature (e.g. ``private_key.sign``)."""
    components = REQUIRED_COMPONENTS + ((DIGEST,) if body else ())
    headers = {"Content-Digest": content_digest(body)} if body else {}
    params = {
        "created": int(time.time()) if created is None else int(created),
        "keyid": keyid,
        "nonce": nonce or secrets.token_urlsafe(24),
        "alg": ALG,
    }
    line = ser_innerlist(([(c, {}) for c in components], params))  # type: ignore[arg-type]
    base = signature_base(components, line, method, target, {k.lower(): v for k, v in headers.items()})
    headers["Signature-Input"] = f"{LABEL}={line}"
    headers["Signature"] = f"{LABEL}=:{base64.b64encode(sign(base)).decode()}:"
    return headers
