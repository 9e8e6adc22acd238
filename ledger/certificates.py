"""Portable verification certificates, format 2: one JSON format for every record kind.

Contract: a certificate carries a record's fields (the private ones only as digests, commitments or
blind indexes), the court's EIP-712 signature over them, where the record was written (chain id,
contract, transaction, block) and, per kind, what is needed to check the rest: the actions of an
enforcement case with the state they lead to, the state of a listing as of a named block, the Merkle
proof of a notarized digest, and optionally the opening of the case-number digest. Every field is
either signed by the court or bound to a named chain fact that online verification checks; there are
no informational fields. The format is specified in ``docs/verification.md`` and
``docs/schemas/certificate-v2.schema.json``; :func:`parse_certificate` enforces that schema and refuses
anything else (format 1 included) at the step ``format``. Building a certificate needs no network.
"""

from __future__ import annotations

import json
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from ledger import strict_json
from ledger._recursion import restore_recursion_limit
from ledger._schema import compile_schema
from ledger.client import Written
from ledger.errors import refused
from ledger.merkle import _keccak
from ledger.records import (
    UINT64,
    UINT128,
    ZERO32,
    Action,
    ActionKind,
    Anchor,
    CaseState,
    Dossier,
    Filing,
    Judgment,
    Listing,
    Record,
    Translation,
    opened_case_number_digest,
    translations_root,
)

__all__ = [
    "CERTIFICATE_VERSION",
    "CONTRACT_OF_KIND",
    "Certificate",
    "case_certificate",
    "case_history_hash",
    "certificate_schema",
    "defaulter_certificate",
    "dossier_block",
    "judgment_certificate",
    "listing_restricted",
    "notary_certificate",
    "parse_certificate",
]

CERTIFICATE_VERSION = 2

Kind = Literal["judgment", "enforcement_case", "defaulter_status", "notarized_digest"]

#: kind -> record class
RECORD_TYPES: dict[str, type[Record]] = {
    "judgment": Judgment,
    "enforcement_case": Filing,
    "defaulter_status": Listing,
    "notarized_digest": Anchor,
}
#: kind -> the contract (EIP-712 domain name) that holds it
CONTRACT_OF_KIND: dict[str, str] = {
    "judgment": "JudgmentRegistry",
    "enforcement_case": "EnforcementRegistry",
    "defaulter_status": "DefaulterRegistry",
    "notarized_digest": "NotaryAnchor",
}
#: record fields that travel as decimal strings (uint64, uint128: beyond 2^53)
_DECIMAL_FIELDS = frozenset({"amount", "amount_due", "detail"})

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


