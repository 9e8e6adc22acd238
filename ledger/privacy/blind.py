"""Keyed blind indexes and salted commitments: how a record points at a person without naming them.

Contract
--------
* **Blind index** ``= HMAC-SHA256(key, b"jtl.blind-index.v1\\x00" || utf8(subject.canonical()))``, 32
  bytes. It is what goes on chain for a defaulter listing, so a partner holding the key can answer "is
  this ID number restricted?" with one look-up. It is keyed because a plain hash is not a privacy
  measure here: there are only about 10^10 plausible resident ID numbers (a few thousand region codes
  x ~45,000 birth dates x 1,000 sequence numbers, check digit computed), which a GPU hashes through
  in minutes. Without the key, an index reveals nothing and cannot be brute-forced.
* **Party commitment** ``= keccak256(b"jtl.parties-commitment.v1\\x00" || salt || canonical_json)``,
  where ``salt`` is 32 fresh random bytes per record (:func:`new_salt`) and ``canonical_json`` is
  :func:`canonical_parties_json`: the UTF-8 JSON array of ``{"name", "role", "subject"}`` objects
  (``subject`` is the canonical identifier string, ``name`` NFC-normalised and stripped), keys sorted,
  no whitespace, non-ASCII written as-is, and the **objects sorted by their own serialisation**
  (code-point order, which equals UTF-8 byte order). Sorting makes the commitment a commitment to the
  *set* of parties: the order a clerk entered them in does not matter, and a verifier holding the
  parties and the salt recomputes it without knowing that order. Strings contain no control
  characters, so the serialisation is also RFC 8785 (JCS) canonical JSON and any language reproduces
  it. keccak256 (not HMAC) so that a contract can check an opening on chain.
  The salt makes the commitment hiding: whoever lacks the salt cannot test guesses of the parties.
  Destroying the salt (see :mod:`ledger.privacy.vault`) makes the on-chain commitment unlinkable.
"""

from __future__ import annotations

import hmac as _stdlib_hmac
import json
import secrets
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any, Literal, NewType, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from eth_hash.auto import keccak
from pydantic import BaseModel, ConfigDict, field_validator

from ledger.errors import InvalidIdentifierError, ValidationError
from ledger.privacy.identity import CreditCode, Passport, ResidentId, SubjectId, canonical_identifier

__all__ = [
    "BLIND_INDEX_TAG",
    "COMMITMENT_TAG",
    "BlindIndex",
    "BlindIndexKey",
    "CaseNumberKey",
    "Party",
    "PartyRole",
    "blind_index",
    "blind_indexes",
    "canonical_parties_json",
    "commit_parties",
    "new_salt",
    "verify_commitment",
]

BLIND_INDEX_TAG = b"jtl.blind-index.v1\x00"
COMMITMENT_TAG = b"jtl.parties-commitment.v1\x00"
_KEY_BYTES = 32
_SALT_BYTES = 32
_MAX_NAME = 200

BlindIndex = NewType("BlindIndex", bytes)
"""A 32-byte keyed hash of a subject identifier."""

PartyRole = Literal["creditor", "debtor", "third_party"]


