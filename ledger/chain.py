"""Chain specs -> a connected, ready client, and the one way the library sends a transaction.

``connect(spec)`` accepts:

- ``"memory"``: an in-process eth-tester chain (py-evm, Prague fork) with ten funded dev accounts.
  Slow (tens of transactions per second) and gone when the process exits: for tests.
- ``"local"``: the project's own anvil node, persisted in ``data_dir`` (see :mod:`ledger._node`),
  reused if already running, started otherwise.
- ``http(s)://...`` or ``ws(s)://...``: any EVM JSON-RPC node. Only standard ``eth_*`` methods are
  used, so Besu, geth, Reth or anvil all work.

Transactions are always signed here with a local key and sent with ``eth_sendRawTransaction``, so
one code path serves every backend; no node ever holds a key of ours.

Fees follow the chain (:meth:`Chain.fees`): EIP-1559 fields when its blocks carry a base fee, a legacy
``gasPrice`` otherwise. By default the node's suggestion is paid (``eth_gasPrice``,
``eth_maxPriorityFeePerGas``). An operator may fix the price per gas instead (``connect(gas_price=...)``
or ``LEDGER_GAS_PRICE``): a permissioned network that charges nothing is configured with 0, and then no
transaction offers the 1 gwei tip that anvil and others still suggest on a zero-fee chain. An account
that cannot pay for a transaction is named in an :class:`~ledger.errors.InsufficientFundsError`, with
what it needs and what it holds.

Reverts surface as web3's own :class:`web3.exceptions.ContractLogicError` (or its subclasses
``ContractCustomError`` / ``ContractPanicError``) with the complete revert data as a hex string in
``.data``, on every backend: the memory chain answers a revert the way geth and anvil do (JSON-RPC
error code 3 with ``data``), instead of eth-tester's own lossy ``TransactionFailed`` strings.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ProviderConnectionError, TimeExhausted, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers import EthereumTesterProvider, HTTPProvider, JSONBaseProvider
from web3.types import BlockData, RPCEndpoint, RPCResponse, TxParams, TxReceipt

from ledger import _node
from ledger._node import AnvilNode, default_data_dir, running_node
from ledger.errors import (
    ChainUnavailableError,
    ConfigurationError,
    InsufficientFundsError,
    TransactionError,
    ValidationError,
)

__all__ = [
    "AnvilNode",
    "Chain",
    "ChainKind",
    "connect",
    "default_data_dir",
    "first_block_at",
    "running_node",
    "send_transaction",
]

ChainKind = Literal["memory", "local", "rpc"]

#: Environment variable with the operator's fixed price per gas in wei (``0`` on a zero-fee network).
GAS_PRICE_ENV = "LEDGER_GAS_PRICE"

# Head room over eth_estimateGas: estimates can be short when state changes between estimate and
# inclusion, or for calls that refund gas.
GAS_MARGIN_PERCENT = 20


class Chain:
    """A connected chain. Close it (or use ``with``) to release the connection and any owned node."""

    def __init__(
        self,
        w3: Web3,
        kind: ChainKind,
        accounts: Sequence[LocalAccount] = (),
        *,
        url: str | None = None,
        node: AnvilNode | None = None,
        timeout: float = 30.0,
        gas_price: int | None = None,
    ) -> None:
        self.w3 = w3
        self.kind: ChainKind = kind
        self.accounts: list[LocalAccount] = list(accounts)
        self.url = url
        self.node = node
        self.chain_id: int = w3.eth.chain_id
        self.genesis_hash = HexBytes(w3.eth.get_block(0)["hash"])
        #: The operator's fixed price per gas in wei, or None to pay what the node suggests.
        self.gas_price = gas_price
        self._timeout = timeout
        self._reconnect_lock = threading.Lock()

    def reconnect(self) -> bool:
        """``local``: follow the data dir's node after it restarted (on another port); True if it moved.

        The node of a data dir may be stopped or killed and started again by anyone (its new port is in
        ``anvil.port``). The connection moves to it only if it serves the same chain (chain id and genesis
        block); everything built on :attr:`w3` (contracts, the ledger, indexers) follows. The new node is
        not owned: it was started elsewhere. Other kinds never move: their URL is the configuration.
        """
        if self.kind != "local" or self.node is None:
            return False
        with self._reconnect_lock:
            current = running_node(self.node.data_dir)
            if current is None or current.port == self.node.port:
                return False
            provider = _http_provider(current.url, self._timeout)
            probe = Web3(provider)
            try:
                chain_id = probe.eth.chain_id
                genesis = HexBytes(probe.eth.get_block(0)["hash"])
            except Exception as exc:  # not answering yet: the next attempt may succeed
                raise ChainUnavailableError(f"the restarted node at {current.url} does not answer: {exc}") from exc
            if chain_id != self.chain_id or genesis != self.genesis_hash:
                raise ChainUnavailableError(
                    f"the node now serving {self.node.data_dir} runs another chain (chain id {chain_id}, "
                    f"genesis 0x{bytes(genesis).hex()}); not switching to it"
                )
            self.w3.provider = provider
            self.url = current.url
            self.node = current
            return True

    def fees(self, latest: BlockData | None = None) -> dict[str, int]:
        """The fee fields for the next transaction, following the chain and the operator's price.

        A chain whose blocks carry ``baseFeePerGas`` gets EIP-1559 fields, any other a legacy ``gasPrice``.
        With a configured :attr:`gas_price` that is the price per gas paid (the tip is what is left over
        the base fee; a base fee above it is a configuration error, as the transaction would never be
        mined). Without one, the node's ``eth_gasPrice`` and ``eth_maxPriorityFeePerGas`` are followed,
        and a node that asks for a zero gas price gets zero.
        """
        block = latest if latest is not None else self.w3.eth.get_block("latest")
        base_fee = block.get("baseFeePerGas")
        if self.gas_price is not None:
            if base_fee is None:
                return {"gasPrice": self.gas_price}
            if base_fee > self.gas_price:
                raise ConfigurationError(
                    f"the chain's base fee is {base_fee} wei per gas, above the configured gas price of "
                    f"{self.gas_price} wei ({GAS_PRICE_ENV}): no transaction of ours would be mined"
                )
            return {"maxFeePerGas": self.gas_price, "maxPriorityFeePerGas": self.gas_price - base_fee}
        gas_price = self.w3.eth.gas_price
        if base_fee is None:
            return {"gasPrice": gas_price}
        if gas_price == 0:
            return {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
        tip: int
        try:
            tip = self.w3.eth.max_priority_fee
        except (Web3RPCError, ValueError):
            tip = max(gas_price - base_fee, 0)
        return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}

    def charges_fees(self) -> bool:
        """Whether a transaction costs coins here: False on a zero-fee network, where accounts need no funds."""
        return any(self.fees().values())

    def close(self) -> None:
        """Disconnect; stop the local node too if this process started it without ``detach``."""
        disconnect = getattr(self.w3.provider, "disconnect", None)
        if callable(disconnect):
            disconnect()
        if self.node is not None and self.node.owned:
            self.node.stop()

    def __enter__(self) -> Chain:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f" {self.url}" if self.url else ""
        return f"<Chain {self.kind}{where} chain_id={self.chain_id}>"


def connect(
    spec: str,
    *,
    data_dir: Path | str | None = None,
    port: int | None = None,
    chain_id: int | None = None,
    keys: Sequence[str | bytes | LocalAccount] = (),
    detach: bool = False,
    timeout: float = 30.0,
    gas_price: int | None = None,
    attach: bool = False,
) -> Chain:
    """Turn a chain spec (``memory``, ``local`` or a node URL) into a connected :class:`Chain`.

    ``data_dir``, ``port`` and ``detach`` apply to ``local`` (default directory ``.data/chain``
    under the working directory). ``chain_id`` is the id to start anvil with (default 31337) and,
    for every kind, the id the chain must report. ``keys`` add signing accounts after the
    backend's dev accounts (a URL node has none of its own). ``gas_price`` fixes the price per gas in
    wei (default ``$LEDGER_GAS_PRICE``, else the node's suggestion; see :meth:`Chain.fees`). ``attach``
    (``local``): connect to the node already serving ``data_dir``, never start one (a second process of
    the service: the first one starts and owns the node); none there raises ``ChainUnavailableError``.
    """
    extra = [_as_account(key) for key in keys]
    if gas_price is None:
        gas_price = _configured_gas_price()
    elif gas_price < 0:
        raise ConfigurationError(f"the gas price must be 0 or more wei, not {gas_price}")
    kind = spec.strip()
    if kind == "memory":
        chain = _connect_memory(extra)
    elif kind == "local":
        if attach:
            found = running_node(data_dir)
            if found is None:
                raise ChainUnavailableError(f"no node of ours serves {data_dir or default_data_dir()}")
            node = found
        else:
            node = _node.ensure_node(
                data_dir, port=port, chain_id=chain_id or _node.DEFAULT_CHAIN_ID, detach=detach, timeout=timeout
            )
        try:
            w3 = _open_url(node.url, timeout)
        except ChainUnavailableError:
            if node.owned:
                node.stop()
            raise
        chain = Chain(w3, "local", [*_dev_accounts(), *extra], url=node.url, node=node, timeout=timeout)
    elif kind.partition("://")[0].lower() in ("http", "https", "ws", "wss"):
        chain = Chain(_open_url(kind, timeout), "rpc", extra, url=kind)
    else:
        raise ConfigurationError(
            f"unknown chain spec {spec!r}: use 'memory', 'local' or an http(s):// or ws(s):// node URL"
        )
    chain.gas_price = gas_price
    if chain_id is not None and chain.chain_id != chain_id:
        chain.close()
        raise ConfigurationError(f"the {chain.kind} chain reports chain id {chain.chain_id}, not {chain_id}")
    return chain


def _configured_gas_price() -> int | None:
    text = os.environ.get(GAS_PRICE_ENV, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(f"{GAS_PRICE_ENV} must be a whole number of wei, 0 or more")
    return value


def first_block_at(w3: Web3, when: float, low: int, high: int) -> int:
    """The first block in ``low..high`` whose timestamp is at or after ``when`` (``high`` if none): a
    binary search, ~log2(high - low) ``eth_getBlockByNumber`` calls. Block timestamps never decrease.
    Used to turn a time the chain stored into a narrow block range for ``eth_getLogs``."""
    while low < high:
        middle = (low + high) // 2
        if int(w3.eth.get_block(middle)["timestamp"]) < when:
            low = middle + 1
        else:
            high = middle
    return low


def send_transaction(
    chain: Chain, account: LocalAccount, tx: TxParams | dict[str, Any], *, timeout: float = 120.0
) -> TxReceipt:
    """Fill, sign locally, send raw and wait for the receipt; fields already in ``tx`` are kept.

    Fills the pending nonce, gas (estimate plus a margin), fees (:meth:`Chain.fees`) and the chain id.
    A revert during gas estimation propagates as web3's ``ContractLogicError``; a mined transaction
    that reverted comes back as a receipt with ``status == 0``; an account that cannot pay raises
    :class:`InsufficientFundsError` naming it and the amount. Not safe for concurrent sends from one
    account: the caller serialises them.
    """
    w3 = chain.w3
    params: dict[str, Any] = dict(tx)
    sender = params.pop("from", account.address)
    if str(sender).lower() != account.address.lower():
        raise ValidationError(f"the transaction is from {sender} but would be signed by {account.address}")
    try:
        params.setdefault("chainId", chain.chain_id)
        if "nonce" not in params:
            params["nonce"] = w3.eth.get_transaction_count(account.address, "pending")
        if "gasPrice" not in params and "maxFeePerGas" not in params:
            params.update(chain.fees())
        try:
            if "gas" not in params:
                estimate = w3.eth.estimate_gas(cast(TxParams, {**params, "from": account.address}))
                params["gas"] = estimate * (100 + GAS_MARGIN_PERCENT) // 100
            signed = account.sign_transaction(params)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        except (Web3RPCError, ValueError) as exc:
            if _lacks_funds(exc):
                raise _insufficient_funds(chain, account, params) from None
            raise
        return w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=timeout, poll_latency=0.5 if chain.kind == "rpc" else 0.02
        )
    except TimeExhausted:
        raise TransactionError(
            f"transaction {signed.hash.to_0x_hex()} from {account.address} (nonce {params['nonce']}) "
            f"was not mined within {timeout:g}s"
        ) from None
    except (OSError, ProviderConnectionError) as exc:
        raise ChainUnavailableError(f"lost the chain at {chain.url or chain.kind}: {exc}") from exc


# What nodes say when the sender cannot pay: geth and anvil ("insufficient funds for gas * price +
# value", or "gas required exceeds allowance" when gas estimation is capped by the balance), Besu
# ("Upfront cost exceeds account balance"), eth-tester ("Sender does not have enough balance").
_NO_FUNDS = ("insufficient funds", "exceeds allowance", "exceeds account balance", "not have enough balance")


def _lacks_funds(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(phrase in text for phrase in _NO_FUNDS)


def _insufficient_funds(chain: Chain, account: LocalAccount, params: dict[str, Any]) -> InsufficientFundsError:
    """What the account needs at least: the value plus gas at the offered price (gas estimated free)."""
    price = int(params.get("maxFeePerGas", params.get("gasPrice", 0)))
    value = int(params.get("value", 0))
    gas = params.get("gas")
    if gas is None:
        free = {k: v for k, v in params.items() if k not in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas")}
        try:
            gas = chain.w3.eth.estimate_gas(cast(TxParams, {**free, "from": account.address, "value": 0}))
        except Exception:  # the estimate needs what is missing too: count the transaction's floor
            gas = 21_000
    balance = int(chain.w3.eth.get_balance(account.address))
    return InsufficientFundsError(account.address, value + int(gas) * price, balance)


# -- URL nodes ---------------------------------------------------------------------------------


def _http_provider(url: str, timeout: float) -> HTTPProvider:
    """An HTTP provider that asks the node its chain id once: web3's validation middleware asks before
    every transaction and gas estimate (a sixth of the outbox worker's time), and a node's chain id does
    not change (a different node behind the URL is a new provider: see :meth:`Chain.reconnect`)."""
    return HTTPProvider(
        url,
        request_kwargs={"timeout": timeout},
        cache_allowed_requests=True,
        cacheable_requests={RPCEndpoint("eth_chainId")},
    )


def _open_url(url: str, timeout: float) -> Web3:
    scheme = url.partition("://")[0].lower()
    provider: JSONBaseProvider = (
        _SyncWebSocketProvider(url, timeout) if scheme in ("ws", "wss") else _http_provider(url, timeout)
    )
    w3 = Web3(provider)
    try:
        w3.eth.chain_id  # noqa: B018 - the probe: is something there that speaks Ethereum JSON-RPC?
        latest = w3.provider.make_request(RPCEndpoint("eth_getBlockByNumber"), ["latest", False])
    except Exception as exc:  # anything at all means: not a usable node at this URL
        raise ChainUnavailableError(f"no Ethereum JSON-RPC node answers at {url}: {exc}") from exc
    extra_data = (latest.get("result") or {}).get("extraData", "0x")
    if len(extra_data) > 2 + 64:
        # Clique / IBFT / QBFT (Besu) seal the block in extraData, longer than web3's 32-byte limit.
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


class _SyncWebSocketProvider(JSONBaseProvider):
    """Plain request/response JSON-RPC over one WebSocket, for the synchronous ``Web3``.

    web3 8 removed ``LegacyWebSocketProvider``; its ``WebSocketProvider`` serves ``AsyncWeb3`` only.
    No subscriptions: the library polls.
    """

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__()
        self.endpoint_uri = url
        self._timeout = timeout
        self._session: Any = None
        self._socket: Any = None
        self._lock = threading.Lock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        from websockets.exceptions import WebSocketException  # web3 depends on websockets
        from websockets.sync.client import connect as ws_connect

        message = self.encode_rpc_request(method, params)
        request_id = json.loads(message)["id"]
        with self._lock:
            try:
                if self._socket is None:
                    # Entered by hand: websockets >= 17.1 deprecates connect() outside ``with``.
                    session = ws_connect(self.endpoint_uri, open_timeout=self._timeout, max_size=None)
                    self._socket = session.__enter__()
                    self._session = session
                self._socket.send(message.decode())
                while True:
                    response = json.loads(self._socket.recv(timeout=self._timeout))
                    if response.get("id") == request_id:
                        return cast(RPCResponse, response)
            except (OSError, WebSocketException) as exc:
                self._drop()  # reconnect on the next request
                raise ProviderConnectionError(f"{self.endpoint_uri}: {exc}") from exc

    def disconnect(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        session, self._session, self._socket = self._session, None, None
        if session is not None:
            with contextlib.suppress(Exception):
                session.__exit__(None, None, None)


# -- memory ------------------------------------------------------------------------------------


def _connect_memory(extra: list[LocalAccount]) -> Chain:
    try:
        from eth_tester import EthereumTester
    except ImportError:
        raise ConfigurationError(
            "the memory chain needs eth-tester with py-evm: pip install 'judicial-trust-ledger[memory]'"
        ) from None
    backend = _pragued_backend()
    w3 = Web3(_MemoryProvider(EthereumTester(backend)))
    accounts = [cast(LocalAccount, Account.from_key(key.to_bytes())) for key in backend.account_keys]
    return Chain(w3, "memory", [*accounts, *extra])


def _pragued_backend() -> Any:
    """A py-evm backend on the Prague fork whose reverts keep their raw data."""
    from eth.exceptions import Revert
    from eth.vm.forks import PragueVM
    from eth.vm.spoof import SpoofTransaction
    from eth_tester import PyEVMBackend
    from eth_tester.backends.pyevm.main import _execute_and_revert_transaction
    from eth_tester.exceptions import TransactionFailed

    class Backend(PyEVMBackend):
        # eth-tester 0.14 turns revert data into text (str(bytes), or the decoded reason, where it
        # even drops the selector of a custom error whose arguments look like one string).
        # These two overrides follow PyEVMBackend's own and raise the bytes instead.
        def call(self, transaction: dict[str, Any], block_number: Any = "latest") -> bytes:
            transaction = {"gas": self._max_available_gas(), **transaction}
            unsigned = self._get_normalized_and_unsigned_evm_transaction(transaction, block_number)
            computation = _execute_and_revert_transaction(
                self.chain, SpoofTransaction(unsigned, from_=transaction["from"]), block_number
            )
            if computation.is_success:
                return cast(bytes, computation.output)
            if isinstance(computation.error, Revert):
                raise _Reverted(computation.error.args[0] if computation.error.args else b"")
            raise TransactionFailed(str(computation.error))

        def estimate_gas(self, transaction: dict[str, Any], block_number: Any = "latest") -> int:
            try:
                return cast(int, super().estimate_gas(transaction, block_number))
            except TransactionFailed as exc:
                cause = exc.args[0] if exc.args else None
                if isinstance(cause, Revert):
                    raise _Reverted(cause.args[0] if cause.args else b"") from None
                raise

    return Backend(vm_configuration=((0, PragueVM),))


class _Reverted(Exception):
    """Raw revert data on its way from the memory backend to a JSON-RPC error response."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.data = bytes(data)


class _MemoryProvider(EthereumTesterProvider):
    """eth-tester, answering a revert like geth and anvil: error code 3 with the data in hex."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return super().make_request(method, params)
        except _Reverted as revert:
            message = "execution reverted"
            if revert.data[:4] == _ERROR_STRING_SELECTOR:
                try:
                    from eth_abi import decode

                    message += f": {decode(['string'], revert.data[4:])[0]}"
                except Exception:  # a malformed reason stays in the data
                    pass
            return cast(
                RPCResponse,
                {
                    "jsonrpc": "2.0",
                    "id": self._current_request_id,
                    "error": {"code": 3, "message": message, "data": "0x" + revert.data.hex()},
                },
            )


_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


# -- accounts ----------------------------------------------------------------------------------


def _dev_accounts() -> list[LocalAccount]:
    """anvil's accounts, derived from the public dev mnemonic the node is started with."""
    seed = seed_from_mnemonic(_node.DEV_MNEMONIC, "")
    return [
        cast(LocalAccount, Account.from_key(key_from_seed(seed, f"m/44'/60'/0'/0/{i}")))
        for i in range(_node.DEV_ACCOUNT_COUNT)
    ]


def _as_account(key: str | bytes | LocalAccount) -> LocalAccount:
    if isinstance(key, LocalAccount):
        return key
    try:
        return cast(LocalAccount, Account.from_key(key))
    except (ValueError, TypeError):
        raise ConfigurationError("a signing key is not a valid secp256k1 private key") from None
