"""Courts: governance acts (admit, suspend, reinstate, retire, add and retire signers, record the code a
court's case numbers carry) and a court's status.

Every act is accepted into the outbox (202) and sent by the governance account. Admitting a court or
adding a signer creates the signer key in the service's encrypted keystore (the response names its
address) and, when funding is configured, sends it gas money right after the act.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Client
from api.deps import CurrentClient, ServicesDep, WriteCtx, requires
from api.errors import Conflict, Forbidden, NotFound
from api.fields import Text
from api.outbox import Entry
from api.routes import API, AUTHENTICATED_ERRORS, SubmissionOut, submission_out
from api.services import Services, WriteContext

router = APIRouter(prefix=f"{API}/courts", tags=["courts"], responses=AUTHENTICATED_ERRORS)

Governance = Annotated[Client, Depends(requires("courts:write", "governance"))]
CourtId = Annotated[int, Path(gt=0, le=2**32 - 1)]
Address = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]


class AdmitCourtIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    court_id: int = Field(gt=0, le=2**32 - 1, strict=True)
    jurisdiction: str = Field(pattern=r"^[A-Za-z]{2}(-[A-Za-z0-9]{1,5})?$", examples=["CN-BJ"])
    appellate_court: int = Field(default=0, ge=0, le=2**32 - 1, strict=True)


class CaseNumberCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Text = Field(max_length=16, examples=["京0108"],
                       description="the code the court's case numbers carry after the year (at most 16 bytes "
                                   "of UTF-8); empty removes it")


class GovernanceOut(SubmissionOut):
    signer: str | None = Field(default=None, description="the signer key created for the court, if any")


class SignerOut(BaseModel):
    address: str
    state: Literal["pending", "active", "retired", "failed"]


class CourtOut(BaseModel):
    court_id: int
    status: Literal["none", "active", "suspended", "retired"]
    jurisdiction: str
    appellate_court: int
    admitted_at: int
    signer_count: int
    signers_held: list[SignerOut]


def _out(entry: Entry, response: Response, signer: str | None = None) -> GovernanceOut:
    base = submission_out(entry, response)
    if signer is None and entry.call is not None:
        signer = entry.call.get("signer")
    return GovernanceOut(**base.model_dump(), signer=signer)


def _with_new_signer(
    services: Services, client: Client, ctx: WriteContext, response: Response, court: int, kind: str,
    call: dict[str, Any],
) -> GovernanceOut:
    """A governance act that brings a new signer key (made, stored and funded here) for ``court``; a
    retried request with the same Idempotency-Key answers with the entry it made the first time."""
    existing = services.writes.idempotent_entry(client, ctx)
    if existing is not None:
        return _out(existing, response)
    signer = services.signers.create()
    entry = services.writes.submit_governance(
        client, ctx, kind, {**call, "signer": signer.address}, signer_key=(court, signer.address), fund=signer.address
    )
    return _out(entry, response)


@router.post("", status_code=202, response_model=GovernanceOut, summary="Admit a court with a new signer key")
def admit_court(
    body: AdmitCourtIn, client: Governance, services: ServicesDep, ctx: WriteCtx, response: Response
) -> GovernanceOut:
    call = {
        "court": body.court_id,
        "jurisdiction": body.jurisdiction.upper(),
        "appellate_court": body.appellate_court,
    }
    return _with_new_signer(services, client, ctx, response, body.court_id, "admit_court", call)


def _act(kind: str) -> Any:
    def act(
        court_id: CourtId, client: Governance, services: ServicesDep, ctx: WriteCtx, response: Response
    ) -> GovernanceOut:
        return _out(services.writes.submit_governance(client, ctx, kind, {"court": court_id}), response)

    return act


for _path, _kind, _summary in (
    ("suspend", "suspend_court", "Suspend a court (its signers cannot write)"),
    ("reinstate", "reinstate_court", "Lift a court's suspension"),
    ("retire", "retire_court", "Retire a court for good"),
):
    router.add_api_route(
        f"/{{court_id}}/{_path}",
        _act(_kind),
        methods=["POST"],
        status_code=202,
        response_model=GovernanceOut,
        summary=_summary,
    )


@router.post(
    "/{court_id}/signers",
    status_code=202,
    response_model=GovernanceOut,
    summary="Add a signer key to a court (key rotation, step 1)",
)
def add_signer(
    court_id: CourtId, client: Governance, services: ServicesDep, ctx: WriteCtx, response: Response
) -> GovernanceOut:
    return _with_new_signer(services, client, ctx, response, court_id, "add_signer", {"court": court_id})


@router.post(
    "/{court_id}/signers/{address}/retire",
    status_code=202,
    response_model=GovernanceOut,
    summary="Retire a signer key (key rotation, step 2)",
)
def retire_signer(
    court_id: CourtId,
    address: Address,
    client: Governance,
    services: ServicesDep,
    ctx: WriteCtx,
    response: Response,
) -> GovernanceOut:
    from eth_utils import to_checksum_address

    signer = to_checksum_address(address)
    return _out(
        services.writes.submit_governance(client, ctx, "retire_signer", {"court": court_id, "signer": signer}),
        response,
        signer,
    )


@router.put(
    "/{court_id}/case-number-code",
    status_code=202,
    response_model=GovernanceOut,
    summary="Record the code a court's case numbers carry (the look-up checks it)",
)
def set_case_number_code(
    court_id: CourtId, body: CaseNumberCodeIn, client: Governance, services: ServicesDep, ctx: WriteCtx,
    response: Response,
) -> GovernanceOut:
    from ledger.client import case_number_code_bytes

    code = body.code.strip()
    word = case_number_code_bytes(code)  # more than 16 bytes: 422 naming the limit
    if int(services.ledger.court(court_id)["status"]) == 0:
        raise NotFound(f"court {court_id} was never admitted")
    holder = int(services.ledger.view("CourtRegistry", "courtOfCaseNumberCode", word)) if code else 0
    if holder not in (0, court_id):
        raise Conflict(f"court {holder} carries that case-number code; no two courts carry the same code")
    entry = services.writes.submit_governance(client, ctx, "set_case_number_code", {"court": court_id, "code": code})
    return _out(entry, response)


@router.get(
    "/{court_id}", response_model=CourtOut, summary="A court's status on chain and the keys held here"
)
def court_status(court_id: CourtId, client: CurrentClient, services: ServicesDep) -> CourtOut:
    if client.kind != "governance" and client.court_id != court_id:
        raise Forbidden("a court client sees its own court only")
    info = services.ledger.court(court_id)
    statuses = ["none", "active", "suspended", "retired"]
    return CourtOut(
        court_id=court_id,
        status=statuses[int(info["status"])],  # type: ignore[arg-type]
        jurisdiction=bytes(info["jurisdiction"]).rstrip(b"\0").decode("ascii", "replace"),
        appellate_court=int(info["appellate_court"]),
        admitted_at=int(info["admitted_at"]),
        signer_count=int(info["signer_count"]),
        signers_held=[
            SignerOut.model_validate({"address": a, "state": s})
            for a, s in services.outbox.signer_keys(court_id)
        ],
    )
