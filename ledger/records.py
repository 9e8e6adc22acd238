"""Typed record models, their canonical encoding, and record ids.

Contract: every record a court writes is an EIP-712 struct. Its canonical encoding is EIP-712
``encodeData`` (the type hash followed by each field ABI-encoded in a 32-byte word), and its id is
``hashStruct`` = keccak256 of that encoding, exactly as the contracts compute it; anyone holding the
fields recomputes the id with any EIP-712 implementation. The type strings below are the contracts'.
Dates are unix seconds (UTC). Digests are 32 bytes. This module is pure: no network, no index.
"""

from __future__ import annotations

import enum
import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, NewType

from eth_abi import encode as abi_encode
from eth_utils import keccak
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger.privacy.blind import CaseNumberKey

__all__ = [
    "CONTRACT_OF",
    "Action",
    "ActionKind",
    "Anchor",
    "CaseNumberKey",
    "CaseNumberOpening",
    "CaseState",
    "ChainDate",
    "Dossier",
    "Extension",
    "Filing",
    "Ground",
    "Judgment",
    "JudgmentStatus",
    "JudgmentStatusChange",
    "Listing",
    "Record",
    "RecordId",
    "Removal",
    "RemovalReason",
    "Restriction",
    "Translation",
    "case_number_digest",
    "date_to_unix",
    "normalise_case_number",
    "open_case_number",
    "opened_case_number_digest",
    "sha256_digest",
    "translations_root",
]

RecordId = NewType("RecordId", bytes)

UINT32 = 2**32 - 1
UINT40 = 2**40 - 1
UINT64 = 2**64 - 1
UINT128 = 2**128 - 1


class JudgmentStatus(enum.IntEnum):
    NONE = 0
    EFFECTIVE = 1
    UNDER_APPEAL = 2
    SET_ASIDE = 3
    SUPERSEDED = 4
    SATISFIED = 5
    STAYED = 6


class CaseState(enum.IntEnum):
    NONE = 0
    OPEN = 1
    TERMINATED = 2
    CONCLUDED = 3


class ActionKind(enum.IntEnum):
    NOTICE = 0
    PROPERTY_REPORT_ORDER = 1
    ASSET_INQUIRY = 2
    FREEZE = 3
    SEAL = 4
    SEIZE = 5
    DEDUCTION = 6
    VALUATION = 7
    AUCTION_LISTED = 8
    AUCTION_SOLD = 9
    AUCTION_FAILED = 10
    PAYMENT_RECEIVED = 11
    DISBURSEMENT = 12
    SETTLEMENT = 13
    CONSUMPTION_RESTRICTION = 14
    DEFAULTER_LISTING = 15
    TERMINATION_NO_ASSETS = 16
    RESUMPTION = 17
    CONCLUSION = 18


class Ground(enum.IntEnum):
    """The six grounds for listing a dishonest judgment debtor (2017 rules)."""

    NONE = 0
    ABLE_BUT_REFUSES = 1
    OBSTRUCTS_BY_FORGERY_OR_VIOLENCE = 2
    EVADES_BY_FALSE_LITIGATION_OR_HIDING_ASSETS = 3
    VIOLATES_PROPERTY_REPORT = 4
    VIOLATES_CONSUMPTION_RESTRICTION = 5
    REFUSES_SETTLEMENT = 6


class RemovalReason(enum.IntEnum):
    NONE = 0
    PERFORMED = 1
    SETTLEMENT_FULFILLED = 2
    APPLICANT_AGREED = 3
    CASE_ENDED = 4
    CORRECTED_WRONGLY_LISTED = 5
    PERIOD_EXPIRED = 6


class Restriction(enum.IntFlag):
    """Restrictions attached to a listing; the bit values are the contract's constants."""

    FLIGHTS = 1 << 0
    RAIL = 1 << 1
    HIGH_CONSUMPTION = 1 << 2
    PROPERTY_AND_CARS = 1 << 3
    LOANS_AND_CARDS = 1 << 4
    COMPANY_OFFICE = 1 << 5
    PUBLIC_OFFICE = 1 << 6
    PUBLIC_BIDDING = 1 << 7

    @classmethod
    def all(cls) -> Restriction:
        value = cls(0)
        for member in cls:
            value |= member
        return value

    @classmethod
    def parse(cls, names: str | list[str]) -> Restriction:
        """``"flights,rail"`` or ``["flights", "rail"]`` -> FLIGHTS | RAIL."""
        items = names.split(",") if isinstance(names, str) else names
        value = cls(0)
        for item in items:
            key = item.strip().upper().replace("-", "_")
            if not key:
                continue
            if key not in cls.__members__:
                known = ", ".join(m.lower() for m in cls.__members__)
                raise ValueError(f"unknown restriction; known: {known}")
            value |= cls[key]
        return value