@cache
def certificate_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of format 2."""
    return dict(json.loads((SCHEMAS / "certificate-v2.schema.json").read_text(encoding="utf-8")))


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(certificate_schema())


@cache
def _fast_check() -> Any:
    """The schema compiled to plain checks (ledger._schema); jsonschema writes the message on failure."""
    return compile_schema(certificate_schema())


@cache
def _checksummed(address: str) -> bool:
    return bool(to_checksum_address(address) == address)


@cache
def _type_hash(cls: type[Record]) -> bytes:
    return bytes(cls.type_hash())


def struct_hash(record: Record) -> bytes:
    """``record.record_id()`` (EIP-712 hashStruct), computed word by word: a verifier does it per certificate."""
    message = record.message()
    words = [_type_hash(type(record))]
    for name, sol_type, _ in record.FIELDS:
        value = message[name]
        words.append(bytes(value).ljust(32, b"\0") if sol_type.startswith("bytes") else int(value).to_bytes(32, "big"))
    return _keccak(b"".join(words))


def schema_error(validator: Any, data: Any) -> str | None:
    """The first schema violation of ``data`` as 'where: what', or None."""
    from jsonschema.exceptions import best_match

    err = best_match(validator.iter_errors(data))
    if err is None:
        return None
    where = "/".join(str(p) for p in err.absolute_path) or "(certificate)"
    return f"{where}: {err.message}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Network(_Model):
    chain_id: int
    contract: str
    contract_name: str


class Signature(_Model):
    signer: str
    value: str


class Transaction(_Model):
    hash: str
    block_number: int
    block_hash: str
    block_time: int


class BlockRef(_Model):
    """A block the certified state is taken at: the state is its events in blocks up to this one."""

    block_number: int
    block_hash: str


class CaseNumber(_Model):
    """The opening of ``case_number_digest``: the normalised case number and its salt."""

    text: str
    salt: str


class CaseActions(_Model):
    """The actions of an enforcement case up to ``as_of``, and the state they lead to."""

    actions: list[dict[str, Any]]
    state: str
    amount_recovered: str
    history_hash: str


class DefaulterStatus(_Model):
    """The listing as of ``as_of``: its end (``until``), its removal, and whether it restricted at ``at``."""

    at: int
    restricted: bool
    until: int
    removed_at: int | None = None


class NotaryProof(_Model):
    digest: str
    nonce: str
    proof: list[str]


class DossierBlock(_Model):
    """A judgment's dossier version (Hague 2019, art. 12): the fields the filing court signed, the list of
    translations its ``translationsRoot`` is computed from, the signature, the transaction of its
    ``DossierFiled`` event, and the block as of which it is the latest version."""

    court: int
    by_default: bool
    complete_copy: str
    proof_of_service: str | None = None
    translations: list[dict[str, str]]
    sequence: int
    signature: Signature
    transaction: Transaction
    as_of: BlockRef


class Certificate(_Model):
    """A portable certificate (format 2)."""

    version: int
    kind: Kind
    network: Network
    record_id: str
    record: dict[str, Any]
    signature: Signature
    transaction: Transaction
    as_of: BlockRef | None = None
    case_number: CaseNumber | None = None
    case: CaseActions | None = None
    defaulter: DefaulterStatus | None = None
    notary: NotaryProof | None = None
    dossier: DossierBlock | None = None

    def typed_record(self) -> Record:
        """The record, parsed; raises VerificationError('format') when the fields are invalid."""
        return _typed_record(self.kind, self.record)

    def actions(self) -> list[Action]:
        assert self.case is not None
        return [_typed(Action, a, f"case/actions/{i}") for i, a in enumerate(self.case.actions)]

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.model_dump(exclude_none=True), indent=indent, ensure_ascii=False, sort_keys=True)


def _first_error(exc: PydanticValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))


def _typed(cls: type[Record], fields: dict[str, Any], where: str) -> Any:
    values = {k: int(v) if k in _DECIMAL_FIELDS and isinstance(v, str) else v for k, v in fields.items()}
    try:
        return cls.model_validate(values)
    except PydanticValidationError as exc:
        raise refused("format", "format.field_invalid", where=where, error=_first_error(exc)) from None


def _typed_record(kind: str, fields: dict[str, Any]) -> Record:
    return _typed(RECORD_TYPES[kind], fields, "record")


def _json_record(record: Record) -> dict[str, Any]:
    """A record's JSON fields with uint64/uint128 values as decimal strings."""
    return {k: str(v) if k in _DECIMAL_FIELDS else v for k, v in record.to_json().items()}


def case_history_hash(case_id: bytes, actions: list[Action]) -> bytes:
    """The contract's history hash: ``h0 = caseId``, ``h(i+1) = keccak256(abi.encode(h(i), actionId(i)))``."""
    history = case_id
    for action in actions:
        history = _keccak(history + struct_hash(action))  # abi.encode of two bytes32 is their concatenation
    return history


#: DefaulterRegistry.MIN_EXTENSION and MAX_EXTENSION: an extension moves until by 365 to 1,095 days.
MIN_EXTENSION = 365 * 86400
MAX_EXTENSION = 1095 * 86400


def listing_restricted(listing: Listing, at: int, until: int, removed_at: int | None) -> bool:
    """Whether the listing restricted its subject at ``at``: listed, and before its end (removal or until)."""
    end = until if removed_at is None else min(until, removed_at)
    return listing.listed_at <= at < end


def _has_float(value: Any) -> bool:
    """Whether already-parsed JSON holds a float: a number not written as an integer (2.6)."""
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def load_json(data: str | bytes | dict[str, Any]) -> Any:
    """JSON read strictly (ledger.strict_json: integers only); raises VerificationError('format')."""
    if not isinstance(data, bytes | str):
        if _has_float(data):
            raise refused("format", "format.float")
        return data
    restore_recursion_limit()  # a library imported since may have raised it (see ledger._recursion)
    try:
        return strict_json.loads(data)
    except RecursionError:
        raise refused("format", "format.too_deep") from None
    except strict_json.JSONLexicalError as exc:
        raise refused("format", "format.lexical", error=str(exc)) from None


