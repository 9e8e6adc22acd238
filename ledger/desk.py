"""The court desk: turns what a clerk knows (names, ID numbers, files) into records safe for the chain.

Contract: personal data never leaves this module except into the vault. A judgment's parties become a
salted commitment (fresh 32-byte salt per record, kept in the vault with the parties); a defaulter
becomes a keyed blind index (HMAC under a key kept off chain); documents become SHA-256 digests; case
numbers become digests keyed by the network's case-number key K_case (see ledger.records). The returned
records are what the court signs and the chain stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ledger.privacy import (
    BlindIndexKey,
    CaseNumberKey,
    Party,
    SubjectId,
    Vault,
    blind_index,
    commit_parties,
    new_salt,
)
from ledger.records import (
    LISTING_PERIOD_SECONDS,
    Filing,
    Ground,
    Judgment,
    Listing,
    Restriction,
    case_number_digest,
    sha256_digest,
)

__all__ = ["CourtDesk"]


@dataclass
class CourtDesk:
    """Prepares one court's records; stores the private half in ``vault``."""

    court: int
    vault: Vault
    blind_key: BlindIndexKey
    case_key: CaseNumberKey

    def subject_index(self, subject: SubjectId) -> bytes:
        """The blind index partners and the chain know the subject by."""
        return bytes(blind_index(self.blind_key, subject))

    def register(self, subject: SubjectId, display_name: str) -> bytes:
        blind = self.subject_index(subject)
        self.vault.put_subject(subject, blind, display_name)
        return blind

    def judgment(
        self,
        *,
        case_number: str,
        document: bytes | None = None,
        document_digest: bytes | None = None,
        parties: Sequence[Party],
        amount: int,
        currency: str,
        judgment_date: date,
        effective_date: date,
    ) -> Judgment:
        """A judgment whose parties are only a commitment on chain; the opening goes to the vault."""
        if (document is None) == (document_digest is None):
            raise ValueError("give the signed document or its SHA-256 digest, not both")
        digest = document_digest if document_digest is not None else sha256_digest(document or b"")
        salt = new_salt()
        record = Judgment(
            court=self.court,
            case_number_digest=case_number_digest(self.case_key, case_number),
            document_digest=digest,
            parties_commitment=commit_parties(parties, salt),
            amount=amount,
            currency=currency,
            judgment_date=judgment_date,
            effective_date=effective_date,
        )
        blinds = [self.register(p.subject, p.name) for p in parties]
        self.vault.put_record_secret(record.record_id(), list(dict.fromkeys(blinds)), list(parties), salt)
        return record

    def filing(self, *, judgment_id: bytes, case_number: str, amount_due: int, filed_at: date) -> Filing:
        return Filing(court=self.court, judgment_id=judgment_id,
                      case_number_digest=case_number_digest(self.case_key, case_number),
                      amount_due=amount_due, filed_at=filed_at)

    def listing(
        self,
        *,
        subject: SubjectId,
        display_name: str,
        case_id: bytes,
        ground: Ground,
        restrictions: Restriction,
        listed_at: int,
        period_seconds: int = LISTING_PERIOD_SECONDS,
    ) -> Listing:
        """A listing of the subject by blind index (2 years by default)."""
        blind = self.register(subject, display_name)
        return Listing(court=self.court, subject=blind, case_id=case_id, ground=ground, restrictions=restrictions,
                       listed_at=listed_at, until=listed_at + period_seconds)
