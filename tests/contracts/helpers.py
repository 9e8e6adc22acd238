"""Helpers shared by the contract tests: raw calls, revert and event assertions, record factories.

Record factories build valid records; tests that need an invalid one (which the pydantic models
reject) use ``Model.model_construct(...)``, which skips validation but encodes and signs the same way.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from ledger.client import Ledger, _revert_data, decode_revert
from ledger.errors import ContractRevertError
from ledger.records import (
    Action,
    ActionKind,
    Anchor,
    Filing,
    Ground,
    Judgment,
    Listing,
    Record,
    Restriction,
    case_number_digest,
    sha256_digest,
)
from tests.conftest import CASE_KEY, Court, fund, make_judgment

ZERO32 = b"\x00" * 32
DAY = 86_400
YEAR = 365 * DAY
REGISTRIES = ("JudgmentRegistry", "EnforcementRegistry", "DefaulterRegistry", "NotaryAnchor")

# WriterState of ICourtAuthorized
W_NONE, W_ACTIVE, W_SIGNER_RETIRED, W_COURT_SUSPENDED, W_COURT_RETIRED = range(5)
# CourtStatus of ICourtRegistry
C_NONE, C_ACTIVE, C_SUSPENDED, C_RETIRED = range(4)

GOVERNOR_ROLE = keccak(b"GOVERNOR_ROLE")
DEFAULT_ADMIN_ROLE = ZERO32

# Court ids for module-scoped fixtures, disjoint from conftest's counter (which stays below ~2.0e9).
_ids = itertools.count(random.SystemRandom().randrange(2_100_000_000, 4_000_000_000))


def next_court_id() -> int:
    return next(_ids)


def admit(
    ledger: Ledger,
    governor: LocalAccount,
    funder: LocalAccount,
    appellate: int = 0,
    jurisdiction: str = "CN-BJ",
    funded: bool = True,
) -> Court:
    """Like conftest's ``new_court``, usable outside a function-scoped fixture."""
    court_id = next_court_id()
    signer: LocalAccount = Account.create()
    if funded:
        fund(ledger.chain, funder, signer.address)
    ledger.admit_court(governor, court_id, jurisdiction, appellate, signer.address)
    return Court(court_id, signer, jurisdiction)


def funded_account(ledger: Ledger, funder: LocalAccount) -> LocalAccount:
    account: LocalAccount = Account.create()
    fund(ledger.chain, funder, account.address)
    return account


GAS_LIMIT = 6_000_000


@contextmanager
def dry_run_then_send(ledger: Ledger) -> Iterator[None]:
    """Within the block, ``ledger``'s writes dry-run with eth_call, then send with a fixed gas limit
    instead of estimating gas (see conftest.py)."""
    original = ledger.transact

    def transact(sender: LocalAccount, to: str, data: str, **fields: Any) -> Any:
        if "gas" not in fields:
            try:
                ledger.w3.eth.call({"from": sender.address, "to": to, "data": data})
            except ContractLogicError as exc:
                raise decode_revert(_revert_data(exc)) from None
            fields["gas"] = GAS_LIMIT
        return original(sender, to, data, **fields)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ledger, "transact", transact)
        yield


def send_batch(ledger: Ledger, txs: list[tuple[LocalAccount, str | None, str | bytes]]) -> list[Any]:
    """Send (sender, to, data) transactions back to back (nonces counted here, no estimation, no dry
    run), then wait for all of them; each must succeed. ``to=None`` deploys. Order is kept."""
    w3 = ledger.w3
    nonces: dict[str, int] = {}
    fees = ledger.chain.fees()
    hashes = []
    for sender, to, data in txs:
        if sender.address not in nonces:
            nonces[sender.address] = w3.eth.get_transaction_count(sender.address, "pending")
        tx: dict[str, Any] = {
            "data": data,
            "nonce": nonces[sender.address],
            "gas": GAS_LIMIT,
            "chainId": ledger.chain.chain_id,
            **fees,
        }
        if to is not None:
            tx["to"] = to
        nonces[sender.address] += 1
        hashes.append(w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction))
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=120, poll_latency=0.01) for h in hashes]
    failed = [i for i, r in enumerate(receipts) if r["status"] != 1]
    assert not failed, f"transactions {failed} of the batch reverted"
    return receipts