def parse_certificate(data: str | bytes | dict[str, Any]) -> Certificate:
    """Parse a certificate; anything malformed raises VerificationError at step ``format``."""
    return parse_certificate_record(data)[0]


def parse_certificate_record(data: str | bytes | dict[str, Any]) -> tuple[Certificate, Record, bytes]:
    """:func:`parse_certificate`, also returning the typed record and its id (EIP-712 struct hash).

    Checks, all at step ``format``: JSON, not format 1, the schema, EIP-55 addresses, the record's
    fields and ranges, ``record_id``, and the internal consistency of the case and listing blocks.
    """
    data = load_json(data)
    if not isinstance(data, dict):
        raise refused("format", "format.not_object")
    if data.get("version") == 1:
        raise refused("format", "format.v1")
    if not _fast_check()(data):
        problem = schema_error(_validator(), data) or "a string ends with a line break"
        raise refused("format", "format.schema", problem=problem)
    addresses = [("network.contract", data["network"]["contract"]), ("signature.signer", data["signature"]["signer"])]
    if "dossier" in data:
        addresses.append(("dossier.signature.signer", data["dossier"]["signature"]["signer"]))
    for where, address in addresses:
        if not _checksummed(address):
            raise refused("format", "format.not_checksummed", where=where)
    cert = _construct(data)
    if "restrictions" in cert.record and cert.record["restrictions"] != sorted(cert.record["restrictions"]):
        raise refused("format", "format.unsorted")
    record = cert.typed_record()
    record_id = struct_hash(record)
    if "0x" + record_id.hex() != cert.record_id:
        raise refused("format", "format.record_id")
    if cert.case is not None:
        _check_case(cert, record, record_id)
    if cert.as_of is not None and cert.as_of.block_number < cert.transaction.block_number:
        raise refused("format", "format.as_of_before")
    if cert.defaulter is not None:
        assert isinstance(record, Listing)
        _check_listing(cert, record)
    if cert.dossier is not None:
        dossier_record(cert, record_id)
    return cert, record, record_id


def dossier_record(cert: Certificate, record_id: bytes) -> Dossier:
    """The signed Dossier struct the certificate's dossier block states, its translations root recomputed
    from the list (docs/verification.md 2.7); the block's offline rules are checked, at step ``format``."""
    d = cert.dossier
    assert d is not None
    languages = [t["language"] for t in d.translations]
    if any(a >= b for a, b in pairwise(languages)):
        raise refused("format", "format.translations_order")
    if d.by_default and d.proof_of_service is None:
        raise refused("format", "format.dossier_no_service")
    if d.transaction.block_number < cert.transaction.block_number:
        raise refused("format", "format.dossier_before_judgment")
    if d.as_of.block_number < d.transaction.block_number:
        raise refused("format", "format.dossier_as_of_before")
    root = translations_root([Translation.model_construct(language=t["language"], digest=bytes.fromhex(t["digest"][2:]))
                              for t in d.translations])
    return Dossier.model_construct(
        judgment_id=record_id, by_default=d.by_default, complete_copy=bytes.fromhex(d.complete_copy[2:]),
        proof_of_service=bytes.fromhex(d.proof_of_service[2:]) if d.proof_of_service else ZERO32,
        translations_root=root, sequence=d.sequence)


def _check_listing(cert: Certificate, record: Listing) -> None:
    """The listing block's offline consistency (docs/verification.md 2.4)."""
    d, written = cert.defaulter, cert.transaction.block_time
    assert d is not None
    if d.until != record.until and not (record.until + MIN_EXTENSION <= d.until <= record.until + MAX_EXTENSION):
        raise refused("format", "format.until_extension")
    if d.at < written:
        raise refused("format", "format.at_before")
    if d.removed_at is not None and not written <= d.removed_at <= d.at:
        raise refused("format", "format.removed_between")
    if listing_restricted(record, d.at, d.until, d.removed_at) != d.restricted:
        raise refused("format", "format.restricted")


_PARTS: dict[str, type[_Model]] = {}


