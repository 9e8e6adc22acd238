"""Golden certificates (format 2): fixed keys and fields give byte-identical certificates, verified here and by
the JavaScript verifier (js/verifier, run under node's test runner on the golden and forged vectors).

Regenerate with ``UPDATE_GOLDEN=1 pytest tests/test_golden_certificates.py`` after a deliberate format change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.certificates import (
    case_certificate,
    defaulter_certificate,
    dossier_block,
    judgment_certificate,
    notary_certificate,
)
from ledger.client import Written
from ledger.dossiers import prepare_dossier
from ledger.merkle import notary_leaf
from ledger.records import (
    Action,
    ActionKind,
    Anchor,
    CaseNumberKey,
    CaseState,
    Dossier,
    Filing,
    Ground,
    Judgment,
    Listing,
    Restriction,
    case_number_digest,
    opened_case_number_digest,
    sha256_digest,
)
from ledger.signing import Domain, sign_record
from ledger.verify import NetworkDescriptor, TrustAnchors, TrustedContract, verify_certificate
from tests.notary_tree import leaf_tree

GOLDEN = Path(__file__).parent / "golden" / "certificates"
REPO = Path(__file__).resolve().parents[1]
CHAIN_ID = 31337
COURT_KEY = Account.from_key("0x" + "4c" * 32)
GOVERNOR_KEY = Account.from_key("0x" + "6b" * 32)
ADDRESSES = {
    "JudgmentRegistry": "0x" + "11" * 20,
    "EnforcementRegistry": "0x" + "22" * 20,
    "DefaulterRegistry": "0x" + "33" * 20,
    "NotaryAnchor": "0x" + "44" * 20,
    "CourtRegistry": "0x" + "55" * 20,
}
CASE_NUMBER = "(2016)京0102民初1234号"
CASE_SALT = bytes.fromhex("73" * 32)
#: K_case of the golden network (fixed: the vectors must not change from run to run).
CASE_KEY = CaseNumberKey(b"\x5a" * 32)
#: beyond 2^53: JSON.parse would lose it as a number, so it travels as a decimal string
BIG_AMOUNT = 123456789012345678901
DOCUMENT = b"%PDF-1.7 golden judgment document\n"


def _written(record, n: int, key=COURT_KEY) -> Written:
    name = {Judgment: "JudgmentRegistry", Filing: "EnforcementRegistry", Listing: "DefaulterRegistry",
            Anchor: "NotaryAnchor", Dossier: "JudgmentRegistry"}[type(record)]
    domain = Domain(name, CHAIN_ID, ADDRESSES[name])
    return Written(record=record, record_id=record.record_id(), signature=sign_record(key, domain, record),
                   signer=key.address, contract=name, contract_address=ADDRESSES[name],
                   transaction_hash="0x" + f"{n:02x}" * 32, block_number=100 + n,
                   block_hash="0x" + f"{n + 16:02x}" * 32,
                   block_time=1_700_000_000 + n, gas_used=50_000, sender=COURT_KEY.address)


def golden_certificates() -> dict[str, str]:
    judgment = Judgment(court=110105, case_number_digest=opened_case_number_digest(CASE_NUMBER, CASE_SALT),
                        document_digest=sha256_digest(DOCUMENT), parties_commitment=sha256_digest(b"commitment"),
                        amount=BIG_AMOUNT, currency="CNY", judgment_date=date(2016, 6, 1),
                        effective_date=date(2016, 6, 15))
    wj = _written(judgment, 1)
    filing = Filing(court=110105, judgment_id=wj.record_id,
                    case_number_digest=case_number_digest(CASE_KEY, "(2016)京0102执1号"),
                    amount_due=1_300_000, filed_at=date(2016, 7, 1))
    wf = _written(filing, 2)
    actions = [Action(case_id=wf.record_id, sequence=0, kind=ActionKind.ASSET_INQUIRY, detail=3),
               Action(case_id=wf.record_id, sequence=1, kind=ActionKind.PAYMENT_RECEIVED, amount=1_300_000),
               Action(case_id=wf.record_id, sequence=2, kind=ActionKind.CONCLUSION)]
    listing = Listing(court=110105, subject=sha256_digest(b"blind index"), case_id=wf.record_id,
                      ground=Ground.ABLE_BUT_REFUSES, restrictions=Restriction.FLIGHTS | Restriction.RAIL,
                      listed_at=1_700_000_000, until=1_700_000_000 + 730 * 86400)
    wl = _written(listing, 3)
    digests = [sha256_digest(DOCUMENT)] + [sha256_digest(b"golden %d" % i) for i in range(4)]
    nonces = [bytes([0xA0 + i]) * 32 for i in range(len(digests))]
    root, proofs = leaf_tree([notary_leaf(d, n) for d, n in zip(digests, nonces, strict=True)])
    wa = _written(Anchor(court=110105, root=root, size=len(digests)), 4)
    as_of = (110, "0x" + "6e" * 32)
    certs = {
        "judgment": judgment_certificate(wj, CHAIN_ID, case_number=(CASE_NUMBER, CASE_SALT)),
        "judgment_with_dossier": judgment_certificate(wj, CHAIN_ID, case_number=(CASE_NUMBER, CASE_SALT),
                                                      dossier=golden_dossier(wj.record_id, as_of)),
        "enforcement_case": case_certificate(wf, CHAIN_ID, actions, state=CaseState.CONCLUDED,
                                             amount_recovered=1_300_000, as_of=as_of),
        "defaulter_status": defaulter_certificate(wl, CHAIN_ID, as_of=as_of, at=1_700_000_100, until=listing.until),
        "notarized_digest": notary_certificate(wa, CHAIN_ID, digest=digests[0], nonce=nonces[0], proof=proofs[0]),
    }
    return {kind: cert.to_json() + "\n" for kind, cert in certs.items()}


#: The golden dossier's files: a default judgment, its proof of service, two certified translations.
DOSSIER_FILES = {"complete_copy": b"%PDF-1.7 golden complete copy\n", "proof_of_service": b"golden proof of service\n",
                 "translations": {"fr": b"golden traduction certifiee\n", "en": b"golden certified translation\n"}}


def golden_dossier(judgment_id: bytes, as_of: tuple[int, str], key=COURT_KEY) -> dict:
    """Version 1 of the golden judgment's dossier (a translation added to version 0), filed in block 105."""
    dossier, translations = prepare_dossier(judgment_id, sequence=1, by_default=True, **DOSSIER_FILES)
    return dossier_block(_written(dossier, 5, key), 110105, translations, as_of=as_of)


