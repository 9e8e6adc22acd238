"""The outbox worker: signs, sends and follows every accepted write until it is confirmed or failed.

Contract
--------
One background thread. At most once a second, and first after a failed pass, a pass checks that the chain
still holds the block of the newest settled entry; entries settled in blocks the node lost (anvil killed
between two state dumps, a reorganisation) go back to ``submitted`` and are followed like any other. A
failed pass also lets a ``local`` chain follow its node to the port it was restarted on
(:meth:`ledger.chain.Chain.reconnect`). Then the pass walks the lanes with open entries (the governance
lane first, then one lane per court) and, per lane:

1. **Follows what is in flight** (``submitted``, in nonce order). A receipt moves the entry to
   ``confirmed`` (status 1; block number, hash, time and gas stored) or ``failed`` (status 0; the call is
   replayed one block earlier to decode the revert into its custom error name and arguments). Without a
   receipt, a transaction the node does not know (node restarted, mempool lost, service crashed between
   storing and sending) is sent again: the same raw bytes, the same nonce, never signed anew. A node
   answering "nonce too low" for it while it has no receipt (nor any transaction it replaced) means
   another transaction took the nonce, or the node does not serve this one's receipt yet: the entry
   goes back to ``accepted``, keeping the transaction among its previous ones, and is signed again with
   a new nonce.
2. **Sends what was accepted**, in acceptance order, stopping at the first entry that cannot go yet
   (order is kept per lane). Court entries also wait for every earlier governance act (a court admitted a
   moment ago must be on chain before its first judgment). The worker estimates gas; a revert with nothing
   earlier of this lane in flight fails the entry with the decoded error; with something in flight it
   waits, because the entry may depend on it (a filing on its judgment). Then, under the nonce lock:
   nonce = the stored counter or the node's pending count (see :meth:`Outbox.next_nonce`), EIP-712 record
   signature and transaction signed with the court's signer key, raw transaction and nonce committed to
   the outbox, and only then sent.

Each court's records are sent by its own signer account (one sender per court signer); governance acts
and signer funding by the governance account.

An entry signed before may already be written by one of its own earlier transactions (mined while the
worker missed its receipt); the search is the pipeline's (:mod:`ledger.pipeline.earlier`, over the
entry's transactions in the journal, :mod:`ledger.pipeline.journal`). Before signing such an entry
again, the receipts of its previous transactions are checked (the cheap path). When estimation, or a
mined transaction, reverts with the error of a record already written under the entry's own id
(``JudgmentRegistryAlreadyRecorded``, ``EnforcementRegistryCaseExists``,
``DefaulterRegistryAlreadyListed``, ``NotaryAnchorAlreadyAnchored``), or, for a change, of its sequence
number already used (see :func:`says_already_written`), the record's event is looked up with
``eth_getLogs`` (topic 1 the record's id, from a little below the block the entry was first signed at).
A log whose fields match the record, from a transaction with exactly the entry's call sent by a key this
service holds for the court, confirms the entry with that transaction (noted on the entry); a log of
another transaction leaves the entry failed, the error naming it and how it differs. When nothing is
found but the entry gave up transactions of its own, the search is repeated each second for
``search_grace`` seconds before the entry fails: a node just restarted may serve its state before the
receipts and logs of its last blocks. """

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.exceptions import ProviderConnectionError, Web3RPCError

from api.outbox import GOVERNANCE_LANE, Adopted, Entry, Outbox
from api.signers import Signers
from api.written import TRACES as _TRACES
from api.written import Judge, creation_of, error_of, says_already_written
from api.written import plain as _plain
from api.written import target as _target
from ledger.chain import Chain, first_block_at
from ledger.client import Ledger, case_number_code_bytes, jurisdiction_bytes
from ledger.errors import ChainUnavailableError, ConfigurationError, ContractRevertError
from ledger.pipeline import Pipeline, Refusal, Refused, earlier
from ledger.pipeline.core import Signed
from ledger.pipeline.journal import JournalRow
from ledger.pipeline.lost import recheck_journal
from ledger.pipeline.rpc import message as _message
from ledger.records import (
    CONTRACT_OF,
)