def _construct(data: dict[str, Any]) -> Certificate:
    """The Certificate of data the schema has accepted, without validating it a second time."""
    if not _PARTS:
        _PARTS.update(network=Network, signature=Signature, transaction=Transaction, as_of=BlockRef,
                      case_number=CaseNumber, case=CaseActions, defaulter=DefaulterStatus, notary=NotaryProof)
    fields: dict[str, Any] = {k: _PARTS[k].model_construct(**v) if k in _PARTS else v for k, v in data.items()}
    if "dossier" in data:
        d = data["dossier"]
        fields["dossier"] = DossierBlock.model_construct(**{
            **d, "signature": Signature.model_construct(**d["signature"]),
            "transaction": Transaction.model_construct(**d["transaction"]),
            "as_of": BlockRef.model_construct(**d["as_of"])})
    return Certificate.model_construct(**fields)


def _check_case(cert: Certificate, record: Record, record_id: bytes) -> None:
    assert cert.case is not None
    actions = [_schema_checked_action(a, i) for i, a in enumerate(cert.case.actions)]
    for i, action in enumerate(actions):
        if action.case_id != record_id or action.sequence != i:
            raise refused("format", "format.action_foreign", i=i)
    if "0x" + case_history_hash(record_id, actions).hex() != cert.case.history_hash:
        raise refused("format", "format.history")
    state, recovered = case_replay(actions)
    if cert.case.state != state or cert.case.amount_recovered != str(recovered):
        raise refused("format", "format.replay", state=state, recovered=recovered, claimed_state=cert.case.state,
                      claimed=cert.case.amount_recovered)


def _schema_checked_action(fields: dict[str, Any], i: int) -> Action:
    """An action the schema has accepted (types, enums, hex), built without a second validation; ranges checked."""
    amount, detail = int(fields["amount"]), int(fields["detail"])
    if amount > UINT128 or detail > UINT64:
        raise refused("format", "format.action_range", i=i)
    return Action.model_construct(
        case_id=bytes.fromhex(fields["case_id"][2:]), sequence=fields["sequence"],
        kind=ActionKind[fields["kind"].upper()], amount=amount, detail=detail,
        document_digest=bytes.fromhex(fields["document_digest"][2:]), flags=fields["flags"])


def case_replay(actions: list[Action]) -> tuple[str, int]:
    """The state and amount recovered the contract reaches after ``actions`` (EnforcementRegistry._apply)."""
    state, recovered = "open", 0
    for action in actions:
        if action.kind in (ActionKind.DEDUCTION, ActionKind.PAYMENT_RECEIVED):
            recovered += action.amount
        elif action.kind == ActionKind.TERMINATION_NO_ASSETS:
            state = "terminated"
        elif action.kind == ActionKind.RESUMPTION:
            state = "open"
        elif action.kind == ActionKind.CONCLUSION:
            state = "concluded"
    return state, recovered


def open_case_number(cert: Certificate, record: Record) -> bytes | None:
    """The digest the certificate's case-number opening gives, or None when it carries none."""
    if cert.case_number is None:
        return None
    salt = bytes.fromhex(cert.case_number.salt[2:])
    try:
        return opened_case_number_digest(cert.case_number.text, salt)
    except ValueError as exc:
        raise refused("case_number", "case_number.invalid", error=str(exc)) from None


# -- building ----------------------------------------------------------------------------------


def _base(kind: Kind, written: Written, chain_id: int) -> dict[str, Any]:
    return {
        "version": CERTIFICATE_VERSION,
        "kind": kind,
        "network": {"chain_id": chain_id, "contract": to_checksum_address(written.contract_address),
                    "contract_name": CONTRACT_OF_KIND[kind]},
        "record_id": "0x" + written.record_id.hex(),
        "record": _json_record(written.record),
        "signature": {"signer": to_checksum_address(written.signer), "value": "0x" + written.signature.hex()},
        "transaction": {
            "hash": written.transaction_hash.lower(),
            "block_number": written.block_number,
            "block_hash": written.block_hash.lower(),
            "block_time": written.block_time,
        },
    }


def _finish(data: dict[str, Any]) -> Certificate:
    return parse_certificate(data)


