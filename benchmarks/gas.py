"""Gas of every write, per record kind, with the calldata floor beside it; notary batches; EAS as the peer.

Every figure is ``gasUsed`` from the receipt of a real transaction on anvil (Prague rules, so EIP-7623's
calldata floor applies). Beside each write: its calldata size, the EIP-2028 intrinsic cost (21,000 plus
16 gas per nonzero and 4 per zero calldata byte), and the EIP-7623 floor (21,000 plus 10 gas per token,
a token being a zero byte or a quarter of a nonzero byte). ``gasUsed`` minus the intrinsic cost is what
the contract's execution costs; no implementation of the same record with the same calldata can go
below the intrinsic cost.
"""

from __future__ import annotations

import os
import statistics
from datetime import date
from typing import Any

from eth_account import Account

from benchmarks.common import Context, Goal
from benchmarks.harness import ChainEnv
from ledger.client import Ledger, Written
from ledger.merkle import MerkleTree
from ledger.records import (
    Action,
    ActionKind,
    Anchor,
    CaseNumberKey,
    Extension,
    Filing,
    Ground,
    Judgment,
    JudgmentStatus,
    JudgmentStatusChange,
    Listing,
    Removal,
    RemovalReason,
    Restriction,
    case_number_digest,
    sha256_digest,
)

NAME = "gas"
JUDGMENT_GOAL = Goal("<=", 55_000)
NOTARY_GOAL = Goal("<=", 60, "<= 60 at 1,000")

#: K_case of the benchmark network (a fixed key: digests of the same case number stay comparable).
CASE_KEY = CaseNumberKey(bytes.fromhex("be" * 32))


def shared_chain(ctx: Context) -> ChainEnv:
    return ctx.shared("chain", lambda: ChainEnv(ctx.tmp / "chain"), lambda env: env.close())


def calldata_costs(data: bytes) -> dict[str, int]:
    """Intrinsic cost under EIP-2028 and the EIP-7623 floor for a call with this calldata."""
    zero = data.count(0)
    nonzero = len(data) - zero
    return {
        "calldata_bytes": len(data),
        "zero_bytes": zero,
        "nonzero_bytes": nonzero,
        "intrinsic": 21_000 + 4 * zero + 16 * nonzero,
        "floor_7623": 21_000 + 10 * (zero + 4 * nonzero),
    }


class GasBook:
    """Records one write's gas with its calldata costs."""

    def __init__(self, ctx: Context, env: ChainEnv) -> None:
        self.ctx = ctx
        self.env = env

    def tx_input(self, tx_hash: Any) -> bytes:
        return bytes(self.env.w3.eth.get_transaction(tx_hash)["input"])

    def record(
        self,
        name: str,
        gas_used: int,
        tx_hash: Any,
        *,
        system: str = "ledger",
        goal: Goal | None = None,
        note: str = "",
        per: int | None = None,
    ) -> None:
        costs = calldata_costs(self.tx_input(tx_hash))
        extra: dict[str, Any] = {**costs, "execution": gas_used - costs["intrinsic"], "system": system}
        if per:
            extra["per_item"] = gas_used / per
        self.ctx.record(name, gas_used, "gas", goal=goal, note=note, extra=extra)

    def written(self, name: str, w: Written, **kw: Any) -> Written:
        self.record(name, w.gas_used, w.transaction_hash, **kw)
        return w

    def receipt(self, name: str, receipt: Any, **kw: Any) -> Any:
        self.record(name, int(receipt["gasUsed"]), receipt["transactionHash"], **kw)
        return receipt


def judgment(court: int, n: int) -> Judgment:
    return Judgment(
        court=court,
        case_number_digest=case_number_digest(CASE_KEY, f"(2024)京0108民初{10_000 + n}号"),
        document_digest=sha256_digest(f"gas benchmark judgment {court}/{n}".encode()),
        parties_commitment=sha256_digest(f"parties {court}/{n}".encode()),
        amount=1_300_000 + n,
        currency="CNY",
        judgment_date=date(2024, 3, 1),
        effective_date=date(2024, 3, 18),
    )


