"""Certificates of the records this service wrote, and verification against its own node.

Contract: :meth:`Certifier.certificate` answers the certificate of a confirmed outbox entry (for a change,
of the record it changed) through :mod:`ledger.issuing`; a failed entry is 409, a pending one "not ready"
(503, retry), a governance act or a notarized digest has none here (404). A case's certificate waits until
the index covers the chain head, so every action up to its ``as_of`` block is in it.
"""

from __future__ import annotations

import json
from typing import Any

from api.errors import Conflict, NotFound, NotReady
from api.following import IndexFollower
from api.outbox import Entry, Outbox
from ledger import issuing
from ledger.certificates import Certificate
from ledger.chain import Chain
from ledger.client import Ledger
from ledger.dossiers import FiledDossier, certify_dossier
from ledger.index import Index
from ledger.records import (
    CONTRACT_OF,
    Action,
    Dossier,
    Extension,
    Filing,
    Judgment,
    JudgmentStatusChange,
    Listing,
    Record,
    Removal,
    Translation,
)
from ledger.verify import TrustAnchors, VerificationResult, verify_certificate

__all__ = ["Certifier"]


class Certifier:
    def __init__(self, chain: Chain, ledger: Ledger, index: Index, outbox: Outbox, following: IndexFollower,
                 trust: TrustAnchors) -> None:
        self.chain = chain
        self.ledger = ledger
        self.index = index
        self.outbox = outbox
        self.following = following
        self.trust = trust

    def _written(self, entry: Entry) -> Any:
        record = entry.typed_record()
        name = CONTRACT_OF[type(record)]
        return entry.written(name, self.ledger.deployment.address(name))

    def certificate(self, entry: Entry) -> Certificate:
        """The certificate of a confirmed record (for a change: of the record it changed)."""
        if entry.state == "failed":
            raise Conflict(f"outbox record {entry.id} failed; it has no certificate")
        if entry.state != "confirmed":
            raise NotReady(
                f"outbox record {entry.id} is {entry.state}; its certificate exists once confirmed"
            )
        if entry.record is None:
            raise NotFound(f"outbox record {entry.id} is a governance act; it has no certificate")
        record = entry.typed_record()
        chain_id = self.chain.chain_id
        if isinstance(record, Judgment):
            dossiers = [e for e in self.outbox.family_entries("dossier:0x" + record.record_id().hex())
                        if e.state == "confirmed"]
            latest = dossiers[-1].typed_record() if dossiers else None
            if isinstance(latest, Dossier):  # the judgment travels with its latest dossier (Hague 2019 art. 12)
                return self._dossier_certificate(dossiers[-1], latest)
            return issuing.judgment(self._written(entry), chain_id)
        if isinstance(record, Dossier):
            return self._dossier_certificate(entry, record)
        if isinstance(record, Filing):
            as_of = issuing.head(self.chain.w3)
            if not self.following.wait_indexed(as_of.number):
                raise NotReady("the index is catching up with the chain; retry in a moment")
            view = self.index.case_history(record.record_id())
            if view is None:
                raise NotReady("the case is not indexed yet; retry in a moment")
            return issuing.case(self._written(entry), chain_id, view, as_of)
        if isinstance(record, Listing):
            return issuing.listing(self.ledger, self._written(entry), chain_id, issuing.head(self.chain.w3))
        return self.certificate(self._parent(entry, record))

    @staticmethod
    def dossier_notes(translations: list[Translation]) -> dict[str, str]:
        """What a dossier's entry keeps for its certificate: its list of translations (languages and digests,
        what its root is computed from; the chain holds only the root), accepted in the entry's commit."""
        listed = [{"language": t.language, "digest": "0x" + t.digest.hex()} for t in translations]
        return {"dossier-translations": json.dumps(listed)}

    def _dossier_certificate(self, entry: Entry, record: Dossier) -> Certificate:
        """The judgment's certificate carrying this dossier version: the latest as of the head, or a named older
        version as of the block before the next one (ledger.dossiers.certify_dossier)."""
        judgment = self.outbox.by_record_id(record.judgment_id, "judgment")
        if judgment is None or judgment.state != "confirmed":
            raise NotFound(f"this service holds no signed judgment 0x{record.judgment_id.hex()} to certify")
        kept = json.loads(self.outbox.get_meta(f"dossier-translations:{entry.id}") or "[]")
        translations = [Translation(language=t["language"], digest=t["digest"]) for t in kept]
        assert entry.court is not None  # a record's entry names its court
        block = certify_dossier(self.ledger, FiledDossier(self._written(entry), entry.court, translations))
        return issuing.judgment(self._written(judgment), self.chain.chain_id, dossier=block)

    def _parent(self, entry: Entry, record: Record) -> Entry:
        target: tuple[bytes, str] | None = None
        if isinstance(record, Action):
            target = (record.case_id, "filing")
        elif isinstance(record, JudgmentStatusChange):
            target = (record.judgment_id, "judgment")
        elif isinstance(record, Extension | Removal):
            target = (record.listing_id, "listing")
        if target is None:
            raise NotFound(
                f"outbox record {entry.id} ({entry.kind}) has no certificate here; notarized digests "
                "are certified by the notary endpoints"
            )
        parent = self.outbox.by_record_id(target[0], target[1])
        if parent is None or parent.state != "confirmed":
            raise NotFound(f"this service holds no signed {target[1]} 0x{target[0].hex()} to certify")
        return parent

    def verify(self, certificate: dict[str, Any], document_sha256: bytes | None,
               at: int | None = None) -> VerificationResult:
        """Verify against this service's own node; a document digest is checked like a document."""
        return verify_certificate(certificate, trust=self.trust, rpc=self.chain.w3, document_digest=document_sha256,
                                  at=at)