def descriptor() -> NetworkDescriptor:
    """A non-ASCII name pins the canonical form (RFC 8785: UTF-8, not \\u escapes)."""
    return NetworkDescriptor(
        name="中国法院网络 golden", chain_id=CHAIN_ID, genesis_hash="0x" + "00" * 32,
        governor=GOVERNOR_KEY.address,
        contracts={k: TrustedContract(address=to_checksum_address(v), artifact_digest="0x" + "00" * 32)
                   for k, v in ADDRESSES.items()},
    ).signed(GOVERNOR_KEY)


DESCRIPTORS = GOLDEN.parent / "descriptors"


def descriptor_vectors() -> dict[str, dict]:
    """Descriptors every verifier must trust or refuse under the pinned governor (section 7)."""
    golden = descriptor()
    other = to_checksum_address("0x" + "ab" * 20)

    def vector(what: str, d: NetworkDescriptor, trusted: bool, pinned: str = GOVERNOR_KEY.address) -> dict:
        return {"case": what, "governor_pinned": pinned, "descriptor": d.model_dump(), "trusted": trusted}

    escaped = golden.model_copy(update={
        "name": "golden \u0001\n\"\\/\u007f 𝄞",
        "contracts": {**golden.contracts, "\ufb33": golden.contracts["CourtRegistry"],
                      "\U0001d11e": golden.contracts["CourtRegistry"]}}).signed(GOVERNOR_KEY)
    lower = {**golden.contracts, "NotaryAnchor": TrustedContract(address=ADDRESSES["NotaryAnchor"].lower().replace(
        "44", "4a"), artifact_digest="0x" + "00" * 32)}
    return {
        "controls_and_utf16_member_order": vector(
            "RFC 8785: controls escaped (\\u0001, \\n), DEL and non-BMP as UTF-8, members by UTF-16 code units "
            "(U+1D11E before U+FB33)", escaped, True),
        "governor_field_not_the_pin": vector(
            "signed by the pinned key, but naming another governor", golden.model_copy(
                update={"governor": other}).signed(GOVERNOR_KEY), False),
        "signed_by_another_key": vector("the golden descriptor, pinned to a key that did not sign it", golden,
                                        False, COURT_KEY.address),
        "contract_address_not_eip55": vector("a contract address in lower case, not EIP-55",
                                             golden.model_copy(update={"contracts": lower}).signed(GOVERNOR_KEY),
                                             False),
    }


