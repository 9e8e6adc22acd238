"""Notarization: digests or files in, receipt ids out at once; proofs and certificates once anchored.

- ``POST /notary/digests`` ``{digests: [hex, ...]}`` (1 to 10,000): receipt ids, in order (202).
- ``POST /notary/files`` (multipart, one or many files): the service hashes each file with SHA-256 as
  it reads it and keeps nothing but the digest; receipts with file name, size and digest (202).
- ``GET /notary/receipts/{id}``: state (pending, anchoring, anchored, failed), nonce, root, proof, anchor transaction.
- ``GET /notary/receipts/{id}/certificate``: the portable certificate (409 until anchored).
- ``POST /notary/receipts/{id}/verify``: ``{digest}`` or a file upload -> match or no match.

Who: a court client, or a ``notary`` client (a court system that only notarizes), holding the scope
``notary:write``. Every digest is anchored by the one batcher of this service, under the court configured
as ``LEDGER_NOTARY_COURT`` with that court's signer, whichever client submitted it: notarization fixes that
a document existed at a time, it does not attribute the document to the submitting court (a judgment's
own record does that). A receipt id is unguessable (80-bit keyed tag) and works as a capability: any
notary client holding it may read the receipt. A digest already held (pending or anchored) answers with
its first receipt, so a retried request is harmless and nothing is anchored twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.auth import Client
from api.deps import ServicesDep, requires
from api.errors import NotFound, NotReady
from api.routes import API, AUTHENTICATED_ERRORS, Hex32, Sha256Hex, hex32
from api.routes.status import VC_RESPONSES, certificate_or_credential
from api.services import Services
from ledger.errors import ConfigurationError, ValidationError
from ledger.notary import NotAnchoredError, NotaryBatcher, Receipt

router = APIRouter(prefix=f"{API}/notary", tags=["notary"], responses=AUTHENTICATED_ERRORS)

Notary = Annotated[Client, Depends(requires("notary:write", "court", "notary"))]
ReceiptId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{32}$", description="a receipt id as returned at submission")
]

MAX_DIGESTS = 10_000
MAX_FILES = 1_000
RECEIPTS = f"{API}/notary/receipts"


# -- models ------------------------------------------------------------------------------------


class DigestsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digests: list[Sha256Hex] = Field(
        min_length=1,
        max_length=MAX_DIGESTS,
        description="SHA-256 digests of the documents, 64 hex digits each",
    )


class DigestsAccepted(BaseModel):
    count: int
    receipt_ids: list[str] = Field(
        description="one per digest, in the order given; a digest already held answers with its first receipt"
    )
    links: dict[str, str]


class FileReceiptOut(BaseModel):
    receipt_id: str
    filename: str | None
    size: int = Field(description="bytes hashed")
    digest: Hex32 = Field(description="the file's SHA-256")


class FilesAccepted(BaseModel):
    count: int
    files: list[FileReceiptOut]
    links: dict[str, str]


class AnchorOut(BaseModel):
    chain_id: int
    contract: str
    transaction_hash: Hex32
    block_number: int
    block_time: int


class ReceiptOut(BaseModel):
    id: str
    digest: Hex32
    nonce: Hex32 = Field(
        description="the receipt's random nonce: the leaf is keccak256(keccak256(abi.encode(digest, nonce)))"
    )
    state: Literal["pending", "anchoring", "anchored", "failed"]
    error: str | None = Field(default=None, description="why the batch failed (state failed)")
    submitted_at: float
    batch: int | None = None
    batch_size: int | None = None
    root: Hex32 | None = Field(default=None, description="the batch's Merkle root, once the batch is closed")
    proof: list[Hex32] | None = Field(
        default=None,
        description="sibling hashes from the digest's leaf to the "
        "root (OpenZeppelin MerkleProof), once anchored",
    )
    anchor: AnchorOut | None = None
    links: dict[str, str]


class VerifyDigestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digest: Sha256Hex


class VerifyOut(BaseModel):
    receipt_id: str
    match: bool = Field(
        description="the digest is the receipt's and is proven, on chain, in an anchored root"
    )
    digest: Hex32 = Field(description="the digest checked (the SHA-256 of the uploaded file, if any)")
    state: Literal["pending", "anchoring", "anchored", "failed"]
    detail: str


# -- routes ------------------------------------------------------------------------------------


def batcher(services: Services) -> NotaryBatcher:
    notary: NotaryBatcher | None = services.notary
    if notary is None:
        raise NotFound(
            "notarization is not enabled on this service (set LEDGER_NOTARY_COURT to a court whose "
            "signer key the service holds)"
        )
    return notary


@router.post(
    "/digests",
    status_code=202,
    response_model=DigestsAccepted,
    summary="Notarize digests: receipt ids at once, proofs once the batch is anchored",
)
def submit_digests(body: DigestsIn, client: Notary, services: ServicesDep) -> DigestsAccepted:
    ids = batcher(services).submit_many([hex32(d) for d in body.digests])
    return DigestsAccepted(count=len(ids), receipt_ids=ids, links={"receipt": RECEIPTS + "/{receipt_id}"})


@router.post(
    "/files",
    status_code=202,
    response_model=FilesAccepted,
    summary="Notarize files: hashed as they arrive, never kept",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                        },
                    }
                }
            },
        }
    },
)
async def submit_files(request: Request, client: Notary, services: ServicesDep) -> FilesAccepted:
    notary = batcher(services)
    parts = await hash_uploads(request)
    if not parts:
        raise ValidationError(
            "the upload holds no file (send multipart/form-data with one or more file parts)"
        )
    ids = await run_in_threadpool(notary.submit_many, [p.digest for p in parts])
    return FilesAccepted(
        count=len(ids),
        files=[
            FileReceiptOut(receipt_id=i, filename=p.filename, size=p.size, digest="0x" + p.digest.hex())
            for i, p in zip(ids, parts, strict=True)
        ],
        links={"receipt": RECEIPTS + "/{receipt_id}"},
    )


@router.get(
    "/receipts/{receipt_id}", response_model=ReceiptOut, summary="A receipt: state, root, proof, anchor"
)
def get_receipt(receipt_id: ReceiptId, client: Notary, services: ServicesDep) -> ReceiptOut:
    notary = batcher(services)
    return receipt_out(notary.receipt(receipt_id), services)


@router.get("/receipts/{receipt_id}/certificate", summary="The receipt's certificate (409 until anchored)",
            description="With `?format=vc` or `Accept: application/vc`: as a W3C Verifiable Credential.",
            responses=VC_RESPONSES)
def get_certificate(receipt_id: ReceiptId, request: Request, client: Notary, services: ServicesDep) -> Any:
    try:
        certificate = batcher(services).certificate(receipt_id)
    except NotAnchoredError as exc:
        raise NotReady(str(exc)) from None
    return certificate_or_credential(certificate, request, services)


@router.post(
    "/receipts/{receipt_id}/verify",
    response_model=VerifyOut,
    summary="Does this digest (or uploaded file) match the receipt?",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": VerifyDigestIn.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    },
)
async def verify_receipt(
    receipt_id: ReceiptId, request: Request, client: Notary, services: ServicesDep
) -> VerifyOut:
    notary = batcher(services)
    if _is_multipart(request):
        parts = await hash_uploads(request)
        if len(parts) != 1:
            raise ValidationError(f"upload exactly one file to verify, not {len(parts)}")
        digest = parts[0].digest
    else:
        body = VerifyDigestIn.model_validate_json(await request.body())
        digest = hex32(body.digest)
    receipt: Receipt = await run_in_threadpool(notary.receipt, receipt_id)
    match = await run_in_threadpool(notary.verify, receipt_id, digest, on_chain=True)
    if match and receipt.state != "anchored":  # anchored between the two reads
        receipt = await run_in_threadpool(notary.receipt, receipt_id)
    if match:
        detail = f"the digest is in the batch anchored in block {receipt.block_number}"
    elif receipt.digest != digest:
        detail = "the digest is not the one this receipt notarizes"
    elif receipt.state != "anchored":
        detail = f"the digest is the receipt's, but its batch is {receipt.state}: not proven on chain yet"
    else:
        detail = "the receipt's proof does not lead to an anchored root"
    return VerifyOut(
        receipt_id=receipt.id, match=match, digest="0x" + digest.hex(), state=receipt.state, detail=detail
    )


def receipt_out(r: Receipt, services: Services) -> ReceiptOut:
    anchor = None
    if r.state == "anchored" and r.transaction_hash is not None:
        anchor = AnchorOut(
            chain_id=services.chain.chain_id,
            contract=services.deployment.address("NotaryAnchor"),
            transaction_hash=r.transaction_hash,
            block_number=int(r.block_number or 0),
            block_time=int(r.block_time or 0),
        )
    return ReceiptOut(
        id=r.id,
        digest="0x" + r.digest.hex(),
        nonce="0x" + r.nonce.hex(),
        state=r.state,
        error=r.error,
        submitted_at=r.submitted_at,
        batch=r.batch,
        batch_size=r.batch_size,
        root="0x" + r.root.hex() if r.root is not None else None,
        proof=["0x" + p.hex() for p in r.proof] if r.proof is not None else None,
        anchor=anchor,
        links={"certificate": f"{RECEIPTS}/{r.id}/certificate", "verify": f"{RECEIPTS}/{r.id}/verify"},
    )


# -- streaming multipart hashing ---------------------------------------------------------------


@dataclass
class Upload:
    filename: str | None
    size: int = 0
    digest: bytes = b""
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def hash_uploads(request: Request) -> list[Upload]:
    """SHA-256 of every file part of a multipart body, computed chunk by chunk as the body is read.

    Nothing is written to disk or kept: each chunk goes into its part's hash and is dropped. Parts without
    a file name (plain form fields) are ignored.
    """
    try:  # FastAPI's own multipart dependency; imported here so the JSON endpoints work without it
        from python_multipart.multipart import MultipartParser, parse_options_header
    except ImportError:
        raise ConfigurationError("file uploads need the python-multipart package") from None
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise ValidationError("send the files as multipart/form-data")
    done: list[Upload] = []
    state: dict[str, Any] = {"field": b"", "value": b"", "headers": {}, "part": None}

    def on_part_begin() -> None:
        state["headers"], state["part"] = {}, None

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, options = parse_options_header(state["headers"].get(b"content-disposition", b""))
        if b"filename" in options:
            if len(done) >= MAX_FILES:
                raise ValidationError(f"at most {MAX_FILES} files per request")
            state["part"] = Upload(options[b"filename"].decode("utf-8", "replace")[:255] or None)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part: Upload | None = state["part"]
        if part is not None:
            part._hash.update(data[start:end])
            part.size += end - start

    def on_part_end() -> None:
        part: Upload | None = state["part"]
        if part is not None:
            part.digest = part._hash.digest()
            done.append(part)
        state["part"] = None

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in _chunks(request):
            parser.write(chunk)
        parser.finalize()
    except ValidationError:
        raise
    except Exception as exc:  # python-multipart's MultipartParseError and friends
        raise ValidationError(f"the multipart body is malformed: {type(exc).__name__}") from None
    return done


async def _chunks(request: Request, size: int = 1 << 16) -> AsyncIterator[bytes]:
    """The body in bounded chunks (authentication may already have read it whole: it signs the body)."""
    async for chunk in request.stream():
        for i in range(0, len(chunk), size):
            yield chunk[i : i + size]
