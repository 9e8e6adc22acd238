"""Outbox records: poll an accepted write's state; fetch its certificate once confirmed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from api.deps import CurrentClient, ServicesDep
from api.routes import API, AUTHENTICATED_ERRORS, Hex32
from api.routes.status import VC_RESPONSES, certificate_or_credential

router = APIRouter(prefix=f"{API}/records", tags=["records"], responses=AUTHENTICATED_ERRORS)

OutboxId = Annotated[str, Path(pattern=r"^ob_[0-9a-f]{24}$")]


class RecordError(BaseModel):
    name: str = Field(description="the decoded custom error, e.g. EnforcementRegistryCaseConcluded")
    contract: str | None = None
    arguments: dict[str, Any]
    detail: str


class RecordOut(BaseModel):
    outbox_id: str
    kind: str
    state: Literal["accepted", "submitted", "confirmed", "failed"]
    court: int | None
    record_id: Hex32 | None
    record: dict[str, Any] | None = Field(
        description="the record's on-chain fields (digests, never personal data)"
    )
    accepted_at: float
    submitted_at: float | None
    finished_at: float | None
    transaction_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_time: int | None
    gas_used: int | None
    error: RecordError | None
    note: str | None = Field(description="why an open record is waiting, if known")


@router.get("/{outbox_id}", response_model=RecordOut, summary="State of an accepted write")
def get_record(outbox_id: OutboxId, client: CurrentClient, services: ServicesDep) -> RecordOut:
    e = services.writes.entry_for(client, outbox_id)
    return RecordOut(
        outbox_id=e.id,
        kind=e.kind,
        state=e.state,
        court=e.court,
        record_id="0x" + e.record_id.hex() if e.record_id is not None else None,
        record=e.record,
        accepted_at=e.accepted_at,
        submitted_at=e.submitted_at,
        finished_at=e.finished_at,
        transaction_hash=e.tx_hash if e.state != "accepted" else None,
        block_number=e.block_number,
        block_hash=e.block_hash,
        block_time=e.block_time,
        gas_used=e.gas_used,
        error=RecordError(**e.error) if e.error else None,
        note=e.note,
    )


@router.get("/{outbox_id}/certificate", summary="Certificate of a confirmed record (409 until then)",
            description="With `?format=vc` or `Accept: application/vc` (or `application/vc+ld+json`): the "
                        "certificate as a W3C Verifiable Credential carrying its status-list entries.",
            responses=VC_RESPONSES)
def get_certificate(outbox_id: OutboxId, request: Request, client: CurrentClient, services: ServicesDep) -> Any:
    entry = services.writes.entry_for(client, outbox_id)
    return certificate_or_credential(services.certificates.certificate(entry), request, services)