def test_descriptor_vectors_are_reproduced_and_judged():
    import json

    from ledger.errors import ConfigurationError

    for name, vector in descriptor_vectors().items():
        path = DESCRIPTORS / f"{name}.json"
        if os.environ.get("UPDATE_GOLDEN"):
            DESCRIPTORS.mkdir(exist_ok=True)
            path.write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n", "utf-8")
        assert json.loads(path.read_text("utf-8")) == vector, name
        run = lambda v=vector: TrustAnchors.from_descriptors(  # noqa: E731
            [NetworkDescriptor.model_validate(v["descriptor"])], [v["governor_pinned"]])
        if vector["trusted"]:
            assert run().networks[0].name == vector["descriptor"]["name"]
        else:
            with pytest.raises(ConfigurationError):
                run()


def trust() -> TrustAnchors:
    return TrustAnchors.from_descriptors([descriptor()], [GOVERNOR_KEY.address])


def test_golden_certificates_are_reproduced():
    made = golden_certificates()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for kind, text in made.items():
            (GOLDEN / f"{kind}.json").write_text(text, encoding="utf-8")
        (GOLDEN / "document.bin").write_bytes(DOCUMENT)
        (GOLDEN / "network.json").write_text(_descriptor_json(), encoding="utf-8")
    for kind, text in made.items():
        assert (GOLDEN / f"{kind}.json").read_text(encoding="utf-8") == text, kind
    assert (GOLDEN / "network.json").read_text(encoding="utf-8") == _descriptor_json()


def _descriptor_json() -> str:
    import json

    return json.dumps({"governor_pinned": GOVERNOR_KEY.address, "descriptor": descriptor().model_dump()},
                      indent=2, ensure_ascii=False) + "\n"


#: The steps each golden certificate passes offline (docs/verification.md section 7).
GOLDEN_STEPS = {
    "judgment": ["format", "network", "signature", "case_number", "document"],
    "judgment_with_dossier": ["format", "network", "signature", "case_number", "dossier", "document"],
    "enforcement_case": ["format", "network", "signature"],
    "defaulter_status": ["format", "network", "signature"],
    "notarized_digest": ["format", "network", "signature", "proof", "document"],
}


@pytest.mark.parametrize("name", sorted(GOLDEN_STEPS))
def test_golden_certificates_verify_offline(name):
    text = (GOLDEN / f"{name}.json").read_text(encoding="utf-8")
    document = DOCUMENT if GOLDEN_STEPS[name][-1] == "document" else None
    result = verify_certificate(text, trust=trust(), document=document)
    assert result.certificate.kind == name.removesuffix("_with_dossier") and not result.online
    assert [s.name for s in result.steps] == GOLDEN_STEPS[name]


def test_golden_dossier_reports_what_it_holds():
    result = verify_certificate((GOLDEN / "judgment_with_dossier.json").read_text("utf-8"), trust=trust())
    assert result.dossier is not None
    assert result.dossier["by_default"] is True and result.dossier["sequence"] == 1
    assert result.dossier["proof_of_service"]["required"] and result.dossier["proof_of_service"]["present"]
    assert [t["language"] for t in result.dossier["translations"]] == ["en", "fr"]
    assert result.dossier["complete_copy"] == "0x" + sha256_digest(DOSSIER_FILES["complete_copy"]).hex()
    assert result.as_dict("zh")["dossier"] == result.dossier