__all__ = ["COURT_ACT_FUNCTIONS", "GOVERNANCE_FUNCTIONS", "OutboxWorker", "follow_restarted_node"]

log = logging.getLogger("api.worker")

#: governance entry kind -> CourtRegistry function
GOVERNANCE_FUNCTIONS = {
    "admit_court": "admitCourt",
    "suspend_court": "suspendCourt",
    "reinstate_court": "reinstateCourt",
    "retire_court": "retireCourt",
    "add_signer": "addSigner",
    "retire_signer": "retireSigner",
    "set_case_number_code": "setCaseNumberCode",
}
#: court act entry kind -> EnforcementRegistry function (sent by the court's own signer, on its lane)
COURT_ACT_FUNCTIONS = {"delegate_enforcement": "delegateEnforcement"}

_SENT, _WAIT, _DONE = "sent", "wait", "done"


def follow_restarted_node(chain: Chain) -> None:
    """After a failed call: if the local node was restarted elsewhere, connect to it (see Chain.reconnect)."""
    try:
        if chain.reconnect():
            log.warning("the chain node was restarted; connected to it at %s", chain.url)
    except Exception as exc:
        log.warning("cannot reconnect to the chain node yet: %s", exc)


@dataclass(frozen=True)
class _Found:
    """An earlier transaction of an entry that recorded it: settle the entry with it."""

    receipt: Any
    adopted: Adopted
    note: str


