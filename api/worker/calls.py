"""Building the worker's calls: for an outbox entry, the account that sends it and the transaction it
sends (target, calldata, value, EIP-712 record signature), and the chain reads the other parts of the
worker go through (receipts, gas estimates), kept as methods so tests can replace them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3

from api.outbox import GOVERNANCE_LANE, Entry, Outbox
from api.signers import Signers
from ledger.client import Ledger, case_number_code_bytes, jurisdiction_bytes
from ledger.errors import ConfigurationError
from ledger.pipeline import Pipeline
from ledger.records import CONTRACT_OF

#: governance entry kind -> CourtRegistry function
GOVERNANCE_FUNCTIONS = {
    "admit_court": "admitCourt",
    "suspend_court": "suspendCourt",
    "reinstate_court": "reinstateCourt",
    "retire_court": "retireCourt",
    "add_signer": "addSigner",
    "retire_signer": "retireSigner",
    "set_case_number_code": "setCaseNumberCode",
}
#: court act entry kind -> EnforcementRegistry function (sent by the court's own signer, on its lane)
COURT_ACT_FUNCTIONS = {"delegate_enforcement": "delegateEnforcement"}


class _Calls:
    """The worker's state (set in :meth:`OutboxWorker.__init__`) and how an entry becomes a call."""

    ledger: Ledger
    w3: Web3
    outbox: Outbox
    signers: Signers
    governor: LocalAccount
    pipeline: Pipeline
    on_finished: Callable[[Entry], None] | None
    _last_broadcast: dict[str, float]
    _searching: dict[str, tuple[float, float]]
    _block_times: dict[int, int]
    log_search_margin: int
    search_grace: float
    group_size: int

    # -- chain reads --------------------------------------------------------------------------

    def _receipt(self, tx_hash: str) -> Any:
        return self.pipeline.receipt(tx_hash)

    def _estimate(self, account: LocalAccount, to: str, data: str, value: int) -> int:
        return self.pipeline.estimate(account.address, to, data, value)

    def _estimate_many(self, account: LocalAccount, calls: list[tuple[str, str, int]]) -> list[int | Exception]:
        return self.pipeline.estimate_many(account.address, calls)

    # -- accounts and calls ---------------------------------------------------------------------

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
        if entry.kind in COURT_ACT_FUNCTIONS:
            enforcement = self.ledger.contract("EnforcementRegistry")
            act = [bytes.fromhex(call["judgment_id"][2:]), call["delegate"], bool(call["granted"])]
            data = self.ledger.encode("EnforcementRegistry", COURT_ACT_FUNCTIONS[entry.kind], act)
            return enforcement.address, data, 0, None
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
        elif entry.kind == "set_case_number_code":
            args = [call["court"], case_number_code_bytes(call["code"])]
        else:
            args = [call["court"]]
        return registry.address, self.ledger.encode("CourtRegistry", function, args), 0, None


def contract_of_entry(entry: Entry) -> str:
    """The contract a record entry was written to."""
    return CONTRACT_OF[type(entry.typed_record())]