def test_javascript_verifier_agrees_on_golden_and_forged_vectors():
    """A second implementation (js/verifier, @noble only) on every golden and forged vector, under node --test."""
    node = shutil.which("node")
    assert node, "node is required"
    proc = subprocess.run([node, "--test", str(REPO / "tests" / "js")], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "# fail 0" in proc.stdout and "# pass 0" not in proc.stdout


# -- forged vectors: one certificate per forgery, each with the step that must refuse it ----------

FORGED = GOLDEN.parent / "forged"


def _forged_offline() -> dict[str, dict]:
    """Offline forgeries of the golden certificates: name -> {forgery, issue_class, step, certificate}."""
    import copy
    import json

    golden = {kind: json.loads(text) for kind, text in golden_certificates().items()}
    out: dict[str, dict] = {}

    def forge(name: str, kind: str, step: str, what: str, change, issue_class: int | None = None, *,
              document: bool | None = None) -> None:
        cert = copy.deepcopy(golden[kind])
        change(cert)
        out[name] = {"forgery": what, "issue_class": issue_class, "mode": "offline", "step": step,
                     "document": kind != "enforcement_case" and kind != "defaulter_status" if document is None
                     else document,
                     "certificate": cert}

    def forge_text(name: str, kind: str, step: str, what: str, old: str, new: str) -> None:
        """A vector only a JSON text can hold (a duplicate member, a number's spelling): certificate_text."""
        text = golden_certificates()[kind]
        assert text.count(old) == 1, old
        out[name] = {"forgery": what, "issue_class": None, "mode": "offline", "step": step,
                     "document": kind in ("judgment", "notarized_digest"),
                     "certificate_text": text.replace(old, new)}

    from tests.mutations import high_s_twin, v_zero_or_one

    def high_s(cert):
        cert["signature"]["value"] = high_s_twin(cert["signature"]["value"])

    def v_zero(cert):
        cert["signature"]["value"] = v_zero_or_one(cert["signature"]["value"])

    def flip_restricted(cert):
        cert["defaulter"]["restricted"] = not cert["defaulter"]["restricted"]

    def rewrite_payment(cert):
        cert["case"]["actions"][1]["amount"] = "900000"

    def rewrite_payment_and_history(cert):
        from ledger.certificates import case_history_hash

        rewrite_payment(cert)
        actions = [Action.model_validate({**a, "amount": int(a["amount"]), "detail": int(a["detail"])})
                   for a in cert["case"]["actions"]]
        cert["case"]["history_hash"] = "0x" + case_history_hash(bytes.fromhex(cert["record_id"][2:]), actions).hex()

    def resigned_amount(cert):
        cert["record"]["amount"] = str(int(cert["record"]["amount"]) + 1)
        cert["record_id"] = "0x" + Judgment.model_validate(
            {**cert["record"], "amount": int(cert["record"]["amount"])}).record_id().hex()
        cert.pop("case_number")

    def other_case_number(cert):
        cert["case_number"]["text"] = cert["case_number"]["text"].replace("1234", "1235")

    def spaced_case_number(cert):
        cert["case_number"]["text"] = cert["case_number"]["text"].replace("京", " 京")

    def amount_as_number(cert):
        cert["record"]["amount"] = int(cert["record"]["amount"])

    def court_as_string(cert):
        cert["record"]["court"] = str(cert["record"]["court"])

    def version_1(cert):
        cert["version"] = 1

    def other_nonce(cert):
        cert["notary"]["nonce"] = "0x" + "99" * 32

    def untrusted_contract(cert):
        cert["network"]["contract"] = to_checksum_address("0x" + "12" * 20)

    def lowercase_signer(cert):
        cert["signature"]["signer"] = cert["signature"]["signer"].lower()

    def informational_status(cert):
        cert["status"] = {"status": "effective"}

    def wrong_contract_for_kind(cert):
        cert["network"]["contract_name"] = "NotaryAnchor"

    def removal_before_listing(cert):
        cert["defaulter"]["removed_at"] = cert["defaulter"]["at"] - 1
        # restricted stays true: inconsistent with the stated removal

    def impossible_date(cert):
        cert["record"]["judgment_date"] = "2016-02-30"

    def newer_unicode_case_number(cert):
        cert["case_number"]["text"] = cert["case_number"]["text"].replace("1234", "1234\U0001f6dc")

    def removal_after_as_of(cert):
        cert["defaulter"]["removed_at"] = cert["defaulter"]["at"] + 1  # restricted stays true: consistent at `at`

    def as_of_before_record(cert):
        cert["as_of"]["block_number"] = cert["transaction"]["block_number"] - 1

    def at_before_listing_block(cert):
        cert["defaulter"]["at"] = cert["transaction"]["block_time"] - 1  # still after listed_at: restricted true

    def until_beyond_extension(cert):
        cert["defaulter"]["until"] = cert["record"]["until"] + 1096 * 86400

    def until_extended_by_a_day(cert):
        cert["defaulter"]["until"] = cert["record"]["until"] + 86400

    def restrictions_in_bit_order(cert):
        listing = Listing(court=110105, subject=sha256_digest(b"blind index"),
                          case_id=bytes.fromhex(golden["enforcement_case"]["record_id"][2:]),
                          ground=Ground.ABLE_BUT_REFUSES, restrictions=Restriction.FLIGHTS | Restriction.COMPANY_OFFICE,
                          listed_at=1_700_000_000, until=1_700_000_000 + 730 * 86400)
        signed = json.loads(defaulter_certificate(_written(listing, 3), CHAIN_ID, as_of=(110, "0x" + "6e" * 32),
                                                  at=1_700_000_100, until=listing.until).to_json())
        assert signed["record"]["restrictions"] == ["company_office", "flights"]
        signed["record"]["restrictions"] = ["flights", "company_office"]  # bits 1, 32: the same signed mask
        cert.clear()
        cert.update(signed)

    forge_text("duplicate_member", "judgment", "format",
               "a member given twice (parsers that keep the first and the last read different amounts)",
               '"amount": "123456789012345678901"', '"amount": "1", "amount": "123456789012345678901"')
    forge_text("integer_with_fraction", "judgment", "format", "an integer written 110105.0",
               '"court": 110105', '"court": 110105.0')
    forge_text("integer_with_exponent", "judgment", "format", "an integer written 1.10105e5",
               '"court": 110105', '"court": 1.10105e5')
    forge_text("negative_zero", "judgment", "format", "an integer written -0",
               '"block_time": 1700000001', '"block_time": 1700000001, "x": -0')
    forge_text("lone_surrogate_escape", "judgment", "format", "a lone surrogate escape in the case number",
               '1234号', '1234\\ud800号')
    forge("impossible_date", "judgment", "format", "a judgment date not on the calendar (2016-02-30)",
          impossible_date)
    forge("case_number_unicode_15", "judgment", "case_number",
          "a case number with U+1F6DC, unassigned in Unicode 14.0 (the version 2.5 pins)", newer_unicode_case_number)
    forge("restrictions_in_bit_order", "defaulter_status", "format",
          "restrictions listed in bit order (flights, company_office), not sorted by name: a second spelling "
          "of one signed listing", restrictions_in_bit_order, 5)
    forge("document_with_listing", "defaulter_status", "document", "a document offered with a listing",
          lambda c: None, document=True)
    forge("removal_after_as_of", "defaulter_status", "format", "a removal time after the as_of block's time",
          removal_after_as_of, 5)
    forge("as_of_before_record", "defaulter_status", "format", "as_of a block before the listing was written",
          as_of_before_record, 5)
    forge("at_before_listing_block", "defaulter_status", "format", "at before the listing's block time",
          at_before_listing_block, 5)
    forge("until_beyond_extension", "defaulter_status", "format",
          "until 1,096 days after the signed until: more than one extension allows", until_beyond_extension, 5)
    forge("until_extended_by_a_day", "defaulter_status", "format",
          "until one day after the signed until: no extension is that short", until_extended_by_a_day, 5)
    forge("high_s_twin", "judgment", "signature", "the high-s twin of the court's signature (v flipped)", high_s, 4)
    forge("v_zero", "judgment", "format", "the signature's v given as 0/1 instead of 27/28", v_zero, 4)
    forge("flipped_restricted", "defaulter_status", "format", "defaulter.restricted flipped", flip_restricted, 5)
    forge("rewritten_payment", "enforcement_case", "format",
          "an action's amount changed, the history hash left as issued", rewrite_payment, 1)
    forge("rewritten_payment_and_history", "enforcement_case", "format",
          "an action's amount changed and the history hash recomputed, amount_recovered left: offline the history "
          "is consistent, the payment total is not (online, the chain's history hash refuses it too)",
          lambda c: (rewrite_payment_and_history(c), c["case"].update(amount_recovered="1300000")), 1)
    forge("altered_record_consistent_id", "judgment", "signature",
          "the amount changed and record_id recomputed: the court never signed it", resigned_amount)
    forge("other_case_number", "judgment", "case_number", "a case number that does not open the digest",
          other_case_number)
    forge("case_number_not_normal", "judgment", "case_number",
          "the case number with a space: not the normal form a court writes", spaced_case_number)
    forge("amount_as_number", "judgment", "format", "a uint128 given as a JSON number", amount_as_number)
    forge("court_as_string", "judgment", "format", "a uint32 given as a string", court_as_string)
    forge("format_1", "judgment", "format", "a format-1 certificate", version_1)
    forge("other_nonce", "notarized_digest", "proof", "a nonce that is not the receipt's", other_nonce)
    forge("untrusted_contract", "judgment", "network", "a contract outside the pinned descriptor", untrusted_contract)
    forge("unchecksummed_signer", "judgment", "format", "the signer address not EIP-55 checksummed",
          lowercase_signer)
    forge("unsigned_status_block", "judgment", "format", "an unsigned 'status' block added", informational_status, 5)
    forge("kind_contract_mismatch", "judgment", "format", "a judgment claimed to live in NotaryAnchor",
          wrong_contract_for_kind, 3)
    forge("removal_ignored", "defaulter_status", "format",
          "a removal stated, but restricted still true at a later time", removal_before_listing, 5)
    _forge_dossiers(forge, golden)
    return out


#: Another court's key: what a forger who is a court of the network signs with.
OTHER_COURT_KEY = Account.from_key("0x" + "5d" * 32)


def _forge_dossiers(forge, golden: dict) -> None:
    """Offline forgeries of the golden dossier (docs/verification.md 2.7), each with the step that refuses it."""
    def edit(**fields):
        return lambda cert: cert["dossier"].update(fields)

    def add_translation(cert):
        cert["dossier"]["translations"].insert(0, {"language": "de", "digest": "0x" + sha256_digest(b"de").hex()})

    def drop_translation(cert):
        cert["dossier"]["translations"] = [t for t in cert["dossier"]["translations"] if t["language"] != "fr"]

    def drop_service(cert, *, by_default=True):
        del cert["dossier"]["proof_of_service"]
        cert["dossier"]["by_default"] = by_default

    def signed_by_other_court(cert):
        jid = bytes.fromhex(cert["record_id"][2:])
        cert["dossier"]["signature"]["value"] = golden_dossier(jid, (110, "0x" + "6e" * 32),
                                                               OTHER_COURT_KEY)["signature"]["value"]

    def unsorted(cert):
        cert["dossier"]["translations"].reverse()

    def on_case(cert):
        cert["dossier"] = golden["judgment_with_dossier"]["dossier"]

    copy_digest = "0x" + sha256_digest(b"a forged complete copy").hex()
    forge("dossier_copy_digest_edited", "judgment_with_dossier", "dossier",
          "the dossier's complete-copy digest replaced by another file's", edit(complete_copy=copy_digest), 5)
    forge("dossier_translation_added", "judgment_with_dossier", "dossier",
          "a translation the court never certified added to the dossier", add_translation, 5)
    forge("dossier_translation_dropped", "judgment_with_dossier", "dossier",
          "a certified translation dropped from the dossier", drop_translation, 5)
    forge("dossier_by_default_flipped", "judgment_with_dossier", "dossier",
          "a default judgment presented as given after appearance (by_default false)", edit(by_default=False), 5)
    forge("dossier_proof_of_service_removed", "judgment_with_dossier", "format",
          "the proof of service of a default judgment removed", drop_service, 5)
    forge("dossier_proof_of_service_removed_not_default", "judgment_with_dossier", "dossier",
          "the proof of service removed and the judgment declared not by default to hide it",
          lambda c: drop_service(c, by_default=False), 5)
    forge("dossier_signed_by_another_court", "judgment_with_dossier", "dossier",
          "the dossier signed by another court's key, the judgment court's signer still named",
          signed_by_other_court, 5)
    forge("dossier_translations_unsorted", "judgment_with_dossier", "format",
          "the translations listed out of language order: a second spelling of one root", unsorted)
    forge("dossier_before_judgment", "judgment_with_dossier", "format",
          "a dossier filed in a block before its judgment's", lambda c: c["dossier"]["transaction"].update(
              block_number=c["transaction"]["block_number"] - 1), 2)
    forge("dossier_signer_not_checksummed", "judgment_with_dossier", "format",
          "the dossier's signer address not EIP-55 checksummed", lambda c: c["dossier"]["signature"].update(
              signer=c["dossier"]["signature"]["signer"].lower()))
    forge("dossier_on_enforcement_case", "enforcement_case", "format",
          "a dossier block attached to an enforcement case certificate", on_case)


#: Online forgeries: the transformation is the vector (the chain state is made at test time, in
#: tests/test_verify.py::test_online_forged_vector), with the step that must refuse it.
ONLINE_FORGED = {
    "rewritten_history_after_later_actions": {
        "issue_class": 1, "mode": "online", "step": "status", "base": "enforcement_case",
        "setup": "record one more action after the certificate",
        "transform": "set case.actions[1].amount to 900000; recompute case.history_hash; "
                     "set case.amount_recovered to 900000",
    },
    "block_time_plus_one": {
        "issue_class": 2, "mode": "online", "step": "signer", "base": "any",
        "setup": "none", "transform": "transaction.block_time += 1",
    },
    "retired_key_block_time_moved_back": {
        "issue_class": 2, "mode": "online", "step": "signer", "base": "judgment",
        "setup": "add a new key, retire the old one, write the judgment with the new key",
        "transform": "signature := the retired key's signature; transaction.block_time := a time before retirement",
    },
    "judgment_points_at_status_change": {
        "issue_class": 3, "mode": "online", "step": "record", "base": "judgment",
        "setup": "change the judgment's status", "transform": "transaction := the status change's transaction",
    },
    "case_points_at_action": {
        "issue_class": 3, "mode": "online", "step": "record", "base": "enforcement_case",
        "setup": "none", "transform": "transaction := the first action's transaction",
    },
    "listing_claims_extension": {
        "issue_class": 5, "mode": "online", "step": "status", "base": "defaulter_status",
        "setup": "none", "transform": "defaulter.until += 365 days",
    },
    "listing_hides_removal": {
        "issue_class": 5, "mode": "online", "step": "status", "base": "defaulter_status",
        "setup": "remove the listing", "transform": "as_of := a block after the removal; defaulter.at := its time",
    },
    "case_omits_actions": {
        "issue_class": 1, "mode": "online", "step": "status", "base": "enforcement_case",
        "setup": "none", "transform": "drop the last action; recompute history_hash; amount_recovered := 0",
    },
    "dossier_superseded_presented_as_latest": {
        "issue_class": 5, "mode": "online", "step": "dossier_chain", "base": "judgment",
        "setup": "file dossier version 0, then version 1 (a translation added)",
        "transform": "dossier := version 0's block; dossier.as_of := a block after version 1",
    },
    "dossier_signed_by_another_courts_key": {
        "issue_class": 5, "mode": "online", "step": "dossier_chain", "base": "judgment",
        "setup": "file dossier version 0",
        "transform": "dossier.signature := another court's signer and its signature over the same dossier",
    },
    "dossier_points_at_judgment_transaction": {
        "issue_class": 3, "mode": "online", "step": "dossier_chain", "base": "judgment",
        "setup": "file dossier version 0", "transform": "dossier.transaction := the judgment's transaction",
    },
}


def certificate_text(vector: dict) -> str:
    """The text a verifier is given: certificate_text verbatim, else the certificate as JSON (section 7)."""
    import json

    if "certificate_text" in vector:
        return vector["certificate_text"]
    return json.dumps(vector["certificate"], ensure_ascii=False)


def _write_forged() -> None:
    import json

    FORGED.mkdir(parents=True, exist_ok=True)
    for name, vector in _forged_offline().items():
        (FORGED / f"{name}.json").write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (FORGED / "online.json").write_text(json.dumps(ONLINE_FORGED, indent=2, ensure_ascii=False) + "\n", "utf-8")


def test_forged_vectors_are_reproduced():
    import json

    if os.environ.get("UPDATE_GOLDEN"):
        _write_forged()
    for name, vector in _forged_offline().items():
        assert json.loads((FORGED / f"{name}.json").read_text("utf-8")) == vector, name
    assert json.loads((FORGED / "online.json").read_text("utf-8")) == ONLINE_FORGED


@pytest.mark.parametrize("name", sorted(_forged_offline()))
def test_python_verifier_refuses_each_offline_forgery_at_its_step(name):
    import json

    from ledger.errors import VerificationError

    vector = json.loads((FORGED / f"{name}.json").read_text("utf-8"))
    with pytest.raises(VerificationError) as exc:
        verify_certificate(certificate_text(vector), trust=trust(),
                           document=DOCUMENT if vector["document"] else None)
    assert exc.value.step == vector["step"], exc.value.reason


def _variants(value, path=()):
    """Every certificate one edit away at each position: each value replaced by other types, keys dropped/added."""
    import copy

    def at(data, p, new=None, drop=False):
        out = copy.deepcopy(data)
        target = out
        for key in p[:-1]:
            target = target[key]
        if drop:
            del target[p[-1]]
        else:
            target[p[-1]] = new
        return out

    def walk(node, p):
        yield p, node
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, (*p, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, (*p, i))

    for p, node in walk(value, path):
        if not p:
            continue
        for new in (None, True, 0, -1, 1.5, 2**53, "", "x", "0x" + "ab" * 32, "0x" + "AB" * 32, [], {}, [node],
                    str(node), node + "\n" if isinstance(node, str) else node):
            yield at(value, p, new)
        if isinstance(p[-1], str):
            yield at(value, p, drop=True)
        if isinstance(node, dict):
            yield at(value, p, {**node, "extra": 1})


def test_compiled_schema_checker_agrees_with_jsonschema():
    """The verifier's compiled schema checks accept exactly what the jsonschema package accepts."""
    import json

    from jsonschema import Draft202012Validator

    from ledger._schema import compile_schema
    from ledger.certificates import certificate_schema

    def ecma(node):  # '$' ends the string (ECMA-262), as in the compiled checker and JavaScript
        if isinstance(node, dict):
            return {k: (v[:-1] + r"\Z" if k == "pattern" and v.endswith("$") else ecma(v)) for k, v in node.items()}
        return [ecma(v) for v in node] if isinstance(node, list) else node

    reference = Draft202012Validator(ecma(certificate_schema()))
    compiled = compile_schema(certificate_schema())
    samples = [json.loads(text) for text in golden_certificates().values()]
    samples += [v["certificate"] for v in _forged_offline().values() if "certificate" in v]
    checked = 0
    for sample in samples:
        for variant in _variants(sample):
            assert compiled(variant) == reference.is_valid(variant), json.dumps(variant)[:400]
            checked += 1
    assert checked > 2000



def test_integers_spelled_with_a_fraction_or_exponent_are_refused_as_text_and_as_parsed_json():
    """`31337.0` and `1.700000001e9` are integers to JSON Schema but not integer spellings (2.6): a certificate
    is read one way by every verifier, so both are refused at format, given as text or already parsed."""
    import json

    from ledger.errors import VerificationError

    text = (GOLDEN / "judgment.json").read_text(encoding="utf-8")
    assert verify_certificate(text, trust=trust())
    for spelled in (text.replace('"chain_id": 31337', '"chain_id": 31337.0'),
                    text.replace('"block_time": 1700000001', '"block_time": 1.700000001e9'),
                    text.replace('"chain_id": 31337', '"chain_id": 31337.5')):
        for form in (spelled, json.loads(spelled), spelled.encode("utf-8")):
            with pytest.raises(VerificationError) as exc:
                verify_certificate(form, trust=trust())
            assert exc.value.step == "format" and "integer" in exc.value.reason


def test_invalid_utf8_is_refused_at_format():
    from ledger.errors import VerificationError

    raw = (GOLDEN / "judgment.json").read_bytes()
    for bad in (raw.replace("京".encode(), b"\xff"), raw.replace("京".encode(), b"\xed\xa0\x80")):
        with pytest.raises(VerificationError) as exc:
            verify_certificate(bad, trust=trust())
        assert exc.value.step == "format" and "UTF-8" in exc.value.reason


#: Fields only the chain can check (docs/verification.md 2.2): offline, a change to them may pass.
CHAIN_BOUND = {("transaction", "hash"), ("transaction", "block_number"), ("transaction", "block_hash"),
               ("transaction", "block_time"), ("as_of", "block_number"), ("as_of", "block_hash"),
               ("defaulter", "at"), ("defaulter", "until"), ("defaulter", "removed_at")}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_field_change_to_a_golden_certificate_is_refused_offline_unless_chain_bound(data):
    """Offline half of the property (the online half runs on live certificates in tests/test_verify.py)."""
    import json

    from ledger.errors import VerificationError
    from tests.mutations import mutate_one_field

    kind = data.draw(st.sampled_from(["judgment", "enforcement_case", "defaulter_status", "notarized_digest"]))
    cert = json.loads((GOLDEN / f"{kind}.json").read_text(encoding="utf-8"))
    change = mutate_one_field(cert, data.draw)
    if change is None:
        return
    path, new = change
    try:
        verify_certificate(json.dumps(cert), trust=trust(), document=DOCUMENT if kind != "defaulter_status"
                           and kind != "enforcement_case" else None)
    except VerificationError:
        return
    assert tuple(path[:2]) in CHAIN_BOUND, f"accepted offline: {path} = {new!r}"


@pytest.mark.parametrize("name", sorted(_forged_offline()))
def test_ledger_verify_exits_1_at_the_step_of_each_offline_forgery(name, tmp_path):
    """The CLI on each forged vector: exit code 1 (not authentic), the failed step named."""
    import json

    from typer.testing import CliRunner

    from ledger.cli import app

    vector = json.loads((FORGED / f"{name}.json").read_text("utf-8"))
    (tmp_path / "cert.json").write_text(certificate_text(vector), "utf-8")
    (tmp_path / "network.json").write_text(json.dumps(descriptor().model_dump(), ensure_ascii=False), "utf-8")
    (tmp_path / "doc.bin").write_bytes(DOCUMENT)
    args = ["verify", str(tmp_path / "cert.json"), "--trust", str(tmp_path / "network.json"),
            "--governor", GOVERNOR_KEY.address]
    if vector["document"]:
        args += ["--document", str(tmp_path / "doc.bin")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert f"verification failed at step '{vector['step']}'" in result.output


def test_ledger_verify_offline_exits_4_and_names_what_it_did_not_prove(tmp_path):
    import json

    from typer.testing import CliRunner

    from ledger.cli import app

    (tmp_path / "network.json").write_text(json.dumps(descriptor().model_dump(), ensure_ascii=False), "utf-8")
    result = CliRunner().invoke(app, ["verify", str(GOLDEN / "defaulter_status.json"), "--trust",
                                      str(tmp_path / "network.json"), "--governor", GOVERNOR_KEY.address],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 4 and "OFFLINE ONLY" in result.output and "not proved offline" in result.output
