"""JudgmentRegistry dossiers (Hague 2019, art. 12): the rules, authority, versions, replay and front-running."""

from __future__ import annotations

import pytest

from ledger.errors import ContractRevertError
from ledger.records import Dossier, Translation, sha256_digest, translations_root
from ledger.signing import recover_signer
from tests.contracts.helpers import ZERO32, expect_revert, judgment, one_event, struct

COPY = sha256_digest(b"complete copy of the judgment")
SERVICE = sha256_digest(b"proof of service")


def _dossier(jid: bytes, sequence: int = 0, *, by_default: bool = False, copy: bytes = COPY,
             service: bytes = ZERO32, translations: tuple[Translation, ...] = ()) -> Dossier:
    """A dossier, built without the library's checks so the contract's own can be shown."""
    return Dossier.model_construct(judgment_id=jid, by_default=by_default, complete_copy=copy,
                                   proof_of_service=service, translations_root=translations_root(list(translations)),
                                   sequence=sequence)


def test_court_files_a_dossier_and_a_later_version(ledger, new_court, relayer):
    court = new_court()
    jid = ledger.submit(court.signer, judgment(court, 1)).record_id
    assert tuple(ledger.view("JudgmentRegistry", "dossierOf", jid)) == (0, ZERO32)

    first = _dossier(jid, by_default=True, service=SERVICE)
    w = ledger.submit(court.signer, first)
    assert one_event(ledger, w, "JudgmentRegistry", "DossierFiled") == {
        "judgmentId": jid, "court": court.id, "byDefault": True, "completeCopy": COPY, "proofOfService": SERVICE,
        "translationsRoot": ZERO32, "sequence": 0}
    assert ledger.view("JudgmentRegistry", "DOSSIER_TYPEHASH") == Dossier.type_hash()
    assert tuple(ledger.view("JudgmentRegistry", "dossierOf", jid)) == (1, first.record_id())

    english = Translation(language="en", digest=sha256_digest(b"english"))
    second = _dossier(jid, 1, by_default=True, service=SERVICE, translations=(english,))
    w = ledger.submit(court.signer, second, relayer=relayer)
    assert recover_signer(ledger.domain(second), second, w.signature) == court.signer.address
    assert one_event(ledger, w, "JudgmentRegistry", "DossierFiled")["translationsRoot"] == second.translations_root
    assert tuple(ledger.view("JudgmentRegistry", "dossierOf", jid)) == (2, second.record_id())
    # the returned hash is the struct hash
    third = _dossier(jid, 2)
    got = ledger.contract("JudgmentRegistry").functions.fileDossier(struct(third)).call(
        {"from": court.signer.address})
    assert got == third.record_id()


def test_dossier_rules(ledger, new_court):
    court = new_court()
    jid = ledger.submit(court.signer, judgment(court, 2)).record_id
    unknown = judgment(court, 3).record_id()
    expect_revert(lambda: ledger.submit(court.signer, _dossier(jid, copy=ZERO32)),
                  "JudgmentDossierNoCompleteCopy", judgmentId=jid)
    expect_revert(lambda: ledger.submit(court.signer, _dossier(jid, by_default=True)),
                  "JudgmentDossierNoProofOfService", judgmentId=jid)
    expect_revert(lambda: ledger.submit(court.signer, _dossier(unknown)),
                  "JudgmentRegistryUnknownJudgment", id=unknown)
    expect_revert(lambda: ledger.submit(court.signer, _dossier(jid, 1)),
                  "JudgmentDossierOutOfSequence", judgmentId=jid, expected=0, given=1)
    # nothing was filed by the refused attempts; a judgment not by default needs no proof of service
    assert tuple(ledger.view("JudgmentRegistry", "dossierOf", jid)) == (0, ZERO32)
    ledger.submit(court.signer, _dossier(jid))
    assert ledger.view("JudgmentRegistry", "dossierOf", jid)[0] == 1


