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

What the caller keeps: which write a transaction carries, its state, and what a refusal means for it
(the outbox signs again on a taken nonce; the notary adopts an anchor already on chain).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from web3.exceptions import ContractLogicError, ProviderConnectionError

from ledger.chain import GAS_MARGIN_PERCENT, Chain
from ledger.client import decode_revert
from ledger.errors import ChainUnavailableError
from ledger.pipeline.fees import FeePolicy
from ledger.pipeline.lanes import NonceLanes, NonceStore
from ledger.pipeline.rpc import Refusal, Refused, receipt, refusal, revert_data, transaction

__all__ = ["Pipeline"]

log = logging.getLogger("ledger.pipeline")

T = TypeVar("T")


class Pipeline:
    """One per chain connection; thread-safe (lanes serialise each sender, not the pipeline)."""

    def __init__(self, chain: Chain, *, nonces: NonceStore | None = None, resend_after: float = 2.0) -> None:
        self.w3 = chain.w3  # the same object after Chain.reconnect (only its provider moves)
        self.chain_id = chain.chain_id
        self.fees = FeePolicy(chain)
        self.lanes = NonceLanes(chain.w3, nonces)
        self.resend_after = resend_after

    def estimate(self, sender: str, to: str, data: str, value: int = 0) -> int:
        """Gas to offer (the estimate and a margin); a revert raises :class:`ContractRevertError`."""
        params: Any = {"from": sender, "to": to, "data": data, "value": value}
        try:
            estimate = self.w3.eth.estimate_gas(params)
        except ContractLogicError as exc:
            raise decode_revert(revert_data(exc)) from None
        return int(estimate) * (100 + GAS_MARGIN_PERCENT) // 100

    def sign(
        self,
        account: LocalAccount,
        call: tuple[str, str, int],
        gas: int,
        store: Callable[[int, bytes, str, Any], T],
        *,
        nonce: int | None = None,
        then: Callable[[T], object] | None = None,
    ) -> T:
        """Sign ``call`` (to, data, value) with the lane's next nonce (or ``nonce``: a replacement), and
        ``store(nonce, raw, tx_hash, head)`` it under the lane before returning what ``store`` returned.

        ``then(stored)`` runs still holding the lane, after the store: a writer that sends there (the
        notary) has the node hold its transaction before the lane's next nonce is taken, so writers that
        share an account and keep no count of their own (notaries on one relayer) never take one nonce."""
        to, data, value = call
        with self.lanes.lane(account.address) as take:
            used = take() if nonce is None else nonce
            head, fees = self.fees.head_and_fees()
            tx: dict[str, Any] = {
                "to": to,
                "data": data,
                "value": value,
                "nonce": used,
                "gas": gas,
                "chainId": self.chain_id,
                **fees,
            }
            signed = account.sign_transaction(tx)
            stored = store(used, bytes(signed.raw_transaction), signed.hash.to_0x_hex(), head)
            if then is not None:
                then(stored)
            return stored

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
            self.w3.eth.send_raw_transaction(raw)
        except (OSError, ProviderConnectionError) as exc:
            raise ChainUnavailableError(f"lost the chain while sending: {exc}") from exc
        except Exception as exc:  # nodes refuse in words: Web3RPCError, or eth-tester's ValidationError
            return refusal(exc)
        return None

    def receipt(self, tx_hash: str) -> Any:
        return receipt(self.w3, tx_hash)

    def follow(
        self, tx_hash: str, raw: bytes | None, looked: float | None
    ) -> tuple[Any, Refused | None, float | None]:
        """One look at a sent transaction: (receipt or None, the refusal of a resend, when looked).

        Without a receipt, and ``resend_after`` seconds after the node was last asked (``looked``), a
        transaction the node does not know is sent again (the same bytes); the time of this look comes
        back, or ``looked`` unchanged when it is too early to ask.
        """
        found = self.receipt(tx_hash)
        if found is not None:
            return found, None, looked
        if raw is None or (looked is not None and time.monotonic() - looked < self.resend_after):
            return None, None, looked
        now = time.monotonic()
        if transaction(self.w3, tx_hash) is not None:
            return None, None, now
        log.info("the node does not know transaction %s; sending it again", tx_hash)
        return None, self.send(raw), now

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
