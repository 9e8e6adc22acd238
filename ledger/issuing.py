"""Certificates issued from chain facts: one place turns a confirmed record into its certificate.

Contract: a certificate's state is read as of one named block (``as_of``), never "latest" on one line and
another block on the next: a case carries exactly the actions the chain holds up to that block (taken from
the index, kept to those mined at or before it, state and amount recovered replayed from them as the
contract does), a listing its end and removal read from the contract at that block. :class:`Issuer` finds
any record id in the index (judgment, enforcement case, listing), rebuilds its confirmed write from its
transaction (:func:`written_from_chain`) and issues its certificate; the service, which kept the write in
its outbox, calls :func:`judgment`, :func:`case` and :func:`listing` directly. No web framework here: the
service and the ``ledger certificate`` command share this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger.certificates import (
    Certificate,
    case_certificate,
    case_replay,
    defaulter_certificate,
    judgment_certificate,
)
from ledger.client import Ledger, Written
from ledger.errors import NotFoundError, ValidationError
from ledger.index import CaseView, Index
from ledger.records import (
    CONTRACT_OF,
    Action,
    CaseNumberKey,
    CaseState,
    Filing,
    Judgment,
    Listing,
    Record,
    open_case_number,
)
from ledger.signing import recover_signer

__all__ = ["Block", "Issuer", "case", "head", "judgment", "listing", "written_from_chain"]

#: address -> its key, when this workspace holds it (a record sent directly carries no signature in calldata)
KeyOf = Callable[[str], LocalAccount | None]


@dataclass(frozen=True)
class Block:
    """The block a certificate's state is read at."""

    number: int
    hash: str
    timestamp: int

    @classmethod
    def of(cls, w3: Any, block: int | str) -> Block:
        b = w3.eth.get_block(block)
        return cls(int(b["number"]), "0x" + bytes(b["hash"]).hex(), int(b["timestamp"]))


def head(w3: Any) -> Block:
    return Block.of(w3, "latest")


def judgment(written: Written, chain_id: int, *, case_number: tuple[str, bytes] | None = None,
             dossier: dict[str, Any] | None = None) -> Certificate:
    """A judgment's certificate; ``dossier`` a block of ledger.dossiers.certify_dossier (Hague 2019 art. 12)."""
    return judgment_certificate(written, chain_id, case_number=case_number, dossier=dossier)


def case(filing: Written, chain_id: int, view: CaseView, as_of: Block, *,
         case_number: tuple[str, bytes] | None = None) -> Certificate:
    """The case as of ``as_of``: the index may run ahead of it; actions mined later are left out."""
    actions = [Action(case_id=view.id, sequence=a.sequence, kind=a.kind, amount=a.amount, detail=a.detail,
                      document_digest=a.document_digest, flags=a.flags)
               for a in view.actions if a.block_number <= as_of.number]
    state, recovered = case_replay(actions)
    return case_certificate(filing, chain_id, actions, state=CaseState[state.upper()],
                            amount_recovered=recovered, as_of=(as_of.number, as_of.hash),
                            case_number=case_number)


def listing(ledger: Ledger, written: Written, chain_id: int, as_of: Block) -> Certificate:
    """The listing's end (after extensions) and removal, read from the contract at ``as_of``."""
    state = ledger.listing(bytes(written.record_id), block=as_of.number)
    return defaulter_certificate(written, chain_id, as_of=(as_of.number, as_of.hash), at=as_of.timestamp,
                                 until=int(state["until"]), removed_at=int(state["removed_at"]) or None)


