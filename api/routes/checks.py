"""Partner checks: is this subject restricted, right now, for this restriction? Restricted and until, and
nothing else. Answered from the index (never by chain calls); every answer is written to the audit log
with the blind index, never the identifier."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Client
from api.deps import ServicesDep, requires
from api.errors import TooLarge
from api.routes import API, AUTHENTICATED_ERRORS, SubjectRefIn
from ledger.records import Restriction

router = APIRouter(prefix=f"{API}/checks", tags=["checks"], responses=AUTHENTICATED_ERRORS)

Partner = Annotated[Client, Depends(requires("checks:read", "partner"))]
RestrictionName = Literal[tuple((r.name or "").lower() for r in Restriction)]  # type: ignore[valid-type]
MAX_BATCH = 10_000


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    subject: SubjectRefIn
    restriction: RestrictionName  # type: ignore[valid-type]


class BatchCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    subjects: list[SubjectRefIn] = Field(min_length=1, max_length=MAX_BATCH)
    restriction: RestrictionName  # type: ignore[valid-type]


class CheckOut(BaseModel):
    restricted: bool
    until: int | None = Field(description="unix seconds when the restriction ends, if restricted")


class BatchCheckOut(BaseModel):
    results: list[CheckOut] = Field(description="in the order of the subjects asked about")


def _answer(
    client: Client, services: ServicesDep, subjects: list[SubjectRefIn], restriction: str, batch: str | None
) -> list[CheckOut]:
    if len(subjects) > services.settings.max_batch_checks:
        raise TooLarge(f"at most {services.settings.max_batch_checks} subjects per batch")
    mask = int(Restriction.parse(restriction))
    blinds = [s.blind(services.blind_key) for s in subjects]
    at = services.now()
    answers = services.index.check_many(blinds, mask, at)
    services.audit.record(
        client.client_id,
        at,
        mask,
        [(b, a.restricted, a.until) for b, a in zip(blinds, answers, strict=True)],
        batch,
    )
    return [CheckOut(restricted=a.restricted, until=a.until if a.restricted else None) for a in answers]


@router.post("", response_model=CheckOut, summary="Is this subject restricted now?")
def check(body: CheckIn, client: Partner, services: ServicesDep) -> CheckOut:
    return _answer(client, services, [body.subject], body.restriction, None)[0]


@router.post("/batch", response_model=BatchCheckOut, summary="Check up to 10,000 subjects at once")
def check_batch(body: BatchCheckIn, client: Partner, services: ServicesDep) -> BatchCheckOut:
    return BatchCheckOut(
        results=_answer(client, services, body.subjects, body.restriction, "batch_" + secrets.token_hex(8))
    )
