"""Public verification, unauthenticated and rate-limited per client address (429 when exceeded).

- ``POST /verify/certificate``: every step of :func:`ledger.verify.verify_certificate` against this
  service's node and its two answers, ``authentic`` and ``in_force`` (now, or at ``at``), or the failure
  (a problem naming the step, with the steps that passed). The certificate must follow format 2
  (``docs/schemas/certificate-v2.schema.json``); format 1 is refused with a clear message.
- ``POST /verify/lookup``: one verdict for a case number and a document digest, from the index, judged by
  :func:`ledger.lookup.decide`: the recording court and its jurisdiction; ``conflict`` listing each record
  when more than one court recorded the case number or the document (never ``verified`` for one of them);
  ``court_mismatch`` when the court is not the one expected or the one the case number names. An
  enforcement case number with the document of the judgment it enforces answers the case (``kind``
  ``enforcement_case``: its state, the judgment, the listings it led to with their state and dates).
- ``GET /verify/network``: the signed network descriptor a verifier pins (with the governance address).

No endpoint here lists records or tells anyone whether a person is listed.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep, client_ip
from api.routes import API, PUBLIC_ERRORS, CaseNumber, Hex32, Sha256Hex, hex32
from ledger.errors import VerificationError
from ledger.lookup import Candidate, candidates_of, case_candidates, decide, registry_facts
from ledger.messages import negotiate
from ledger.records import case_number_digest

router = APIRouter(prefix=f"{API}/verify", tags=["verification"], responses=PUBLIC_ERRORS)


def rate_limited(request: Request, services: ServicesDep) -> None:
    services.rate_limiter.take(client_ip(request))


Limited = Annotated[None, Depends(rate_limited)]


class VerifyCertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate: dict[str, Any] = Field(description="the certificate JSON, as issued")
    document_sha256: Sha256Hex | None = Field(default=None, description="SHA-256 of the document held")
    at: int | None = Field(default=None, ge=0, le=2**40 - 1,
                           description="answer 'in force' as of this unix time instead of now")


class StepOut(BaseModel):
    name: str
    ok: bool
    detail: str


class VerificationOut(BaseModel):
    verified: Literal[True]
    authentic: bool | None = Field(description="written by a valid signer of that court, as certified")
    in_force: bool | None = Field(description="in force now (or at `at`): effective, open, active, anchored")
    state: str | None = Field(description="effective / under_appeal / set_aside / superseded / satisfied / stayed; "
                                          "open / terminated / concluded; active / removed / expired; anchored")
    at: int | None
    kind: str
    record_id: Hex32
    online: bool
    network: str
    steps: list[StepOut]
    status: dict[str, Any]
    proves: list[str]
    does_not_prove: list[str]
    summary: str
    effect: str | None = Field(default=None, description="a judgment's effect and enforceability in the State of "
                               "origin (online): effective since, appeal pending, stayed, enforceable now or at `at`")
    dossier: dict[str, Any] | None = Field(
        default=None, description="a judgment's dossier (Hague 2019 art. 12), when the certificate carries one: "
        "version, filing court, by_default, complete_copy, proof_of_service {required, present, digest}, "
        "translations [{language, digest}], dossier_hash; its chain facts are in status.dossier")


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_number: CaseNumber
    document_sha256: Sha256Hex
    expected_court: int | None = Field(
        default=None, gt=0, lt=2**32, strict=True, description="the court the caller expects"
    )


class RecordedOut(BaseModel):
    kind: Literal["judgment", "enforcement_case"]
    record_id: Hex32
    judgment_id: Hex32 | None = Field(default=None, description="the judgment, or the one a case enforces")
    court: int
    jurisdiction: str | None = None
    status: str
    superseded_by: Hex32 | None = None
    block_number: int
    transaction_hash: Hex32
    case_number_matches: bool
    document_matches: bool
    case_code_matches: bool | None = None


class ListingOut(BaseModel):
    listing_id: Hex32
    court: int
    state: Literal["active", "removed", "expired"]
    listed_at: int
    until: int
    removed_at: int | None = None


class LookupOut(BaseModel):
    verdict: Literal["verified", "conflict", "court_mismatch", "does_not_match", "not_on_chain"]
    kind: Literal["judgment", "enforcement_case"] | None = Field(
        default=None, description="what the record named is: a judgment, or an enforcement case (when the "
                                  "case number is an enforcement case's and the document the judgment it enforces)")
    record_id: Hex32 | None = None
    judgment_id: Hex32 | None = Field(default=None, description="the judgment, or the one a case enforces")
    court: int | None = None
    jurisdiction: str | None = None
    status: str | None = None
    superseded_by: Hex32 | None = None
    block_number: int | None = None
    transaction_hash: Hex32 | None = None
    case_code_matches: bool | None = None
    reason: str | None = None
    records: list[RecordedOut] | None = None
    listings: list[ListingOut] | None = Field(
        default=None, description="a verified case's listings: state and dates only, never who or why")


@router.post("/certificate", response_model=VerificationOut, summary="Verify a certificate, step by step",
             description="Accepts a format-2 certificate or its W3C Verifiable Credential form. Every message "
                         "(step details, summary, a failure's reason) is in the language `Accept-Language` "
                         "asks for: `zh`, `en` or `fr` (default `en`), named in `Content-Language`.")
def verify_certificate(body: VerifyCertificateIn, request: Request, response: Response, _: Limited,
                       services: ServicesDep) -> dict[str, Any]:
    lang = negotiate(request.headers.get("accept-language"))
    digest = hex32(body.document_sha256) if body.document_sha256 else None
    try:
        result = services.certificates.verify(body.certificate, digest, at=body.at)
    except VerificationError as exc:
        raise exc.localized(lang) from None
    response.headers["Content-Language"] = lang
    return result.as_dict(lang)


@router.post(
    "/lookup",
    response_model=LookupOut,
    response_model_exclude_none=True,
    summary="Is this judgment or enforcement case (case number + document) on record?",
)
def lookup(body: LookupIn, _: Limited, services: ServicesDep) -> LookupOut:
    digest = case_number_digest(services.secrets.case_key, body.case_number)
    document = hex32(body.document_sha256)
    facts = registry_facts(services.ledger.w3, services.deployment.address("CourtRegistry"))
    verdict = decide(body.case_number, digest, document, _claimants(services, digest, document), facts,
                     body.expected_court)
    out = asdict(verdict)
    out["records"] = out["records"] or None
    return LookupOut.model_validate(out)


def _claimants(services: Any, digest: bytes, document: bytes) -> list[Candidate]:
    """The enforcement cases under this case number (with any judgment recorded under it: it claims the
    number too); where there is none, the judgments carrying the case number or the document."""
    index = services.index
    cases = index.cases_claiming(digest)
    if not cases:
        return candidates_of(index.judgments_claiming(digest, document))

    def judgment_document(judgment_id: bytes) -> bytes | None:
        view = index.judgment(judgment_id)
        return None if view is None else bytes(view.document_digest)

    same_number = [v for v in index.judgments_claiming(digest, document) if v.case_number_digest == digest]
    return case_candidates(cases, judgment_document, services.now()) + candidates_of(same_number)


@router.get("/network", summary="The network descriptor to pin, signed by governance")
def network(_: Limited, services: ServicesDep) -> dict[str, Any]:
    return services.descriptor.model_dump()