def written_from_chain(ledger: Ledger, record_cls: type[Record], tx_hash: str, record_id: bytes,
                       key_of: KeyOf) -> Written:
    """The confirmed write of a record, rebuilt from its transaction: the record from the calldata; the
    signature from the calldata (sent by a relayer) or, sent directly, re-made with the sender's key
    (``key_of``; EIP-712 signatures are deterministic, RFC 6979)."""
    w3: Any = ledger.w3
    tx, receipt = w3.eth.get_transaction(tx_hash), w3.eth.get_transaction_receipt(tx_hash)
    name = CONTRACT_OF[record_cls]
    _, args = ledger.contract(name).decode_function_input(tx["input"])
    values = list(args.values())
    struct = values[0]
    if isinstance(struct, dict):
        struct = [struct[n] for n, _, _ in record_cls.FIELDS]
    fields = {attr: (bytes(v).decode("ascii") if t == "bytes3" else bytes(v) if t.startswith("bytes") else v)
              for (_, t, attr), v in zip(record_cls.FIELDS, struct, strict=True)}
    record = record_cls.model_validate(fields)
    if record.record_id() != record_id:
        raise ValidationError(f"transaction {tx_hash} does not write record 0x{record_id.hex()}")
    if len(values) > 1:
        signature = bytes(values[1])
        signer = recover_signer(ledger.domain(record), record, signature)
    else:
        signer = tx["from"]
        key = key_of(signer)
        if key is None:
            raise NotFoundError(f"the record was sent directly by {signer}, whose key this workspace does not "
                                "hold; only that key can make its certificate")
        signature = ledger.sign(key, record)
    block = Block.of(w3, receipt["blockNumber"])
    return Written(record=record, record_id=record.record_id(), signature=signature, signer=signer,
                   contract=name, contract_address=tx["to"], transaction_hash=tx_hash,
                   block_number=block.number, block_hash=block.hash, block_time=block.timestamp,
                   gas_used=int(receipt["gasUsed"]), sender=tx["from"])


class Issuer:
    """Certificates of any record the index holds: judgments, enforcement cases, listings.

    ``as_of`` (the case's and the listing's state) is the last block the index covers, so a case's actions
    and its block agree. ``case_key`` opens case-number digests when a case number is given.
    """

    def __init__(self, ledger: Ledger, index: Index, indexed_block: int, key_of: KeyOf,
                 case_key: CaseNumberKey | None = None) -> None:
        self.ledger = ledger
        self.index = index
        self.indexed_block = indexed_block
        self.key_of = key_of
        self.case_key = case_key

    def certificate(self, record_id: bytes, case_number: str | None = None) -> Certificate:
        chain_id = int(self.ledger.w3.eth.chain_id)
        found_judgment = self.index.judgment(record_id)
        if found_judgment is not None:
            written = self._written(Judgment, found_judgment.transaction_hash, record_id)
            opening = self._opening(case_number, found_judgment.case_number_digest, "judgment")
            return judgment(written, chain_id, case_number=opening)
        found_case = self.index.case_history(record_id)
        if found_case is not None:
            written = self._written(Filing, found_case.transaction_hash, record_id)
            opening = self._opening(case_number, found_case.case_number_digest, "case")
            return case(written, chain_id, found_case, Block.of(self.ledger.w3, self.indexed_block),
                        case_number=opening)
        found_listing = self.index.listing(record_id)
        if found_listing is not None:
            if case_number is not None:
                raise ValidationError("a listing's certificate carries no case number: leave it out")
            written = self._written(Listing, found_listing.transaction_hash, record_id)
            return listing(self.ledger, written, chain_id, Block.of(self.ledger.w3, self.indexed_block))
        raise NotFoundError(f"no judgment, enforcement case or listing 0x{record_id.hex()} on this chain "
                            f"(indexed up to block {self.indexed_block})")

    def _written(self, record_cls: type[Record], tx_hash: bytes, record_id: bytes) -> Written:
        return written_from_chain(self.ledger, record_cls, "0x" + bytes(tx_hash).hex(), record_id, self.key_of)

    def _opening(self, case_number: str | None, digest: bytes, what: str) -> tuple[str, bytes] | None:
        if case_number is None:
            return None
        if self.case_key is None:
            raise ValidationError("opening a case number needs the case-number key")
        opened = open_case_number(self.case_key, case_number)
        if opened.digest != bytes(digest):
            raise ValidationError(f"that case number (under this case-number key) is not the {what}'s; "
                                  "the certificate would not open its digest")
        return (opened.text, opened.salt)
