"""Enforcement cases: file one on a judgment, record its actions in order, read it, fetch its certificate;
entrust a judgment's enforcement to another court (委托执行) or withdraw it.

The service assigns each action's sequence: the next after every action already accepted for the case
and not failed (plus, once, those written to the chain outside this service).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.auth import Client
from api.authority import require_authority, require_delegating_court, require_enforcing_court
from api.deps import ServicesDep, WriteCtx, requires
from api.fields import RecordDate, check_action_shape, check_not_future
from api.precheck import require_action_possible
from api.routes import (
    API,
    AUTHENTICATED_ERRORS,
    CaseNumber,
    Hex32,
    Sha256Hex,
    SubmissionOut,
    check_court,
    hex32,
    readable_view,
    submission_out,
)
from api.routes._paging import After, CaseNumberQuery, Limit, Page, digest_of, listing_court, page_of
from api.routes.status import certificate_or_credential
from ledger.records import Action, ActionKind, CaseState

router = APIRouter(prefix=f"{API}/enforcement", tags=["enforcement"], responses=AUTHENTICATED_ERRORS)

Writer = Annotated[Client, Depends(requires("enforcement:write", "court"))]
Reader = Annotated[Client, Depends(requires("records:read", "court", "governance"))]
CaseIdPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]
ActionName = Literal[tuple(k.name.lower() for k in ActionKind)]  # type: ignore[valid-type]


class FilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    court: int | None = Field(default=None, description="optional; must be the credential's court", strict=True)
    judgment_id: Hex32
    case_number: CaseNumber
    amount_due: int = Field(gt=0, lt=2**128, description="minor units", strict=True)
    filed_at: RecordDate


class DelegationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    court: int | None = Field(default=None, description="optional; must be the credential's court", strict=True)
    judgment_id: Hex32
    delegate: int = Field(gt=0, lt=2**32, strict=True, description="the court entrusted with enforcement")
    granted: bool = Field(default=True, strict=True, description="false withdraws the delegation")


class AuctionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(ge=0, lt=2**32, strict=True)
    extensions: int = Field(ge=0, lt=2**32, strict=True)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ActionName  # type: ignore[valid-type]
    amount: int = Field(default=0, ge=0, lt=2**128, strict=True)
    detail: int = Field(
        default=0, ge=0, lt=2**64, description="asset categories bitmask, or see 'auction'", strict=True
    )
    auction: AuctionIn | None = Field(
        default=None, description="auction_sold: rounds of bidding and extensions"
    )
    document_sha256: Sha256Hex | None = None
    flags: int = Field(
        default=0, ge=0, le=255, description="1: recovery above the amount due acknowledged", strict=True
    )

    @model_validator(mode="after")
    def _auction(self) -> ActionIn:
        if self.auction is not None and self.detail:
            raise ValueError("give either detail or auction, not both")
        detail = Action.auction_detail(self.auction.rounds, self.auction.extensions) if self.auction else self.detail
        check_action_shape(ActionKind[str(self.kind).upper()], self.amount, detail, self.flags)
        return self


class ActionOut(BaseModel):
    sequence: int
    kind: str
    amount: int
    detail: int
    document_digest: Hex32
    flags: int
    state_after: str
    amount_recovered_after: int
    recorded_at: int
    block_number: int


class CaseOut(BaseModel):
    case_id: Hex32
    court: int
    judgment_id: Hex32
    case_number_digest: Hex32
    amount_due: int
    state: str
    amount_recovered: int
    amount_disbursed: int
    opened_at: int
    block_number: int
    actions: list[ActionOut]


@router.post("/cases", status_code=202, response_model=SubmissionOut, summary="File an enforcement case")
def file_case(
    body: FilingIn, client: Writer, services: ServicesDep, ctx: WriteCtx, response: Response
) -> SubmissionOut:
    court = check_court(body.court, client)
    require_enforcing_court(services.index, services.ledger, court, hex32(body.judgment_id))
    check_not_future(services.now(), filed_at=body.filed_at)
    desk = services.desk(court)
    entry = services.writes.submit_record(
        client,
        ctx,
        court,
        lambda _: desk.filing(
            judgment_id=hex32(body.judgment_id),
            case_number=body.case_number,
            amount_due=body.amount_due,
            filed_at=body.filed_at,
        ),
    )
    return submission_out(entry, response)


@router.post(
    "/cases/{case_id}/actions",
    status_code=202,
    response_model=SubmissionOut,
    summary="Record the case's next action (the service assigns the sequence)",
)
def record_action(
    case_id: CaseIdPath,
    body: ActionIn,
    client: Writer,
    services: ServicesDep,
    ctx: WriteCtx,
    response: Response,
) -> SubmissionOut:
    court = check_court(None, client)
    cid = hex32(case_id)
    owner = services.index.case_history(cid)
    require_authority(services.index, court, owner.court if owner else None, f"case {case_id}")
    detail = (
        Action.auction_detail(body.auction.rounds, body.auction.extensions) if body.auction else body.detail
    )
    require_action_possible(services, cid, ActionKind[str(body.kind).upper()], body.amount, detail, body.flags)

    def make(sequence: int | None) -> Action:
        assert sequence is not None
        return Action(
            case_id=cid,
            sequence=sequence,
            kind=ActionKind[str(body.kind).upper()],
            amount=body.amount,
            detail=detail,
            flags=body.flags,
            document_digest=hex32(body.document_sha256) if body.document_sha256 else b"\x00" * 32,
        )

    entry = services.writes.submit_record(client, ctx, court, make, family="case:0x" + cid.hex())
    return submission_out(entry, response)


def _case_out(view: Any) -> CaseOut:
    return CaseOut(
        case_id="0x" + view.id.hex(),
        court=view.court,
        judgment_id="0x" + view.judgment_id.hex(),
        case_number_digest="0x" + view.case_number_digest.hex(),
        amount_due=view.amount_due,
        state=view.state.name.lower(),
        amount_recovered=view.amount_recovered,
        amount_disbursed=view.amount_disbursed,
        opened_at=view.opened_at,
        block_number=view.block_number,
        actions=[
            ActionOut(
                sequence=a.sequence,
                kind=a.kind.name.lower(),
                amount=a.amount,
                detail=a.detail,
                document_digest="0x" + a.document_digest.hex(),
                flags=a.flags,
                state_after=a.state_after.name.lower(),
                amount_recovered_after=a.amount_recovered_after,
                recorded_at=a.recorded_at,
                block_number=a.block_number,
            )
            for a in view.actions
        ],
    )


@router.get("/cases", response_model=Page[CaseOut], summary="This court's enforcement cases, by case number or state")
def list_cases(
    client: Reader,
    services: ServicesDep,
    case_number: CaseNumberQuery = None,
    court: Annotated[int | None, Query(ge=1, description="governance only; a court lists its own")] = None,
    state: Annotated[Literal["open", "terminated", "concluded"] | None, Query()] = None,
    judgment_id: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{64}$")] = None,
    limit: Limit = 50,
    after: After = None,
) -> Page[CaseOut]:
    filters = {
        "court": listing_court(client, court),
        "case_number_digest": digest_of(services, case_number),
        "state": CaseState[state.upper()].value if state else None,
        "judgment_id": hex32(judgment_id) if judgment_id else None,
    }
    return page_of(
        services, "cases", filters, after, limit,
        lambda cid: _case_out(view) if (view := services.index.case_history(cid)) else None,
    )  # fmt: skip


@router.post(
    "/delegations",
    status_code=202,
    response_model=SubmissionOut,
    summary="Entrust a judgment's enforcement to another court (委托执行), or withdraw it",
    description="Sent by the credential's court signer. Only the judgment's court or a court above it on the "
                "appellate chain may entrust (403 at once otherwise, from the index); the delegate must be an "
                "admitted court other than the judgment's (409). Once confirmed, the delegate may open cases on "
                "the judgment.",
)
def delegate_enforcement(
    body: DelegationIn, client: Writer, services: ServicesDep, ctx: WriteCtx, response: Response
) -> SubmissionOut:
    court = check_court(body.court, client)
    judgment_id = hex32(body.judgment_id)
    require_delegating_court(services.index, services.ledger, court, judgment_id, body.delegate)
    call = {"judgment_id": "0x" + judgment_id.hex(), "delegate": body.delegate, "granted": body.granted}
    return submission_out(services.writes.submit_court_act(client, ctx, court, "delegate_enforcement", call), response)


@router.get("/cases/{case_id}", response_model=CaseOut, summary="A case of this court with its actions")
def get_case(case_id: CaseIdPath, client: Reader, services: ServicesDep) -> CaseOut:
    return _case_out(readable_view(services.index.case_history(hex32(case_id)), client, "case", case_id))


@router.get("/cases/{case_id}/certificate", summary="The case's portable certificate, with every action")
def case_certificate(case_id: CaseIdPath, request: Request, client: Reader, services: ServicesDep) -> dict[str, Any]:
    entry = services.writes.record_entry(client, hex32(case_id), "filing")
    return certificate_or_credential(services.certificates.certificate(entry), request, services)