def run(ctx: Context) -> None:
    env = shared_chain(ctx)
    ledger: Ledger = env.ledger
    book = GasBook(ctx, env)
    relayer = env.relayer
    court, _ = env.new_court()
    signer = court.signer

    # -- judgments ------------------------------------------------------------------------------
    samples = [ledger.submit(signer, judgment(court.id, n)) for n in range(5)]
    gases = [w.gas_used for w in samples]
    j1, j2, j3 = samples[0], samples[1], samples[2]
    book.record(
        "judgment (direct)",
        int(statistics.median(gases)),
        samples[2].transaction_hash,
        goal=JUDGMENT_GOAL,
        note=f"median of {len(gases)}, range {min(gases):,}-{max(gases):,}",
    )
    book.written("judgment (relayer, BySig)", ledger.submit(signer, judgment(court.id, 100), relayer=relayer))

    # -- status changes -------------------------------------------------------------------------
    def change(w: Written, status: JudgmentStatus, seq: int, successor: bytes = b"\x00" * 32) -> JudgmentStatusChange:
        return JudgmentStatusChange(judgment_id=w.record_id, status=status, superseded_by=successor, sequence=seq)

    book.written(
        "status change: effective -> under appeal", ledger.submit(signer, change(j1, JudgmentStatus.UNDER_APPEAL, 0))
    )
    book.written(
        "status change: under appeal -> effective (BySig)",
        ledger.submit(signer, change(j1, JudgmentStatus.EFFECTIVE, 1), relayer=relayer),
    )
    book.written(
        "status change: -> superseded (stores successor)",
        ledger.submit(signer, change(j1, JudgmentStatus.SUPERSEDED, 2, j2.record_id)),
    )
    book.written(
        "status change: effective -> satisfied", ledger.submit(signer, change(j3, JudgmentStatus.SATISFIED, 0))
    )

    # -- enforcement case and every action kind ---------------------------------------------------
    j4, j5 = samples[3], samples[4]
    filing = Filing(
        court=court.id,
        judgment_id=j4.record_id,
        case_number_digest=case_number_digest(CASE_KEY, "(2024)京0108执1号"),
        amount_due=10_000_000,
        filed_at=date(2024, 4, 1),
    )
    case = book.written("case filing (direct)", ledger.submit(signer, filing)).record_id
    filing2 = Filing(
        court=court.id,
        judgment_id=j5.record_id,
        case_number_digest=case_number_digest(CASE_KEY, "(2024)京0108执2号"),
        amount_due=10_000_000,
        filed_at=date(2024, 4, 2),
    )
    case2 = book.written("case filing (BySig)", ledger.submit(signer, filing2, relayer=relayer)).record_id

    k = ActionKind
    plan: list[tuple[str, dict[str, Any]]] = [
        ("notice (first action of the case)", {"kind": k.NOTICE}),
        ("property report order", {"kind": k.PROPERTY_REPORT_ORDER}),
        ("asset inquiry (sets assets-inquired)", {"kind": k.ASSET_INQUIRY, "detail": 0b11}),
        ("freeze", {"kind": k.FREEZE}),
        ("seal", {"kind": k.SEAL}),
        ("seize", {"kind": k.SEIZE}),
        ("valuation (amount, no state)", {"kind": k.VALUATION, "amount": 6_000_000}),
        ("auction listed (pending 0 -> 1)", {"kind": k.AUCTION_LISTED, "amount": 5_940_000}),
        ("auction failed (pending 1 -> 0)", {"kind": k.AUCTION_FAILED}),
        ("auction listed again", {"kind": k.AUCTION_LISTED, "amount": 4_750_000}),
        (
            "auction sold (rounds, extensions)",
            {"kind": k.AUCTION_SOLD, "amount": 4_750_000, "detail": Action.auction_detail(19, 14)},
        ),
        ("deduction (first recovery: 0 -> amount)", {"kind": k.DEDUCTION, "amount": 100_000}),
        ("payment received (adds to recovered)", {"kind": k.PAYMENT_RECEIVED, "amount": 4_750_000}),
        ("disbursement (first: 0 -> amount)", {"kind": k.DISBURSEMENT, "amount": 4_000_000}),
        ("settlement", {"kind": k.SETTLEMENT}),
        ("consumption restriction", {"kind": k.CONSUMPTION_RESTRICTION}),
        ("defaulter listing (action)", {"kind": k.DEFAULTER_LISTING}),
        ("termination for lack of assets (state)", {"kind": k.TERMINATION_NO_ASSETS}),
        ("resumption (state)", {"kind": k.RESUMPTION}),
        ("conclusion (state)", {"kind": k.CONCLUSION}),
    ]
    for seq, (label, fields) in enumerate(plan):
        book.written(f"action: {label}", ledger.submit(signer, Action(case_id=case, sequence=seq, **fields)))
    book.written(
        "action: notice (BySig)",
        ledger.submit(signer, Action(case_id=case2, sequence=0, kind=k.NOTICE), relayer=relayer),
    )

    # -- defaulter listings -----------------------------------------------------------------------
    now = env.block_time()
    restrictions = Restriction.FLIGHTS | Restriction.RAIL | Restriction.HIGH_CONSUMPTION

    def listing(subject: bytes) -> Listing:
        return Listing(
            court=court.id,
            subject=subject,
            case_id=case2,
            ground=Ground.ABLE_BUT_REFUSES,
            restrictions=restrictions,
            listed_at=now,
            until=now + 730 * 86400,
        )

    s1, s2 = sha256_digest(b"blind index 1"), sha256_digest(b"blind index 2")
    l1 = book.written("listing (direct)", ledger.submit(signer, listing(s1)))
    book.written("listing (BySig)", ledger.submit(signer, listing(s2), relayer=relayer))
    again = Listing(
        court=court.id,
        subject=s1,
        case_id=case2,
        ground=Ground.VIOLATES_PROPERTY_REPORT,
        restrictions=Restriction.LOANS_AND_CARDS,
        listed_at=now,
        until=now + 365 * 86400,
    )
    l3 = book.written("listing (subject already listed)", ledger.submit(signer, again))
    book.written(
        "extension (+1 year)",
        ledger.submit(signer, Extension(listing_id=l1.record_id, until=listing(s1).until + 365 * 86400, sequence=0)),
    )
    book.written(
        "removal (after an extension)",
        ledger.submit(signer, Removal(listing_id=l1.record_id, reason=RemovalReason.PERFORMED, sequence=1)),
    )
    book.written(
        "removal (BySig)",
        ledger.submit(
            signer, Removal(listing_id=l3.record_id, reason=RemovalReason.APPLICANT_AGREED, sequence=0), relayer=relayer
        ),
    )

    # -- notary anchors: one transaction per batch, whatever its size --------------------------------
    sizes = ctx.pick([1, 100, 1_000], [1, 100, 1_000, 10_000])
    big_tree: MerkleTree | None = None
    nonces: dict[bytes, bytes] = {}
    for size in sizes:
        entries = [(os.urandom(32), os.urandom(32)) for _ in range(size)]
        nonces = dict(entries)
        tree = MerkleTree.build_notary(entries)
        w = ledger.submit(signer, Anchor(court=court.id, root=tree.root, size=size))
        book.written(f"anchor of a {size:,}-digest batch", w, per=size)
        ctx.record(
            "notary gas per digest",
            w.gas_used / size,
            "gas/digest",
            size=size,
            basis="computed",
            goal=NOTARY_GOAL if size == 1_000 else None,
            note="one anchor transaction / batch size",
        )
        big_tree = tree
    tree = MerkleTree.build_notary([(os.urandom(32), os.urandom(32)) for _ in range(1_000)])
    book.written(
        "anchor (BySig, as the notary service sends it)",
        ledger.submit(signer, Anchor(court=court.id, root=tree.root, size=1_000), relayer=relayer),
    )
    if big_tree is not None:
        value = big_tree.values[0]
        proof = big_tree.proof(value)
        contract = ledger.contract("NotaryAnchor")
        data = contract.encode_abi("verifyInclusion", args=[court.id, big_tree.root, value, nonces[value], proof])
        estimate = env.w3.eth.estimate_gas({"to": contract.address, "data": data})
        costs = calldata_costs(bytes.fromhex(data[2:]))
        ctx.record(
            "verifyInclusion on chain (estimate)",
            estimate,
            "gas",
            size=len(big_tree),
            note=f"{len(proof)}-step proof, as a transaction would pay; a view call is free",
            extra=costs,
            execution=estimate - costs["intrinsic"],
            system="ledger",
        )

    # -- governance acts (each pushed to the four attached registries) ----------------------------------
    other, admit_receipt = env.new_court()
    book.receipt("governance: admitCourt (with first signer)", admit_receipt)
    extra_signer = Account.create()  # addSigner needs an address no court uses
    book.receipt("governance: addSigner", ledger.governance(env.governor, "addSigner", other.id, extra_signer.address))
    book.receipt("governance: retireSigner", ledger.governance(env.governor, "retireSigner", extra_signer.address))
    book.receipt("governance: suspendCourt (1 signer)", ledger.governance(env.governor, "suspendCourt", other.id))
    book.receipt("governance: reinstateCourt (1 signer)", ledger.governance(env.governor, "reinstateCourt", other.id))

    # -- the peer: Ethereum Attestation Service, same chain, same run ----------------------------------
    if ctx.only is None or "eas" not in ctx.only:  # `--only gas,eas` would otherwise run it twice
        from benchmarks import eas

        reference = j2.record
        assert isinstance(reference, Judgment)
        eas.run(ctx, reference=reference)
