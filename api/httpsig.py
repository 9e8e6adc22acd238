"""RFC 9421 HTTP Message Signatures as this service profiles them: Ed25519, the client id as ``keyid``.

A signed request carries

``Content-Digest``   RFC 9530 ``sha-256=:BASE64:`` of the body (required when there is a body)
``Signature-Input``  RFC 8941 dictionary: a label whose inner list names the covered components,
                     with the parameters ``created`` (unix seconds), ``keyid`` (the client id),
                     ``nonce`` (16 to 128 characters of ``[A-Za-z0-9_+/=-]``, single use) and optionally
                     ``alg="ed25519"``, ``expires`` and ``tag``
``Signature``        RFC 8941 dictionary: the same label, the 64-byte Ed25519 signature as a byte sequence

The covered components must include ``"@method"``, ``"@path"`` and ``"@query"`` (``?`` alone when there
is no query) and, for a request with a body, ``"content-digest"``; ``"@authority"``, ``"@target-uri"`` and
header fields may be covered too. ``@target-uri`` is compared with the URI as this service sees it: the
configured public URL (``LEDGER_PUBLIC_URL``, what clients address through any proxy) or else the scheme it
was reached by and the request's ``Host``, followed by the path and query exactly as received
(:meth:`api.auth.Authenticator.origin`); forwarded headers are never trusted.

Several signatures (RFC 9421 section 4.3: a gateway may add its own) are allowed; exactly one is verified:
the first label, in ``Signature-Input`` order, whose components cover the required ones. The others are
neither verified nor refused: their keys are not ours to know. When no label covers the required
components, the first one is refused naming what it lacks.

Parsing uses ``http_sf`` (RFC 8941, the parser of the ``http-message-signatures`` library) for any
serialisation, after a strict match of the canonical one (the general parser costs more than the rest of a
partner check). The signature base (RFC 9421 section 2.5) is built by
:mod:`ledger.request_signing`, not by that library's verifier, which wants a ``requests``-style message
object per request; the tests check requests signed by the library itself. Every refusal is an
:class:`Unauthenticated` (401) naming what was wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

import http_sf
from http_sf.innerlist import ser_innerlist

from api.errors import Unauthenticated
from ledger.request_signing import ALG, DIGEST, REQUIRED_COMPONENTS

__all__ = ["NONCE", "SignedInput", "check_coverage", "check_digest", "parse_signature"]

NONCE = re.compile(r"^[A-Za-z0-9_+/=-]{16,128}$")
_DERIVED = frozenset({"@method", "@path", "@query", "@authority", "@target-uri"})
_PARAMS = frozenset({"created", "keyid", "nonce", "alg", "expires", "tag"})


@dataclass(frozen=True)
class SignedInput:
    """One signature of a request, parsed: what it covers, its parameters and its bytes."""

    label: str
    components: tuple[str, ...]
    params_line: str  # the ``@signature-params`` value: the inner list re-serialised
    created: int
    expires: int | None
    keyid: str
    nonce: str
    signature: bytes


_KEY = r"[a-z*][a-z0-9_.*-]{0,63}"
_STRING = r'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'
_INTEGER = r"(?:0|-?[1-9][0-9]{0,14})"
_BYTES = r":[A-Za-z0-9+/]*={0,2}:"
# The canonical RFC 8941 serialisations our own and common clients send, matched without the general
# parser (which costs more than the rest of a partner check); anything else goes to ``http_sf``.
_FAST_INPUT = re.compile(rf"({_KEY})=\(((?:{_STRING}(?: {_STRING})*)?)\)((?:;{_KEY}=(?:{_STRING}|{_INTEGER}))*)")
_FAST_PARAM = re.compile(rf";({_KEY})=({_STRING}|{_INTEGER})")
_FAST_BYTES = re.compile(rf"({_KEY})=({_BYTES})")


def _fast_input(value: str) -> tuple[str, list[str], dict[str, object], str] | None:
    """(label, components, parameters, the inner list's text) of a canonical one-member field, or None."""
    match = _FAST_INPUT.fullmatch(value)
    if match is None:
        return None
    label, listed, tail = match.groups()
    params: dict[str, object] = {}
    for key, raw in _FAST_PARAM.findall(tail):
        if key in params:
            return None  # the general parser decides what a repeated parameter means
        params[key] = raw[1:-1] if raw.startswith('"') else int(raw)
    components = [c[1:-1] for c in listed.split(" ")] if listed else []
    return label, components, params, value[len(label) + 1 :]


def _fast_bytes(value: str, label: str) -> bytes | None:
    match = _FAST_BYTES.fullmatch(value)
    if match is None or match.group(1) != label:
        return None
    try:
        return base64.b64decode(match.group(2)[1:-1], validate=True)
    except ValueError:
        return None


def _dictionary(value: str, header: str) -> dict[str, tuple[object, dict[str, object]]]:
    try:
        parsed = http_sf.parse(value.encode("latin-1"), tltype="dictionary")
    except (ValueError, UnicodeEncodeError):
        raise Unauthenticated(f"{header} is not an RFC 8941 dictionary") from None
    return parsed  # type: ignore[return-value]


def parse_signature(headers: Mapping[str, str], has_body: bool = False) -> SignedInput:
    """The request's signature to verify (the first label covering the required components, else the
    first label), checked for form only."""
    given_input = headers.get("signature-input")
    given_signature = headers.get("signature")
    if not (given_input and given_signature):
        raise Unauthenticated(
            "signed request required: send Signature-Input and Signature (RFC 9421, Ed25519, keyid = your client id)"
        )
    fast = _fast_input(given_input)
    if fast is not None:
        label, names, params, line = fast
        raw: object = _fast_bytes(given_signature, label)
    else:
        label, names, params, line = _slow_input(given_input, _required(has_body))
        raw = None
    if raw is None:
        signatures = _dictionary(given_signature, "Signature")
        if label not in signatures:
            raise Unauthenticated(f"Signature has no value for the label {label!r} of Signature-Input")
        raw = signatures[label][0]
    if not isinstance(raw, bytes) or len(raw) != 64:
        raise Unauthenticated("Signature must be a byte sequence of a 64-byte Ed25519 signature")
    if len(set(names)) != len(names):
        raise Unauthenticated("a component is covered twice")
    unknown = set(params) - _PARAMS
    if unknown:
        raise Unauthenticated(f"unknown signature parameter {sorted(unknown)[0]!r}")
    if params.get("alg", ALG) != ALG:
        raise Unauthenticated(f'the signature algorithm must be "{ALG}"')
    created, expires = params.get("created"), params.get("expires")
    keyid, nonce = params.get("keyid"), params.get("nonce")
    if not isinstance(created, int) or isinstance(created, bool):
        raise Unauthenticated("the signature parameter created (unix seconds) is required")
    if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool)):
        raise Unauthenticated("the signature parameter expires must be unix seconds")
    if not isinstance(keyid, str) or not keyid:
        raise Unauthenticated("the signature parameter keyid (your client id) is required")
    if not isinstance(nonce, str) or not NONCE.match(nonce):
        raise Unauthenticated("the signature parameter nonce is required: 16 to 128 characters of [A-Za-z0-9_+/=-]")
    return SignedInput(label, tuple(names), line, created, expires, keyid, nonce, raw)


