"""Portable verification certificates: one JSON format for every record kind.

Contract: a certificate carries a record's fields (the private ones only as digests, commitments or
blind indexes), the court's EIP-712 signature, where the record is on chain (chain id, contract address,
transaction hash, block number, hash and time) and, per kind, what is needed to check it: the actions
of an enforcement case, the time and answer of a defaulter status, the Merkle proof of a notarized
digest. The format is specified in ``docs/verification.md``; :func:`parse_certificate` refuses anything
that does not follow it, naming the step ``format``. Building a certificate needs no network.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from ledger.client import Written
from ledger.errors import VerificationError
from ledger.records import (
    Action,
    Anchor,
    CaseState,
    Filing,
    Judgment,
    JudgmentStatus,
    Listing,
    Record,
    Restriction,
)

__all__ = [
    "CERTIFICATE_VERSION",
    "Certificate",
    "case_certificate",
    "defaulter_certificate",
    "judgment_certificate",
    "notary_certificate",
    "parse_certificate",
]

CERTIFICATE_VERSION = 1

Kind = Literal["judgment", "enforcement_case", "defaulter_status", "notarized_digest"]

#: kind -> (record type name, record class)
RECORD_TYPES: dict[str, type[Record]] = {
    "judgment": Judgment,
    "enforcement_case": Filing,
    "defaulter_status": Listing,
    "notarized_digest": Anchor,
}

HEX32 = r"^0x[0-9a-fA-F]{64}$"
ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Network(_Model):
    chain_id: int = Field(gt=0)
    contract: str = Field(pattern=ADDRESS)
    contract_name: str


class Signature(_Model):
    signer: str = Field(pattern=ADDRESS)
    court: int = Field(gt=0)
    value: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class Transaction(_Model):
    hash: str = Field(pattern=HEX32)
    block_number: int = Field(ge=0)
    block_hash: str = Field(pattern=HEX32)
    block_time: int = Field(ge=0)


class CaseActions(_Model):
    """The actions of an enforcement case and the state they lead to."""

    actions: list[dict[str, Any]]
    state: str
    amount_due: int
    amount_recovered: int
    history_hash: str = Field(pattern=HEX32)


class DefaulterStatus(_Model):
    """Whether the listed subject was restricted for ``restrictions`` at ``at``."""

    at: int = Field(ge=0)
    restrictions: list[str]
    restricted: bool
    until: int | None = None


class NotaryProof(_Model):
    digest: str = Field(pattern=HEX32)
    proof: list[str]

    @field_validator("proof")
    @classmethod
    def _proof(cls, v: list[str]) -> list[str]:
        import re

        for item in v:
            if not re.fullmatch(HEX32, item):
                raise ValueError("each proof element must be 32 bytes of 0x-hex")
        return v


class Certificate(_Model):
    """A portable certificate (version 1)."""

    version: int
    kind: Kind
    network: Network
    record_id: str = Field(pattern=HEX32)
    record: dict[str, Any]
    signature: Signature
    transaction: Transaction
    status: dict[str, Any] = Field(default_factory=dict, description="state when issued; informational")
    case: CaseActions | None = None
    defaulter: DefaulterStatus | None = None
    notary: NotaryProof | None = None
    issued_at: int | None = None

    def typed_record(self) -> Record:
        """The record, parsed; raises VerificationError('format') when the fields are invalid."""
        cls = RECORD_TYPES[self.kind]
        try:
            return cls.model_validate(self.record)
        except PydanticValidationError as exc:
            raise VerificationError("format", f"record fields are invalid: {_first_error(exc)}") from None

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.model_dump(exclude_none=True), indent=indent, ensure_ascii=False, sort_keys=True)


def _first_error(exc: PydanticValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))


def parse_certificate(data: str | bytes | dict[str, Any]) -> Certificate:
    """Parse a certificate; anything malformed raises VerificationError at step ``format``."""
    return parse_certificate_record(data)[0]


def parse_certificate_record(data: str | bytes | dict[str, Any]) -> tuple[Certificate, Record, bytes]:
    """:func:`parse_certificate`, also returning the typed record and its id (EIP-712 struct hash).

    The verifier needs both right after parsing; they are computed here once.
    """
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise VerificationError("format", f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise VerificationError("format", "a certificate is a JSON object")
    version = data.get("version")
    if version != CERTIFICATE_VERSION:
        raise VerificationError("format", f"unsupported certificate version {version!r}; this verifier reads "
                                          f"version {CERTIFICATE_VERSION}")
    try:
        cert = Certificate.model_validate(data)
    except PydanticValidationError as exc:
        raise VerificationError("format", _first_error(exc)) from None
    needed = {"enforcement_case": "case", "defaulter_status": "defaulter", "notarized_digest": "notary"}
    part = needed.get(cert.kind)
    if part and getattr(cert, part) is None:
        raise VerificationError("format", f"a {cert.kind} certificate needs its '{part}' section")
    record = cert.typed_record()
    record_id = record.record_id()
    if "0x" + record_id.hex() != cert.record_id.lower():
        raise VerificationError("format", "record_id is not the EIP-712 struct hash of the record fields")
    return cert, record, bytes(record_id)


def _base(kind: Kind, written: Written, chain_id: int, court: int, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": CERTIFICATE_VERSION,
        "kind": kind,
        "network": {"chain_id": chain_id, "contract": written.contract_address, "contract_name": written.contract},
        "record_id": "0x" + written.record_id.hex(),
        "record": written.record.to_json(),
        "signature": {"signer": written.signer, "court": court, "value": "0x" + written.signature.hex()},
        "transaction": {
            "hash": written.transaction_hash,
            "block_number": written.block_number,
            "block_hash": written.block_hash,
            "block_time": written.block_time,
        },
        "status": status,
    }


def judgment_certificate(written: Written, chain_id: int, *, status: JudgmentStatus = JudgmentStatus.EFFECTIVE,
                         superseded_by: bytes | None = None) -> Certificate:
    record = written.record
    assert isinstance(record, Judgment)
    st: dict[str, Any] = {"status": status.name.lower()}
    if superseded_by:
        st["superseded_by"] = "0x" + superseded_by.hex()
    return Certificate.model_validate(_base("judgment", written, chain_id, record.court, st))


def case_certificate(filing: Written, chain_id: int, actions: list[Action], *, state: CaseState,
                     amount_recovered: int) -> Certificate:
    record = filing.record
    assert isinstance(record, Filing)
    history: bytes = filing.record_id
    from eth_abi import encode as abi_encode
    from eth_utils import keccak

    for action in actions:
        history = keccak(abi_encode(["bytes32", "bytes32"], [history, action.record_id()]))
    data = _base("enforcement_case", filing, chain_id, record.court, {"state": state.name.lower()})
    data["case"] = {
        "actions": [a.to_json() for a in actions],
        "state": state.name.lower(),
        "amount_due": record.amount_due,
        "amount_recovered": amount_recovered,
        "history_hash": "0x" + bytes(history).hex(),
    }
    return Certificate.model_validate(data)


def defaulter_certificate(listing: Written, chain_id: int, *, at: int, restrictions: Restriction,
                          restricted: bool, until: int | None) -> Certificate:
    record = listing.record
    assert isinstance(record, Listing)
    data = _base("defaulter_status", listing, chain_id, record.court,
                 {"restricted": restricted, "at": at})
    data["defaulter"] = {
        "at": at,
        "restrictions": sorted((r.name or "").lower() for r in Restriction if r in restrictions),
        "restricted": restricted,
        "until": until,
    }
    return Certificate.model_validate(data)


def notary_certificate(anchor: Written, chain_id: int, *, digest: bytes, proof: list[bytes]) -> Certificate:
    record = anchor.record
    assert isinstance(record, Anchor)
    data = _base("notarized_digest", anchor, chain_id, record.court, {"anchored": True})
    data["notary"] = {"digest": "0x" + digest.hex(), "proof": ["0x" + p.hex() for p in proof]}
    return Certificate.model_validate(data)
