"""What a node's answers mean for a transaction: refusals in words, receipts, block hashes, reverts;
and :func:`batch`, many calls in one JSON-RPC round trip.

Nodes refuse a raw transaction in words (``Web3RPCError`` from a JSON-RPC node, eth-tester's
``ValidationError``), each in its own; :func:`refusal` turns the words into one of four meanings. The
other helpers answer None where web3 raises "not found".
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    ProviderConnectionError,
    TransactionNotFound,
    Web3RPCError,
)
from web3.providers import HTTPProvider
from web3.types import RPCEndpoint

__all__ = [
    "Refusal",
    "Refused",
    "batch",
    "block_hash",
    "block_times",
    "eth_call",
    "message",
    "plain",
    "plain_outcome",
    "receipt",
    "refusal",
    "revert_data",
    "transaction",
]

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


def plain(w3: Any, requests: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]] | None:
    """The node's own JSON answers to ``requests`` (method, params), in order, or None when the provider
    is not JSON-RPC over HTTP (eth-tester, our WebSocket one): the caller then goes through web3.

    For the hot path of the writers (estimates and sends of each record): web3's request and result
    formatters and middlewares cost the outbox worker more than the node took to answer. Params are
    given as the node takes them (hex quantities); several requests travel in one batch. A lost
    connection raises, as a web3 call would."""
    provider = w3.provider
    if not isinstance(provider, HTTPProvider) or not requests:
        return None
    if len(requests) > 1:
        answers: Any = provider.make_batch_request([(m, p) for m, p in requests])  # type: ignore[misc]
        if isinstance(answers, list) and len(answers) == len(requests):
            return [a if isinstance(a, dict) else {"error": {"message": str(a)}} for a in answers]
    return [dict(provider.make_request(cast(RPCEndpoint, m), p)) for m, p in requests]


def plain_outcome(answer: dict[str, Any]) -> Any:
    """A plain answer's result, or the exception web3 would have raised for it: a revert (the node's
    words say so, or it carries revert data) as ``ContractLogicError``, any other error as
    ``Web3RPCError`` (read by :func:`refusal`)."""
    if "error" not in answer:
        return answer.get("result")
    error = answer["error"] if isinstance(answer["error"], dict) else {"message": str(answer["error"])}
    words = str(error.get("message", ""))
    data = error.get("data")
    if isinstance(data, dict):
        data = data.get("data")
    if "revert" in words.lower() or (isinstance(data, str) and data.startswith("0x") and len(data) >= 10):
        return ContractLogicError(words, data=data if isinstance(data, str) else None)
    return Web3RPCError(words, rpc_response=answer)  # type: ignore[arg-type]


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


def batch(w3: Any, calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Each call's outcome as if it were made alone (its result, or the exception it raised), in order.

    ``calls`` are thunks over ``w3.eth`` methods (``eth_call(w3, "get_transaction_receipt", h)``). Over
    HTTP they travel in one JSON-RPC batch; web3's own ``batch.execute()`` raises for the whole batch
    when one answer is an error (a receipt not there yet, a refused transaction), so each answer is
    formatted here on its own, with web3's formatters for that method (the same ones a single call
    uses: a revert is a ``ContractLogicError``, a missing receipt ``TransactionNotFound``). Providers
    without batches (eth-tester's, our WebSocket one) and nodes that refuse a batch get the calls one by
    one. A lost connection raises, as a single call would.
    """
    provider = w3.provider
    if len(calls) < 2 or not isinstance(provider, HTTPProvider):
        return [_outcome(call) for call in calls]
    with w3.batch_requests() as requests:
        for call in calls:
            requests.add(call())
        infos = list(requests._requests_info)
        answers = provider.batch_request_func(w3, w3.middleware_onion)([info[0] for info in infos])
    if not isinstance(answers, list) or len(answers) != len(infos):
        return [_outcome(call) for call in calls]  # one error for the whole batch: a node without batches
    out: list[Any] = []
    for info, answer in zip(infos, answers, strict=True):
        try:
            out.append(w3.manager._format_batched_response(info, answer))
        except Exception as exc:
            out.append(exc)
    return out


def eth_call(w3: Any, method: str, *args: Any) -> Callable[[], Any]:
    """``w3.eth.<method>(*args)`` as a thunk for :func:`batch` (the method is looked up when called, so
    inside a batch it is queued, not made)."""

    def call() -> Any:
        return getattr(w3.eth, method)(*args)

    return call


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except (OSError, ProviderConnectionError):
        raise
    except Exception as exc:
        return exc


def block_times(w3: Any, numbers: Sequence[int]) -> dict[int, int]:
    """The timestamps of the chain's blocks of these numbers (missing blocks left out), in one batch over
    HTTP. Only the header's ``timestamp`` is read, from the node's plain answer: web3's formatting of a
    whole block cost more than the request itself, once per confirmed write."""
    wanted = sorted(set(numbers))
    provider = w3.provider
    answers: Any = None
    if len(wanted) > 1 and isinstance(provider, HTTPProvider):
        method: Any = "eth_getBlockByNumber"
        answers = provider.make_batch_request([(method, [hex(n), False]) for n in wanted])
    if not isinstance(answers, list) or len(answers) != len(wanted):  # one by one
        blocks = [_outcome(eth_call(w3, "get_block", n)) for n in wanted]
        return {n: int(b["timestamp"]) for n, b in zip(wanted, blocks, strict=True) if _is_block(b)}
    out: dict[int, int] = {}
    for answer in answers:
        block = answer.get("result") if isinstance(answer, dict) else None
        if isinstance(block, dict) and "number" in block and "timestamp" in block:
            out[int(block["number"], 16)] = int(block["timestamp"], 16)
    return out


def _is_block(outcome: Any) -> bool:
    return outcome is not None and not isinstance(outcome, Exception)
