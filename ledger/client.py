"""Typed access to the deployed registries: write records, read state, decode reverts.

Contract: :class:`Ledger` binds a connected :class:`~ledger.chain.Chain` to a
:class:`~ledger.deployment.Deployment`. :meth:`Ledger.submit` writes any record kind: it signs the record
as EIP-712 typed data with the court's signer (the signature goes into the certificate), then sends it
either from the signer itself (direct) or, given a relayer, through the contract's ``...BySig`` function
(delegated). A revert becomes one :class:`~ledger.errors.ContractRevertError` naming the custom error and
its arguments, whatever the backend.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from ledger.build import load_artifact
from ledger.chain import Chain, send_transaction
from ledger.deployment import CONTRACTS, Deployment
from ledger.errors import ContractRevertError, TransactionError, ValidationError
from ledger.records import (
    CONTRACT_OF,
    Action,
    Anchor,
    Dossier,
    Extension,
    Filing,
    Judgment,
    JudgmentStatusChange,
    Listing,
    Record,
    RecordId,
    Removal,
)
from ledger.signing import Domain, domain_for, sign_record

__all__ = ["Ledger", "Written", "decode_revert"]

#: record kind -> (direct function, delegated function)
FUNCTIONS: dict[type[Record], tuple[str, str]] = {
    Judgment: ("recordJudgment", "recordJudgmentBySig"),
    JudgmentStatusChange: ("changeStatus", "changeStatusBySig"),
    Dossier: ("fileDossier", "fileDossierBySig"),
    Filing: ("openCase", "openCaseBySig"),
    Action: ("recordAction", "recordActionBySig"),
    Listing: ("list", "listBySig"),
    Extension: ("extend", "extendBySig"),
    Removal: ("remove", "removeBySig"),
    Anchor: ("anchor", "anchorBySig"),
}


@dataclass(frozen=True)
class Written:
    """A record confirmed on chain, with everything a certificate needs."""

    record: Record
    record_id: RecordId
    signature: bytes
    signer: str
    contract: str
    contract_address: str
    transaction_hash: str
    block_number: int
    block_hash: str
    block_time: int
    gas_used: int
    sender: str


# -- revert decoding ---------------------------------------------------------------------------


@cache
def _error_table() -> dict[bytes, tuple[str, list[str], list[str], str]]:
    """selector -> (error name, argument names, argument types, contract) over every artifact."""
    table: dict[bytes, tuple[str, list[str], list[str], str]] = {
        bytes.fromhex("08c379a0"): ("Error", ["reason"], ["string"], ""),
        bytes.fromhex("4e487b71"): ("Panic", ["code"], ["uint256"], ""),
    }
    for name in CONTRACTS:
        for item in load_artifact(name).abi:
            if item["type"] != "error":
                continue
            types = [_abi_type(i) for i in item["inputs"]]
            selector = keccak(f"{item['name']}({','.join(types)})".encode())[:4]
            table.setdefault(selector, (item["name"], [i["name"] for i in item["inputs"]], types, name))
    return table


@cache
def _function_table(name: str) -> dict[str, tuple[bytes, tuple[str, ...]]]:
    """function name -> (selector, argument types) of one contract (an overloaded name is left out)."""
    table: dict[str, tuple[bytes, tuple[str, ...]]] = {}
    overloaded: set[str] = set()
    for item in load_artifact(name).abi:
        if item["type"] != "function":
            continue
        types = tuple(_abi_type(i) for i in item["inputs"])
        if item["name"] in table:
            overloaded.add(item["name"])
        table[item["name"]] = (keccak(f"{item['name']}({','.join(types)})".encode())[:4], types)
    for fn in overloaded:
        del table[fn]
    return table


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return str(item["type"])


def decode_revert(data: bytes | str | None) -> ContractRevertError:
    """The library exception for raw revert data, naming the custom error and its arguments."""
    if isinstance(data, str):
        data = bytes.fromhex(data[2:] if data.startswith("0x") else data)
    data = data or b""
    if len(data) < 4:
        return ContractRevertError("UnknownRevert", {"data": data}, data=data)
    entry = _error_table().get(data[:4])
    if entry is None:
        return ContractRevertError("UnknownRevert", {"data": data}, data=data)
    name, arg_names, types, contract = entry
    try:
        values = abi_decode(types, data[4:])
    except Exception:
        return ContractRevertError(name, {"data": data[4:]}, contract=contract or None, data=data)
    args = {n or f"arg{i}": _plain(v) for i, (n, v) in enumerate(zip(arg_names, values, strict=True))}
    return ContractRevertError(name, args, contract=contract or None, data=data)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return bytes(value)
    return value


def _revert_data(exc: ContractLogicError) -> bytes:
    data = exc.data
    if isinstance(data, dict):  # some nodes nest it
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, bytes):
        return data
    return b""


# -- the client --------------------------------------------------------------------------------


class Ledger:
    """The deployed suite on one chain."""

    def __init__(self, chain: Chain, deployment: Deployment) -> None:
        if deployment.chain_id != chain.chain_id:
            raise ValidationError(
                f"deployment is for chain {deployment.chain_id}, connected chain is {chain.chain_id}"
            )
        self.chain = chain
        self.deployment = deployment
        self.w3 = chain.w3
        self._contracts: dict[str, Contract] = {
            name: self.w3.eth.contract(address=to_checksum_address(deployment.address(name)),
                                       abi=load_artifact(name).abi)
            for name in CONTRACTS
        }

    def contract(self, name: str) -> Contract:
        return self._contracts[name]

    def encode(self, name: str, function: str, args: list[Any] | tuple[Any, ...]) -> str:
        """The calldata (0x-hex) of ``function(*args)`` on the suite's contract ``name``.

        Encoded with eth-abi from the function's selector and types, read once per contract: web3's
        ``Contract.encode_abi`` finds and validates the function on every call, which cost the outbox
        worker more than half of its time per record. ``args`` are in eth-abi's types (bytes for
        ``bytesN``, addresses as hex strings, tuples for structs); a test holds the two encodings equal.
        """
        found = _function_table(name).get(function)
        if found is None:  # an overloaded name: let web3 pick the overload
            return str(self._contracts[name].encode_abi(function, args=list(args)))
        selector, types = found
        return "0x" + (selector + abi_encode(types, list(args))).hex()

    def domain(self, record: Record | type[Record]) -> Domain:
        return domain_for(record, self.chain.chain_id, self.deployment.addresses)

    # -- writing ---------------------------------------------------------------------------

    def sign(self, signer: LocalAccount, record: Record) -> bytes:
        return sign_record(signer, self.domain(record), record)

    def call_data(self, record: Record, signature: bytes | None = None) -> tuple[str, str]:
        """(contract address, calldata) of the transaction that writes ``record``.

        With a signature, the delegated ``...BySig`` function; without, the direct one.
        """
        name = CONTRACT_OF[type(record)]
        direct, delegated = FUNCTIONS[type(record)]
        struct = tuple(record.message()[n] for n, _, _ in record.FIELDS)
        if signature is None:
            data = self.encode(name, direct, [struct])
        else:
            data = self.encode(name, delegated, [struct, signature])
        return self._contracts[name].address, data

    def submit(self, signer: LocalAccount, record: Record, *, relayer: LocalAccount | None = None,
               signature: bytes | None = None) -> Written:
        """Sign ``record`` with the court's ``signer`` and write it; returns the confirmed write.

        With ``relayer``, the relayer sends the transaction and the contract checks the signature.
        """
        signature = signature or self.sign(signer, record)
        sender = relayer or signer
        to, data = self.call_data(record, signature if relayer is not None else None)
        receipt = self.transact(sender, to, data)
        block = self.w3.eth.get_block(receipt["blockNumber"])
        return Written(
            record=record,
            record_id=record.record_id(),
            signature=signature,
            signer=signer.address,
            contract=CONTRACT_OF[type(record)],
            contract_address=to,
            transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=receipt["blockNumber"],
            block_hash="0x" + bytes(block["hash"]).hex(),
            block_time=int(block["timestamp"]),
            gas_used=int(receipt["gasUsed"]),
            sender=sender.address,
        )

    def transact(self, sender: LocalAccount, to: str, data: str, **fields: Any) -> Any:
        """Send one call; a revert (at estimation or once mined) raises ContractRevertError."""
        tx = {"to": to, "data": data, **fields}
        try:
            receipt = send_transaction(self.chain, sender, tx)
        except ContractLogicError as exc:
            raise decode_revert(_revert_data(exc)) from None
        if receipt["status"] != 1:
            raise self._mined_revert(sender, tx, receipt)
        return receipt

    def _mined_revert(self, sender: LocalAccount, tx: dict[str, Any], receipt: Any) -> Exception:
        """Replay a transaction that reverted once mined, to learn why."""
        try:
            self.w3.eth.call({"from": sender.address, "to": tx["to"], "data": tx["data"]},
                             block_identifier=receipt["blockNumber"] - 1)
        except ContractLogicError as exc:
            return decode_revert(_revert_data(exc))
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        return TransactionError(f"transaction {tx_hash} reverted (out of gas or state changed before inclusion)")

    def governance(self, governor: LocalAccount, function: str, *args: Any) -> Any:
        """Call a CourtRegistry governance function (admitCourt, suspendCourt, addSigner, ...)."""
        contract = self._contracts["CourtRegistry"]
        return self.transact(governor, contract.address, contract.encode_abi(function, args=list(args)))

    def admit_court(self, governor: LocalAccount, court: int, jurisdiction: str, appellate_court: int,
                    first_signer: str) -> Any:
        return self.governance(governor, "admitCourt", court, jurisdiction_bytes(jurisdiction),
                               appellate_court, to_checksum_address(first_signer))

    def delegate_enforcement(self, signer: LocalAccount, judgment_id: bytes, delegate: int,
                             granted: bool = True) -> Any:
        """Entrust (or withdraw) enforcement of a judgment to court ``delegate`` (委托执行); ``signer`` is a
        signer of the judgment's court or of a court above it."""
        contract = self._contracts["EnforcementRegistry"]
        return self.transact(signer, contract.address,
                             contract.encode_abi("delegateEnforcement", args=[judgment_id, delegate, granted]))

    def may_enforce(self, judgment_id: bytes, court: int) -> bool:
        return bool(self.view("EnforcementRegistry", "mayEnforce", judgment_id, court))

    def set_case_number_code(self, governor: LocalAccount, court: int, code: str) -> Any:
        """Record the code ``court``'s case numbers carry (e.g. "京0108"; "" removes it)."""
        return self.governance(governor, "setCaseNumberCode", court, case_number_code_bytes(code))

    # -- reading ---------------------------------------------------------------------------

    def view(self, contract: str, function: str, *args: Any, block: int | str = "latest") -> Any:
        try:
            return getattr(self._contracts[contract].functions, function)(*args).call(block_identifier=block)
        except ContractLogicError as exc:
            raise decode_revert(_revert_data(exc)) from None

    def judgment(self, judgment_id: bytes) -> dict[str, Any]:
        return _struct(self.view("JudgmentRegistry", "judgmentRecord", judgment_id),
                       ("court", "status", "recorded_at", "status_changed_at", "changes"))

    def superseded_by(self, judgment_id: bytes) -> bytes:
        return bytes(self.view("JudgmentRegistry", "supersededBy", judgment_id))

    def case(self, case_id: bytes) -> dict[str, Any]:
        return _struct(self.view("EnforcementRegistry", "caseRecord", case_id),
                       ("court", "state", "actions", "opened_at", "updated_at", "assets_inquired",
                        "pending_auctions", "amount_due", "amount_recovered", "amount_disbursed",
                        "judgment_id", "history_hash"))

    def listing(self, listing_id: bytes, *, block: int | str = "latest") -> dict[str, Any]:
        return _struct(self.view("DefaulterRegistry", "listingRecord", listing_id, block=block),
                       ("court", "ground", "restrictions", "listed_at", "until", "removed_at",
                        "removal_reason", "changes", "subject"))

    def is_restricted(self, subject: bytes, restriction: int, at: int) -> tuple[bool, bytes, int]:
        restricted, listing_id, until = self.view("DefaulterRegistry", "isRestricted", subject,
                                                  int(restriction), at)
        return bool(restricted), bytes(listing_id), int(until)

    def anchor(self, court: int, root: bytes) -> dict[str, Any]:
        """The anchor of ``root`` by ``court`` (court 0 when that court never anchored it)."""
        return _struct(self.view("NotaryAnchor", "anchorRecord", court, root), ("court", "anchored_at", "size"))

    def verify_inclusion(self, court: int, root: bytes, digest: bytes, nonce: bytes, proof: list[bytes]) -> bool:
        return bool(self.view("NotaryAnchor", "verifyInclusion", court, root, digest, nonce, proof))

    def court(self, court: int) -> dict[str, Any]:
        return _struct(self.view("CourtRegistry", "courtInfo", court),
                       ("status", "appellate_court", "jurisdiction", "admitted_at", "signer_count"))

    def case_number_code(self, court: int) -> str | None:
        """The code ``court``'s case numbers carry, or None when the registry records none."""
        return case_number_code_text(bytes(self.view("CourtRegistry", "caseNumberCode", court)))

    def signer(self, address: str) -> dict[str, Any]:
        return _struct(self.view("CourtRegistry", "signerInfo", to_checksum_address(address)),
                       ("court", "valid_from", "valid_until"))

    def is_signer_valid_at(self, address: str, court: int, at: int) -> bool:
        return bool(self.view("CourtRegistry", "isSignerValidAt", to_checksum_address(address), court, at))


def jurisdiction_bytes(code: str) -> bytes:
    """"CN-BJ" -> 8 bytes, left-aligned and zero-padded, as the court registry stores it."""
    raw = code.strip().upper().encode("ascii")
    if len(raw) > 8:
        raise ValidationError(f"jurisdiction {code!r} is longer than 8 characters")
    return raw.ljust(8, b"\x00")


def case_number_code_bytes(code: str) -> bytes:
    """"京0108" -> 16 bytes of UTF-8, left-aligned and zero-padded, as the court registry stores it."""
    raw = code.strip().encode("utf-8")
    if len(raw) > 16:
        raise ValidationError("a case-number code is at most 16 bytes of UTF-8")
    return raw.ljust(16, b"\x00")


def case_number_code_text(word: bytes) -> str | None:
    """The stored bytes16 back to text (None for zero)."""
    text = bytes(word).rstrip(b"\x00").decode("utf-8", errors="replace")
    return text or None


def _struct(values: Any, names: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for name, value in zip(names, values, strict=True):
        if isinstance(value, bytes):
            value = bytes(value)
        elif isinstance(value, enum.Enum):
            value = int(value.value)
        out[name] = value
    return out