def test_court_cannot_file_or_amend_another_courts_dossier(ledger, new_court, relayer):
    high = new_court()
    lower = new_court(appellate=high.id)
    sibling = new_court(appellate=high.id)
    jid = ledger.submit(lower.signer, judgment(lower, 4)).record_id
    for via in (None, relayer):
        expect_revert(lambda v=via: ledger.submit(sibling.signer, _dossier(jid), relayer=v),
                      "CourtAuthorizedNoAuthority", actingCourt=sibling.id, recordCourt=lower.id)
    filed = _dossier(jid)
    ledger.submit(lower.signer, filed)
    expect_revert(lambda: ledger.submit(sibling.signer, _dossier(jid, 1, copy=sha256_digest(b"forged copy"))),
                  "CourtAuthorizedNoAuthority", actingCourt=sibling.id, recordCourt=lower.id)
    assert tuple(ledger.view("JudgmentRegistry", "dossierOf", jid)) == (1, filed.record_id())
    # the court above may file a later version; the event names it
    w = ledger.submit(high.signer, _dossier(jid, 1, by_default=True, service=SERVICE))
    assert one_event(ledger, w, "JudgmentRegistry", "DossierFiled")["court"] == high.id


def test_signed_dossier_cannot_be_replayed_or_filed_out_of_sequence(ledger, new_court, relayer):
    court = new_court()
    jid = ledger.submit(court.signer, judgment(court, 5)).record_id
    first = _dossier(jid)
    w = ledger.submit(court.signer, first, relayer=relayer)
    second = _dossier(jid, 1, by_default=True, service=SERVICE)
    ledger.submit(court.signer, second, relayer=relayer)
    # the first version's signature again: out of sequence, and the latest stays the second
    expect_revert(lambda: ledger.submit(court.signer, first, relayer=relayer, signature=w.signature),
                  "JudgmentDossierOutOfSequence", judgmentId=jid, expected=2, given=0)
    # a version signed for a later place cannot skip ahead
    expect_revert(lambda: ledger.submit(court.signer, _dossier(jid, 3), relayer=relayer),
                  "JudgmentDossierOutOfSequence", judgmentId=jid, expected=2, given=3)
    assert tuple(ledger.view("JudgmentRegistry", "dossierOf", jid)) == (2, second.record_id())


def test_court_cannot_front_run_a_copied_pending_dossier_signature(ledger, new_court, relayer):
    """Another court copies a pending signed dossier: under its own court's key it does not verify, and
    relayed as is it files exactly what the judgment's court signed, in that court's name."""
    court = new_court()
    other = new_court()
    jid = ledger.submit(court.signer, judgment(court, 6)).record_id
    pending = _dossier(jid, by_default=True, service=SERVICE)
    signature = ledger.sign(court.signer, pending)
    # the other court sends the same fields under its own name (direct): no authority, nothing filed
    expect_revert(lambda: ledger.submit(other.signer, pending), "CourtAuthorizedNoAuthority",
                  actingCourt=other.id, recordCourt=court.id)
    # it alters a field and relays the copied signature: recovers to another key, unknown writer
    altered = _dossier(jid, by_default=False)
    with pytest.raises(ContractRevertError) as refused:
        ledger.submit(court.signer, altered, relayer=other.signer, signature=signature)
    assert refused.value.error == "CourtAuthorizedUnknownWriter"
    assert tuple(ledger.view("JudgmentRegistry", "dossierOf", jid)) == (0, ZERO32)
    # relayed unaltered by the other court, it files the court's own dossier, in the court's name
    w = ledger.submit(court.signer, pending, relayer=other.signer, signature=signature)
    assert one_event(ledger, w, "JudgmentRegistry", "DossierFiled")["court"] == court.id
    assert tuple(ledger.view("JudgmentRegistry", "dossierOf", jid)) == (1, pending.record_id())
    # and the court's own submission of it is then a harmless out-of-sequence refusal
    expect_revert(lambda: ledger.submit(court.signer, pending, relayer=relayer, signature=signature),
                  "JudgmentDossierOutOfSequence", judgmentId=jid, expected=1, given=0)


def test_library_refuses_a_dossier_the_contract_would_refuse():
    jid = b"\x01" * 32
    base = {"judgment_id": jid, "by_default": False, "complete_copy": COPY, "sequence": 0}
    with pytest.raises(ValueError, match="complete copy"):
        Dossier(**{**base, "complete_copy": ZERO32})
    with pytest.raises(ValueError, match="proof of service"):
        Dossier(**{**base, "by_default": True})
    english = Translation(language="en", digest=COPY)
    with pytest.raises(ValueError, match="same language"):
        translations_root([english, english])
    with pytest.raises(ValueError):
        Translation(language="EN", digest=COPY)
    # one canonical order: the root does not depend on the order given
    french = Translation(language="fr", digest=SERVICE)
    assert translations_root([french, english]) == translations_root([english, french]) != ZERO32