def _opening(case_number: tuple[str, bytes] | None) -> dict[str, Any] | None:
    if case_number is None:
        return None
    from ledger.records import normalise_case_number

    return {"text": normalise_case_number(case_number[0]), "salt": "0x" + case_number[1].hex()}


def judgment_certificate(written: Written, chain_id: int, *,
                         case_number: tuple[str, bytes] | None = None,
                         dossier: dict[str, Any] | None = None) -> Certificate:
    """A judgment's certificate; ``case_number`` = (text, salt) opens its case-number digest; ``dossier`` is
    a block made by :func:`dossier_block`."""
    assert isinstance(written.record, Judgment)
    data = _base("judgment", written, chain_id)
    if case_number is not None:
        data["case_number"] = _opening(case_number)
    if dossier is not None:
        data["dossier"] = dossier
    return _finish(data)


def dossier_block(filed: Written, court: int, translations: list[Translation], *,
                  as_of: tuple[int, str]) -> dict[str, Any]:
    """The certificate's dossier block for a filed version: ``court`` the filing court (the event's),
    ``translations`` the list its root was computed from, ``as_of`` (number, hash) the block as of which it
    is the latest version."""
    d = filed.record
    assert isinstance(d, Dossier)
    if translations_root(translations) != d.translations_root:
        raise ValueError("the translations do not give the dossier's translations root")
    block: dict[str, Any] = {
        "court": court,
        "by_default": d.by_default,
        "complete_copy": "0x" + d.complete_copy.hex(),
        "translations": [{"language": t.language, "digest": "0x" + t.digest.hex()}
                         for t in sorted(translations, key=lambda t: t.language)],
        "sequence": d.sequence,
        "signature": {"signer": to_checksum_address(filed.signer), "value": "0x" + filed.signature.hex()},
        "transaction": {"hash": filed.transaction_hash.lower(), "block_number": filed.block_number,
                        "block_hash": filed.block_hash.lower(), "block_time": filed.block_time},
        "as_of": {"block_number": as_of[0], "block_hash": as_of[1].lower()},
    }
    if d.proof_of_service != ZERO32:
        block["proof_of_service"] = "0x" + d.proof_of_service.hex()
    return block


def case_certificate(filing: Written, chain_id: int, actions: list[Action], *, state: CaseState,
                     amount_recovered: int, as_of: tuple[int, str],
                     case_number: tuple[str, bytes] | None = None) -> Certificate:
    """A case's certificate: ``actions`` are every action recorded in blocks up to ``as_of`` (number, hash)."""
    assert isinstance(filing.record, Filing)
    data = _base("enforcement_case", filing, chain_id)
    data["as_of"] = {"block_number": as_of[0], "block_hash": as_of[1].lower()}
    data["case"] = {
        "actions": [_json_record(a) for a in actions],
        "state": state.name.lower(),
        "amount_recovered": str(amount_recovered),
        "history_hash": "0x" + case_history_hash(filing.record_id, actions).hex(),
    }
    if case_number is not None:
        data["case_number"] = _opening(case_number)
    return _finish(data)


def defaulter_certificate(listing: Written, chain_id: int, *, as_of: tuple[int, str], at: int, until: int,
                          removed_at: int | None = None) -> Certificate:
    """A listing's certificate: its end and removal as of block ``as_of``, whose timestamp is ``at``."""
    record = listing.record
    assert isinstance(record, Listing)
    data = _base("defaulter_status", listing, chain_id)
    data["as_of"] = {"block_number": as_of[0], "block_hash": as_of[1].lower()}
    data["defaulter"] = {"at": at, "restricted": listing_restricted(record, at, until, removed_at), "until": until}
    if removed_at is not None:
        data["defaulter"]["removed_at"] = removed_at
    return _finish(data)


def notary_certificate(anchor: Written, chain_id: int, *, digest: bytes, nonce: bytes,
                       proof: list[bytes]) -> Certificate:
    """A notarized digest's certificate: the leaf is ``notary_leaf(digest, nonce)`` in the anchored root."""
    assert isinstance(anchor.record, Anchor)
    data = _base("notarized_digest", anchor, chain_id)
    data["notary"] = {"digest": "0x" + digest.hex(), "nonce": "0x" + nonce.hex(),
                      "proof": ["0x" + p.hex() for p in proof]}
    return _finish(data)
