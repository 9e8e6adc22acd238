"""Verify a certificate, offline or against any RPC, and answer a foreign court's look-up.

Contract: :func:`verify_certificate` checks a certificate step by step and either returns a
:class:`VerificationResult` listing every step it checked, or raises :class:`~ledger.errors.VerificationError`
naming the step that failed. Steps, in order:

``format``    the JSON follows docs/verification.md, version 1, and ``record_id`` is the struct hash of the fields
``network``   the certificate's chain id and contract belong to a trusted network descriptor
``signature`` the EIP-712 signature over the record under the contract's domain recovers to the stated signer
``proof``     (notarized digest) the Merkle proof leads from the digest to the anchored root
``document``  (when a document is given) its SHA-256 equals the certified digest
``chain``     (online) the node is the trusted network: same chain id and genesis block
``signer``    (online) the signer was registered for the court and valid at the block time
``record``    (online) the transaction is mined in the stated block and logged this record id
``status``    (online) the record's state now: effective, set aside, superseded and by which record, ...

Offline verification stops after ``document`` and says so in the result. Verification reads only the
certificate, the document and the chain: never an index, a vault or our service.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_defunct
from eth_typing import HexStr
from eth_utils import keccak, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field
from web3 import Web3

from ledger.build import load_artifact
from ledger.certificates import Certificate, parse_certificate_record
from ledger.errors import ChainUnavailableError, ConfigurationError, VerificationError
from ledger.merkle import verify_proof
from ledger.records import (
    Action,
    Anchor,
    CaseState,
    Filing,
    Judgment,
    JudgmentStatus,
    Listing,
    RemovalReason,
    Restriction,
    case_number_digest,
)
from ledger.signing import Domain, recover_signer

__all__ = [
    "NetworkDescriptor",
    "Step",
    "TrustAnchors",
    "UnsafeTrustAnyNetwork",
    "Verdict",
    "VerificationResult",
    "lookup_judgment",
    "verify_certificate",
]


# -- fast paths of offline verification ----------------------------------------------------------

try:  # safe-pysha3's C keccak, as ledger.merkle uses it (eth-hash's default backend is several times slower)
    from sha3 import keccak_256 as _keccak_256  # type: ignore[import-not-found, unused-ignore]

    def _keccak(data: bytes) -> bytes:
        return bytes(_keccak_256(data).digest())
except ImportError:  # pragma: no cover - depends on the environment

    def _keccak(data: bytes) -> bytes:
        return keccak(data)


@lru_cache(maxsize=4096)
def _checksum(address: str) -> str:
    """``to_checksum_address``, remembered: a verifier sees the same few addresses over and over."""
    return to_checksum_address(address)


@lru_cache(maxsize=1024)
def _domain_separator(name: str, chain_id: int, contract: str) -> bytes:
    """The EIP-712 domain separator (``Domain.separator()``), remembered per contract."""
    return Domain(name, chain_id, contract).separator()


def _recover_fast(domain: Domain, struct_hash: bytes, signature: bytes) -> str | None:
    """The signer of an EIP-712 signature over a record whose struct hash (record id) is known.

    The same eth-account recovery as :func:`ledger.signing.recover_signer`, given the message it signs:
    EIP-712's ``0x19 0x01 || domainSeparator || hashStruct(record)``, where ``hashStruct`` is the record
    id and the separator is remembered. None when anything is off: the caller then asks
    ``recover_signer`` itself, so every failure reads exactly as before.
    """
    if len(signature) != 65 or len(struct_hash) != 32:
        return None
    try:
        header = _domain_separator(domain.name, domain.chain_id, domain.verifying_contract)
        message = SignableMessage(version=b"\x01", header=header, body=struct_hash)
        return str(Account.recover_message(message, signature=signature))
    except Exception:
        return None


# -- trust anchors -----------------------------------------------------------------------------


class TrustedContract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    address: str
    artifact_digest: str


class NetworkDescriptor(BaseModel):
    """A deployment a verifier trusts, signed by the network's governance key (EIP-191)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    chain_id: int
    genesis_hash: str
    contracts: dict[str, TrustedContract]
    governor: str
    signature: str = Field(default="", description="EIP-191 signature by governor over the canonical body")

    def body(self) -> bytes:
        """Canonical JSON of everything but the signature: what the governor signs."""
        data = self.model_dump(exclude={"signature"})
        data["governor"] = to_checksum_address(data["governor"])
        data["contracts"] = {k: {"address": to_checksum_address(v["address"]), "artifact_digest": v["artifact_digest"]}
                             for k, v in data["contracts"].items()}
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    def signed(self, governor_account: Any) -> NetworkDescriptor:
        sig = governor_account.sign_message(encode_defunct(self.body())).signature
        return self.model_copy(update={"signature": "0x" + bytes(sig).hex()})

    def signer(self) -> str:
        try:
            return str(Account.recover_message(encode_defunct(self.body()),
                                               signature=bytes.fromhex(self.signature.removeprefix("0x"))))
        except Exception as exc:
            raise VerificationError("network", f"network descriptor signature is malformed: {exc}") from None

    @classmethod
    def from_deployment(cls, deployment: Any, name: str) -> NetworkDescriptor:
        return cls(
            name=name,
            chain_id=deployment.chain_id,
            genesis_hash=deployment.genesis_hash,
            governor=deployment.governor,
            contracts={k: TrustedContract(address=v.address, artifact_digest=v.artifact_digest)
                       for k, v in deployment.contracts.items()},
        )


