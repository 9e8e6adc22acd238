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
   answering "nonce too low" for it while it has no receipt means another transaction took the nonce:
   the entry goes back to ``accepted`` and is signed again with a new nonce.
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
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, cast

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    ProviderConnectionError,
    TransactionNotFound,
    Web3RPCError,
)

from api.outbox import GOVERNANCE_LANE, Entry, Outbox
from ledger.chain import GAS_MARGIN_PERCENT, Chain
from ledger.client import Ledger, decode_revert, jurisdiction_bytes
from ledger.errors import ConfigurationError, ContractRevertError
from ledger.records import CONTRACT_OF
from ledger.signing import Keystore

__all__ = ["GOVERNANCE_FUNCTIONS", "OutboxWorker", "Signers", "error_of", "follow_restarted_node"]

log = logging.getLogger("api.worker")

#: governance entry kind -> CourtRegistry function
GOVERNANCE_FUNCTIONS = {
    "admit_court": "admitCourt",
    "suspend_court": "suspendCourt",
    "reinstate_court": "reinstateCourt",
    "retire_court": "retireCourt",
    "add_signer": "addSigner",
    "retire_signer": "retireSigner",
}

_KNOWN = ("already known", "already imported", "known transaction", "already exists", "alreadyknown")
_NONCE_LOW = ("nonce too low", "nonce is too low", "oldnonce", "nonce has already been used", "noncetoolow")
_FEE = ("underpriced", "fee too low", "less than block base fee", "feecap", "fee cap", "max fee per gas")

_EXPECTED_NONCE = re.compile(r"expected (\d+), but got (\d+)")
_SENT, _WAIT, _DONE = "sent", "wait", "done"


class Signers:
    """Court signer keys: created into the encrypted keystore, unlocked once and kept in memory."""

    def __init__(self, keystore: Keystore, password: str, outbox: Outbox, *,
                 kdf: Literal["scrypt", "pbkdf2"] = "scrypt") -> None:
        self.keystore = keystore
        self._password = password
        self.outbox = outbox
        self.kdf = kdf
        self._cache: dict[str, LocalAccount] = {}
        self._lock = threading.Lock()

    def create(self) -> LocalAccount:
        account = self.keystore.create(self._password, kdf=self.kdf)
        with self._lock:
            self._cache[account.address] = account
        return account

    def remember(self, account: LocalAccount) -> None:
        with self._lock:
            self._cache[account.address] = account

    def account(self, address: str) -> LocalAccount:
        address = to_checksum_address(address)
        with self._lock:
            cached = self._cache.get(address)
        if cached is not None:
            return cached
        account = self.keystore.load(address, self._password)
        with self._lock:
            self._cache[address] = account
        return account

    def for_court(self, court: int) -> LocalAccount | None:
        address = self.outbox.active_signer(court)
        return self.account(address) if address else None


def follow_restarted_node(chain: Chain) -> None:
    """After a failed call: if the local node was restarted elsewhere, connect to it (see Chain.reconnect)."""
    try:
        if chain.reconnect():
            log.warning("the chain node was restarted; connected to it at %s", chain.url)
    except Exception as exc:
        log.warning("cannot reconnect to the chain node yet: %s", exc)