# One 2 years, as the contract's MAX_PERIOD.
LISTING_PERIOD_SECONDS = 730 * 86400
ASSET_CATEGORY_MASK = 0xFFFF
FLAG_EXCESS_ACKNOWLEDGED = 1


def sha256_digest(data: bytes) -> bytes:
    """SHA-256 of a document file: the digest that identifies a signed document."""
    return hashlib.sha256(data).digest()


#: Code points whose Unicode White_Space property is true: deleted from a case number after NFKC.
_WHITE_SPACE = frozenset(
    [*map(chr, range(0x09, 0x0E)), "\u0020", "\u0085", "\u00a0", "\u1680", *map(chr, range(0x2000, 0x200B)),
     "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)
#: General categories refused in a case number once white space is gone (controls, format, surrogates,
#: private use, unassigned): invisible characters would make two digests of what a clerk reads as one number.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
CASE_NUMBER_SALT_BYTES = 32


def normalise_case_number(case_number: str) -> str:
    """The one normal form of a case number: ``NFKC(delete_white_space(NFKC(x)))`` (full-width brackets become
    ASCII, every White_Space code point is deleted, and what the deletion joined is composed again, so the
    form is idempotent: docs/verification.md 2.5); a control, format, surrogate, private-use or unassigned
    code point is refused.

    Raises ValueError with a message that names the problem and its position, never the text.
    """
    spaced = unicodedata.normalize("NFKC", case_number)
    text = unicodedata.normalize("NFKC", "".join(c for c in spaced if c not in _WHITE_SPACE))
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES:
            raise ValueError(f"case number has an invisible or unassigned character (category {category}) "
                             f"at position {position}")
    if not text:
        raise ValueError("case number is empty")
    return text


@dataclass(frozen=True)
class CaseNumberOpening:
    """A case number in normal form and its salt: what opens an on-chain ``caseNumberDigest`` without K_case.

    ``digest = keccak256(salt || utf8(text))``; ``salt = HMAC-SHA256(K_case, utf8(text))``. A certificate
    carries ``text`` and ``salt`` so any verifier recomputes the digest; whoever lacks K_case cannot test
    guesses of case numbers against the chain.
    """

    text: str
    salt: bytes = field(repr=False)

    @property
    def digest(self) -> bytes:
        return opened_case_number_digest(self.text, self.salt)


def open_case_number(key: CaseNumberKey, case_number: str) -> CaseNumberOpening:
    """The one place a case number's salt and digest are computed from K_case."""
    text = normalise_case_number(case_number)
    return CaseNumberOpening(text, key.hmac_sha256(text.encode("utf-8")))


def case_number_digest(key: CaseNumberKey, case_number: str) -> bytes:
    """The on-chain ``caseNumberDigest`` of a case number under the network's case-number key."""
    return open_case_number(key, case_number).digest


def opened_case_number_digest(text: str, salt: bytes) -> bytes:
    """A verifier's side: the digest a certificate's opening (normalised text, salt) stands for; no key needed.

    Refuses a text that is not in normal form (an opening that would open a different digest than the
    same case number written by a court) and a salt that is not 32 bytes.
    """
    if not isinstance(salt, bytes | bytearray) or len(salt) != CASE_NUMBER_SALT_BYTES:
        raise ValueError(f"a case-number salt must be {CASE_NUMBER_SALT_BYTES} bytes")
    if normalise_case_number(text) != text:
        raise ValueError("the opened case number is not in normal form")
    return keccak(bytes(salt) + text.encode("utf-8"))


def date_to_unix(value: date | datetime | int) -> int:
    """A date as UTC midnight in unix seconds; a datetime as its unix time; an int unchanged."""
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetime must carry a time zone")
        return int(value.timestamp())
    return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())


def _unix_date(value: date) -> date:
    if value < date(1970, 1, 1):
        raise ValueError("dates on chain are unix times (uint40 seconds): 1970-01-01 or later")
    return value


#: A date a record carries on chain (UTC midnight in unix seconds): 1970-01-01 or later.
ChainDate = Annotated[date, AfterValidator(_unix_date)]

Bytes32 = bytes


def _bytes32(value: Any, name: str) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value.startswith(("0x", "0X")) else value
        try:
            value = bytes.fromhex(text)
        except ValueError as exc:
            raise ValueError(f"{name} must be 32 bytes of hex") from exc
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes")
    return bytes(value)


class Record(BaseModel):
    """Base of every signed record: frozen, with EIP-712 type, encoding and id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE_NAME: ClassVar[str]
    #: (solidity name, solidity type, python attribute) in the contract's order
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]]

    @classmethod
    def type_string(cls) -> str:
        return f"{cls.TYPE_NAME}(" + ",".join(f"{t} {n}" for n, t, _ in cls.FIELDS) + ")"

    @classmethod
    def type_hash(cls) -> bytes:
        return keccak(cls.type_string().encode())

    @classmethod
    def eip712_types(cls) -> dict[str, list[dict[str, str]]]:
        return {cls.TYPE_NAME: [{"name": n, "type": t} for n, t, _ in cls.FIELDS]}

    def message(self) -> dict[str, Any]:
        """The EIP-712 message: solidity field names to ABI values (ints and bytes)."""
        out: dict[str, Any] = {}
        for name, sol_type, attr in self.FIELDS:
            value = getattr(self, attr)
            if isinstance(value, date):
                value = date_to_unix(value)
            elif isinstance(value, enum.Enum):
                value = int(value.value)
            elif sol_type == "bytes3" and isinstance(value, str):
                value = value.encode("ascii")
            out[name] = value
        return out

    def encode(self) -> bytes:
        """Canonical encoding: EIP-712 encodeData (type hash, then one word per field)."""
        msg = self.message()
        types = ["bytes32"] + [t for _, t, _ in self.FIELDS]
        return abi_encode(types, [self.type_hash(), *[msg[n] for n, _, _ in self.FIELDS]])

    def record_id(self) -> RecordId:
        """EIP-712 hashStruct: the id the contract stores the record under."""
        return RecordId(keccak(self.encode()))

    def to_json(self) -> dict[str, Any]:
        """Fields as JSON values (bytes as 0x-hex, enums as names, dates ISO)."""
        out: dict[str, Any] = {}
        for _name, _t, attr in self.FIELDS:
            value = getattr(self, attr)
            if isinstance(value, bytes):
                value = "0x" + value.hex()
            elif isinstance(value, enum.Enum):
                value = value.name.lower()
            elif isinstance(value, date):
                value = value.isoformat()
            out[attr] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        return cls.model_validate(data)


def _check_uint(value: int, bits_max: int, name: str) -> int:
    if not 0 <= value <= bits_max:
        raise ValueError(f"{name} must be between 0 and {bits_max}")
    return value


def _enum_value(enum_cls: type[enum.IntEnum], value: Any) -> Any:
    if isinstance(value, str) and not value.isdigit():
        key = value.strip().upper().replace("-", "_").replace(" ", "_")
        if key not in enum_cls.__members__:
            known = ", ".join(m.lower() for m in enum_cls.__members__ if m != "NONE")
            raise ValueError(f"unknown {enum_cls.__name__}; known: {known}")
        return enum_cls[key]
    return value


class Judgment(Record):
    TYPE_NAME: ClassVar[str] = "Judgment"
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("court", "uint32", "court"),
        ("caseNumberDigest", "bytes32", "case_number_digest"),
        ("documentDigest", "bytes32", "document_digest"),
        ("partiesCommitment", "bytes32", "parties_commitment"),
        ("amount", "uint128", "amount"),
        ("currency", "bytes3", "currency"),
        ("judgmentDate", "uint40", "judgment_date"),
        ("effectiveDate", "uint40", "effective_date"),
    )

    court: int = Field(gt=0, le=UINT32)
    case_number_digest: bytes
    document_digest: bytes
    parties_commitment: bytes
    amount: int = Field(ge=0, le=UINT128, description="minor units (fen for CNY)")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    judgment_date: ChainDate
    effective_date: ChainDate

    @field_validator("case_number_digest", "document_digest", "parties_commitment", mode="before")
    @classmethod
    def _digests(cls, v: Any, info: Any) -> bytes:
        return _bytes32(v, info.field_name)

    @model_validator(mode="after")
    def _dates(self) -> Judgment:
        if self.effective_date < self.judgment_date:
            raise ValueError("effective_date is before judgment_date")
        return self


class JudgmentStatusChange(Record):
    TYPE_NAME: ClassVar[str] = "StatusChange"
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("judgmentId", "bytes32", "judgment_id"),
        ("status", "uint8", "status"),
        ("supersededBy", "bytes32", "superseded_by"),
        ("sequence", "uint32", "sequence"),
    )

    judgment_id: bytes
    status: JudgmentStatus
    superseded_by: bytes = b"\x00" * 32
    sequence: int = Field(ge=0, le=UINT32)

    @field_validator("judgment_id", "superseded_by", mode="before")
    @classmethod
    def _ids(cls, v: Any, info: Any) -> bytes:
        return _bytes32(v, info.field_name)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> Any:
        return _enum_value(JudgmentStatus, v)


#: A language tag in its one spelling: BCP 47, lower case (``en``, ``fr``, ``zh-hans``, ``de-ch``).
LANGUAGE_TAG = r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$"
ZERO32 = b"\x00" * 32


class Translation(BaseModel):
    """A certified translation of a judgment: its language and the SHA-256 of its file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    language: str = Field(pattern=LANGUAGE_TAG, max_length=35)
    digest: bytes

    @field_validator("digest", mode="before")
    @classmethod
    def _digest(cls, v: Any) -> bytes:
        return _bytes32(v, "digest")


def translations_root(translations: list[Translation]) -> bytes:
    """The dossier's ``translationsRoot``: zero for none, else ``keccak256(e_1 ‖ … ‖ e_n)`` with
    ``e_i = keccak256(utf8(language_i)) ‖ digest_i``, in ascending order of language tag (one per language).

    Raises ValueError when two translations share a language: the order would not be canonical.
    """
    if not translations:
        return ZERO32
    ordered = sorted(translations, key=lambda t: t.language)
    languages = [t.language for t in ordered]
    if len(set(languages)) != len(languages):
        raise ValueError("two translations have the same language")
    return bytes(keccak(b"".join(keccak(t.language.encode("ascii")) + t.digest for t in ordered)))


class Dossier(Record):
    """A version of a judgment's dossier (Hague 2019, art. 12), signed by the filing court."""

    TYPE_NAME: ClassVar[str] = "Dossier"
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("judgmentId", "bytes32", "judgment_id"),
        ("byDefault", "bool", "by_default"),
        ("completeCopy", "bytes32", "complete_copy"),
        ("proofOfService", "bytes32", "proof_of_service"),
        ("translationsRoot", "bytes32", "translations_root"),
        ("sequence", "uint32", "sequence"),
    )

    judgment_id: bytes
    by_default: bool
    complete_copy: bytes
    proof_of_service: bytes = ZERO32
    translations_root: bytes = ZERO32
    sequence: int = Field(ge=0, le=UINT32)

    @field_validator("judgment_id", "complete_copy", "proof_of_service", "translations_root", mode="before")
    @classmethod
    def _words(cls, v: Any, info: Any) -> bytes:
        return _bytes32(v, info.field_name)

    @model_validator(mode="after")
    def _rules(self) -> Dossier:
        if self.complete_copy == ZERO32:
            raise ValueError("a dossier needs the complete copy's digest")
        if self.by_default and self.proof_of_service == ZERO32:
            raise ValueError("a default judgment's dossier needs the proof of service's digest")
        return self