@dataclass
class TrustAnchors:
    """The networks a verifier trusts: descriptors, each signed by a governor key the verifier pinned."""

    networks: list[NetworkDescriptor] = field(default_factory=list)

    @classmethod
    def from_descriptors(cls, descriptors: list[NetworkDescriptor], governors: list[str]) -> TrustAnchors:
        """Accept only descriptors signed by one of ``governors`` (pinned out of band)."""
        pinned = {to_checksum_address(g) for g in governors}
        accepted = []
        for d in descriptors:
            signer = d.signer()
            if signer not in pinned or to_checksum_address(d.governor) != signer:
                raise ConfigurationError(f"network descriptor {d.name!r} is not signed by a pinned governance key")
            accepted.append(d)
        return cls(accepted)

    def find(self, chain_id: int, contract_name: str, address: str) -> NetworkDescriptor:
        for d in self.networks:
            c = d.contracts.get(contract_name)
            if d.chain_id == chain_id and c and _checksum(c.address) == _checksum(address):
                return d
        raise VerificationError(
            "network",
            f"{contract_name} at {_checksum(address)} on chain {chain_id} is not a trusted deployment",
        )


class UnsafeTrustAnyNetwork(TrustAnchors):
    """Trusts whatever deployment a certificate names. For development only; warns when used."""

    def __init__(self) -> None:
        super().__init__([])
        warnings.warn("UnsafeTrustAnyNetwork accepts any deployment: never use it to decide a case",
                      stacklevel=2)

    def find(self, chain_id: int, contract_name: str, address: str) -> NetworkDescriptor:
        return NetworkDescriptor(name="unsafe-any", chain_id=chain_id, genesis_hash="", governor="0x" + "0" * 40,
                                 contracts={contract_name: TrustedContract(address=address, artifact_digest="")})


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    detail: str


@dataclass
class VerificationResult:
    """A certificate that passed every step listed in ``steps``."""

    certificate: Certificate
    online: bool
    steps: list[Step]
    status: dict[str, Any]
    network: str

    @property
    def summary(self) -> str:
        mode = "online" if self.online else "offline (signature and proof only; not checked against the chain)"
        return f"verified {self.certificate.kind} {self.certificate.record_id} on {self.network}, {mode}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "verified": True,
            "kind": self.certificate.kind,
            "record_id": self.certificate.record_id,
            "online": self.online,
            "network": self.network,
            "steps": [{"name": s.name, "ok": True, "detail": s.detail} for s in self.steps],
            "status": self.status,
            "summary": self.summary,
        }


class _Steps:
    def __init__(self) -> None:
        self.done: list[Step] = []

    def ok(self, name: str, detail: str) -> None:
        self.done.append(Step(name, detail))

    def fail(self, name: str, reason: str) -> VerificationError:
        err = VerificationError(name, reason)
        err.steps = list(self.done)  # type: ignore[attr-defined]
        return err


# -- verification ------------------------------------------------------------------------------


