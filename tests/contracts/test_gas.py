"""Gas of every write, and the two design limits: a judgment record costs at most 55,000 gas, and a
1,000-digest notary anchor at most 60 gas per digest. Gas is deterministic (not a timing): the same
code, state shape and calldata give the same figure on every EVM of the same fork.

``pytest tests/contracts/test_gas.py -s`` prints the table.
"""

from __future__ import annotations

from eth_account import Account

from ledger.merkle import MerkleTree
from ledger.records import (
    ActionKind,
    Anchor,
    Dossier,
    Extension,
    JudgmentStatus,
    JudgmentStatusChange,
    Removal,
    RemovalReason,
    Translation,
    sha256_digest,
    translations_root,
)
from tests.conftest import Court, fund
from tests.contracts.helpers import (
    YEAR,
    action,
    anchor,
    chain_now,
    filing,
    judgment,
    listing,
    next_court_id,
    receipt_of,
    subject,
)

JUDGMENT_GAS_LIMIT = 55_000
ANCHOR_GAS_PER_DIGEST = 60


def test_gas_of_every_write(ledger, governor, funder, new_court, relayer):
    rows: list[tuple[str, int]] = []

    def note(label: str, written_or_receipt) -> int:
        gas = int(receipt_of(ledger, written_or_receipt)["gasUsed"])
        rows.append((label, gas))
        return gas

    def submit(label, signer, record, delegated=False):
        w = ledger.submit(signer, record, relayer=relayer if delegated else None)
        note(label, w)
        return w

    # governance (4 registries attached: every act that changes a writer pushes it to each)
    high = new_court()
    court_id, signer = next_court_id(), Account.create()
    fund(ledger.chain, funder, signer.address)
    note("admitCourt", ledger.admit_court(governor, court_id, "CN-BJ", high.id, signer.address))
    second = Account.create()
    note("addSigner", ledger.governance(governor, "addSigner", court_id, second.address))

    court = Court(court_id, signer, "CN-BJ")

    # judgments
    j1 = submit("recordJudgment", signer, judgment(court, 1))
    j2 = submit("recordJudgmentBySig", signer, judgment(court, 2), delegated=True)
    j3 = submit("recordJudgment (2nd, same court)", signer, judgment(court, 3))
    submit(
        "changeStatus",
        signer,
        JudgmentStatusChange(judgment_id=j3.record_id, status=JudgmentStatus.UNDER_APPEAL, sequence=0),
    )
    submit(
        "changeStatusBySig (Superseded)",
        signer,
        JudgmentStatusChange(
            judgment_id=j3.record_id, status=JudgmentStatus.SUPERSEDED, superseded_by=j1.record_id, sequence=1
        ),
        delegated=True,
    )
    submit(
        "changeStatus (appellate court)",
        high.signer,
        JudgmentStatusChange(judgment_id=j2.record_id, status=JudgmentStatus.SATISFIED, sequence=0),
    )

    # dossiers
    submit("fileDossier", signer, Dossier(judgment_id=j1.record_id, by_default=True,
                                          complete_copy=sha256_digest(b"copy"),
                                          proof_of_service=sha256_digest(b"service"), sequence=0))
    submit("fileDossierBySig (2nd version)", signer,
           Dossier(judgment_id=j1.record_id, by_default=True, complete_copy=sha256_digest(b"copy"),
                   proof_of_service=sha256_digest(b"service"),
                   translations_root=translations_root([Translation(language="en", digest=sha256_digest(b"en"))]),
                   sequence=1), delegated=True)

    # enforcement
    case = submit("openCase", signer, filing(court, j1.record_id, 1)).record_id
    submit("openCaseBySig", signer, filing(court, j1.record_id, 2), delegated=True)
    submit("recordAction (Notice)", signer, action(case, 0, ActionKind.NOTICE))
    submit(
        "recordActionBySig (AssetInquiry)",
        signer,
        action(case, 1, ActionKind.ASSET_INQUIRY, detail=3),
        delegated=True,
    )
    submit("recordAction (PaymentReceived)", signer, action(case, 2, ActionKind.PAYMENT_RECEIVED, 16_000))
    submit("recordAction (Disbursement)", signer, action(case, 3, ActionKind.DISBURSEMENT, 16_000))

    # defaulters
    lst = listing(court, case, subject("gas-1"), chain_now(ledger) - 50)
    submit("list", signer, lst)
    submit("extend", signer, Extension(listing_id=lst.record_id(), until=lst.until + YEAR, sequence=0))
    submit("remove", signer, Removal(listing_id=lst.record_id(), reason=RemovalReason.PERFORMED, sequence=1))
    lst2 = listing(court, case, subject("gas-2"), chain_now(ledger) - 50)
    submit("listBySig", signer, lst2, delegated=True)
    submit(
        "extendBySig",
        signer,
        Extension(listing_id=lst2.record_id(), until=lst2.until + YEAR, sequence=0),
        delegated=True,
    )
    submit(
        "removeBySig",
        signer,
        Removal(listing_id=lst2.record_id(), reason=RemovalReason.CASE_ENDED, sequence=1),
        delegated=True,
    )

    # notary: one root for 1,000 digests
    values = [sha256_digest(f"gas batch {court_id}/{i}".encode()) for i in range(1000)]
    tree = MerkleTree.build_notary([(v, sha256_digest(v)) for v in values])
    anchor_gas = submit(
        "anchor (1,000 digests)",
        signer,
        Anchor(court=court.id, root=tree.root, size=1000, metadata_digest=sha256_digest(b"meta")),
    ).gas_used
    submit("anchorBySig", signer, anchor(court, "gas"), delegated=True)

    # the rest of governance
    note("retireSigner", ledger.governance(governor, "retireSigner", second.address))
    note("suspendCourt (2 signers)", ledger.governance(governor, "suspendCourt", court_id))
    note("reinstateCourt (2 signers)", ledger.governance(governor, "reinstateCourt", court_id))
    note("retireCourt (2 signers)", ledger.governance(governor, "retireCourt", court_id))
    note(
        "admitCourt (no appellate)",
        ledger.admit_court(governor, next_court_id(), "CN-SH", 0, Account.create().address),
    )

    print(f"\ngas used ({ledger.chain.kind} chain)")
    for label, gas in rows:
        print(f"  {label:<36} {gas:>8,}")

    judgment_gas = dict(rows)["recordJudgment"]
    assert judgment_gas <= JUDGMENT_GAS_LIMIT, f"a judgment record costs {judgment_gas} gas"
    assert anchor_gas <= ANCHOR_GAS_PER_DIGEST * 1000, f"a 1,000-digest anchor costs {anchor_gas} gas"