def _required(has_body: bool) -> tuple[str, ...]:
    return REQUIRED_COMPONENTS + ((DIGEST,) if has_body else ())


def _slow_input(
    value: str, required: tuple[str, ...] = REQUIRED_COMPONENTS
) -> tuple[str, list[str], dict[str, object], str]:
    """What :func:`_fast_input` gives, by the general RFC 8941 parser (any valid serialisation), for the
    first label covering ``required`` (else the first label)."""
    inputs = _dictionary(value, "Signature-Input")
    if not inputs:
        raise Unauthenticated("Signature-Input names no signature")
    labels = list(inputs.items())
    label, (members, params) = next(
        ((lb, m) for lb, m in labels if isinstance(m[0], list) and set(required) <= {n for n, _ in m[0]}),
        labels[0])
    if not isinstance(members, list):
        raise Unauthenticated("Signature-Input must give an inner list of covered components")
    names: list[str] = []
    for name, component_params in members:
        if not isinstance(name, str) or component_params:
            raise Unauthenticated("covered components are plain strings, without parameters")
        names.append(name)
    return label, names, dict(params), ser_innerlist((members, params))  # type: ignore[arg-type]


def check_coverage(signed: SignedInput, has_body: bool) -> None:
    """Refuse a signature over fewer components than required, or over components we cannot rebuild."""
    required = _required(has_body)
    missing = [name for name in required if name not in signed.components]
    if missing:
        raise Unauthenticated(f"the signature must cover {', '.join(required)}; it does not cover {', '.join(missing)}")
    for name in signed.components:
        if name.startswith("@") and name not in _DERIVED:
            raise Unauthenticated(f"the covered component {name!r} is not supported; cover @path and @query "
                                  "(@authority and @target-uri may be covered too)")


def check_digest(headers: Mapping[str, str], body: bytes) -> None:
    """A ``Content-Digest`` header, if sent, must hold the body's SHA-256 (other algorithms are ignored,
    but sha-256 must be among them)."""
    given = headers.get(DIGEST)
    if given is None:
        return
    fast = _FAST_BYTES.fullmatch(given)
    if fast is not None and fast.group(1) == "sha-256":
        try:
            value: object = base64.b64decode(fast.group(2)[1:-1], validate=True)
        except ValueError:
            raise Unauthenticated("Content-Digest is not an RFC 8941 dictionary") from None
    else:
        value = _dictionary(given, "Content-Digest").get("sha-256", (None, {}))[0]
    if not isinstance(value, bytes):
        raise Unauthenticated("Content-Digest must carry a sha-256 member (RFC 9530)")
    if not hmac.compare_digest(value, hashlib.sha256(body).digest()):
        raise Unauthenticated("Content-Digest does not match the body")