class Filing(Record):
    TYPE_NAME: ClassVar[str] = "Filing"
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("court", "uint32", "court"),
        ("judgmentId", "bytes32", "judgment_id"),
        ("caseNumberDigest", "bytes32", "case_number_digest"),
        ("amountDue", "uint128", "amount_due"),
        ("filedAt", "uint40", "filed_at"),
    )

    court: int = Field(gt=0, le=UINT32)
    judgment_id: bytes
    case_number_digest: bytes
    amount_due: int = Field(gt=0, le=UINT128)
    filed_at: ChainDate

    @field_validator("judgment_id", "case_number_digest", mode="before")
    @classmethod
    def _ids(cls, v: Any, info: Any) -> bytes:
        return _bytes32(v, info.field_name)


class Action(Record):
    TYPE_NAME: ClassVar[str] = "Action"
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("caseId", "bytes32", "case_id"),
        ("sequence", "uint32", "sequence"),
        ("kind", "uint8", "kind"),
        ("amount", "uint128", "amount"),
        ("detail", "uint64", "detail"),
        ("documentDigest", "bytes32", "document_digest"),
        ("flags", "uint8", "flags"),
    )

    case_id: bytes
    sequence: int = Field(ge=0, le=UINT32)
    kind: ActionKind
    amount: int = Field(default=0, ge=0, le=UINT128)
    detail: int = Field(default=0, ge=0, le=UINT64)
    document_digest: bytes = b"\x00" * 32
    flags: int = Field(default=0, ge=0, le=255)

    @field_validator("case_id", "document_digest", mode="before")
    @classmethod
    def _ids(cls, v: Any, info: Any) -> bytes:
        return _bytes32(v, info.field_name)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, v: Any) -> Any:
        return _enum_value(ActionKind, v)

    @staticmethod
    def auction_detail(rounds: int, extensions: int) -> int:
        """``detail`` of an AuctionSold action: rounds of bidding and extensions."""
        _check_uint(rounds, UINT32, "rounds")
        _check_uint(extensions, UINT32, "extensions")
        return (rounds << 32) | extensions