def error_of(exc: BaseException) -> dict[str, Any]:
    """The JSON-ready error stored on a failed entry: decoded name and arguments."""
    if isinstance(exc, ContractRevertError):
        return {
            "name": exc.error,
            "contract": exc.contract,
            "arguments": _jsonable(exc.arguments),
            "detail": str(exc),
        }
    return {"name": type(exc).__name__, "arguments": {}, "detail": str(exc)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _revert_data(exc: ContractLogicError) -> bytes:
    data: Any = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    return bytes(data) if isinstance(data, bytes | bytearray) else b""


def _nonce_too_low(message: str) -> bool:
    if any(m in message for m in _NONCE_LOW):
        return True
    found = _EXPECTED_NONCE.search(message)  # eth-tester: "Invalid transaction nonce: Expected 1, but got 0"
    return found is not None and int(found.group(2)) < int(found.group(1))


def _message(exc: BaseException) -> str:
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, dict):
        error = exc.rpc_response.get("error")
        if isinstance(error, dict):
            return str(error.get("message", exc)).lower()
    return str(exc).lower()


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
        on_finished: Callable[[Entry], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.w3 = ledger.w3
        self.outbox = outbox
        self.signers = signers
        self.governor = governor
        self.interval = interval
        self.resend_after = resend_after
        self.on_finished = on_finished
        self.nonce_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_broadcast: dict[str, float] = {}
        self.recheck_interval = recheck_interval
        self._recheck_due = 0.0

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
        progressed = 0
        in_flight = False
        for entry in self.outbox.entries(lane, "submitted"):
            if self._follow(entry):
                progressed += 1
            elif self.outbox.get(entry.id).state == "submitted":
                in_flight = True
        for entry in self.outbox.entries(lane, "accepted"):
            if lane != GOVERNANCE_LANE and self.outbox.open_governance_before(entry.seq):
                break
            outcome = self._send_new(entry, in_flight)
            if outcome == _WAIT:
                break
            progressed += 1
            if outcome == _SENT:
                in_flight = True
        return progressed

    # -- blocks the node lost -------------------------------------------------------------------

    def _chain_block_hash(self, number: int) -> str | None:
        try:
            block = self.w3.eth.get_block(number)
        except BlockNotFound:
            return None
        return "0x" + bytes(block["hash"]).hex() if block is not None else None

    def _recheck_settled(self) -> int:
        """Entries settled in blocks the chain no longer holds go back to ``submitted``; how many moved.

        A node may lose its last blocks (anvil killed between two state dumps; a reorganisation). The
        newest settled entry's block is compared with the chain's block of that number (one call when
        nothing was lost); on a difference, entries are walked newest block first until a block the
        chain still holds. An entry whose transaction was mined again elsewhere is settled from its new
        receipt; one the chain forgot is reopened, and :meth:`_follow` sends the same raw transaction
        again with its nonce.
        """
        moved = 0
        below: int | None = None
        while True:
            entries = self.outbox.settled_in_newest_block(below)
            if not entries:
                return moved
            number = entries[0].block_number
            assert number is not None
            held = self._chain_block_hash(number)
            stale = [e for e in entries if e.block_hash != held]
            if not stale:
                return moved  # the chain holds this block, so every earlier one too
            for entry in stale:
                assert entry.tx_hash is not None
                receipt = self._receipt(entry.tx_hash)
                if receipt is not None:
                    self._finish(entry, receipt)
                else:
                    log.warning(
                        "outbox %s: block %s that settled transaction %s is gone from the chain; "
                        "sending it again",
                        entry.id,
                        number,
                        entry.tx_hash,
                    )
                    self.outbox.reopen(entry.id, f"block {number} was lost by the node; sending again")
                    self._last_broadcast.pop(entry.id, None)
                moved += 1
            below = number

    # -- following -----------------------------------------------------------------------------

    def _receipt(self, tx_hash: str) -> Any:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def _follow(self, entry: Entry) -> bool:
        """True when the entry reached a final state."""
        assert entry.tx_hash is not None
        receipt = self._receipt(entry.tx_hash)
        if receipt is not None:
            self._finish(entry, receipt)
            return True
        last = self._last_broadcast.get(entry.id)
        if last is not None and time.monotonic() - last < self.resend_after:
            return False
        try:
            known = self.w3.eth.get_transaction(entry.tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            known = None
        if known is None:
            log.info(
                "outbox %s: the node does not know transaction %s; sending it again", entry.id, entry.tx_hash
            )
            return self._broadcast(entry)
        self._last_broadcast[entry.id] = time.monotonic()
        return False

    def _broadcast(self, entry: Entry) -> bool:
        """Send the stored raw transaction. True when that settled the entry (found mined)."""
        assert entry.raw_tx is not None and entry.tx_hash is not None
        self._last_broadcast[entry.id] = time.monotonic()
        try:
            self.w3.eth.send_raw_transaction(entry.raw_tx)
            return False
        except (OSError, ProviderConnectionError):
            raise  # the node is away: the pass ends, the entry stays submitted and is sent again later
        except Exception as exc:  # nodes refuse in words: Web3RPCError, or eth-tester's ValidationError
            message = _message(exc)
            if any(m in message for m in _KNOWN):
                return False
            if _nonce_too_low(message):
                receipt = self._receipt(entry.tx_hash)
                for _ in range(10):  # a node just restarted may answer the nonce before the receipt
                    if receipt is not None:
                        break
                    time.sleep(0.2)
                    receipt = self._receipt(entry.tx_hash)
                if receipt is not None:
                    self._finish(entry, receipt)
                    return True
                log.warning(
                    "outbox %s: nonce %s was used by another transaction; signing again",
                    entry.id,
                    entry.nonce,
                )
                self.outbox.back_to_accepted(entry.id, "nonce taken by another transaction; signing again")
                return False
            if any(m in message for m in _FEE):
                self._reprice(entry)
                return False
            self.outbox.note(entry.id, f"send failed: {message[:200]}")
            log.warning("outbox %s: sending failed: %s", entry.id, message[:200])
            return False

    def _reprice(self, entry: Entry) -> None:
        """Same nonce, current fees: replace a transaction the node refuses as underpriced."""
        assert entry.sender is not None and entry.nonce is not None
        account = self._account_for_sender(entry.sender)
        to, data, value, _ = self._payload(entry, account, sign=False)
        try:
            gas = self._estimate(account, to, data, value)
        except (ContractLogicError, Web3RPCError) as exc:
            self.outbox.note(entry.id, f"cannot reprice: {_message(exc)[:200]}")
            return
        tx: dict[str, Any] = {
            "to": to,
            "data": data,
            "value": value,
            "nonce": entry.nonce,
            "gas": gas,
            "chainId": self.ledger.chain.chain_id,
            **self._fees(),
        }
        signed = account.sign_transaction(tx)
        log.info(
            "outbox %s: transaction underpriced; replaced with current fees (nonce %s)", entry.id, entry.nonce
        )
        updated = self.outbox.replace_transaction(
            entry.id, bytes(signed.raw_transaction), signed.hash.to_0x_hex()
        )
        self._broadcast(updated)

    def _finish(self, entry: Entry, receipt: Any) -> None:
        number = int(receipt["blockNumber"])
        block_hash = "0x" + bytes(receipt["blockHash"]).hex()
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        self._last_broadcast.pop(entry.id, None)
        if receipt["status"] == 1:
            block = self.w3.eth.get_block(number)
            done = self.outbox.mark_confirmed(
                entry.id,
                block_number=number,
                block_hash=block_hash,
                block_time=int(block["timestamp"]),
                gas_used=int(receipt["gasUsed"]),
                tx_hash=tx_hash,
            )
        else:
            done = self.outbox.mark_failed(
                entry.id,
                error_of(self._mined_revert(entry, number)),
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
        try:
            self.w3.eth.call(
                cast(Any, {"from": entry.sender, "to": to, "data": data, "value": value}),
                block_identifier=number - 1,
            )
        except ContractLogicError as exc:
            return decode_revert(_revert_data(exc))
        except Exception as exc:
            return exc
        from ledger.errors import TransactionError

        return TransactionError(
            f"transaction {entry.tx_hash} reverted (out of gas or state changed before inclusion)"
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
        else:
            args = [call["court"]]
        return registry.address, registry.encode_abi(function, args=args), 0, None

    def _estimate(self, account: LocalAccount, to: str, data: str, value: int) -> int:
        params: Any = {"from": account.address, "to": to, "data": data, "value": value}
        estimate = self.w3.eth.estimate_gas(params)
        return int(estimate) * (100 + GAS_MARGIN_PERCENT) // 100

    def _fees(self) -> dict[str, int]:
        base_fee = self.w3.eth.get_block("latest").get("baseFeePerGas")
        gas_price = self.w3.eth.gas_price
        if base_fee is None:
            return {"gasPrice": gas_price}
        if gas_price == 0:
            return {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
        try:
            tip = int(self.w3.eth.max_priority_fee)
        except (Web3RPCError, ValueError):
            tip = max(gas_price - base_fee, 0)
        return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}

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
        to, data, value, signature = self._payload(entry, account)
        try:
            gas = self._estimate(account, to, data, value)
        except ContractLogicError as exc:
            if in_flight:
                return _WAIT  # it may depend on a transaction of this lane not mined yet
            self._fail(entry, error_of(decode_revert(_revert_data(exc))))
            return _DONE
        except (OSError, ProviderConnectionError):
            raise
        except Exception as exc:  # insufficient funds, a node refusing in words: wait and say why
            self.outbox.note(entry.id, f"waiting: {_message(exc)[:200]}")
            return _WAIT
        with self.nonce_lock:
            pending = self.w3.eth.get_transaction_count(account.address, "pending")
            nonce = self.outbox.next_nonce(account.address, pending)
            tx: dict[str, Any] = {
                "to": to,
                "data": data,
                "value": value,
                "nonce": nonce,
                "gas": gas,
                "chainId": self.ledger.chain.chain_id,
                **self._fees(),
            }
            signed = account.sign_transaction(tx)
            stored = self.outbox.mark_submitted(
                entry.id,
                signer=account.address if signature is not None else None,
                signature=signature,
                sender=account.address,
                nonce=nonce,
                raw_tx=bytes(signed.raw_transaction),
                tx_hash=signed.hash.to_0x_hex(),
            )
        if not self._broadcast(stored):
            receipt = self._receipt(stored.tx_hash or "")
            if receipt is not None:  # automining nodes: settle at once
                self._finish(stored, receipt)
        return _SENT

    def _fail(self, entry: Entry, error: dict[str, Any]) -> None:
        done = self.outbox.mark_failed(entry.id, error)
        log.info("outbox %s (%s) failed: %s", entry.id, entry.kind, error.get("name"))
        if self.on_finished is not None:
            try:
                self.on_finished(done)
            except Exception as exc:
                log.warning("outbox %s: on_finished hook failed: %s", entry.id, type(exc).__name__)


def contract_of_entry(entry: Entry) -> str:
    """The contract a record entry was written to."""
    return CONTRACT_OF[type(entry.typed_record())]
