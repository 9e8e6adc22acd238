"""Judgments: record one (parties to the vault, only their commitment on chain), change its status,
read it back, fetch its certificate."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.auth import Client
from api.authority import require_authority
from api.deps import ServicesDep, WriteCtx, requires
from api.fields import RecordDate, check_not_future
from api.precheck import require_transition_possible
from api.routes import (
    API,
    AUTHENTICATED_ERRORS,
    CaseNumber,
    Hex32,
    PartyIn,
    Sha256Hex,
    SubmissionOut,
    check_court,
    hex32,
    readable_view,
    submission_out,
)
from api.routes._paging import After, CaseNumberQuery, Limit, Page, digest_of, listing_court, page_of
from api.routes.status import certificate_or_credential
from ledger.records import LANGUAGE_TAG, Dossier, JudgmentStatus, JudgmentStatusChange, Translation, translations_root

router = APIRouter(prefix=f"{API}/judgments", tags=["judgments"], responses=AUTHENTICATED_ERRORS)

Writer = Annotated[Client, Depends(requires("judgments:write", "court"))]
Reader = Annotated[Client, Depends(requires("records:read", "court", "governance"))]
RecordIdPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]
StatusName = Literal["effective", "under_appeal", "set_aside", "superseded", "satisfied", "stayed"]


class JudgmentIn(BaseModel):
    """A judgment as the clerk knows it. Parties go to the vault; the chain gets a salted commitment."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    court: int | None = Field(default=None, description="optional; must be the credential's court", strict=True)
    case_number: CaseNumber
    document_sha256: Sha256Hex
    parties: list[PartyIn] = Field(min_length=1, max_length=100)
    amount: int = Field(ge=0, lt=2**128, description="minor units (fen for CNY)", strict=True)
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["CNY"])
    judgment_date: RecordDate
    effective_date: RecordDate

    @model_validator(mode="after")
    def _dates(self) -> JudgmentIn:
        if self.effective_date < self.judgment_date:
            raise ValueError("effective_date is before judgment_date")
        return self


class StatusChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: StatusName
    superseded_by: Hex32 | None = Field(default=None, description="the later judgment, for 'superseded'")


class TranslationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str = Field(pattern=LANGUAGE_TAG, max_length=35, description="BCP 47, lower case: en, fr, zh-hans")
    sha256: Sha256Hex


class DossierIn(BaseModel):
    """A dossier version (Hague 2019 art. 12): digests the court computed locally from its files."""

    model_config = ConfigDict(extra="forbid")

    by_default: bool = Field(description="the judgment was given by default (the defendant did not appear)")
    complete_copy_sha256: Sha256Hex
    proof_of_service_sha256: Sha256Hex | None = Field(default=None, description="required when by_default")
    translations: list[TranslationIn] = Field(default=[], max_length=64)

    @model_validator(mode="after")
    def _rules(self) -> DossierIn:
        if self.by_default and self.proof_of_service_sha256 is None:
            raise ValueError("a default judgment's dossier needs proof_of_service_sha256")
        languages = [t.language for t in self.translations]
        if len(set(languages)) != len(languages):
            raise ValueError("two translations have the same language")
        for digest in (self.complete_copy_sha256, self.proof_of_service_sha256, *(t.sha256 for t in self.translations)):
            if digest is not None and int(digest.removeprefix("0x"), 16) == 0:
                raise ValueError("a file digest is zero")
        return self

    def translation_list(self) -> list[Translation]:
        return sorted((Translation(language=t.language, digest=hex32(t.sha256)) for t in self.translations),
                      key=lambda t: t.language)


class StatusChangeOut(BaseModel):
    sequence: int
    from_status: str
    to_status: str
    superseded_by: Hex32 | None
    changed_at: int
    block_number: int


class JudgmentOut(BaseModel):
    judgment_id: Hex32
    court: int
    case_number_digest: Hex32
    document_digest: Hex32
    parties_commitment: Hex32
    amount: int
    currency: str
    status: str
    superseded_by: Hex32 | None
    recorded_at: int
    block_number: int
    transaction_hash: Hex32
    status_history: list[StatusChangeOut]


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _maybe(value: bytes | None) -> str | None:
    return _hex(value) if value is not None else None


def _acting_on_judgment(services: Any, client: Client, judgment_id: str) -> tuple[int, bytes]:
    """(the writing court, the judgment's id) once the court has authority over it (403 at once if not)."""
    court = check_court(None, client)
    jid = hex32(judgment_id)
    owner = services.index.judgment(jid)
    require_authority(services.index, court, owner.court if owner else None, f"judgment {judgment_id}")
    return court, jid