class Listing(Record):
    TYPE_NAME: ClassVar[str] = "Listing"
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("court", "uint32", "court"),
        ("subject", "bytes32", "subject"),
        ("caseId", "bytes32", "case_id"),
        ("ground", "uint8", "ground"),
        ("restrictions", "uint16", "restrictions"),
        ("listedAt", "uint40", "listed_at"),
        ("until", "uint40", "until"),
    )

    court: int = Field(gt=0, le=UINT32)
    subject: bytes = Field(description="blind index of the subject, never an ID number")
    case_id: bytes
    ground: Ground
    restrictions: Restriction
    listed_at: int = Field(gt=0, le=UINT40)
    until: int = Field(gt=0, le=UINT40)

    @field_validator("subject", "case_id", mode="before")
    @classmethod
    def _ids(cls, v: Any, info: Any) -> bytes:
        return _bytes32(v, info.field_name)

    @field_validator("ground", mode="before")
    @classmethod
    def _ground(cls, v: Any) -> Any:
        return _enum_value(Ground, v)

    @field_validator("restrictions", mode="before")
    @classmethod
    def _restrictions(cls, v: Any) -> Any:
        if isinstance(v, str | list):
            return Restriction.parse(v)
        return v

    @model_validator(mode="after")
    def _period(self) -> Listing:
        if self.ground == Ground.NONE:
            raise ValueError("ground must be one of the six statutory grounds")
        if not self.restrictions:
            raise ValueError("a listing needs at least one restriction")
        if not 0 < self.until - self.listed_at <= LISTING_PERIOD_SECONDS:
            raise ValueError("listing period must be more than zero and at most 2 years")
        return self

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["restrictions"] = sorted((r.name or "").lower() for r in Restriction if r in self.restrictions)
        return out