class OutboxWorker:
    """Drives outbox entries to a final state. ``run_once`` does one pass (tests call it directly)."""

    def __init__(
        self,
        ledger: Ledger,
        outbox: Outbox,
        signers: Signers,
        governor: LocalAccount,
        *,
        interval: float = 0.1,
        resend_after: float = 2.0,
        recheck_interval: float = 1.0,
        log_search_margin: int = 128,
        search_grace: float = 10.0,
        on_finished: Callable[[Entry], None] | None = None,
        pipeline: Pipeline | None = None,
        group_size: int = 32,
    ) -> None:
        self.ledger = ledger
        self.w3 = ledger.w3
        self.outbox = outbox
        self.signers = signers
        self.governor = governor
        self.interval = interval
        self.pipeline = pipeline or Pipeline(ledger.chain, nonces=outbox, resend_after=resend_after)
        self.on_finished = on_finished
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_broadcast: dict[str, float] = {}
        self.recheck_interval = recheck_interval
        self._recheck_due = 0.0
        self.log_search_margin = log_search_margin
        self.search_grace = search_grace
        self._searching: dict[str, tuple[float, float]] = {}  # entry -> (first search, next search)
        self.group_size = group_size
        self._block_times: dict[int, int] = {}  # block number -> timestamp, read in one batch per look

    # -- thread --------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception as exc:  # the loop must survive a node restart or a transient fault
                log.warning("outbox pass failed: %s: %s", type(exc).__name__, exc)
                busy = 0
                self._recheck_due = 0.0  # after the node comes back, look for blocks it lost first
                self._stop.wait(1.0)
                follow_restarted_node(self.ledger.chain)
            if not busy:
                self._wake.wait(self.interval)
                self._wake.clear()

    # -- one pass ------------------------------------------------------------------------------

    def run_once(self) -> int:
        progressed = 0
        self.pipeline.fees.forget()
        now = time.monotonic()
        if now >= self._recheck_due:
            self._recheck_due = now + self.recheck_interval
            progressed += self._recheck_settled()
        for lane in self.outbox.lanes_with_work():
            if self._stop.is_set():
                break
            progressed += self._process_lane(lane)
        return progressed

    def _process_lane(self, lane: str) -> int:
        progressed, in_flight = self._follow_lane(lane)
        accepted = self.outbox.entries(lane, "accepted")
        i = 0
        while i < len(accepted):
            entry = accepted[i]
            if lane != GOVERNANCE_LANE and self.outbox.open_governance_before(entry.seq):
                break
            sent = self._send_group(self._group_from(lane, accepted[i:]))
            if sent:
                progressed += sent
                in_flight = True
                i += sent
                continue
            outcome = self._send_new(entry, in_flight)
            if outcome == _WAIT:
                break
            progressed += 1
            if outcome == _SENT:
                in_flight = True
            i += 1
        return progressed

    # -- blocks the node lost -------------------------------------------------------------------

    def _recheck_settled(self) -> int:
        """Entries settled in blocks the chain no longer holds go back to ``submitted``; how many moved.

        A node may lose its last blocks (anvil killed between two state dumps; a reorganisation). The
        newest settled entry's block is compared with the chain's block of that number (one call when
        nothing was lost); on a difference, entries are walked newest block first until a block the
        chain still holds. An entry whose transaction was mined again elsewhere is settled from its new
        receipt; one the chain forgot is reopened, and :meth:`_follow_lane` sends the same raw transaction
        again with its nonce.
        """
        return recheck_journal(
            self.w3, self.outbox.settled_in_newest_block, mined_again=self._mined_again, lost=self._lost
        )

    def _mined_again(self, row: JournalRow, receipt: Any) -> bool:
        self._finish(self.outbox.get(_entry_id(row)), receipt)
        return True

    def _lost(self, row: JournalRow, number: int) -> None:
        entry_id = _entry_id(row)
        log.warning(
            "outbox %s: block %s that settled transaction %s is gone from the chain; sending it again",
            entry_id,
            number,
            row.tx_hash,
        )
        self.outbox.reopen(entry_id, f"block {number} was lost by the node; sending again", tx_hash=row.tx_hash)
        self._last_broadcast.pop(entry_id, None)

    # -- following -----------------------------------------------------------------------------

    def _receipt(self, tx_hash: str) -> Any:
        return self.pipeline.receipt(tx_hash)

    def _follow_lane(self, lane: str) -> tuple[int, bool]:
        """Follow the lane's transactions in flight, in nonce order (see :meth:`Pipeline.follow_many`:
        receipts in one batch, what the node lost sent again lowest nonce first); the ones mined with
        success are settled in one commit. (entries settled, whether any is still in flight)"""
        entries = self.outbox.entries(lane, "submitted")
        if not entries:
            return 0, False
        followed = self.pipeline.follow_many(
            [(e.tx_hash or "", e.raw_tx, self._last_broadcast.get(e.id)) for e in entries]
        )
        mined = [f.receipt for f in followed if f.receipt is not None and f.receipt["status"] == 1]
        self._block_times = self.pipeline.block_times([int(r["blockNumber"]) for r in mined])
        progressed = 0
        in_flight = False
        with self.outbox.group():
            for entry, found in zip(entries, followed, strict=True):
                if found.receipt is not None and found.receipt["status"] == 1:
                    self._finish(entry, found.receipt)
                    progressed += 1
        for entry, found in zip(entries, followed, strict=True):
            if found.receipt is not None:
                if found.receipt["status"] != 1:  # a revert: replayed and searched, one by one
                    self._finish(entry, found.receipt)
                    progressed += 1
                continue
            if found.looked is not None:
                self._last_broadcast[entry.id] = found.looked
            if found.refused is not None and self._refused(entry, found.refused):
                progressed += 1
                continue
            if found.stuck is not None:
                self._replace_stuck(entry, found.stuck)
            if self.outbox.get(entry.id).state == "submitted":
                in_flight = True
        self._block_times = {}
        return progressed, in_flight

    def _replace_stuck(self, entry: Entry, held: Any) -> None:
        """The node holds the entry's transaction but does not mine it, with nothing of ours before it:
        replace it at the same nonce with fees an eighth higher, or send the same bytes again where
        transactions cost nothing (nothing to raise)."""
        assert entry.sender is not None and entry.nonce is not None and entry.raw_tx is not None
        fees = self.pipeline.fees.bumped(held)
        if fees is None:
            log.warning("outbox %s: transaction %s not mined; sending it again", entry.id, entry.tx_hash)
            self._broadcast(entry)
            return
        account = self._account_for_sender(entry.sender)
        to, data, value, _ = self._payload(entry, account, sign=False)
        log.warning(
            "outbox %s: transaction %s not mined; replaced at nonce %s with higher fees",
            entry.id,
            entry.tx_hash,
            entry.nonce,
        )
        updated = self.pipeline.sign(
            account,
            (to, data, value),
            int(held["gas"]),
            lambda _nonce, raw, tx_hash, _head: self.outbox.replace_transaction(entry.id, raw, tx_hash),
            nonce=entry.nonce,
            fees=fees,
        )
        self._broadcast(updated)

    def _broadcast(self, entry: Entry) -> bool:
        """Send the stored raw transaction. True when that settled the entry (found mined)."""
        assert entry.raw_tx is not None and entry.tx_hash is not None
        self._last_broadcast[entry.id] = time.monotonic()
        refused = self.pipeline.send(entry.raw_tx)  # a lost node raises: the entry stays submitted
        return refused is not None and self._refused(entry, refused)

    def _refused(self, entry: Entry, refused: Refused) -> bool:
        """What the node's refusal of the entry's stored transaction means; True when that settled it."""
        assert entry.tx_hash is not None
        if refused.kind is Refusal.KNOWN:
            return False
        if refused.kind is Refusal.NONCE_TAKEN:
            receipt = self._receipt(entry.tx_hash)
            if receipt is not None:
                self._finish(entry, receipt)
                return True
            found = self._earlier_receipt(entry)  # a transaction this one replaced took the nonce
            if found is not None:
                self._finish(entry, found.receipt, found)
                return True
            # If it was this very transaction and the node does not serve its receipt yet, signing
            # again meets "already written" at estimation, and _written_by_this_entry finds it.
            log.warning(
                "outbox %s: nonce %s was used by another transaction; signing again",
                entry.id,
                entry.nonce,
            )
            self.outbox.back_to_accepted(entry.id, "nonce taken by another transaction; signing again")
            return False
        if refused.kind is Refusal.UNDERPRICED:
            self._reprice(entry)
            return False
        self.outbox.note(entry.id, f"send failed: {refused.message}")
        log.warning("outbox %s: sending failed: %s", entry.id, refused.message)
        return False

    def _reprice(self, entry: Entry) -> None:
        """Same nonce, current fees: replace a transaction the node refuses as underpriced."""
        assert entry.sender is not None and entry.nonce is not None
        account = self._account_for_sender(entry.sender)
        to, data, value, _ = self._payload(entry, account, sign=False)
        try:
            gas = self._estimate(account, to, data, value)
        except (ContractRevertError, Web3RPCError) as exc:
            self.outbox.note(entry.id, f"cannot reprice: {_message(exc)[:200]}")
            return
        log.info(
            "outbox %s: transaction underpriced; replaced with current fees (nonce %s)", entry.id, entry.nonce
        )
        self.pipeline.fees.forget()
        updated = self.pipeline.sign(
            account,
            (to, data, value),
            gas,
            lambda _nonce, raw, tx_hash, _head: self.outbox.replace_transaction(entry.id, raw, tx_hash),
            nonce=entry.nonce,
        )
        self._broadcast(updated)

    def _finish(self, entry: Entry, receipt: Any, found: _Found | None = None) -> None:
        """Settle the entry from a receipt: its own transaction's, or that of an earlier transaction of
        the entry (``found``) that recorded it while the entry had moved on to another one."""
        number = int(receipt["blockNumber"])
        block_hash = "0x" + bytes(receipt["blockHash"]).hex()
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        self._last_broadcast.pop(entry.id, None)
        self._searching.pop(entry.id, None)
        if receipt["status"] == 1:
            block_time = self._block_times.get(number)
            if block_time is None:
                block_time = int(self.w3.eth.get_block(number)["timestamp"])
            done = self.outbox.mark_confirmed(
                entry.id,
                block_number=number,
                block_hash=block_hash,
                block_time=block_time,
                gas_used=int(receipt["gasUsed"]),
                tx_hash=tx_hash,
                adopted=found.adopted if found is not None else None,
                note=found.note if found is not None else None,
            )
            if found is not None:
                log.warning("outbox %s (%s): %s", entry.id, entry.kind, found.note)
        else:
            revert = self._mined_revert(entry, number)
            outcome = self._earlier_receipt(entry) or self._written_by_this_entry(entry, revert)
            if isinstance(outcome, dict):
                outcome.pop("may_still_show_up", None)
            if isinstance(outcome, _Found):
                self._finish(entry, outcome.receipt, outcome)
                return
            done = self.outbox.mark_failed(
                entry.id,
                outcome if outcome is not None else error_of(revert),
                block_number=number,
                block_hash=block_hash,
                gas_used=int(receipt["gasUsed"]),
            )
            log.info(
                "outbox %s (%s) failed on chain: %s", entry.id, entry.kind, (done.error or {}).get("name")
            )
        if self.on_finished is not None:
            try:
                self.on_finished(done)
            except Exception as exc:
                log.warning("outbox %s: on_finished hook failed: %s", entry.id, type(exc).__name__)

    def _mined_revert(self, entry: Entry, number: int) -> Exception:
        assert entry.sender is not None
        account = self._account_for_sender(entry.sender)
        to, data, value, _ = self._payload(entry, account, sign=False)
        revert = self.pipeline.replay(entry.sender, to, data, value, block=number - 1)
        if revert is not None:
            return revert
        from ledger.errors import TransactionError

        return TransactionError(
            f"transaction {entry.tx_hash} reverted (out of gas or state changed before inclusion)"
        )

    # -- an entry's earlier transactions (ledger.pipeline.earlier) --------------------------------

    def _adopt(self, entry: Entry, tx_hash: str, sender: str, nonce: int) -> Adopted:
        """An earlier transaction of the entry as the entry's own: sender, nonce, raw bytes, signature."""
        account = self._account_for_sender(sender)
        signature = self.ledger.sign(account, entry.typed_record()) if entry.record is not None else None
        raw = next((r.raw_tx for r in entry.journal if r.tx_hash == tx_hash), None)
        return Adopted(
            signer=account.address if signature is not None else None,
            signature=signature,
            sender=account.address,
            nonce=nonce,
            raw_tx=raw,
        )

    def _found(self, entry: Entry, found: earlier.Found, how: str) -> _Found:
        row = found.row
        sender, nonce = (row.sender, row.nonce) if row is not None else (None, None)
        if sender is None or nonce is None:
            tx = self.w3.eth.get_transaction(found.tx_hash)  # type: ignore[arg-type]
            sender, nonce = str(tx["from"]), int(tx["nonce"])
        return _Found(
            found.receipt,
            self._adopt(entry, found.tx_hash, sender, nonce),
            f"confirmed by its earlier transaction {found.tx_hash} (nonce {nonce}), found by {how}",
        )

    def _earlier_receipt(self, entry: Entry) -> _Found | None:
        """The cheap path: a previous transaction of the entry (given up for a new nonce, or replaced
        with higher fees) that was mined and succeeded. It ran the entry's own call: it is the entry's
        confirmation."""
        found = earlier.in_receipts(self._receipt, entry.journal, skip=[entry.tx_hash])
        if found is None:
            return None
        return self._found(entry, found, "its receipt after the entry had been signed again")

    def _written_by_this_entry(self, entry: Entry, revert: BaseException) -> _Found | dict[str, Any] | None:
        """After a revert saying the entry's record may already be on chain (:func:`says_already_written`),
        find the transaction that wrote it by its log (:func:`ledger.pipeline.earlier.search`).

        The log is the record's event on the record's contract, topic 1 the record's target, searched from
        a little below the block the entry was first signed at (a node that lost blocks mines a
        transaction again lower) to the newest block. It is the entry's own write only if every record
        field the event carries matches and its transaction was sent by a key this service holds for the
        court, with exactly the entry's call: then it settles the entry (:class:`_Found`). Otherwise the
        error to store, saying which transaction wrote the record and how it differs, or that none was
        found. None when the revert is not of that kind, or the entry was never signed.
        """
        if entry.record is None or entry.attempts == 0:
            return None
        record = entry.typed_record()
        if not says_already_written(record, revert):
            return None
        trace = _TRACES[type(record)]
        name = CONTRACT_OF[type(record)]
        event = self.ledger.contract(name).events[trace.event]()
        expected = {trace.renames.get(k, k): _plain(v) for k, v in record.message().items()}
        to, data = self.ledger.call_data(record)
        judge = Judge(event, expected, to, bytes.fromhex(data[2:]), self._senders_of(entry), entry.court)
        latest = int(self.w3.eth.block_number)
        start = self._search_start(entry, name, latest)
        creation = creation_of(event, _target(record), expected.get("sequence"))
        outcome = earlier.search(
            self.w3,
            entry.journal,
            creation,
            [(start, latest)],
            judge=judge,
            receipts_first=False,
            current=entry.tx_hash,
        )
        if outcome.found is not None:
            why = cast(ContractRevertError, revert).error
            return self._found(entry, outcome.found, f"its {trace.event} log after {why}")
        error = error_of(revert)
        if outcome.others:
            item, why = outcome.others[0]
            tx_hash, number = "0x" + bytes(item["transactionHash"]).hex(), int(item["blockNumber"])
            sender = judge.senders.get(tx_hash, "?")
            error["detail"] = (
                f"{error['detail']}; transaction {tx_hash} (block {number}, sent by {sender}) wrote it {why}: "
                "it is not this entry's record"
            )
            error["recorded_by"] = {"transaction_hash": tx_hash, "block_number": number, "sender": sender}
        else:
            error["detail"] = (
                f"{error['detail']}; no transaction of this entry wrote it ({trace.event} logs searched in "
                f"blocks {start}..{latest})"
            )
            error["may_still_show_up"] = outcome.may_still_show_up
        return error

    def _may_still_show_up(self, entry: Entry, outcome: dict[str, Any] | None) -> bool:
        """Whether a search that found no transaction at all should be repeated (for ``search_grace``
        seconds from the first one) before the entry fails: the entry gave up transactions of its own,
        one of which may be the writer (:attr:`ledger.pipeline.earlier.Search.may_still_show_up`)."""
        return outcome is not None and bool(outcome.pop("may_still_show_up", False))

    def _senders_of(self, entry: Entry) -> set[str]:
        """The accounts whose transactions may be the entry's: the court's keys held here, its senders."""
        held: set[str] = set()
        if entry.court is not None:
            held.update(to_checksum_address(a) for a, _ in self.outbox.signer_keys(entry.court))
        held.update(to_checksum_address(r.sender) for r in entry.journal if r.sender)
        return held

    def _search_start(self, entry: Entry, contract: str, latest: int) -> int:
        """The first block a search for the entry's log covers: ``log_search_margin`` blocks below the
        block the entry was first signed at (for an entry stored before that was kept: the block of
        its acceptance, found by time, less ten minutes), never below the contract's deployment."""
        deployed = int(self.ledger.deployment.contracts[contract].block_number)
        fallback = None
        if entry.first_block is None:
            fallback = first_block_at(self.w3, entry.accepted_at - 600.0, deployed, latest)
        return earlier.start_block(
            entry.journal, margin=self.log_search_margin, floor=deployed, latest=latest, fallback=fallback
        )

    # -- sending -------------------------------------------------------------------------------

    def _account_for_sender(self, address: str) -> LocalAccount:
        if to_checksum_address(address) == self.governor.address:
            return self.governor
        return self.signers.account(address)

    def _sender(self, entry: Entry) -> LocalAccount | None:
        if entry.lane == GOVERNANCE_LANE:
            return self.governor
        assert entry.court is not None
        return self.signers.for_court(entry.court)

    def _payload(
        self, entry: Entry, account: LocalAccount, *, sign: bool = True
    ) -> tuple[str, str, int, bytes | None]:
        """(to, calldata, value, EIP-712 signature or None) of an entry sent by ``account``."""
        if entry.record is not None:
            record = entry.typed_record()
            if entry.record_id is not None and bytes(record.record_id()) != entry.record_id:
                raise ConfigurationError(f"outbox entry {entry.id}: stored record does not hash to its id")
            to, data = self.ledger.call_data(record)
            signature = self.ledger.sign(account, record) if sign else None
            return to, data, 0, signature
        call = entry.call or {}
        if entry.kind == "fund":
            return to_checksum_address(call["to"]), "0x", int(call["value"]), None
        if entry.kind in COURT_ACT_FUNCTIONS:
            enforcement = self.ledger.contract("EnforcementRegistry")
            act = [bytes.fromhex(call["judgment_id"][2:]), call["delegate"], bool(call["granted"])]
            return enforcement.address, enforcement.encode_abi(COURT_ACT_FUNCTIONS[entry.kind], args=act), 0, None
        registry = self.ledger.contract("CourtRegistry")
        function = GOVERNANCE_FUNCTIONS[entry.kind]
        if entry.kind == "admit_court":
            args: list[Any] = [
                call["court"],
                jurisdiction_bytes(call["jurisdiction"]),
                call["appellate_court"],
                to_checksum_address(call["signer"]),
            ]
        elif entry.kind == "add_signer":
            args = [call["court"], to_checksum_address(call["signer"])]
        elif entry.kind == "retire_signer":
            args = [to_checksum_address(call["signer"])]
        elif entry.kind == "set_case_number_code":
            args = [call["court"], case_number_code_bytes(call["code"])]
        else:
            args = [call["court"]]
        return registry.address, registry.encode_abi(function, args=args), 0, None

    def _estimate(self, account: LocalAccount, to: str, data: str, value: int) -> int:
        return self.pipeline.estimate(account.address, to, data, value)

    def _group_from(self, lane: str, accepted: list[Entry]) -> list[Entry]:
        """The entries at the head of ``accepted`` that can be signed and sent together: never signed
        before (no earlier transaction of theirs to look for), sent by the lane's one account, with no
        governance act before them still open; at most ``group_size``."""
        group: list[Entry] = []
        for entry in accepted[: self.group_size]:
            if entry.previous_transactions or entry.attempts:
                break
            group.append(entry)
        if lane != GOVERNANCE_LANE and group and self.outbox.open_governance_before(group[-1].seq):
            # an act accepted among them is still open: only those before it (one query each)
            group = list(itertools.takewhile(lambda e: not self.outbox.open_governance_before(e.seq), group))
        return group

    def _send_group(self, group: list[Entry]) -> int:
        """Estimate, sign, store and send ``group`` together (one batch of estimates, one nonce reading,
        one commit, then the sends in nonce order); how many were sent: the entries before the first whose estimate
        failed (that one goes the single way, which knows what a revert means). 0 for fewer than two."""
        if len(group) < 2:
            return 0
        account = self._sender(group[0])
        if account is None:
            return 0
        payloads = []
        for entry in group:
            payloads.append(self._payload(entry, account))
            # A yield between two signatures: request threads waking from a commit get the GIL now, not
            # after the interpreter's 5 ms switch interval (accepting ran at 45-63/s without, 75-94/s with
            # it, in-process A/B runs with the worker draining).
            time.sleep(0)
        gases: list[int] = []
        for gas in self._estimate_many(account, [(to, data, value) for to, data, value, _ in payloads]):
            if not isinstance(gas, int):
                break
            gases.append(gas)
        if len(gases) < 2:
            return 0
        group, payloads = group[: len(gases)], payloads[: len(gases)]

        def store(signed: list[Signed], head: Any) -> list[Entry]:
            with self.outbox.group():
                return [
                    self.outbox.mark_submitted(
                        entry.id,
                        signer=account.address if signature is not None else None,
                        signature=signature,
                        sender=account.address,
                        nonce=tx.nonce,
                        raw_tx=tx.raw,
                        tx_hash=tx.tx_hash,
                        block_number=int(head["number"]),
                    )
                    for entry, (_, _, _, signature), tx in zip(group, payloads, signed, strict=True)
                ]

        calls = [((to, data, value), gas) for (to, data, value, _), gas in zip(payloads, gases, strict=True)]
        stored = self.pipeline.sign_many(account, calls, store)
        self._broadcast_many(stored)
        return len(stored)

    def _estimate_many(self, account: LocalAccount, calls: list[tuple[str, str, int]]) -> list[int | Exception]:
        return self.pipeline.estimate_many(account.address, calls)

    def _broadcast_many(self, entries: list[Entry]) -> None:
        """Send stored transactions together (nonce order); a refusal is handled as for one."""
        now = time.monotonic()
        for entry in entries:
            self._last_broadcast[entry.id] = now
        refusals = self.pipeline.send_many([entry.raw_tx or b"" for entry in entries])
        for entry, refused in zip(entries, refusals, strict=True):
            if refused is not None:
                self._refused(entry, refused)

    def _send_new(self, entry: Entry, in_flight: bool) -> str:
        account = self._sender(entry)
        if account is None:
            self._fail(
                entry,
                {
                    "name": "NoActiveSigner",
                    "arguments": {"court": entry.court},
                    "detail": f"this service holds no active signer key for court {entry.court}",
                },
            )
            return _DONE
        if entry.previous_transactions:  # signed before: one of those transactions may have been mined
            found = self._earlier_receipt(entry)
            if found is not None:
                self._finish(entry, found.receipt, found)
                return _DONE
        to, data, value, signature = self._payload(entry, account)
        try:
            gas = self._estimate(account, to, data, value)
        except ContractRevertError as revert:
            if in_flight:
                return _WAIT  # it may depend on a transaction of this lane not mined yet
            now = time.monotonic()
            since, again = self._searching.get(entry.id, (now, now))
            if now < again:
                return _WAIT
            outcome = self._written_by_this_entry(entry, revert)
            if isinstance(outcome, _Found):
                self._finish(entry, outcome.receipt, outcome)
            elif self._may_still_show_up(entry, outcome) and now - since < self.search_grace:
                # Ours by every sign but not found yet: a node just restarted may serve the state before
                # the receipts and logs of its blocks. Look again each second, for a while.
                self._searching[entry.id] = (since, now + 1.0)
                self.outbox.note(
                    entry.id,
                    "waiting: the chain says this record is already written; looking for the earlier "
                    "transaction of this entry that wrote it",
                )
                return _WAIT
            else:
                self._fail(entry, outcome if outcome is not None else error_of(revert))
            return _DONE
        except (OSError, ProviderConnectionError, ChainUnavailableError):
            raise
        except Exception as exc:  # insufficient funds, a node refusing in words: wait and say why
            self.outbox.note(entry.id, f"waiting: {_message(exc)[:200]}")
            return _WAIT
        stored = self.pipeline.sign(
            account,
            (to, data, value),
            gas,
            lambda nonce, raw, tx_hash, head: self.outbox.mark_submitted(
                entry.id,
                signer=account.address if signature is not None else None,
                signature=signature,
                sender=account.address,
                nonce=nonce,
                raw_tx=raw,
                tx_hash=tx_hash,
                block_number=int(head["number"]),
            ),
        )
        if not self._broadcast(stored):
            receipt = self._receipt(stored.tx_hash or "")
            if receipt is not None:  # automining nodes: settle at once
                self._finish(stored, receipt)
        return _SENT

    def _fail(self, entry: Entry, error: dict[str, Any]) -> None:
        self._searching.pop(entry.id, None)
        done = self.outbox.mark_failed(entry.id, error)
        log.info("outbox %s (%s) failed: %s", entry.id, entry.kind, error.get("name"))
        if self.on_finished is not None:
            try:
                self.on_finished(done)
            except Exception as exc:
                log.warning("outbox %s: on_finished hook failed: %s", entry.id, type(exc).__name__)


def _entry_id(row: JournalRow) -> str:
    return row.owner.removeprefix("outbox:")


def contract_of_entry(entry: Entry) -> str:
    """The contract a record entry was written to."""
    return CONTRACT_OF[type(entry.typed_record())]
