"""A foreign court's look-up: "is this judgment (case number + document) on the ledger, and whose is it?"

Contract: :func:`lookup_judgment` finds, through logs in bounded block ranges, every judgment whose
case-number digest is the one K_case gives the case number, and answers one :class:`Verdict`:

``verified``        exactly one court recorded this case number, one of its records carries this document,
                    the court is the one the caller expects (if named) and the court the case number names
                    (where the registry records the court's case-number code)
``conflict``        more than one court recorded this case number: every record is listed, none verified
``court_mismatch``  one court recorded it, but not the court the caller expects or the case number names
``does_not_match``  the case number is recorded, never with this document
``not_on_chain``    the case number is not recorded

Only a court (or the service) holding K_case can ask: the chain carries no unkeyed digest of a case number.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak
from web3 import Web3

from ledger.build import load_artifact
from ledger.records import CaseNumberKey, JudgmentStatus, case_number_digest

__all__ = ["Verdict", "lookup_judgment"]


@dataclass(frozen=True)
class Verdict:
    """One answer to 'is this judgment on the ledger?'."""

    verdict: str  # "verified" | "does_not_match" | "not_on_chain"
    judgment_id: str | None = None
    court: int | None = None
    status: str | None = None
    superseded_by: str | None = None
    block_number: int | None = None
    transaction_hash: str | None = None


def lookup_judgment(w3: Web3, judgment_registry: str, *, key: CaseNumberKey, case_number: str,
                    document_digest: bytes, from_block: int, chunk: int = 5_000) -> Verdict:
    """Find the judgment with this case number and document digest via logs, in bounded ranges."""
    contract = w3.eth.contract(address=Web3.to_checksum_address(judgment_registry),
                               abi=load_artifact("JudgmentRegistry").abi)
    event = "JudgmentRecorded(bytes32,uint32,bytes32,bytes32,bytes32,uint128,bytes3,uint40,uint40)"
    topic0 = "0x" + keccak(text=event).hex()
    topic3 = "0x" + case_number_digest(key, case_number).hex()
    head = w3.eth.block_number
    seen_case = False
    start = from_block
    while start <= head:
        end = min(head, start + chunk - 1)
        logs = w3.eth.get_logs({"address": contract.address, "fromBlock": start, "toBlock": end,
                                "topics": [topic0, None, None, topic3]})
        for log in logs:
            recorded = contract.events.JudgmentRecorded().process_log(log)
            seen_case = True
            if bytes(recorded["args"]["documentDigest"]) == document_digest:
                jid = bytes(recorded["args"]["id"])
                _, status, _, _, _ = contract.functions.judgmentRecord(jid).call()
                st = JudgmentStatus(status)
                successor = (bytes(contract.functions.supersededBy(jid).call())
                             if st == JudgmentStatus.SUPERSEDED else None)
                return Verdict("verified", "0x" + jid.hex(), recorded["args"]["court"], st.name.lower(),
                               "0x" + successor.hex() if successor else None, log["blockNumber"],
                               "0x" + bytes(log["transactionHash"]).hex())
        start = end + 1
    return Verdict("does_not_match" if seen_case else "not_on_chain")
