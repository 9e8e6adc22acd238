"""Personal data handling: nothing personal goes on chain, and what stays off chain can really be erased.

* :mod:`.identity` parses identifiers (resident ID, credit code, passport) into canonical, masked models.
* :mod:`.blind` derives what goes on chain instead: keyed blind indexes and salted party commitments.
* :mod:`.vault` keeps the personal data and the salts, encrypted per subject, erasable per subject.
"""

from ledger.privacy.blind import (
    BlindIndex,
    BlindIndexKey,
    CaseNumberKey,
    Party,
    PartyRole,
    blind_index,
    blind_indexes,
    canonical_parties_json,
    commit_parties,
    new_salt,
    verify_commitment,
)
from ledger.privacy.identity import (
    CreditCode,
    Passport,
    ResidentId,
    SubjectId,
    SubjectKind,
    canonical_identifier,
    make_credit_code,
    make_resident_id,
    parse_subject,
    subject_from_canonical,
)
from ledger.privacy.vault import RecordSecret, SubjectRecord, Vault

__all__ = [
    "BlindIndex",
    "BlindIndexKey",
    "CaseNumberKey",
    "CreditCode",
    "Party",
    "PartyRole",
    "Passport",
    "RecordSecret",
    "ResidentId",
    "SubjectId",
    "SubjectKind",
    "SubjectRecord",
    "Vault",
    "blind_index",
    "blind_indexes",
    "canonical_identifier",
    "canonical_parties_json",
    "commit_parties",
    "make_credit_code",
    "make_resident_id",
    "new_salt",
    "parse_subject",
    "subject_from_canonical",
    "verify_commitment",
]