def verify_certificate(
    certificate: str | bytes | dict[str, Any] | Certificate,
    *,
    trust: TrustAnchors,
    rpc: str | Web3 | None = None,
    document: bytes | None = None,
    at: int | None = None,
) -> VerificationResult:
    """Verify ``certificate``; online when ``rpc`` (a URL or a Web3) is given, offline otherwise.

    ``document`` is the file the certificate speaks of (a judgment's signed document, a notarized file).
    Raises VerificationError naming the failed step; returns the result listing every step checked.
    """
    steps = _Steps()
    struct_hash: bytes | None = None
    parsed: Any = None
    try:
        if isinstance(certificate, Certificate):
            cert = certificate
        else:
            cert, parsed, struct_hash = parse_certificate_record(certificate)
    except VerificationError as exc:
        raise steps.fail("format", exc.reason) from None
    record = cert.typed_record() if struct_hash is None else parsed
    steps.ok("format", f"certificate version {cert.version}, {cert.kind}")

    try:
        network = trust.find(cert.network.chain_id, cert.network.contract_name, cert.network.contract)
    except VerificationError as exc:
        raise steps.fail("network", exc.reason) from None
    steps.ok("network", f"{cert.network.contract_name} {cert.network.contract} of trusted network {network.name!r}")

    domain = Domain(cert.network.contract_name, cert.network.chain_id, cert.network.contract)
    signature = bytes.fromhex(cert.signature.value[2:])
    recovered = _recover_fast(domain, struct_hash, signature) if struct_hash is not None else None
    if recovered is None:
        try:
            recovered = recover_signer(domain, record, signature)
        except Exception as exc:
            raise steps.fail("signature", f"signature cannot be recovered: {exc}") from None
    if recovered != _checksum(cert.signature.signer):
        raise steps.fail("signature", f"signature recovers to {recovered}, not the stated signer "
                                      f"{_checksum(cert.signature.signer)}: the record or signature was altered")
    if getattr(record, "court", cert.signature.court) != cert.signature.court:
        raise steps.fail("signature", "the signature's court is not the record's court")
    steps.ok("signature", f"EIP-712 signature by {recovered} for court {cert.signature.court}")

    if cert.kind == "notarized_digest":
        assert isinstance(record, Anchor) and cert.notary is not None
        digest = bytes.fromhex(cert.notary.digest[2:])
        proof = [bytes.fromhex(p[2:]) for p in cert.notary.proof]
        if not verify_proof(record.root, digest, proof):
            raise steps.fail("proof", "the Merkle proof does not lead from the digest to the anchored root")
        steps.ok("proof", f"digest is leaf of root 0x{record.root.hex()} ({len(proof)} proof steps)")
    if cert.kind == "enforcement_case":
        assert cert.case is not None
        _check_case_history(cert, steps)

    if document is not None:
        expected = _document_digest(cert)
        if expected is None:
            raise steps.fail("document", f"a {cert.kind} certificate does not certify a document")
        actual = hashlib.sha256(document).digest()
        if actual != expected:
            raise steps.fail("document", f"the document's SHA-256 0x{actual.hex()} does not match the certified "
                                         f"digest 0x{expected.hex()}")
        steps.ok("document", "the document's SHA-256 matches the certified digest")

    if rpc is None:
        return VerificationResult(cert, False, steps.done, dict(cert.status), network.name)
    w3 = rpc if isinstance(rpc, Web3) else _connect(rpc)
    status = _verify_online(w3, cert, record, network, steps, at)
    return VerificationResult(cert, True, steps.done, status, network.name)


def _document_digest(cert: Certificate) -> bytes | None:
    if cert.kind == "judgment":
        return bytes.fromhex(cert.record["document_digest"][2:])
    if cert.kind == "notarized_digest" and cert.notary is not None:
        return bytes.fromhex(cert.notary.digest[2:])
    return None


def _check_case_history(cert: Certificate, steps: _Steps) -> None:
    assert cert.case is not None
    history = bytes.fromhex(cert.record_id[2:])
    for i, raw in enumerate(cert.case.actions):
        try:
            action = Action.model_validate(raw)
        except Exception as exc:
            raise steps.fail("format", f"action {i} is invalid: {exc}") from None
        if "0x" + action.case_id.hex() != cert.record_id.lower() or action.sequence != i:
            raise steps.fail("format", f"action {i} does not belong to this case at position {i}")
        # keccak256(abi.encode(bytes32 history, bytes32 actionHash)): two words, concatenated
        history = _keccak(history + action.record_id())
    if "0x" + history.hex() != cert.case.history_hash.lower():
        raise steps.fail("format", "the actions do not hash to the certificate's history hash")