class Extension(Record):
    TYPE_NAME: ClassVar[str] = "Extension"
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("listingId", "bytes32", "listing_id"),
        ("until", "uint40", "until"),
        ("sequence", "uint32", "sequence"),
    )

    listing_id: bytes
    until: int = Field(gt=0, le=UINT40)
    sequence: int = Field(ge=0, le=UINT32)

    @field_validator("listing_id", mode="before")
    @classmethod
    def _ids(cls, v: Any, info: Any) -> bytes:
        return _bytes32(v, info.field_name)


class Removal(Record):
    TYPE_NAME: ClassVar[str] = "Removal"
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("listingId", "bytes32", "listing_id"),
        ("reason", "uint8", "reason"),
        ("sequence", "uint32", "sequence"),
    )

    listing_id: bytes
    reason: RemovalReason
    sequence: int = Field(ge=0, le=UINT32)

    @field_validator("listing_id", mode="before")
    @classmethod
    def _ids(cls, v: Any, info: Any) -> bytes:
        return _bytes32(v, info.field_name)

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, v: Any) -> Any:
        v = _enum_value(RemovalReason, v)
        if v == RemovalReason.NONE:
            raise ValueError("removal reason is required")
        return v


class Anchor(Record):
    TYPE_NAME: ClassVar[str] = "Anchor"
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("court", "uint32", "court"),
        ("root", "bytes32", "root"),
        ("size", "uint32", "size"),
        ("metadataDigest", "bytes32", "metadata_digest"),
    )

    court: int = Field(gt=0, le=UINT32)
    root: bytes
    size: int = Field(gt=0, le=UINT32)
    metadata_digest: bytes = b"\x00" * 32

    @field_validator("root", "metadata_digest", mode="before")
    @classmethod
    def _ids(cls, v: Any, info: Any) -> bytes:
        return _bytes32(v, info.field_name)


#: Which contract (EIP-712 domain name) each record kind is written to.
CONTRACT_OF: dict[type[Record], str] = {
    Judgment: "JudgmentRegistry",
    JudgmentStatusChange: "JudgmentRegistry",
    Dossier: "JudgmentRegistry",
    Filing: "EnforcementRegistry",
    Action: "EnforcementRegistry",
    Listing: "DefaulterRegistry",
    Extension: "DefaulterRegistry",
    Removal: "DefaulterRegistry",
    Anchor: "NotaryAnchor",
}
