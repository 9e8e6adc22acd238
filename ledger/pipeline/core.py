"""The pipeline: estimate, sign under the sender's nonce lane, store durably, send, follow to a receipt.

Every write reaches the chain through :class:`Pipeline`, whoever asks (the service's outbox worker for
records and governance acts, the notary for anchors):

1. :meth:`Pipeline.estimate` the call (a revert comes back decoded, as :class:`ContractRevertError`);
2. :meth:`Pipeline.sign` takes the sender's lane (:mod:`ledger.pipeline.lanes`), its next nonce and the
   fees (:mod:`ledger.pipeline.fees`), signs, and hands nonce, raw bytes and hash to the caller's
   ``store``, which commits them **before** anything is sent (a crash after that point resends the same
   bytes, never a second transaction for the same write);
3. :meth:`Pipeline.send` the stored bytes: the node's answer comes back as a :class:`Refusal` meaning
   (or None: taken); a lost connection raises :class:`ChainUnavailableError` and the write stays stored;
4. :meth:`Pipeline.follow` until its receipt: a transaction the node does not know (restarted, mempool
   lost, a crash between storing and sending) is sent again, the same bytes; nothing assumes instant
   mining: the receipt is polled for, whatever the block time;
5. after settling, :func:`ledger.pipeline.lost.recheck_lost_blocks` finds writes settled in blocks the
   chain later lost, which go back to step 4 with their stored bytes.

Many writes of one sender at once (the outbox worker's passes): :meth:`Pipeline.estimate_many`, then
:meth:`Pipeline.sign_many` (one nonce reading, consecutive nonces, one ``store`` call for all, which
commits them together before anything is sent), :meth:`Pipeline.send_many` and
:meth:`Pipeline.follow_many`. Estimates, receipts and look-ups go in one JSON-RPC batch over HTTP
(:func:`ledger.pipeline.rpc.batch`; one by one on providers without batches); sends never do (see
:meth:`Pipeline.send_many`): they go one at a time, lowest nonce first. What ``follow_many`` sends again
it sends the same way, so a node that lost its pool gets a lane back without a gap; a transaction the
node holds but has not mined ``stuck_after`` seconds after it was first seen so, while the sender's
nonce has reached it, comes back marked ``stuck``: the caller replaces it at the same nonce with
:meth:`FeePolicy.bumped` fees, or sends the same bytes again on a zero-price network.

What the caller keeps: which write a transaction carries and its state. What a node's refusal of a
stored transaction means is read once for every writer (:func:`next_step`): wait for it, settle from the
write's own transaction that took the nonce, sign again with a new nonce, replace it at its nonce with
current fees, or keep it and try later; the caller carries the step out on its own state.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from web3.exceptions import ContractLogicError, ProviderConnectionError, TransactionNotFound

from ledger.chain import GAS_MARGIN_PERCENT, Chain
from ledger.client import decode_revert
from ledger.errors import ChainUnavailableError
from ledger.pipeline.fees import FeePolicy
from ledger.pipeline.lanes import NonceLanes, NonceStore
from ledger.pipeline.rpc import (
    Refusal,
    Refused,
    batch,
    block_times,
    eth_call,
    plain,
    plain_outcome,
    receipt,
    refusal,
    revert_data,
)

__all__ = ["Followed", "Next", "Pipeline", "Signed", "next_step"]

log = logging.getLogger("ledger.pipeline")

T = TypeVar("T")

#: A call to sign: (to, data, value).
Call = tuple[str, str, int]


@dataclass(frozen=True)
class Signed:
    """A transaction signed by :meth:`Pipeline.sign_many`, handed to ``store`` before it is sent."""

    nonce: int
    raw: bytes
    tx_hash: str


@dataclass(frozen=True)
class Followed:
    """One look at a sent transaction (see :meth:`Pipeline.follow_many`)."""

    receipt: Any  # the receipt, or None while there is none
    refused: Refused | None  # the node's refusal of a resend, if one was made and refused
    looked: float | None  # when the node was last asked about it (monotonic clock)
    stuck: Any = None  # the transaction as the node holds it, when it is stuck (replace it)


class Pipeline:
    """One per chain connection; thread-safe (lanes serialise each sender, not the pipeline)."""

    def __init__(
        self,
        chain: Chain,
        *,
        nonces: NonceStore | None = None,
        resend_after: float = 2.0,
        stuck_after: float = 20.0,
    ) -> None:
        self.w3 = chain.w3  # the same object after Chain.reconnect (only its provider moves)
        self.chain_id = chain.chain_id
        self.fees = FeePolicy(chain)
        self.lanes = NonceLanes(chain.w3, nonces)
        self.resend_after = resend_after
        self.stuck_after = stuck_after
        self._held_since: dict[str, float] = {}  # tx hash -> first seen held by the node, not mined
        self._held_lock = threading.Lock()

    def estimate(self, sender: str, to: str, data: str, value: int = 0) -> int:
        """Gas to offer (the estimate and a margin); a revert raises :class:`ContractRevertError`."""
        params: Any = {"from": sender, "to": to, "data": data, "value": value}
        try:
            estimate = self.w3.eth.estimate_gas(params)
        except ContractLogicError as exc:
            raise decode_revert(revert_data(exc)) from None
        return int(estimate) * (100 + GAS_MARGIN_PERCENT) // 100

    def estimate_many(self, sender: str, calls: Sequence[Call]) -> list[int | Exception]:
        """:meth:`estimate` of each call, in one batch: per call the gas to offer, or why not (a revert as
        :class:`ContractRevertError`, any other refusal as the node's exception)."""
        answers = plain(self.w3, [
            ("eth_estimateGas", [{"from": sender, "to": to, "data": data, "value": hex(value)}])
            for to, data, value in calls
        ])
        if answers is not None:
            outcomes = [_estimate(plain_outcome(a)) for a in answers]
        else:
            outcomes = batch(
                self.w3,
                [
                    eth_call(self.w3, "estimate_gas", {"from": sender, "to": to, "data": data, "value": value})
                    for to, data, value in calls
                ],
            )
        out: list[int | Exception] = []
        for outcome in outcomes:
            if isinstance(outcome, ContractLogicError):
                out.append(decode_revert(revert_data(outcome)))
            elif isinstance(outcome, Exception):
                out.append(outcome)
            else:
                out.append(int(outcome) * (100 + GAS_MARGIN_PERCENT) // 100)
        return out

    def sign(
        self,
        account: LocalAccount,
        call: tuple[str, str, int],
        gas: int,
        store: Callable[[int, bytes, str, Any], T],
        *,
        nonce: int | None = None,
        fees: dict[str, int] | None = None,
        then: Callable[[T], object] | None = None,
    ) -> T:
        """Sign ``call`` (to, data, value) with the lane's next nonce (or ``nonce``: a replacement, with
        ``fees`` when given), and ``store(nonce, raw, tx_hash, head)`` it under the lane before returning
        what ``store`` returned.

        ``then(stored)`` runs still holding the lane, after the store: a writer that sends there (the
        notary) has the node hold its transaction before the lane's next nonce is taken, so writers that
        share an account and keep no count of their own (notaries on one relayer) never take one nonce."""
        with self.lanes.lane(account.address) as take:
            used = take() if nonce is None else nonce
            head, current = self.fees.head_and_fees()
            signed = self._signed(account, call, gas, used, fees if fees is not None else current)
            stored = store(used, signed.raw, signed.tx_hash, head)
            if then is not None:
                then(stored)
            return stored

    def sign_many(
        self,
        account: LocalAccount,
        calls: Sequence[tuple[Call, int]],
        store: Callable[[list[Signed], Any], T],
    ) -> T:
        """Sign each (call, gas) with consecutive nonces of the lane (one nonce reading for all) and
        ``store(signed, head)`` them together under the lane, before returning what ``store`` returned."""
        with self.lanes.lane(account.address) as take:
            first = take()
            head, fees = self.fees.head_and_fees()
            signed = []
            for i, (call, gas) in enumerate(calls):
                signed.append(self._signed(account, call, gas, first + i, fees))
                time.sleep(0)  # a yield: other threads of the process get the GIL between two signatures
            return store(signed, head)

    def _signed(self, account: LocalAccount, call: Call, gas: int, nonce: int, fees: dict[str, int]) -> Signed:
        to, data, value = call
        tx: dict[str, Any] = {
            "to": to,
            "data": data,
            "value": value,
            "nonce": nonce,
            "gas": gas,
            "chainId": self.chain_id,
            **fees,
        }
        signed = account.sign_transaction(tx)
        return Signed(nonce, bytes(signed.raw_transaction), signed.hash.to_0x_hex())

    def replay(self, sender: str, to: str, data: str, value: int = 0, block: int | None = None) -> Exception | None:
        """Why a mined transaction reverted: its call replayed (at ``block``, default the latest) decoded
        into its custom error; None when the replay does not revert (out of gas, or the state changed
        before inclusion)."""
        params: Any = {"from": sender, "to": to, "data": data, "value": value}
        try:
            self.w3.eth.call(params, block_identifier=block if block is not None else "latest")
        except ContractLogicError as exc:
            return decode_revert(revert_data(exc))
        except Exception as exc:
            return exc
        return None

    def send(self, raw: bytes) -> Refused | None:
        """Hand stored bytes to the node: None when it took them, else what its refusal means."""
        try:
            answers = plain(self.w3, [("eth_sendRawTransaction", ["0x" + raw.hex()])])
            if answers is None:
                self.w3.eth.send_raw_transaction(raw)
            elif "error" in answers[0]:
                raise plain_outcome(answers[0])
        except (OSError, ProviderConnectionError) as exc:
            raise ChainUnavailableError(f"lost the chain while sending: {exc}") from exc
        except Exception as exc:  # nodes refuse in words: Web3RPCError, or eth-tester's ValidationError
            return refusal(exc)
        return None

    def send_many(self, raws: Sequence[bytes]) -> list[Refused | None]:
        """:meth:`send` of each stored transaction, one request each, in the order given (nonce order).

        Not a JSON-RPC batch: a node may handle a batch's requests concurrently (anvil does), so higher
        nonces reach its pool before lower ones and wait there as queued; an automining node mines only
        when a transaction arrives, and left 16 of 32 such transactions unmined in a measurement.
        """
        return [self.send(raw) for raw in raws]

    def receipt(self, tx_hash: str) -> Any:
        return receipt(self.w3, tx_hash)

    def receipts(self, tx_hashes: Sequence[str]) -> list[Any]:
        """The receipt of each transaction, or None where the node has none, in one batch."""
        outcomes = batch(self.w3, [eth_call(self.w3, "get_transaction_receipt", h) for h in tx_hashes])
        return [_found(o) for o in outcomes]

    def block_times(self, numbers: Sequence[int]) -> dict[int, int]:
        """The timestamps of the chain's blocks of these numbers, in one batch; missing ones left out."""
        return block_times(self.w3, numbers)

    def follow(self, tx_hash: str, raw: bytes | None, looked: float | None) -> tuple[Any, Refused | None, float | None]:
        """One look at a sent transaction: (receipt or None, the refusal of a resend, when looked).

        Without a receipt, and ``resend_after`` seconds after the node was last asked (``looked``), a
        transaction the node does not know is sent again (the same bytes); the time of this look comes
        back, or ``looked`` unchanged when it is too early to ask.
        """
        found = self.follow_many([(tx_hash, raw, looked)])[0]
        return found.receipt, found.refused, found.looked

    def follow_many(self, sent: Sequence[tuple[str, bytes | None, float | None]]) -> list[Followed]:
        """:meth:`follow` of many transactions (tx hash, stored bytes, last look), given in nonce order.

        The receipts come in one batch, so do the look-ups of those without one that are due; the ones
        the node does not know are sent again one at a time, in the order given (lowest nonce first: a
        node that lost its pool is given no gap). One the node holds unmined for ``stuck_after`` seconds
        while its sender's mined count has reached its nonce comes back with ``stuck`` set.
        """
        receipts = self.receipts([tx_hash for tx_hash, _, _ in sent])
        now = time.monotonic()
        out: list[Followed | None] = []
        due: list[int] = []
        for i, ((tx_hash, raw, looked), found) in enumerate(zip(sent, receipts, strict=True)):
            if found is not None:
                self._forget_held(tx_hash)
                out.append(Followed(found, None, looked))
            elif raw is None or (looked is not None and now - looked < self.resend_after):
                out.append(Followed(None, None, looked))
            else:
                out.append(None)
                due.append(i)
        held = batch(self.w3, [eth_call(self.w3, "get_transaction", sent[i][0]) for i in due])
        for i, tx in zip(due, held, strict=True):
            tx_hash, raw, _ = sent[i]
            assert raw is not None
            if isinstance(tx, TransactionNotFound) or tx is None:
                self._forget_held(tx_hash)
                log.info("the node does not know transaction %s; sending it again", tx_hash)
                out[i] = Followed(None, self.send(raw), now)
            elif isinstance(tx, Exception):
                raise tx
            else:
                out[i] = Followed(None, None, now, tx if self._stuck(tx_hash, tx, now) else None)
        return [f for f in out if f is not None]

    def _stuck(self, tx_hash: str, tx: Any, now: float) -> bool:
        """Whether the node has held ``tx`` unmined for ``stuck_after`` seconds with its sender's mined
        count at its nonce (nothing of ours before it is left to mine: it should have gone)."""
        if tx.get("blockNumber") is not None:
            return False
        with self._held_lock:
            since = self._held_since.setdefault(tx_hash, now)
        if now - since < self.stuck_after:
            return False
        mined = int(self.w3.eth.get_transaction_count(tx["from"], "latest"))
        if mined < int(tx["nonce"]):
            return False
        self._forget_held(tx_hash)  # replaced or sent again now; asked about afresh if it stays
        return True

    def _forget_held(self, tx_hash: str) -> None:
        with self._held_lock:
            self._held_since.pop(tx_hash, None)

    def wait(self, tx_hash: str, raw: bytes | None, timeout: float, poll: float) -> tuple[Any, Refused | None]:
        """Follow until a receipt, a refusal of a resend that is not "known", or ``timeout`` (None, None)."""
        deadline = time.monotonic() + timeout
        looked: float | None = time.monotonic()
        while True:
            found, refused, looked = self.follow(tx_hash, raw, looked)
            if found is not None or (refused is not None and refused.kind is not Refusal.KNOWN):
                return found, refused
            if time.monotonic() >= deadline:
                return None, None
            time.sleep(poll)


class Next(enum.Enum):
    """What a writer does next with a stored transaction the node refused (see :func:`next_step`)."""

    WAIT = "wait"  # the node holds it already: follow it to its receipt
    SETTLE = "settle"  # the nonce went to the write's own transaction: settle the write from it
    SIGN_AGAIN = "sign again"  # another transaction took the nonce: sign anew with the lane's next nonce
    REPRICE = "reprice"  # below what the node takes now: replace it at its nonce with current fees
    RETRY = "retry"  # anything else: keep the stored bytes, say why, send them again later


def next_step(refused: Refused, mined: Callable[[], T | None]) -> tuple[Next, T | None]:
    """The one reading of a node's refusal of a stored transaction, for every writer.

    ``mined()`` is asked only when the nonce was taken: it looks for the write already on chain through
    its own transactions (this one mined, or one it replaced) and returns what to settle with, or None:
    then another transaction took the nonce and the write is signed again (a node that does not serve
    the receipt yet is met by "already written" at the next estimate, which the writer's search handles).
    """
    if refused.kind is Refusal.KNOWN:
        return Next.WAIT, None
    if refused.kind is Refusal.NONCE_TAKEN:
        found = mined()
        return (Next.SETTLE, found) if found is not None else (Next.SIGN_AGAIN, None)
    if refused.kind is Refusal.UNDERPRICED:
        return Next.REPRICE, None
    return Next.RETRY, None


def _estimate(outcome: Any) -> Any:
    """A plain estimate's hex quantity as an int (an error is left as it is)."""
    return int(outcome, 16) if isinstance(outcome, str) else outcome


def _found(outcome: Any) -> Any:
    """A receipt from a batch outcome: None when the node has none; any other error raises."""
    if outcome is None or isinstance(outcome, TransactionNotFound):
        return None
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
