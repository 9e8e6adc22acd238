"""Settling entries: confirming or failing an entry from a receipt, adopting an earlier transaction of
the entry that wrote its record (by receipt, or by its log after an "already written" revert), and
reopening entries settled in blocks the node lost."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from eth_utils import to_checksum_address

from api.outbox import Adopted, Entry
from api.worker.calls import _Calls
from api.written import TRACES as _TRACES
from api.written import Judge, creation_of, error_of, says_already_written
from api.written import plain as _plain
from api.written import target as _target
from ledger.chain import first_block_at
from ledger.errors import ContractRevertError
from ledger.pipeline import earlier
from ledger.pipeline.journal import JournalRow
from ledger.pipeline.lost import recheck_journal
from ledger.records import CONTRACT_OF

log = logging.getLogger("api.worker")  # one logger for the whole worker, as before the split


@dataclass(frozen=True)
class _Found:
    """An earlier transaction of an entry that recorded it: settle the entry with it."""

    receipt: Any
    adopted: Adopted
    note: str




class _Settling(_Calls):
    """How an entry reaches ``confirmed`` or ``failed`` (see the package docstring)."""

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

    # -- settling -----------------------------------------------------------------------------

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
