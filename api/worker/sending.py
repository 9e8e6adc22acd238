"""Sending entries: signing and sending what was accepted (alone or in groups), and sending again,
replacing or repricing a stored transaction the node refused or holds without mining it."""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

from web3.exceptions import ProviderConnectionError, Web3RPCError

from api.outbox import GOVERNANCE_LANE, Entry
from api.worker.settling import _Found, _Settling
from api.written import error_of
from ledger.errors import ChainUnavailableError, ContractRevertError
from ledger.pipeline import Next, Refused, next_step
from ledger.pipeline.core import Signed
from ledger.pipeline.rpc import message as _message

log = logging.getLogger("api.worker")  # one logger for the whole worker, as before the split

_SENT, _WAIT, _DONE = "sent", "wait", "done"



class _Sending(_Settling):
    """How an entry goes from ``accepted`` to ``submitted``, and how its transaction reaches the node."""

    # -- sending what was accepted --------------------------------------------------------------

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

    # -- sending again ---------------------------------------------------------------------------

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
        """Carry out the pipeline's next step for the node's refusal of the entry's stored transaction
        (:func:`ledger.pipeline.next_step`); True when that settled it."""
        step, mined = next_step(refused, lambda: self._mined_as(entry))
        if step is Next.SETTLE:
            assert mined is not None
            self._finish(entry, *mined)
            return True
        if step is Next.SIGN_AGAIN:
            log.warning(
                "outbox %s: nonce %s was used by another transaction; signing again",
                entry.id,
                entry.nonce,
            )
            self.outbox.back_to_accepted(entry.id, "nonce taken by another transaction; signing again")
        elif step is Next.REPRICE:
            self._reprice(entry)
        elif step is Next.RETRY:
            self.outbox.note(entry.id, f"send failed: {refused.message}")
            log.warning("outbox %s: sending failed: %s", entry.id, refused.message)
        return False

    def _mined_as(self, entry: Entry) -> tuple[Any, _Found | None] | None:
        """The receipt (and how it was found) of the entry's transaction that took its nonce: this one,
        or one it replaced; None when neither was mined (as far as the node says now)."""
        assert entry.tx_hash is not None
        receipt = self._receipt(entry.tx_hash)
        if receipt is not None:
            return receipt, None
        found = self._earlier_receipt(entry)
        return (found.receipt, found) if found is not None else None

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
