"""The three stories of the source report, played through the library on the current chain.

Contract: :func:`play` admits two demo courts (a basic court and its appellate court), then records
every step of the stories as a court would: judgments with their parties committed (names and ID
numbers go to the vault only), enforcement cases and their actions, a dishonest-debtor listing checked
by a company registry and removed once the debt is paid, and a notarized batch of the documents. The
identities are fictitious and generated with valid check digits. Every write is signed by the court's
key (EIP-712) and its receipt kept, so certificates can be issued for each record.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.certificates import judgment_certificate
from ledger.chain import send_transaction
from ledger.client import Ledger, Written
from ledger.desk import CourtDesk
from ledger.dossiers import certify_dossier, file_dossier
from ledger.merkle import MerkleTree
from ledger.privacy import (
    BlindIndexKey,
    CaseNumberKey,
    CreditCode,
    Party,
    ResidentId,
    Vault,
    make_credit_code,
    make_resident_id,
)
from ledger.records import (
    Action,
    ActionKind,
    Anchor,
    Ground,
    JudgmentStatus,
    JudgmentStatusChange,
    Removal,
    RemovalReason,
    Restriction,
    open_case_number,
)

__all__ = ["DEMO_APPELLATE_COURT", "DEMO_COURT", "DemoFiles", "DemoResult", "play", "write_demo_files"]

DEMO_COURT = 110108  # a basic people's court in Beijing (Haidian), fictitious id scheme
DEMO_APPELLATE_COURT = 110100  # its intermediate court
YUAN = 100  # amounts are in fen

#: The story whose judgment the demo certifies: it stays effective, so its certificate verifies as in force.
CERTIFIED_STORY = "building_auction"
CASE_NUMBERS = {"wage_claim": "(2019)京0108民初12345号", "remote_deposit": "(2020)京0108民初2222号",
                CERTIFIED_STORY: "(2017)京01民初77号"}

# Asset categories of the online inquiry network used here (bit positions of the 16 categories).
REAL_ESTATE, DEPOSITS = 1 << 0, 1 << 1


@dataclass
class DemoResult:
    """What the demo wrote, by story, for certificates and tests."""

    writes: dict[str, list[Written]] = field(default_factory=dict)
    documents: dict[str, bytes] = field(default_factory=dict)
    subjects: dict[str, bytes] = field(default_factory=dict)
    registry_check_before: bool | None = None
    registry_check_after: bool | None = None
    notary_root: bytes | None = None
    notary_nonces: dict[str, bytes] = field(default_factory=dict)
    notary_proofs: dict[str, list[bytes]] = field(default_factory=dict)
    #: the certified judgment's Hague dossier: its certificate block and its certified translations' files
    dossier_block: dict[str, Any] | None = None
    translations: dict[str, bytes] = field(default_factory=dict)


def _document(title: str) -> bytes:
    """A stand-in for a signed PDF: deterministic bytes per title."""
    return f"%PDF-1.7\n% demo document\n{title}\n".encode() + hashlib.sha256(title.encode()).digest() * 8


def play(
    ledger: Ledger,
    governor: LocalAccount,
    vault: Vault,
    blind_key: BlindIndexKey,
    case_key: CaseNumberKey,
    *,
    signer: LocalAccount | None = None,
    appellate_signer: LocalAccount | None = None,
    funder: LocalAccount | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    """Play the three stories. Courts are admitted unless they already exist (then ``signer`` must be theirs)."""
    signer = signer or Account.create()
    appellate_signer = appellate_signer or Account.create()
    funder = funder or governor
    chain = ledger.chain
    for account in (signer, appellate_signer) if chain.charges_fees() else ():
        if chain.w3.eth.get_balance(account.address) < 10**17:
            send_transaction(chain, funder, {"to": account.address, "value": 10**18})
    if ledger.court(DEMO_APPELLATE_COURT)["status"] == 0:
        ledger.admit_court(governor, DEMO_APPELLATE_COURT, "CN-BJ", 0, appellate_signer.address)
        progress(f"admitted court {DEMO_APPELLATE_COURT} (appellate)")
    if ledger.court(DEMO_COURT)["status"] == 0:
        ledger.admit_court(governor, DEMO_COURT, "CN-BJ", DEMO_APPELLATE_COURT, signer.address)
        progress(f"admitted court {DEMO_COURT}")

    desk = CourtDesk(DEMO_COURT, vault, blind_key, case_key)
    result = DemoResult()

    def write(story: str, record: object) -> Written:
        w = ledger.submit(signer, record)  # type: ignore[arg-type]
        result.writes.setdefault(story, []).append(w)
        return w

    def actions(story: str, case_id: bytes, steps: list[dict[str, object]]) -> None:
        for seq, step in enumerate(steps):
            write(story, Action(case_id=case_id, sequence=seq, **step))  # type: ignore[arg-type]

    # Story 1: a wage claim against an internet company with no assets; listed; pays two years later.
    story = "wage_claim"
    worker = ResidentId.parse(make_resident_id("110108", "19920314", "215"))
    company = CreditCode.parse(make_credit_code("91110108MA01ABCDE"))
    doc = _document("(2019)京0108民初12345号 劳动争议判决书")
    result.documents[story] = doc
    judgment = desk.judgment(
        case_number=CASE_NUMBERS[story], document=doc,
        parties=[Party(role="creditor", subject=worker, name="李明（示例）"),
                 Party(role="debtor", subject=company, name="北京某某网络科技有限公司（示例）")],
        amount=13_000 * YUAN, currency="CNY", judgment_date=date(2019, 3, 1), effective_date=date(2019, 3, 18))
    wj = write(story, judgment)
    progress("story 1: judgment recorded")
    filing = desk.filing(judgment_id=wj.record_id, case_number="(2019)京0108执4567号",
                         amount_due=13_000 * YUAN, filed_at=date(2019, 4, 2))
    wf = write(story, filing)
    actions(story, wf.record_id, [
        {"kind": ActionKind.NOTICE},
        {"kind": ActionKind.PROPERTY_REPORT_ORDER},
        {"kind": ActionKind.ASSET_INQUIRY, "detail": 0},  # 16 categories searched, nothing found
    ])
    listing = desk.listing(subject=company, display_name="北京某某网络科技有限公司（示例）", case_id=wf.record_id,
                           ground=Ground.ABLE_BUT_REFUSES,
                           restrictions=Restriction.COMPANY_OFFICE | Restriction.LOANS_AND_CARDS
                           | Restriction.HIGH_CONSUMPTION | Restriction.PUBLIC_BIDDING,
                           listed_at=chain.w3.eth.get_block("latest")["timestamp"])
    wl = write(story, listing)
    result.subjects["company"] = listing.subject
    write(story, Action(case_id=wf.record_id, sequence=3, kind=ActionKind.DEFAULTER_LISTING))
    write(story, Action(case_id=wf.record_id, sequence=4, kind=ActionKind.TERMINATION_NO_ASSETS))
    progress("story 1: company listed, round terminated for lack of assets")
    now = chain.w3.eth.get_block("latest")["timestamp"]
    result.registry_check_before = ledger.is_restricted(listing.subject, Restriction.COMPANY_OFFICE, now)[0]
    progress(f"story 1: registry check before payment: restricted={result.registry_check_before}")
    for seq, step in enumerate([
        {"kind": ActionKind.RESUMPTION},
        {"kind": ActionKind.PAYMENT_RECEIVED, "amount": 13_000 * YUAN},
        {"kind": ActionKind.DISBURSEMENT, "amount": 13_000 * YUAN},
        {"kind": ActionKind.CONCLUSION},
    ], start=5):
        write(story, Action(case_id=wf.record_id, sequence=seq, **step))  # type: ignore[arg-type]
    write(story, Removal(listing_id=wl.record_id, reason=RemovalReason.PERFORMED, sequence=0))
    write(story, JudgmentStatusChange(judgment_id=wj.record_id, status=JudgmentStatus.SATISFIED, sequence=0))
    now = chain.w3.eth.get_block("latest")["timestamp"]
    result.registry_check_after = ledger.is_restricted(listing.subject, Restriction.COMPANY_OFFICE, now)[0]
    progress(f"story 1: paid, case concluded, listing removed: restricted={result.registry_check_after}")

    # Story 2: a debtor 1,400 km away; a new deposit found online; 16,000 yuan paid the same day.
    story = "remote_deposit"
    creditor = ResidentId.parse(make_resident_id("110105", "19800506", "031"))
    debtor = ResidentId.parse(make_resident_id("513701", "19850921", "442"))
    doc = _document("(2020)京0108民初2222号 民间借贷判决书")
    result.documents[story] = doc
    judgment = desk.judgment(
        case_number=CASE_NUMBERS[story], document=doc,
        parties=[Party(role="creditor", subject=creditor, name="王芳（示例）"),
                 Party(role="debtor", subject=debtor, name="赵强（示例）")],
        amount=16_000 * YUAN, currency="CNY", judgment_date=date(2020, 5, 11), effective_date=date(2020, 5, 27))
    wj = write(story, judgment)
    wf = write(story, desk.filing(judgment_id=wj.record_id, case_number="(2020)京0108执888号",
                                  amount_due=16_000 * YUAN, filed_at=date(2020, 6, 15)))
    actions(story, wf.record_id, [
        {"kind": ActionKind.NOTICE},
        {"kind": ActionKind.ASSET_INQUIRY, "detail": DEPOSITS},  # a new deposit at a rural credit cooperative
        {"kind": ActionKind.FREEZE},
        {"kind": ActionKind.PAYMENT_RECEIVED, "amount": 16_000 * YUAN},
        {"kind": ActionKind.DISBURSEMENT, "amount": 16_000 * YUAN},
        {"kind": ActionKind.CONCLUSION},
    ])
    write(story, JudgmentStatusChange(judgment_id=wj.record_id, status=JudgmentStatus.SATISFIED, sequence=0))
    progress("story 2: deposit found, 16,000 yuan paid the same day, case concluded")

    # Story 3: an unfinished building sold online: 19 rounds, 14 extensions, 977 million yuan.
    story = "building_auction"
    creditor_co = CreditCode.parse(make_credit_code("91110000100012345"))
    developer = CreditCode.parse(make_credit_code("91110108700054321"))
    doc = _document("(2017)京01民初77号 建设工程合同纠纷判决书")
    result.documents[story] = doc
    due = 950_000_000 * YUAN
    judgment = desk.judgment(
        case_number=CASE_NUMBERS[story], document=doc,
        parties=[Party(role="creditor", subject=creditor_co, name="某建设集团有限公司（示例）"),
                 Party(role="debtor", subject=developer, name="某房地产开发有限公司（示例）")],
        amount=due, currency="CNY", judgment_date=date(2017, 9, 8), effective_date=date(2017, 10, 9))
    wj = write(story, judgment)
    # Its dossier for a court abroad (Hague 2019 art. 12): the complete copy and two certified translations.
    result.translations = {"en": _document(f"{CASE_NUMBERS[story]} certified English translation"),
                           "fr": _document(f"{CASE_NUMBERS[story]} traduction certifiée en français")}
    filed = file_dossier(ledger, signer, DEMO_COURT, wj.record_id, complete_copy=doc,
                         translations=result.translations)
    result.dossier_block = certify_dossier(ledger, filed)
    progress("story 3: the judgment's dossier filed (complete copy, translations en and fr)")
    wf = write(story, desk.filing(judgment_id=wj.record_id, case_number="(2018)京0108执100号",
                                  amount_due=due, filed_at=date(2018, 1, 5)))
    price = 977_000_000 * YUAN
    actions(story, wf.record_id, [
        {"kind": ActionKind.ASSET_INQUIRY, "detail": REAL_ESTATE},
        {"kind": ActionKind.SEAL},
        {"kind": ActionKind.VALUATION, "amount": 600_000_000 * YUAN},
        {"kind": ActionKind.AUCTION_LISTED, "amount": 594_000_000 * YUAN},
        {"kind": ActionKind.AUCTION_SOLD, "amount": price, "detail": Action.auction_detail(19, 14)},
        # Proceeds above the amount due (interest and costs) are acknowledged explicitly.
        {"kind": ActionKind.PAYMENT_RECEIVED, "amount": price, "flags": 1},
        {"kind": ActionKind.DISBURSEMENT, "amount": due},
        {"kind": ActionKind.CONCLUSION},
    ])
    progress("story 3: building sold after 19 rounds and 14 extensions for 977 million yuan")

    # Notarize every story document in one batch.
    digests = {name: hashlib.sha256(d).digest() for name, d in result.documents.items()}
    nonces = {name: os.urandom(32) for name in digests}  # one fresh nonce per document's leaf
    tree = MerkleTree.build_notary([(d, nonces[name]) for name, d in digests.items()])
    anchor_record = Anchor(court=DEMO_COURT, root=tree.root, size=len(digests))
    if ledger.anchor(DEMO_COURT, tree.root)["court"] == 0:
        write("notary", anchor_record)
    result.notary_root = tree.root
    result.notary_nonces = nonces
    result.notary_proofs = {name: tree.proof(d) for name, d in digests.items()}
    progress(f"notarized {len(digests)} documents under root 0x{tree.root.hex()[:16]}…")
    return result


@dataclass(frozen=True)
class DemoFiles:
    """Where :func:`write_demo_files` put a demo judgment's certificate and its document."""

    certificate: Path
    document: Path
    record_id: str


def write_demo_files(result: DemoResult, directory: Path, chain_id: int, case_key: CaseNumberKey) -> DemoFiles:
    """Write the certificate (format 2, its case number opened, its dossier) of the demo's effective judgment,
    the document it certifies and the dossier's translations (``judgment.<language>.pdf``) into ``directory``:
    what a foreign clerk would receive, ready for ``ledger verify``."""
    written = result.writes[CERTIFIED_STORY][0]
    opening = open_case_number(case_key, CASE_NUMBERS[CERTIFIED_STORY])
    certificate = judgment_certificate(written, chain_id, case_number=(opening.text, opening.salt),
                                       dossier=result.dossier_block)
    directory.mkdir(parents=True, exist_ok=True)
    files = DemoFiles(directory / "judgment.cert.json", directory / "judgment.pdf", "0x" + written.record_id.hex())
    files.document.write_bytes(result.documents[CERTIFIED_STORY])
    for language, translation in result.translations.items():
        (directory / f"judgment.{language}.pdf").write_bytes(translation)
    files.certificate.write_text(certificate.to_json())
    return files