class _SecretKey:
    """A 32-byte secret whose ``repr`` never shows it; subclasses name what it keys."""

    __slots__ = ("_key",)
    WHAT = "secret key"

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != _KEY_BYTES:
            raise ValidationError(f"a {self.WHAT} must be {_KEY_BYTES} bytes")
        self._key = key

    @classmethod
    def generate(cls: type[_K]) -> _K:
        """A fresh random key; store it like any other secret (it cannot be recovered)."""
        return cls(secrets.token_bytes(_KEY_BYTES))

    @classmethod
    def from_hex(cls: type[_K], text: str) -> _K:
        """Read a key from 64 hex digits (an optional ``0x`` prefix is allowed)."""
        digits = text.strip().removeprefix("0x")
        if len(digits) != 2 * _KEY_BYTES:
            raise ValidationError(f"a {cls.WHAT} must be {2 * _KEY_BYTES} hex digits, got {len(digits)}")
        try:
            return cls(bytes.fromhex(digits))
        except ValueError:
            raise ValidationError(f"a {cls.WHAT} must be hex digits") from None

    def to_hex(self) -> str:
        """The key as 64 hex digits, for writing it into a secret store."""
        return self._key.hex()

    def hmac_sha256(self, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under this key."""
        mac = HMAC(self._key, hashes.SHA256())
        mac.update(message)
        return mac.finalize()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<secret>)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and type(other) is type(self) and _stdlib_hmac.compare_digest(
            self._key, other._key
        )

    __hash__ = None  # type: ignore[assignment]  # no hashing of secrets into dict/set buckets


_K = TypeVar("_K", bound=_SecretKey)


class BlindIndexKey(_SecretKey):
    """The 32-byte secret behind blind indexes. Its ``repr`` never shows the key."""

    __slots__ = ()
    WHAT = "blind-index key"


class CaseNumberKey(_SecretKey):
    """K_case: the network's 32-byte secret behind case-number digests (see ledger.records). Held off chain
    by courts and the service, like the blind-index key and separate from it."""

    __slots__ = ()
    WHAT = "case-number key"


def blind_index(key: BlindIndexKey, subject: ResidentId | CreditCode | Passport) -> BlindIndex:
    """The on-chain look-up key for a subject: HMAC-SHA256 over its canonical identifier."""
    return BlindIndex(key.hmac_sha256(BLIND_INDEX_TAG + subject.canonical().encode("utf-8")))


def blind_indexes(key: BlindIndexKey, kind: Literal["resident_id", "credit_code"],
                  values: Sequence[object]) -> list[BlindIndex]:
    """The blind indexes of many identifiers of one kind, each checked exactly as ``parse`` checks it, with
    the standard library's one-shot HMAC (the same bytes as :func:`blind_index`, several times faster): how
    the service derives indexes for the thousands of identifiers a partner sends. An invalid identifier
    raises InvalidIdentifierError naming its position, never its characters."""
    raw, out = key._key, []
    for position, value in enumerate(values):
        try:
            canonical = canonical_identifier(kind, value)
        except InvalidIdentifierError as exc:
            raise InvalidIdentifierError(f"identifier {position}: {exc}") from None
        out.append(BlindIndex(_stdlib_hmac.digest(raw, BLIND_INDEX_TAG + canonical.encode("utf-8"), "sha256")))
    return out


class Party(BaseModel):
    """One party to a record, as committed to on chain. Its ``repr`` masks the name and identifier."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    role: PartyRole
    subject: SubjectId
    name: str

    @field_validator("name")
    @classmethod
    def _normalise_name(cls, value: str) -> str:
        name = unicodedata.normalize("NFC", value).strip()
        if not name:
            raise ValueError("a party name must not be empty")
        if len(name) > _MAX_NAME:
            raise ValueError(f"a party name must be at most {_MAX_NAME} characters")
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
            raise ValueError("a party name must not contain control characters")
        return name

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield "role", self.role
        yield "subject", self.subject
        yield "name", self.name[:1] + "*" * (len(self.name) - 1)

    def canonical(self) -> dict[str, str]:
        """The object committed to: role, canonical subject string and name."""
        return {"name": self.name, "role": self.role, "subject": self.subject.canonical()}


def new_salt() -> bytes:
    """32 fresh random bytes: one per record, never reused, kept only in the vault."""
    return secrets.token_bytes(_SALT_BYTES)


def canonical_parties_json(parties: Sequence[Party]) -> bytes:
    """The exact bytes committed to (see the module docstring); refuses an empty or repeated list."""
    if len(parties) == 0:
        raise ValidationError("a commitment needs at least one party")
    items = sorted(_dumps(p.canonical()) for p in parties)
    if len(set(items)) != len(items):
        raise ValidationError("the same party is listed twice")
    return ("[" + ",".join(items) + "]").encode("utf-8")


def commit_parties(parties: Sequence[Party], salt: bytes) -> bytes:
    """The 32-byte commitment to a record's parties under a per-record salt."""
    return keccak(COMMITMENT_TAG + _salt(salt) + canonical_parties_json(parties))


def verify_commitment(commitment: bytes, parties: Sequence[Party], salt: bytes) -> bool:
    """Whether ``parties`` and ``salt`` open ``commitment`` (constant-time comparison)."""
    if not isinstance(commitment, bytes) or len(commitment) != 32:
        raise ValidationError("a commitment must be 32 bytes")
    return _stdlib_hmac.compare_digest(commit_parties(parties, salt), commitment)


def _salt(salt: object) -> bytes:
    if not isinstance(salt, bytes) or len(salt) != _SALT_BYTES:
        raise ValidationError(f"a commitment salt must be {_SALT_BYTES} bytes")
    return salt


def _dumps(obj: dict[str, str]) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
