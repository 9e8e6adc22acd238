"""Partner checks: is this subject restricted, right now, for this restriction? Restricted and until, and
nothing else. Answered from the index (never by chain calls); every answer is written to the audit log
with the blind index, never the identifier, before the partner sees it. Partners send identifiers over the
authenticated channel and the service derives the blind index: the key never leaves the courts' services.

These handlers run on the event loop: a single check costs well under a millisecond (signature, nonce,
one index lookup, one audit row), less than a hop to the thread pool and back. A batch (up to 10,000
subjects) runs in the thread pool so that it does not hold other requests up. Answers are encoded
directly (their shape is the documented response model): validating our own output again would cost
more than the lookup.
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api.auth import Authenticator, Client
from api.checking import CheckAudit
from api.deps import get_services, requires
from api.errors import TooLarge
from api.routes import API, AUTHENTICATED_ERRORS, SubjectRefIn
from api.settings import Settings
from ledger.index import Index
from ledger.privacy import BlindIndexKey, blind_indexes
from ledger.records import Restriction

router = APIRouter(prefix=f"{API}/checks", tags=["checks"], responses=AUTHENTICATED_ERRORS)

Partner = Annotated[Client, Depends(requires("checks:read", "partner"))]
RestrictionName = Literal[tuple((r.name or "").lower() for r in Restriction)]  # type: ignore[valid-type]
MAX_BATCH = 10_000


class CheckingParts(Protocol):
    """What the check routes use: the main service's ``Services`` and a check process's ``CheckServices``."""

    settings: Settings
    blind_key: BlindIndexKey
    index: Index
    audit: CheckAudit
    auth: Authenticator

    def now(self) -> int: ...


CheckingDep = Annotated[CheckingParts, Depends(get_services)]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    subject: SubjectRefIn
    restriction: RestrictionName  # type: ignore[valid-type]


class BatchCheckIn(BaseModel):
    """Either ``subjects`` (identifier objects, as in a single check) or ``kind`` with ``ids``, a plain list
    of resident IDs or credit codes: the form to use for large batches, cheaper to send and to read. The
    service derives every blind index itself; partners never hold the key."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    subjects: list[SubjectRefIn] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)
    kind: Literal["resident_id", "credit_code"] | None = None
    ids: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)
    restriction: RestrictionName  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _one_form(self) -> BatchCheckIn:
        if (self.subjects is None) == (self.ids is None) or (self.ids is None) != (self.kind is None):
            raise ValueError("give either subjects, or kind and ids (one of the two forms, not both)")
        return self

    def blinds(self, key: BlindIndexKey) -> list[bytes]:
        if self.subjects is not None:
            return [s.blind(key) for s in self.subjects]
        assert self.ids is not None and self.kind is not None
        return list(blind_indexes(key, self.kind, self.ids))


class CheckOut(BaseModel):
    restricted: bool
    until: int | None = Field(description="unix seconds when the restriction ends, if restricted")


class BatchCheckOut(BaseModel):
    results: list[CheckOut] = Field(description="in the order of the subjects asked about")


def lookup(
    services: CheckingParts, blinds: list[bytes], restriction: str
) -> tuple[int, int, list[tuple[bool, int | None]]]:
    """(restriction mask, the time answered for, (restricted, until) per subject) from the index."""
    mask = int(Restriction.parse(restriction))
    at = services.now()
    answers = services.index.check_many(blinds, mask, at)
    return mask, at, [(a.restricted, a.until if a.restricted else None) for a in answers]


def _answer(
    client: Client, services: CheckingParts, blinds: list[bytes], restriction: str, batch: str | None
) -> list[dict[str, Any]]:
    if len(blinds) > services.settings.max_batch_checks:
        raise TooLarge(f"at most {services.settings.max_batch_checks} subjects per batch")
    mask, at, rows = lookup(services, blinds, restriction)
    if batch is None:
        (blind,), ((restricted, until),) = blinds, rows
        services.audit.record(client.client_id, at, mask, blind, restricted, until)
    else:
        services.audit.record_batch(client.client_id, at, mask, blinds, rows, batch)
    return [{"restricted": r, "until": u} for r, u in rows]


def _json(value: Any) -> Response:
    return Response(json.dumps(value, separators=(",", ":")).encode(), media_type="application/json")


@router.post("", response_model=CheckOut, summary="Is this subject restricted now?")
async def check(body: CheckIn, client: Partner, services: CheckingDep) -> Response:
    return _json(_answer(client, services, [body.subject.blind(services.blind_key)], body.restriction, None)[0])


@router.post("/batch", response_model=BatchCheckOut, summary="Check up to 10,000 subjects at once")
async def check_batch(body: BatchCheckIn, client: Partner, services: CheckingDep) -> Response:
    def work() -> list[dict[str, Any]]:
        blinds = body.blinds(services.blind_key)
        return _answer(client, services, blinds, body.restriction, "batch_" + secrets.token_hex(8))

    return _json({"results": await run_in_threadpool(work)})