def _connect(url: str) -> Web3:
    if url.startswith(("ws://", "wss://")):
        from ledger.chain import connect

        return connect(url).w3
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 15}))
    return w3


def _contract(w3: Web3, name: str, address: str) -> Any:
    return w3.eth.contract(address=to_checksum_address(address), abi=load_artifact(name).abi)


def _verify_online(w3: Web3, cert: Certificate, record: Any, network: Any, steps: _Steps,
                   at: int | None) -> dict[str, Any]:
    try:
        chain_id = w3.eth.chain_id
        genesis = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    except Exception as exc:
        raise ChainUnavailableError(f"cannot reach the chain to verify online: {exc}") from exc
    if chain_id != cert.network.chain_id:
        raise steps.fail("chain", f"the node is chain {chain_id}, the certificate names chain {cert.network.chain_id}")
    if network.genesis_hash and genesis != network.genesis_hash.lower():
        raise steps.fail("chain", f"the node's genesis block {genesis} is not the trusted network's")
    steps.ok("chain", f"chain {chain_id}, genesis {genesis[:18]}…")

    registries = {cert.network.contract_name: cert.network.contract}
    target = _contract(w3, cert.network.contract_name, cert.network.contract)
    court_registry = _contract(w3, "CourtRegistry", target.functions.courtRegistry().call())
    if network.contracts and "CourtRegistry" in network.contracts and to_checksum_address(
            network.contracts["CourtRegistry"].address) != court_registry.address:
        raise steps.fail("signer", "the contract trusts a court registry outside the trusted network")
    registries["CourtRegistry"] = court_registry.address

    t = cert.transaction
    valid = court_registry.functions.isSignerValidAt(to_checksum_address(cert.signature.signer),
                                                     cert.signature.court, t.block_time).call()
    if not valid:
        raise steps.fail("signer", f"{cert.signature.signer} was not a valid signer of court "
                                   f"{cert.signature.court} at {t.block_time}")
    steps.ok("signer", f"registered for court {cert.signature.court} and valid at block time {t.block_time}")

    try:
        receipt = w3.eth.get_transaction_receipt(HexStr(t.hash))
    except Exception:
        raise steps.fail("record", f"transaction {t.hash} is not on this chain") from None
    if receipt["status"] != 1 or receipt["blockNumber"] != t.block_number or \
            "0x" + bytes(receipt["blockHash"]).hex() != t.block_hash.lower():
        raise steps.fail("record", f"transaction {t.hash} is not mined, failed, or is in another block")
    key = _log_key(cert, record)
    if not any(to_checksum_address(log["address"]) == target.address and len(log["topics"]) > 1
               and bytes(log["topics"][1]) == key for log in receipt["logs"]):
        raise steps.fail("record", f"transaction {t.hash} did not record 0x{key.hex()} in {cert.network.contract_name}")
    steps.ok("record", f"recorded in block {t.block_number} by transaction {t.hash}")

    return _status(target, cert, record, steps, at)


def _log_key(cert: Certificate, record: Any) -> bytes:
    if isinstance(record, Anchor):
        return record.root
    return record.record_id()


