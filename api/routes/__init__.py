"""Routers, one per resource, and the request/response models they share.

Request models that carry identity numbers (``SubjectIn``, ``PartyIn``) hide their input from validation
errors; the problem handler removes input values from every 422 anyway. Response models list exactly
what a client may see: never raw transactions, nonces, keys, vault contents or another client's ids.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from api.auth import Client
from api.errors import PROBLEM_JSON, Forbidden, NotFound
from api.fields import Text
from api.outbox import Entry
from ledger.privacy import BlindIndexKey, CreditCode, Party, Passport, ResidentId, blind_index, parse_subject
from ledger.records import normalise_case_number

__all__ = [
    "API",
    "AUTHENTICATED_ERRORS",
    "PUBLIC_ERRORS",
    "CaseNumber",
    "Hex32",
    "PartyIn",
    "Problem",
    "SubjectIn",
    "SubjectRefIn",
    "SubmissionOut",
    "check_court",
    "hex32",
    "submission_out",
]

API = "/api/v1"

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", examples=["0x" + "ab" * 32])]
#: A case number as a clerk writes it: free text of the edge (no control characters, tab included: see
#: api.fields) that has a normal form (ledger.records.normalise_case_number), else 422.
CaseNumber = Annotated[
    Text,
    Field(min_length=1, max_length=100, examples=["(2019)京0108民初12345号"]),
    AfterValidator(lambda text: normalise_case_number(text) and text),
]
Sha256Hex = Annotated[str, Field(pattern=r"^(0x)?[0-9a-fA-F]{64}$", description="SHA-256, 64 hex digits")]


class Problem(BaseModel):
    """An error, as an RFC 9457 problem document (``application/problem+json``). Some problems add members:
    ``errors`` (invalid requests), ``error`` and ``arguments`` (contract refusals), ``step``, ``reason`` and
    ``steps`` (failed verifications)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["/problems/not-found"])
    title: str
    status: int
    detail: str


_PROBLEMS = {
    400: "Malformed request: the body is not JSON, nests too deep, or repeats a key in an object",
    401: "Not authenticated: missing or bad signature headers, timestamp, nonce or client",
    403: "Forbidden: the client's kind, scopes or court do not allow this",
    404: "Not found",
    409: "Conflict: an Idempotency-Key reused for another request, a record not confirmed yet, a contract refusal",
    410: "The subject's personal data was erased",
    408: "The body did not arrive in time",
    413: "Too many items, or a body larger than the endpoint accepts",
    415: "The body is not application/json (or multipart/form-data where files are uploaded)",
    422: "Invalid request (``errors`` lists what), or a verification that failed (``step`` names where)",
    429: "Too many requests from this address; see Retry-After",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem documents a router's endpoints may answer."""
    return {
        code: {
            "model": Problem,
            "description": _PROBLEMS[code],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }


AUTHENTICATED_ERRORS = problem_responses(400, 401, 403, 404, 408, 409, 410, 413, 415, 422)
PUBLIC_ERRORS = problem_responses(400, 404, 408, 409, 413, 415, 422, 429)


def hex32(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x").removeprefix("0X"))


class _Private(BaseModel):
    """A request model holding personal data: its input never appears in an error."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)


class SubjectIn(_Private):
    """A person or organisation by identifier: resident ID, unified social credit code or passport."""

    kind: Literal["resident_id", "credit_code", "passport"]
    id: Text = Field(min_length=1, max_length=64, description="the identifier; never echoed back or logged")
    country: Text | None = Field(default=None, min_length=2, max_length=3, description="passports only")
    _subject: ResidentId | CreditCode | Passport = PrivateAttr()

    @model_validator(mode="after")
    def _parse(self) -> SubjectIn:
        self._subject = parse_subject(self.kind, self.id, self.country)
        return self

    @property
    def subject(self) -> ResidentId | CreditCode | Passport:
        return self._subject


class NamedSubjectIn(SubjectIn):
    name: Text = Field(min_length=1, max_length=200, description="display name, kept in the vault only")


class PartyIn(NamedSubjectIn):
    role: Literal["creditor", "debtor", "third_party"]

    def party(self) -> Party:
        return Party(role=self.role, subject=self.subject, name=self.name)


class SubjectRefIn(SubjectIn):
    """A subject for a partner check: its identifier, sent over the authenticated channel. Partners never
    hold the blind-index key; the service derives the index and keeps only it (docs/security.md)."""

    def blind(self, key: BlindIndexKey) -> bytes:
        return bytes(blind_index(key, self.subject))


class SubmissionOut(BaseModel):
    """A write accepted into the durable outbox; poll ``links.record`` for its state."""

    outbox_id: str
    kind: str
    state: Literal["accepted", "submitted", "confirmed", "failed"]
    record_id: Hex32 | None = Field(default=None, description="EIP-712 struct hash; None for governance acts")
    links: dict[str, str]


def submission_out(entry: Entry, response: Response) -> SubmissionOut:
    location = f"{API}/records/{entry.id}"
    response.headers["Location"] = location
    return SubmissionOut(
        outbox_id=entry.id,
        kind=entry.kind,
        state=entry.state,
        record_id="0x" + entry.record_id.hex() if entry.record_id is not None else None,
        links={"record": location, "certificate": f"{location}/certificate"},
    )


ViewT = TypeVar("ViewT")

def readable_view(view: ViewT | None, client: Client, what: str, ident: str) -> ViewT:
    """An indexed record the client may read: its own court's, or any for governance; else 404 or 403."""
    if view is None:
        raise NotFound(f"no {what} {ident} in the index (yet)")
    if client.kind != "governance" and view.court != client.court_id:  # type: ignore[attr-defined]
        raise Forbidden(f"the {what} belongs to another court")
    return view


def check_court(named: int | None, client: Client) -> int:
    """The court a write is for: the credential's. A body naming another court is refused."""
    assert client.court_id is not None
    if named is not None and named != client.court_id:
        raise Forbidden(f"this credential writes for court {client.court_id} only, not for court {named}")
    return client.court_id