def submit_batch(ledger: Ledger, items: list[tuple[LocalAccount, Record, LocalAccount | None]]) -> list[Any]:
    """Write (signer, record, relayer or None) records back to back; returns the receipts."""
    txs: list[tuple[LocalAccount, str | None, str | bytes]] = []
    for signer, record, relayer in items:
        signature = ledger.sign(signer, record) if relayer is not None else None
        to, data = ledger.call_data(record, signature)
        txs.append((relayer or signer, to, data))
    return send_batch(ledger, txs)


def governance_batch(ledger: Ledger, governor: LocalAccount, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    c = ledger.contract("CourtRegistry")
    return send_batch(ledger, [(governor, c.address, c.encode_abi(fn, args=args)) for fn, args in calls])


# -- calls, reverts, events ----------------------------------------------------------------------


def call(ledger: Ledger, sender: LocalAccount, contract: str, function: str, *args: Any) -> Any:
    """Send any contract function from ``sender``; returns the receipt (reverts raise)."""
    c = ledger.contract(contract)
    return ledger.transact(sender, c.address, c.encode_abi(function, args=list(args)))


def struct(record: Record) -> tuple[Any, ...]:
    """A record as the ABI tuple the contracts take."""
    msg = record.message()
    return tuple(msg[name] for name, _, _ in record.FIELDS)


def _norm(args: dict[str, Any]) -> dict[str, Any]:
    """Addresses compared case-insensitively (eth-abi decodes them lower-case)."""
    return {
        k: to_checksum_address(v) if isinstance(v, str) and len(v) == 42 and v.startswith("0x") else v
        for k, v in args.items()
    }


def expect_revert(thunk: Callable[[], Any], error: str, **arguments: Any) -> ContractRevertError:
    """Run ``thunk``; it must revert with custom error ``error`` and exactly ``arguments``."""
    with pytest.raises(ContractRevertError) as exc:
        thunk()
    assert exc.value.error == error, f"expected {error}, got {exc.value}"
    assert _norm(exc.value.arguments) == _norm(arguments), f"{error}: arguments {exc.value.arguments} != {arguments}"
    return exc.value


def receipt_of(ledger: Ledger, written_or_receipt: Any) -> Any:
    tx_hash = getattr(written_or_receipt, "transaction_hash", None)
    if tx_hash is None:
        return written_or_receipt
    return ledger.w3.eth.get_transaction_receipt(tx_hash)


def events(
    ledger: Ledger, written_or_receipt: Any, contract: str, event: str, address: str | None = None
) -> list[dict[str, Any]]:
    """The ``event`` logs of ``contract`` (at its deployed address, or ``address``) in a receipt."""
    receipt = receipt_of(ledger, written_or_receipt)
    c = ledger.contract(contract)
    where = to_checksum_address(address or c.address)
    decoded = getattr(c.events, event)().process_receipt(receipt, errors=DISCARD)
    return [dict(e["args"]) for e in decoded if to_checksum_address(e["address"]) == where]


def one_event(ledger: Ledger, written_or_receipt: Any, contract: str, event: str) -> dict[str, Any]:
    found = events(ledger, written_or_receipt, contract, event)
    assert len(found) == 1, f"{len(found)} {event} events"
    return found[0]


def block_time(ledger: Ledger, written_or_receipt: Any) -> int:
    receipt = receipt_of(ledger, written_or_receipt)
    return int(ledger.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def chain_now(ledger: Ledger) -> int:
    return int(ledger.w3.eth.get_block("latest")["timestamp"])


# -- writer cache ----------------------------------------------------------------------------------


def expected_writer_state(ledger: Ledger, signer: str) -> tuple[int, int]:
    """(court, WriterState) as CourtRegistry.activeCourtOf sees it now."""
    info = ledger.signer(signer)
    try:
        court = ledger.view("CourtRegistry", "activeCourtOf", to_checksum_address(signer))
    except ContractRevertError as exc:
        if exc.error == "CourtRegistryUnknownSigner":
            return 0, W_NONE
        if exc.error == "CourtRegistrySignerRetired":
            return info["court"], W_SIGNER_RETIRED
        assert exc.error == "CourtRegistryCourtNotActive", exc
        status = exc.arguments["status"]
        assert status in (C_SUSPENDED, C_RETIRED)
        return info["court"], W_COURT_SUSPENDED if status == C_SUSPENDED else W_COURT_RETIRED
    assert court == info["court"]
    return court, W_ACTIVE


def assert_writers_consistent(ledger: Ledger, signers: list[str]) -> None:
    """Every attached registry's writerOf(signer) agrees with the court registry."""
    attached = [to_checksum_address(a) for a in ledger.view("CourtRegistry", "attachedRegistries")]
    assert sorted(attached) == sorted(to_checksum_address(ledger.deployment.address(n)) for n in REGISTRIES)
    for signer in signers:
        expected = expected_writer_state(ledger, signer)
        for name in REGISTRIES:
            got = tuple(ledger.view(name, "writerOf", to_checksum_address(signer)))
            assert got == expected, f"{name}.writerOf({signer}) = {got}, court registry says {expected}"


def court_signers(ledger: Ledger, court: int) -> list[str]:
    return list(ledger.view("CourtRegistry", "signersOf", court))


# -- records ---------------------------------------------------------------------------------------


def judgment(court: Court | int, n: int = 0, **changes: Any) -> Judgment:
    return make_judgment(court.id if isinstance(court, Court) else court, n, **changes)


def filing(court: Court | int, judgment_id: bytes, n: int = 0, amount_due: int = 1_300_000) -> Filing:
    court_id = court.id if isinstance(court, Court) else court
    return Filing(
        court=court_id,
        judgment_id=judgment_id,
        case_number_digest=case_number_digest(CASE_KEY, f"(2019)京0105执{court_id}-{n}号"),
        amount_due=amount_due,
        filed_at=date(2019, 1, 1),
    )


def action(
    case_id: bytes,
    sequence: int,
    kind: ActionKind,
    amount: int = 0,
    detail: int = 0,
    flags: int = 0,
    document: bytes | None = None,
) -> Action:
    return Action(
        case_id=case_id,
        sequence=sequence,
        kind=kind,
        amount=amount,
        detail=detail,
        document_digest=document if document is not None else sha256_digest(f"{kind.name}/{sequence}".encode()),
        flags=flags,
    )


def subject(tag: str) -> bytes:
    """A stand-in blind index (on chain only ever an opaque 32-byte value)."""
    return keccak(b"blind-index:" + tag.encode() + random.randbytes(8))


def listing(
    court: Court | int,
    case_id: bytes,
    subject_: bytes,
    listed_at: int,
    *,
    period: int = 730 * DAY,
    restrictions: int = Restriction.FLIGHTS | Restriction.RAIL,
    ground: Ground = Ground.ABLE_BUT_REFUSES,
) -> Listing:
    return Listing(
        court=court.id if isinstance(court, Court) else court,
        subject=subject_,
        case_id=case_id,
        ground=ground,
        restrictions=Restriction(restrictions),
        listed_at=listed_at,
        until=listed_at + period,
    )


def anchor(court: Court | int, tag: str, size: int = 3) -> Anchor:
    return Anchor(
        court=court.id if isinstance(court, Court) else court,
        root=keccak(b"root:" + tag.encode() + random.randbytes(8)),
        size=size,
        metadata_digest=sha256_digest(f"batch {tag}".encode()),
    )


def open_case(ledger: Ledger, court: Court, n: int = 0, amount_due: int = 1_300_000) -> tuple[bytes, bytes]:
    """Record a judgment and open a case on it (2 transactions): (judgment id, case id)."""
    j = ledger.submit(court.signer, judgment(court, n))
    f = ledger.submit(court.signer, filing(court, j.record_id, n, amount_due))
    return j.record_id, f.record_id


def list_subject(ledger: Ledger, court: Court, case_id: bytes, tag: str = "s", **kw: Any) -> tuple[bytes, Listing]:
    """List a fresh subject on ``case_id`` starting a little before now (1 transaction)."""
    record = listing(court, case_id, subject(tag), chain_now(ledger) - 100, **kw)
    ledger.submit(court.signer, record)
    return record.record_id(), record
