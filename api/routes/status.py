"""Bitstring Status Lists (W3C Bitstring Status List v1.0), and certificates served as credentials.

- ``GET /status/{purpose}/{list}``: the ``BitstringStatusListCredential`` of ``revocation`` (judgments set
  aside or superseded, listings removed) or ``suspension`` (judgments under appeal) number ``list``. Public,
  rate-limited like ``/verify``. Each list holds 131,072 entries (16 KB of bits, the specification's floor
  for herd privacy) and nothing else: no record id, no court, no subject. A record's position is assigned
  by the index in the chain order of creation events and stored (``Index.status_position``); its bit
  follows the chain's events (``Index.status_bits``).
- :func:`certificate_or_credential`: a certificate route answers the W3C Verifiable Credential form
  (``ledger.vc``) when asked with ``?format=vc`` or ``Accept: application/vc`` /
  ``application/vc+ld+json``; the credential's ``credentialStatus`` points at these lists.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.errors import NotReady
from api.routes import API, PUBLIC_ERRORS
from api.routes.verification import Limited
from ledger.certificates import Certificate
from ledger.vc import (
    STATUS_LIST_SIZE,
    STATUS_PURPOSES,
    credential,
    encode_status_list,
    status_entries,
    status_list_credential,
)

router = APIRouter(prefix=f"{API}/status", tags=["verification"], responses=PUBLIC_ERRORS)

VC_MEDIA_TYPES = ("application/vc", "application/vc+ld+json")
#: OpenAPI: a route that may answer a Verifiable Credential names both media types
VC_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {t: {"schema": {"type": "object"}} for t in VC_MEDIA_TYPES}}}
#: lists a deployment can have (position < 2^40 / 131,072): bounds the path parameter
MAX_LIST = 2**40 // STATUS_LIST_SIZE


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + f"{API}/status"


def _did_web(request: Request) -> str:
    return "did:web:" + request.url.netloc.replace(":", "%3A")


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    return "application/vc+ld+json" if "application/vc+ld+json" in accept else "application/vc"


@router.get("/{purpose}/{number}", summary="A Bitstring Status List (revocation or suspension)",
            response_description="a BitstringStatusListCredential", responses=VC_RESPONSES)
def status_list(purpose: Literal["revocation", "suspension"],
                number: Annotated[int, Path(ge=0, le=MAX_LIST)],
                request: Request, _: Limited, services: ServicesDep) -> JSONResponse:
    first = number * STATUS_LIST_SIZE
    positions = [p - first for p in services.index.status_bits(purpose, first, STATUS_LIST_SIZE)]
    url = f"{_base(request)}/{purpose}/{number}"
    body = status_list_credential(url, purpose, encode_status_list(positions), issuer=_did_web(request),
                                  valid_from=services.now())
    return JSONResponse(body, media_type=_media_type(request), headers={"Cache-Control": "no-cache"})


def wants_credential(request: Request) -> bool:
    if request.query_params.get("format") == "vc":
        return True
    accept = request.headers.get("accept", "")
    return any(t in accept for t in VC_MEDIA_TYPES)


def certificate_or_credential(certificate: Certificate, request: Request, services: Any) -> Any:
    """The certificate as JSON, or as a Verifiable Credential carrying its status-list entries when asked."""
    data = certificate.model_dump(exclude_none=True)
    if not wants_credential(request):
        return data
    status = None
    if STATUS_PURPOSES[certificate.kind]:
        record_id = bytes.fromhex(certificate.record_id[2:])
        position = services.index.status_position(record_id)
        if position is None and services.wait_indexed(certificate.transaction.block_number):
            position = services.index.status_position(record_id)
        if position is None:
            raise NotReady("the index is catching up with the chain; retry in a moment")
        status = status_entries(certificate.kind, position, _base(request))
    return JSONResponse(credential(data, status), media_type=_media_type(request))
