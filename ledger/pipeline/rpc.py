"""What a node's answers mean for a transaction: refusals in words, receipts, block hashes, reverts.

Nodes refuse a raw transaction in words (``Web3RPCError`` from a JSON-RPC node, eth-tester's
``ValidationError``), each in its own; :func:`refusal` turns the words into one of four meanings. The
other helpers answer None where web3 raises "not found".
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from web3.exceptions import BlockNotFound, ContractLogicError, TransactionNotFound, Web3RPCError

__all__ = ["Refusal", "Refused", "block_hash", "message", "receipt", "refusal", "revert_data", "transaction"]

_KNOWN = ("already known", "already imported", "known transaction", "already exists", "alreadyknown")
_NONCE_LOW = ("nonce too low", "nonce is too low", "oldnonce", "nonce has already been used", "noncetoolow")
_FEE = ("underpriced", "fee too low", "less than block base fee", "feecap", "fee cap", "max fee per gas")
_EXPECTED_NONCE = re.compile(r"expected (\d+), but got (\d+)")  # eth-tester: "Expected 1, but got 0"


class Refusal(enum.Enum):
    """Why a node did not take a raw transaction."""

    KNOWN = "known"  # it has it already (sent before a crash): wait for its receipt
    NONCE_TAKEN = "nonce taken"  # mined already, or another transaction took the nonce
    UNDERPRICED = "underpriced"  # the fees are below what the node takes now: replace, same nonce
    OTHER = "other"  # anything else: say why and try again later


@dataclass(frozen=True)
class Refused:
    """A node's refusal of a raw transaction: what it means, and its words (for a note)."""

    kind: Refusal
    message: str


def message(exc: BaseException) -> str:
    """The node's words, lower case (the JSON-RPC error message when there is one)."""
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, dict):
        error = exc.rpc_response.get("error")
        if isinstance(error, dict):
            return str(error.get("message", exc)).lower()
    return str(exc).lower()


def refusal(exc: BaseException) -> Refused:
    text = message(exc)
    return Refused(_kind(text), text[:200])


def _kind(text: str) -> Refusal:
    if any(m in text for m in _KNOWN):
        return Refusal.KNOWN
    if any(m in text for m in _NONCE_LOW):
        return Refusal.NONCE_TAKEN
    found = _EXPECTED_NONCE.search(text)
    if found is not None and int(found.group(2)) < int(found.group(1)):
        return Refusal.NONCE_TAKEN
    if any(m in text for m in _FEE):
        return Refusal.UNDERPRICED
    return Refusal.OTHER


def revert_data(exc: ContractLogicError) -> bytes:
    """The revert data a ``ContractLogicError`` carries, as bytes (empty when none)."""
    data: Any = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    return bytes(data) if isinstance(data, bytes | bytearray) else b""


def receipt(w3: Any, tx_hash: str) -> Any:
    """The transaction's receipt, or None while the node has none."""
    try:
        return w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None


def transaction(w3: Any, tx_hash: str) -> Any:
    """The transaction as the node knows it (mined or pending), or None when it does not."""
    try:
        return w3.eth.get_transaction(tx_hash)
    except TransactionNotFound:
        return None


def block_hash(w3: Any, number: int) -> str | None:
    """The hash of the chain's block ``number`` (0x-hex), or None when the chain has no such block."""
    try:
        block = w3.eth.get_block(number)
    except BlockNotFound:
        return None
    return "0x" + bytes(block["hash"]).hex() if block is not None else None