def _status(target: Any, cert: Certificate, record: Any, steps: _Steps, at: int | None) -> dict[str, Any]:
    if isinstance(record, Judgment):
        court, status, _, changed_at, changes = target.functions.judgmentRecord(record.record_id()).call()
        st = JudgmentStatus(status)
        out: dict[str, Any] = {"status": st.name.lower(), "status_changed_at": changed_at, "changes": changes}
        detail = f"judgment is {st.name.lower().replace('_', ' ')}"
        if st == JudgmentStatus.SUPERSEDED:
            successor = bytes(target.functions.supersededBy(record.record_id()).call())
            out["superseded_by"] = "0x" + successor.hex()
            detail += f" by 0x{successor.hex()}"
        steps.ok("status", detail)
        return out
    if isinstance(record, Filing):
        assert cert.case is not None
        data = target.functions.caseRecord(record.record_id()).call()
        state, actions, recovered, history = CaseState(data[1]), data[2], data[8], bytes(data[11])
        out = {"state": state.name.lower(), "actions": actions, "amount_due": data[7], "amount_recovered": recovered}
        certified = len(cert.case.actions)
        if actions < certified:
            raise steps.fail("status", f"the chain has {actions} actions, the certificate {certified}")
        if actions == certified and "0x" + history.hex() != cert.case.history_hash.lower():
            raise steps.fail("status", "the certified actions are not the actions recorded on chain")
        later = actions - certified
        steps.ok("status", f"case is {state.name.lower()} with {actions} actions"
                           + (f" ({later} recorded after this certificate)" if later else ""))
        out["actions_after_certificate"] = later
        return out
    if isinstance(record, Listing):
        assert cert.defaulter is not None
        lid = record.record_id()
        data = target.functions.listingRecord(lid).call()
        wanted = Restriction.parse(cert.defaulter.restrictions) or record.restrictions
        when = cert.defaulter.at if at is None else at
        restricted, _, until = target.functions.isRestricted(record.subject, int(wanted), when).call()
        if at is None and bool(restricted) != cert.defaulter.restricted:
            raise steps.fail("status", f"the chain says restricted={bool(restricted)} at {when}, the certificate "
                                       f"says {cert.defaulter.restricted}")
        out = {"restricted": bool(restricted), "at": when, "until": until or None,
               "removed_at": data[5] or None, "removal_reason": RemovalReason(data[6]).name.lower()}
        steps.ok("status", f"subject {'restricted' if restricted else 'not restricted'} at {when}"
                           + (f", listing removed at {data[5]}" if data[5] else ""))
        return out
    if isinstance(record, Anchor):
        assert cert.notary is not None
        court, anchored_at, size = target.functions.anchorRecord(record.root).call()
        if court != record.court or size != record.size:
            raise steps.fail("status", "the root is not anchored by that court with that batch size")
        proof = [bytes.fromhex(p[2:]) for p in cert.notary.proof]
        if not target.functions.verifyInclusion(record.root, bytes.fromhex(cert.notary.digest[2:]), proof).call():
            raise steps.fail("status", "the contract rejects the inclusion proof")
        steps.ok("status", f"root anchored at {anchored_at}; the contract accepts the proof")
        return {"anchored_at": anchored_at, "batch_size": size}
    raise steps.fail("status", f"unknown record kind {cert.kind}")


# -- foreign court look-up ---------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One answer to 'is this judgment on the ledger?': never a list."""

    verdict: str  # "verified" | "does_not_match" | "not_on_chain"
    judgment_id: str | None = None
    court: int | None = None
    status: str | None = None
    superseded_by: str | None = None
    block_number: int | None = None
    transaction_hash: str | None = None


def lookup_judgment(w3: Web3, judgment_registry: str, *, case_number: str, document_digest: bytes,
                    from_block: int, chunk: int = 5_000) -> Verdict:
    """Find the judgment with this case number and document digest via logs, in bounded ranges.

    The case number is matched through its digest (an indexed topic); only a record whose document
    digest also matches is reported. A case number with only other documents answers ``does_not_match``.
    """
    contract = _contract(w3, "JudgmentRegistry", judgment_registry)
    event = "JudgmentRecorded(bytes32,uint32,bytes32,bytes32,bytes32,uint128,bytes3,uint40,uint40)"
    topic0 = "0x" + keccak(text=event).hex()
    topic3 = "0x" + case_number_digest(case_number).hex()
    head = w3.eth.block_number
    seen_case = False
    start = from_block
    while start <= head:
        end = min(head, start + chunk - 1)
        logs = w3.eth.get_logs({"address": contract.address, "fromBlock": start, "toBlock": end,
                                "topics": [topic0, None, None, topic3]})
        for log in logs:
            event = contract.events.JudgmentRecorded().process_log(log)
            seen_case = True
            if bytes(event["args"]["documentDigest"]) == document_digest:
                jid = bytes(event["args"]["id"])
                _, status, _, _, _ = contract.functions.judgmentRecord(jid).call()
                st = JudgmentStatus(status)
                successor = (bytes(contract.functions.supersededBy(jid).call())
                             if st == JudgmentStatus.SUPERSEDED else None)
                return Verdict("verified", "0x" + jid.hex(), event["args"]["court"], st.name.lower(),
                               "0x" + successor.hex() if successor else None, log["blockNumber"],
                               "0x" + bytes(log["transactionHash"]).hex())
        start = end + 1
    return Verdict("does_not_match" if seen_case else "not_on_chain")