@router.post("", status_code=202, response_model=SubmissionOut, summary="Record a judgment")
def record_judgment(
    body: JudgmentIn, client: Writer, services: ServicesDep, ctx: WriteCtx, response: Response
) -> SubmissionOut:
    court = check_court(body.court, client)
    existing = services.writes.idempotent_entry(client, ctx)
    if existing is not None:
        return submission_out(existing, response)
    check_not_future(services.now(), judgment_date=body.judgment_date, effective_date=body.effective_date)
    desk = services.desk(court)
    entry = services.writes.submit_record(
        client,
        ctx,
        court,
        lambda _: desk.judgment(
            case_number=body.case_number,
            document_digest=hex32(body.document_sha256),
            parties=[p.party() for p in body.parties],
            amount=body.amount,
            currency=body.currency,
            judgment_date=body.judgment_date,
            effective_date=body.effective_date,
        ),
    )
    return submission_out(entry, response)


@router.post(
    "/{judgment_id}/status",
    status_code=202,
    response_model=SubmissionOut,
    summary="Change a judgment's status (the service assigns the sequence)",
)
def change_status(
    judgment_id: RecordIdPath,
    body: StatusChangeIn,
    client: Writer,
    services: ServicesDep,
    ctx: WriteCtx,
    response: Response,
) -> SubmissionOut:
    court, jid = _acting_on_judgment(services, client, judgment_id)
    successor = hex32(body.superseded_by) if body.superseded_by else b"\x00" * 32
    require_transition_possible(services, jid, JudgmentStatus[body.status.upper()], successor)

    def make(sequence: int | None) -> JudgmentStatusChange:
        assert sequence is not None
        return JudgmentStatusChange(
            judgment_id=jid,
            status=JudgmentStatus[body.status.upper()],
            superseded_by=successor,
            sequence=sequence,
        )

    entry = services.writes.submit_record(client, ctx, court, make, family="judgment:0x" + jid.hex())
    return submission_out(entry, response)


@router.post(
    "/{judgment_id}/dossier",
    status_code=202,
    response_model=SubmissionOut,
    summary="File the judgment's next dossier version (the service assigns the version)",
)
def file_dossier(
    judgment_id: RecordIdPath,
    body: DossierIn,
    client: Writer,
    services: ServicesDep,
    ctx: WriteCtx,
    response: Response,
) -> SubmissionOut:
    court, jid = _acting_on_judgment(services, client, judgment_id)
    translations = body.translation_list()

    def make(sequence: int | None) -> Dossier:
        assert sequence is not None
        return Dossier(
            judgment_id=jid,
            by_default=body.by_default,
            complete_copy=hex32(body.complete_copy_sha256),
            proof_of_service=hex32(body.proof_of_service_sha256) if body.proof_of_service_sha256 else b"\0" * 32,
            translations_root=translations_root(translations),
            sequence=sequence,
        )

    entry = services.writes.submit_record(client, ctx, court, make, family="dossier:0x" + jid.hex(),
                                          notes=services.certificates.dossier_notes(translations))
    return submission_out(entry, response)


def _judgment_out(view: Any) -> JudgmentOut:
    return JudgmentOut(
        judgment_id=_hex(view.id),
        court=view.court,
        case_number_digest=_hex(view.case_number_digest),
        document_digest=_hex(view.document_digest),
        parties_commitment=_hex(view.parties_commitment),
        amount=view.amount,
        currency=view.currency,
        status=view.status.name.lower(),
        superseded_by=_maybe(view.superseded_by),
        recorded_at=view.recorded_at,
        block_number=view.block_number,
        transaction_hash=_hex(view.transaction_hash),
        status_history=[
            StatusChangeOut(
                sequence=c.sequence,
                from_status=c.from_status.name.lower(),
                to_status=c.to_status.name.lower(),
                superseded_by=_maybe(c.superseded_by),
                changed_at=c.changed_at,
                block_number=c.block_number,
            )
            for c in view.status_history
        ],
    )


@router.get("", response_model=Page[JudgmentOut], summary="This court's judgments, by case number or status")
def list_judgments(
    client: Reader,
    services: ServicesDep,
    case_number: CaseNumberQuery = None,
    court: Annotated[int | None, Query(ge=1, description="governance only; a court lists its own")] = None,
    status: Annotated[StatusName | None, Query()] = None,
    limit: Limit = 50,
    after: After = None,
) -> Page[JudgmentOut]:
    filters = {
        "court": listing_court(client, court),
        "case_number_digest": digest_of(services, case_number),
        "status": JudgmentStatus[status.upper()].value if status else None,
    }
    return page_of(
        services, "judgments", filters, after, limit,
        lambda jid: _judgment_out(view) if (view := services.index.judgment(jid)) else None,
    )  # fmt: skip


@router.get("/{judgment_id}", response_model=JudgmentOut, summary="A judgment of this court, as indexed")
def get_judgment(judgment_id: RecordIdPath, client: Reader, services: ServicesDep) -> JudgmentOut:
    return _judgment_out(readable_view(services.index.judgment(hex32(judgment_id)), client, "judgment", judgment_id))


@router.get("/{judgment_id}/certificate", summary="The judgment's portable certificate")
def judgment_certificate(
    judgment_id: RecordIdPath, request: Request, client: Reader, services: ServicesDep
) -> dict[str, Any]:
    entry = services.writes.record_entry(client, hex32(judgment_id), "judgment")
    return certificate_or_credential(services.certificates.certificate(entry), request, services)
