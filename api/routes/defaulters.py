"""Dishonest-debtor listings: list a subject (by blind index on chain; identity to the vault), extend a
listing, remove it, fetch its certificate. Nothing here reveals a subject's status to anyone but the
listing court; partners ask :mod:`api.routes.checks`."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.auth import Client
from api.authority import require_authority
from api.deps import ServicesDep, WriteCtx, requires
from api.errors import NotFound
from api.fields import check_extension, check_listing_time, check_removal
from api.precheck import require_listing_change_possible
from api.routes import (
    API,
    AUTHENTICATED_ERRORS,
    Hex32,
    NamedSubjectIn,
    SubmissionOut,
    check_court,
    hex32,
    submission_out,
)
from api.routes.status import certificate_or_credential
from ledger.records import Extension, Ground, Removal, RemovalReason, Restriction

router = APIRouter(prefix=f"{API}/defaulters", tags=["defaulters"], responses=AUTHENTICATED_ERRORS)

Writer = Annotated[Client, Depends(requires("defaulters:write", "court"))]
Reader = Annotated[Client, Depends(requires("records:read", "court", "governance"))]
ListingIdPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]
GroundName = Literal[tuple(g.name.lower() for g in Ground if g != Ground.NONE)]  # type: ignore[valid-type]
RestrictionName = Literal[tuple((r.name or "").lower() for r in Restriction)]  # type: ignore[valid-type]
ReasonName = Literal[tuple(r.name.lower() for r in RemovalReason if r != RemovalReason.NONE)]  # type: ignore[valid-type]
YEAR = 365 * 86400


class ListingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    court: int | None = Field(default=None, description="optional; must be the credential's court", strict=True)
    subject: NamedSubjectIn
    case_id: Hex32
    ground: GroundName  # type: ignore[valid-type]
    restrictions: list[RestrictionName] = Field(min_length=1)  # type: ignore[valid-type]
    listed_at: int | None = Field(default=None, gt=0, lt=2**40, description="unix seconds; default now", strict=True)
    period_days: int = Field(default=730, ge=1, le=730, strict=True)


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    years: int | None = Field(default=None, ge=1, le=3, description="extend by 1 to 3 years", strict=True)
    until: int | None = Field(default=None, gt=0, lt=2**40, description="or: the new end, unix seconds", strict=True)

    @model_validator(mode="after")
    def _one(self) -> ExtensionIn:
        if (self.years is None) == (self.until is None):
            raise ValueError("give either years or until")
        return self


class RemovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ReasonName  # type: ignore[valid-type]


@router.post("/listings", status_code=202, response_model=SubmissionOut, summary="List a dishonest debtor")
def list_defaulter(
    body: ListingIn, client: Writer, services: ServicesDep, ctx: WriteCtx, response: Response
) -> SubmissionOut:
    court = check_court(body.court, client)
    existing = services.writes.idempotent_entry(client, ctx)
    if existing is not None:
        return submission_out(existing, response)
    case = services.index.case_history(hex32(body.case_id))
    require_authority(services.index, court, case.court if case else None, f"case {body.case_id}")
    desk = services.desk(court)
    listed_at = body.listed_at or int(time.time())
    check_listing_time(services.now(), listed_at)
    entry = services.writes.submit_record(
        client,
        ctx,
        court,
        lambda _: desk.listing(
            subject=body.subject.subject,
            display_name=body.subject.name,
            case_id=hex32(body.case_id),
            ground=Ground[str(body.ground).upper()],
            restrictions=Restriction.parse(body.restrictions),
            listed_at=listed_at,
            period_seconds=body.period_days * 86400,
        ),
    )
    return submission_out(entry, response)


def _require_listing_authority(services: Any, court: int, listing_id: bytes) -> None:
    owner = services.index.listing(listing_id)
    require_authority(services.index, court, owner.court if owner else None, f"listing 0x{listing_id.hex()}")


def _current_until(services: Any, listing_id: bytes) -> int:
    on_chain = services.ledger.listing(listing_id)
    if on_chain["listed_at"]:
        return int(on_chain["until"])
    entry = services.outbox.by_record_id(listing_id, "listing")
    if entry is None or entry.state == "failed":
        raise NotFound(f"no listing 0x{listing_id.hex()}")
    return int(entry.typed_record().until)


@router.post(
    "/listings/{listing_id}/extension",
    status_code=202,
    response_model=SubmissionOut,
    summary="Extend a listing by 1 to 3 years (serious cases)",
)
def extend_listing(
    listing_id: ListingIdPath,
    body: ExtensionIn,
    client: Writer,
    services: ServicesDep,
    ctx: WriteCtx,
    response: Response,
) -> SubmissionOut:
    court = check_court(None, client)
    lid = hex32(listing_id)
    _require_listing_authority(services, court, lid)
    current = _current_until(services, lid)
    until = body.until if body.until is not None else current + (body.years or 0) * YEAR
    check_extension(services.now(), current, until)
    require_listing_change_possible(services, lid, int(services.now()), until=until)

    def make(sequence: int | None) -> Extension:
        assert sequence is not None
        return Extension(listing_id=lid, until=until, sequence=sequence)

    entry = services.writes.submit_record(client, ctx, court, make, family="listing:0x" + lid.hex())
    return submission_out(entry, response)


@router.post(
    "/listings/{listing_id}/removal",
    status_code=202,
    response_model=SubmissionOut,
    summary="Remove a listing (debt performed, settlement fulfilled, case ended, ...)",
)
def remove_listing(
    listing_id: ListingIdPath,
    body: RemovalIn,
    client: Writer,
    services: ServicesDep,
    ctx: WriteCtx,
    response: Response,
) -> SubmissionOut:
    court = check_court(None, client)
    lid = hex32(listing_id)
    _require_listing_authority(services, court, lid)
    check_removal(services.now(), str(body.reason), _current_until(services, lid))
    require_listing_change_possible(services, lid, int(services.now()), reason=RemovalReason[str(body.reason).upper()])

    def make(sequence: int | None) -> Removal:
        assert sequence is not None
        return Removal(listing_id=lid, reason=RemovalReason[str(body.reason).upper()], sequence=sequence)

    entry = services.writes.submit_record(client, ctx, court, make, family="listing:0x" + lid.hex())
    return submission_out(entry, response)


@router.get("/listings/{listing_id}/certificate", summary="The listing's certificate: restricted now or not")
def listing_certificate(
    listing_id: ListingIdPath, request: Request, client: Reader, services: ServicesDep
) -> dict[str, Any]:
    entry = services.writes.record_entry(client, hex32(listing_id), "listing")
    return certificate_or_credential(services.certificates.certificate(entry), request, services)
