"""Verify a certificate (format 2), offline or against any RPC, and answer a foreign court's look-up.

Contract: :func:`verify_certificate` checks a certificate step by step and either returns a
:class:`VerificationResult` listing every step it checked and answering two questions, *authentic*
(written by a valid signer of that court, as certified) and *in force* (the record's state now, or at
``at``), or raises :class:`~ledger.errors.VerificationError` naming the step that failed. Steps, in order:

``format``      the JSON follows the format-2 schema; ``record_id`` is the struct hash of the fields; the
                case's actions hash to its history hash; the listing's ``restricted`` follows from its dates
``network``     the certificate's chain id and contract belong to a trusted network descriptor
``signature``   the canonical (low-s, v 27/28) EIP-712 signature over the record recovers to the signer
``case_number`` (when the certificate opens it) keccak256(salt || utf8(normalised text)) is the record's digest
``dossier``     (when the judgment certificate carries one) the filing court's canonical EIP-712 signature over
                the Dossier struct, its translations root recomputed from the list, recovers to its signer
``proof``       (notarized digest) the Merkle proof leads from ``notary_leaf(digest, nonce)`` to the root
``document``    (when a document is given) its SHA-256 equals the certified digest
``chain``       (online) the node is the trusted network: same chain id and genesis block
``signer``      (online) the stated block is the chain's (by hash: number and timestamp as stated), and the
                signer was registered for the court and valid at that timestamp, read from the chain
``record``      (online) the receipt is successful, in that block, and holds the record's creation event
                (event signature topic0, contract address, record id)
``dossier_chain`` (online, with a dossier) the signer was valid for the filing court at the dossier's block,
                whose receipt holds exactly that DossierFiled event; no later version was filed by ``as_of``
``status``      (online) the certified state as of ``as_of`` equals the chain's events up to that block; the
                state now (or at ``at``): effective / under_appeal / set_aside / superseded / satisfied,
                open / terminated / concluded, active / removed / expired, anchored

Offline verification stops after ``document``; its result says which claims it proved and which it did
not. Online verification uses only what every full node serves: receipts, blocks, logs over bounded
ranges starting at the record's block, and current state (never state at an old block). Verification
reads only the certificate, the document and the chain: never an index, a vault or our service.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from coincurve import PublicKey
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_typing import HexStr
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from pydantic import BaseModel, ConfigDict, Field
from web3 import Web3

from ledger.build import load_artifact
from ledger.certificates import (
    SCHEMAS,
    Certificate,
    dossier_record,
    listing_restricted,
    load_json,
    open_case_number,
    parse_certificate_record,
    schema_error,
)
from ledger.certificates import struct_hash as struct_hash_of
from ledger.errors import ChainUnavailableError, ConfigurationError, VerificationError, refused
from ledger.merkle import _keccak, notary_leaf, process_proof
from ledger.messages import Message, text
from ledger.records import (
    Anchor,
    CaseState,
    JudgmentStatus,
    Listing,
    RemovalReason,
    date_to_unix,
)
from ledger.signing import Domain
from ledger.vc import certificate_from_credential, is_credential

__all__ = [
    "EXIT_CODES",
    "NetworkDescriptor",
    "Step",
    "TrustAnchors",
    "UnsafeTrustAnyNetwork",
    "VerificationResult",
    "canonical_signature_problem",
    "verify_certificate",
]

#: ``ledger verify`` exit codes (docs/verification.md section 4).
EXIT_CODES = {"in_force": 0, "not_authentic": 1, "not_in_force": 3, "offline": 4}

# -- canonical signatures ----------------------------------------------------------------------

_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = _N // 2


def canonical_signature_problem(signature: bytes) -> Message | None:
    """Why a 65-byte r||s||v signature is not canonical (as OpenZeppelin ECDSA requires), or None.

    Canonical: 65 bytes, ``0 < r < n``, ``0 < s <= n/2`` (low s), ``v`` 27 or 28.
    """
    if len(signature) != 65:
        return Message("signature.length", {"length": len(signature)})
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if signature[64] not in (27, 28):
        return Message("signature.v", {"v": signature[64]})
    if not 0 < r < _N:
        return Message("signature.r")
    if not 0 < s <= _HALF_N:
        return Message("signature.high_s")
    return None


def _recover(digest: bytes, signature: bytes) -> str:
    """The address whose key signed the 32-byte ``digest`` (canonical signature already checked)."""
    key = PublicKey.from_signature_and_message(signature[:64] + bytes([signature[64] - 27]), digest, hasher=None)
    return _checksum("0x" + _keccak(key.format(compressed=False)[1:])[-20:].hex())


@lru_cache(maxsize=4096)
def _checksum(address: str) -> str:
    """``to_checksum_address``, remembered: a verifier sees the same few addresses over and over."""
    return to_checksum_address(address)


@lru_cache(maxsize=1024)
def _domain_separator(name: str, chain_id: int, contract: str) -> bytes:
    return Domain(name, chain_id, contract).separator()


# -- trust anchors -----------------------------------------------------------------------------


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON of a value made of objects, strings, integers, booleans and null.

    Keys sorted by UTF-16 code units, no white space, strings as UTF-8 with only ``"``, ``\\`` and
    U+0000-U+001F escaped (JSON's short forms, else ``\\u00xx``). Floats are refused: a descriptor has none.
    """
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return b"{" + b",".join(jcs(k) + b":" + jcs(v) for k, v in items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(jcs(v) for v in value) + b"]"
    if isinstance(value, float):
        raise ValueError("a network descriptor has no floating-point numbers")
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


@cache
def _descriptor_validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads((SCHEMAS / "network-descriptor.schema.json").read_text("utf-8")))


class TrustedContract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    address: str
    artifact_digest: str


class NetworkDescriptor(BaseModel):
    """A deployment a verifier trusts, signed by the network's governance key (EIP-191 over RFC 8785 JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    chain_id: int
    genesis_hash: str
    contracts: dict[str, TrustedContract]
    governor: str
    signature: str = Field(default="", description="EIP-191 signature by governor over the canonical body")

    def body(self) -> bytes:
        """RFC 8785 canonical JSON of every field but the signature, addresses EIP-55: what the governor signs."""
        data = self.model_dump(exclude={"signature"})
        data["governor"] = to_checksum_address(data["governor"])
        data["genesis_hash"] = data["genesis_hash"].lower()
        data["contracts"] = {k: {"address": to_checksum_address(v["address"]),
                                 "artifact_digest": v["artifact_digest"].lower()}
                             for k, v in data["contracts"].items()}
        return jcs(data)

    def signed(self, governor_account: Any) -> NetworkDescriptor:
        sig = governor_account.sign_message(encode_defunct(self.body())).signature
        return self.model_copy(update={"signature": "0x" + bytes(sig).hex()})

    def signer(self) -> str:
        problem = schema_error(_descriptor_validator(), self.model_dump())
        if problem is not None:
            raise VerificationError("network", f"network descriptor does not follow its schema: {problem}")
        for address in (self.governor, *(c.address for c in self.contracts.values())):
            if _checksum(address) != address:
                raise VerificationError("network", f"network descriptor address {address} is not EIP-55 checksummed")
        signature = bytes.fromhex(self.signature[2:])
        bad = canonical_signature_problem(signature)
        if bad is not None:
            raise VerificationError("network", f"network descriptor signature is not canonical: {bad}")
        try:
            return str(Account.recover_message(encode_defunct(self.body()), signature=signature))
        except Exception as exc:
            raise VerificationError("network", f"network descriptor signature is malformed: {exc}") from None

    @classmethod
    def from_deployment(cls, deployment: Any, name: str) -> NetworkDescriptor:
        return cls(
            name=name,
            chain_id=deployment.chain_id,
            genesis_hash=deployment.genesis_hash.lower(),
            governor=to_checksum_address(deployment.governor),
            contracts={k: TrustedContract(address=to_checksum_address(v.address),
                                          artifact_digest=v.artifact_digest.lower())
                       for k, v in deployment.contracts.items()},
        )


@dataclass
class TrustAnchors:
    """The networks a verifier trusts: descriptors, each signed by a governor key the verifier pinned."""

    networks: list[NetworkDescriptor] = field(default_factory=list)

    @classmethod
    def from_descriptors(cls, descriptors: list[NetworkDescriptor], governors: list[str]) -> TrustAnchors:
        """Accept only descriptors signed by one of ``governors`` (pinned out of band), named as their governor."""
        pinned = {to_checksum_address(g) for g in governors}
        accepted = []
        for d in descriptors:
            try:
                signer = d.signer()
            except VerificationError as exc:
                raise ConfigurationError(f"network descriptor {d.name!r}: {exc.reason}") from None
            if signer not in pinned or to_checksum_address(d.governor) != signer:
                raise ConfigurationError(f"network descriptor {d.name!r} is not signed by a pinned governance key")
            accepted.append(d)
        return cls(accepted)

    def find(self, chain_id: int, contract_name: str, address: str) -> NetworkDescriptor:
        for d in self.networks:
            c = d.contracts.get(contract_name)
            if d.chain_id == chain_id and c and _checksum(c.address) == _checksum(address):
                return d
        raise refused("network", "network.untrusted", contract_name=contract_name, contract=_checksum(address),
                      chain_id=chain_id)


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

#: What offline verification proves, and what only online verification does (per kind).
OFFLINE_PROVES = {name: Message(f"proves.{name}")
                  for name in ("signature", "case_number", "history", "listing", "proof", "document", "dossier")}
OFFLINE_DOES_NOT_PROVE = [Message(f"not_proved.{name}") for name in ("signer", "record", "state", "in_force")]


@dataclass(frozen=True)
class Step:
    """A step that passed; ``detail`` in English, ``message`` to render it in another language."""

    name: str
    detail: str
    message: Message | None = field(default=None, compare=False)

    def localized(self, lang: str) -> Step:
        return self if self.message is None else Step(self.name, self.message.render(lang), self.message)


@dataclass
class VerificationResult:
    """A certificate that passed every step listed in ``steps``, with the two answers.

    ``authentic``: True online when every step passed; None offline (not established without the chain).
    ``in_force``: whether the record is in force now (or at ``at``); None offline. ``state`` names it.
    """

    certificate: Certificate
    online: bool
    steps: list[Step]
    status: dict[str, Any]
    network: str
    authentic: bool | None = None
    in_force: bool | None = None
    state: str | None = None
    at: int | None = None
    proves: list[Message] = field(default_factory=list)
    does_not_prove: list[Message] = field(default_factory=list)
    dossier: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        if not self.online:
            return EXIT_CODES["offline"]
        return EXIT_CODES["in_force"] if self.in_force else EXIT_CODES["not_in_force"]

    @property
    def summary(self) -> str:
        return self.summary_in("en")

    def effect(self) -> Message | None:
        """A judgment's effect and enforceability in the State of origin (online only), as one message."""
        if not self.online or "enforceable" not in self.status:
            return None
        s = self.status
        when = Message("when.now") if self.at is None else Message("when.at", {"at": self.at})
        return Message("effect.summary", {
            "since": s["effective_since"],
            "appeal": Message("effect.appeal_pending" if s["appeal_pending"] else "effect.no_appeal"),
            "stay": Message("effect.stayed" if s["stayed"] else "effect.not_stayed"),
            "enforceable": Message("effect.enforceable" if s["enforceable"] else "effect.not_enforceable",
                                   {"when": when})})

    def summary_in(self, lang: str) -> str:
        what = {"kind": self.certificate.kind, "record_id": self.certificate.record_id, "network": self.network}
        if not self.online:
            return text("summary.offline", lang, **what)
        when = Message("when.now") if self.at is None else Message("when.at", {"at": self.at})
        key = "summary.in_force" if self.in_force else "summary.not_in_force"
        return text(key, lang, **what, when=when, state=self.state)

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        """The result as JSON, every message in ``lang`` (en, zh, fr)."""
        return {
            "verified": True,
            "authentic": self.authentic,
            "in_force": self.in_force,
            "state": self.state,
            "at": self.at,
            "kind": self.certificate.kind,
            "record_id": self.certificate.record_id,
            "online": self.online,
            "network": self.network,
            "steps": [{"name": s.name, "ok": True, "detail": s.localized(lang).detail} for s in self.steps],
            "status": self.status,
            "proves": [m.render(lang) for m in self.proves],
            "does_not_prove": [m.render(lang) for m in self.does_not_prove],
            "summary": self.summary_in(lang),
            **({"dossier": self.dossier} if self.dossier is not None else {}),
            **({"effect": effect.render(lang)} if (effect := self.effect()) is not None else {}),
        }


class _Steps:
    def __init__(self) -> None:
        self.done: list[Step] = []

    def ok(self, name: str, key: str, **params: Any) -> None:
        message = Message(key, params)
        self.done.append(Step(name, message.render(), message))

    def fail(self, name: str, key: str, **params: Any) -> VerificationError:
        return self.refuse(name, refused(name, key, **params))

    def refuse(self, name: str, exc: VerificationError) -> VerificationError:
        """``exc`` (raised by a helper) as the failure of step ``name``, with the steps that passed."""
        err = VerificationError(name, exc.reason, message=exc.message)
        err.steps = list(self.done)  # type: ignore[attr-defined]
        return err


# -- verification ------------------------------------------------------------------------------


def verify_certificate(
    certificate: str | bytes | dict[str, Any] | Certificate,
    *,
    trust: TrustAnchors,
    rpc: str | Web3 | None = None,
    document: bytes | None = None,
    document_digest: bytes | None = None,
    at: int | None = None,
) -> VerificationResult:
    """Verify ``certificate``; online when ``rpc`` (a URL or a Web3) is given, offline otherwise.

    ``document`` is the file the certificate speaks of (a judgment's signed document, a notarized file);
    ``document_digest`` its SHA-256, for a caller that holds only that. ``at`` (unix time) asks whether
    the record was in force then instead of now. Raises VerificationError naming the failed step.
    """
    steps = _Steps()
    try:
        data = certificate.model_dump(exclude_none=True) if isinstance(certificate, Certificate) else certificate
        data, as_credential = _unwrap_credential(data)
        cert, record, struct_hash = parse_certificate_record(data)
    except VerificationError as exc:
        raise steps.refuse("format", exc) from None
    steps.ok("format", "format.ok_credential" if as_credential else "format.ok", version=cert.version, kind=cert.kind)
    proves = [OFFLINE_PROVES["signature"]]

    try:
        network = trust.find(cert.network.chain_id, cert.network.contract_name, cert.network.contract)
    except VerificationError as exc:
        raise steps.refuse("network", exc) from None
    steps.ok("network", "network.ok", contract_name=cert.network.contract_name, contract=cert.network.contract,
             network=network.name)

    signature = bytes.fromhex(cert.signature.value[2:])
    bad = canonical_signature_problem(signature)
    if bad is not None:
        raise steps.fail("signature", "signature.not_canonical", problem=bad)
    separator = _domain_separator(cert.network.contract_name, cert.network.chain_id, cert.network.contract)
    try:
        recovered = _recover(_keccak(b"\x19\x01" + separator + struct_hash), signature)
    except Exception as exc:
        raise steps.fail("signature", "signature.unrecoverable", error=str(exc)) from None
    if recovered != cert.signature.signer:
        raise steps.fail("signature", "signature.mismatch", recovered=recovered, signer=cert.signature.signer)
    steps.ok("signature", "signature.ok", signer=recovered, court=record.court)  # type: ignore[attr-defined]

    try:
        opened = open_case_number(cert, record)
    except VerificationError as exc:
        raise steps.refuse("case_number", exc) from None
    if opened is not None:
        if opened != record.case_number_digest:  # type: ignore[attr-defined]
            raise steps.fail("case_number", "case_number.mismatch")
        steps.ok("case_number", "case_number.ok")
        proves.append(OFFLINE_PROVES["case_number"])
    dossier = None
    if cert.dossier is not None:
        dossier = _check_dossier_signature(cert, struct_hash, separator, steps)
        proves.append(OFFLINE_PROVES["dossier"])
    if cert.case is not None:
        proves.append(OFFLINE_PROVES["history"])
    if cert.defaulter is not None:
        proves.append(OFFLINE_PROVES["listing"])

    if cert.notary is not None:
        assert isinstance(record, Anchor)
        leaf = notary_leaf(bytes.fromhex(cert.notary.digest[2:]), bytes.fromhex(cert.notary.nonce[2:]))
        proof = [bytes.fromhex(p[2:]) for p in cert.notary.proof]
        if process_proof(leaf, proof) != record.root:
            raise steps.fail("proof", "proof.mismatch")
        steps.ok("proof", "proof.ok", root="0x" + record.root.hex(), count=len(proof))
        proves.append(OFFLINE_PROVES["proof"])

    if document is not None:
        document_digest = hashlib.sha256(document).digest()
    if document_digest is not None:
        expected = _document_digest(cert)
        if expected is None:
            raise steps.fail("document", "document.none", kind=cert.kind)
        if document_digest != expected:
            raise steps.fail("document", "document.mismatch", digest="0x" + document_digest.hex(),
                             expected="0x" + expected.hex())
        steps.ok("document", "document.ok")
        proves.append(OFFLINE_PROVES["document"])

    if rpc is None:
        return VerificationResult(cert, False, steps.done, {}, network.name, proves=proves,
                                  does_not_prove=list(OFFLINE_DOES_NOT_PROVE), dossier=dossier)
    w3 = rpc if isinstance(rpc, Web3) else _connect(rpc)
    state, in_force, status = _verify_online(w3, cert, record, struct_hash, network, steps, at)
    return VerificationResult(cert, True, steps.done, status, network.name, authentic=True, in_force=in_force,
                              state=state, at=at, proves=proves, dossier=dossier)


def _check_dossier_signature(cert: Certificate, judgment_id: bytes, separator: bytes,
                             steps: _Steps) -> dict[str, Any]:
    """Step ``dossier``: the filing court's signature over the Dossier struct; returns what the dossier says."""
    d = cert.dossier
    assert d is not None
    struct = dossier_record(cert, judgment_id)
    signature = bytes.fromhex(d.signature.value[2:])
    bad = canonical_signature_problem(signature)
    if bad is not None:
        raise steps.fail("dossier", "dossier.not_canonical", problem=bad)
    try:
        recovered = _recover(_keccak(b"\x19\x01" + separator + struct_hash_of(struct)), signature)
    except Exception as exc:
        raise steps.fail("dossier", "signature.unrecoverable", error=str(exc)) from None
    if recovered != d.signature.signer:
        raise steps.fail("dossier", "dossier.mismatch", recovered=recovered, signer=d.signature.signer)
    steps.ok("dossier", "dossier.ok", sequence=d.sequence, court=d.court, translations=len(d.translations),
             service=Message("dossier.service_present" if d.proof_of_service else "dossier.service_not_required"))
    return {
        "sequence": d.sequence, "court": d.court, "by_default": d.by_default, "complete_copy": d.complete_copy,
        "proof_of_service": {"required": d.by_default, "present": d.proof_of_service is not None,
                             "digest": d.proof_of_service},
        "translations": [dict(t) for t in d.translations],
        "dossier_hash": "0x" + struct_hash_of(struct).hex(),
    }


def _unwrap_credential(data: str | bytes | dict[str, Any]) -> tuple[Any, bool]:
    """The parsed certificate, taken from a Verifiable Credential once every claim is checked against it."""
    parsed = load_json(data)
    if not is_credential(parsed):
        return parsed, False
    return certificate_from_credential(parsed), True


def _document_digest(cert: Certificate) -> bytes | None:
    if cert.kind == "judgment":
        return bytes.fromhex(cert.record["document_digest"][2:])
    if cert.notary is not None:
        return bytes.fromhex(cert.notary.digest[2:])
    return None


def _connect(url: str) -> Web3:
    if url.startswith(("ws://", "wss://")):
        from ledger.chain import connect

        return connect(url).w3
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 15}))


def _contract(w3: Web3, name: str, address: str) -> Any:
    return w3.eth.contract(address=to_checksum_address(address), abi=load_artifact(name).abi)


# -- online ------------------------------------------------------------------------------------


def _topic(signature: str) -> bytes:
    return bytes(keccak(text=signature))


#: The creation event of each kind (enums are uint8 in event signatures).
CREATION_EVENTS = {
    "judgment": "JudgmentRecorded(bytes32,uint32,bytes32,bytes32,bytes32,uint128,bytes3,uint40,uint40)",
    "enforcement_case": "CaseOpened(bytes32,uint32,bytes32,bytes32,uint128,uint40)",
    "defaulter_status": "DefaulterListed(bytes32,bytes32,uint32,bytes32,uint8,uint16,uint40,uint40)",
    "notarized_digest": "RootAnchored(bytes32,uint32,uint32,bytes32)",
}
ACTION_RECORDED = "ActionRecorded(bytes32,uint32,uint8,uint128,uint64,bytes32,uint8,uint8,uint128,bytes32)"
STATUS_CHANGED = "JudgmentStatusChanged(bytes32,uint32,uint8,uint8,bytes32,uint32)"
DOSSIER_FILED = "DossierFiled(bytes32,uint32,bool,bytes32,bytes32,bytes32,uint32)"
LISTING_EXTENDED = "ListingExtended(bytes32,bytes32,uint32,uint40)"
DEFAULTER_REMOVED = "DefaulterRemoved(bytes32,bytes32,uint32,uint8,uint40)"
LOG_CHUNK = 5_000


def _word(data: bytes, i: int) -> bytes:
    return data[32 * i: 32 * (i + 1)]


def _uint(data: bytes, i: int) -> int:
    return int.from_bytes(_word(data, i), "big")


def _logs(w3: Web3, address: str, topics: list[Any], start: int, end: int) -> list[Any]:
    """Logs of one contract with these topics in blocks ``start..end``, in bounded chunks, oldest first."""
    out: list[Any] = []
    while start <= end:
        stop = min(end, start + LOG_CHUNK - 1)
        batch = w3.eth.get_logs({"address": to_checksum_address(address), "fromBlock": start, "toBlock": stop,
                                 "topics": ["0x" + t.hex() if isinstance(t, bytes) else t for t in topics]})
        out.extend(log for log in batch if not log.get("removed"))
        start = stop + 1
    return out


def _block_time(w3: Web3, block_hash: Any, cache: dict[bytes, int]) -> int:
    key = bytes(block_hash)
    if key not in cache:
        cache[key] = int(w3.eth.get_block(HexBytes(key))["timestamp"])
    return cache[key]


def _verify_online(w3: Web3, cert: Certificate, record: Any, struct_hash: bytes, network: NetworkDescriptor,
                   steps: _Steps, at: int | None) -> tuple[str, bool, dict[str, Any]]:
    try:
        chain_id = w3.eth.chain_id
        genesis = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    except Exception as exc:
        raise ChainUnavailableError(f"cannot reach the chain to verify online: {exc}") from exc
    if chain_id != cert.network.chain_id:
        raise steps.fail("chain", "chain.other_chain", node=chain_id, chain_id=cert.network.chain_id)
    if network.genesis_hash and genesis != network.genesis_hash.lower():
        raise steps.fail("chain", "chain.other_genesis", genesis=genesis)
    steps.ok("chain", "chain.ok", chain_id=chain_id, genesis=genesis[:18])

    t = cert.transaction
    block_time = _stated_block(w3, t, "signer", steps)
    target = _contract(w3, cert.network.contract_name, cert.network.contract)
    court_registry = _contract(w3, "CourtRegistry", target.functions.courtRegistry().call())
    trusted = network.contracts.get("CourtRegistry")
    if trusted is not None and _checksum(trusted.address) != court_registry.address:
        raise steps.fail("signer", "signer.foreign_registry")
    court = record.court
    if not court_registry.functions.isSignerValidAt(cert.signature.signer, court, block_time).call():
        raise steps.fail("signer", "signer.invalid", signer=cert.signature.signer, court=court, time=block_time)
    steps.ok("signer", "signer.ok", court=court, time=block_time, block=t.block_number)
    _check_record(w3, cert, record, struct_hash, steps)
    if cert.dossier is not None:
        _check_dossier_chain(w3, court_registry, cert, struct_hash, steps)

    when = at
    if cert.kind == "judgment":
        return _judgment_status(w3, target, cert, record, struct_hash, steps, when)
    if cert.kind == "enforcement_case":
        return _case_status(w3, target, cert, struct_hash, steps, when)
    if cert.kind == "defaulter_status":
        return _listing_status(w3, target, cert, record, struct_hash, steps, when)
    steps.ok("status", "status.anchor", block=t.block_number)
    return "anchored", True, {"state": "anchored", "anchored_at": block_time}


def _receipt(w3: Web3, t: Any, step: str, steps: _Steps) -> Any:
    """The receipt of transaction ``t``, successful and in ``t``'s block, or a refusal at ``step``."""
    try:
        receipt = w3.eth.get_transaction_receipt(HexStr(t.hash))
    except Exception:
        raise steps.fail(step, "record.missing", tx=t.hash) from None
    if receipt["status"] != 1 or receipt["blockNumber"] != t.block_number or \
            "0x" + bytes(receipt["blockHash"]).hex() != t.block_hash:
        raise steps.fail(step, "record.failed", tx=t.hash, number=t.block_number, block=t.block_hash)
    return receipt


def _stated_block(w3: Web3, t: Any, step: str, steps: _Steps) -> int:
    """The timestamp of ``t``'s block, read by hash, once its number and time are as stated; else a refusal."""
    try:
        block = w3.eth.get_block(HexBytes(t.block_hash))
    except Exception:
        raise steps.fail(step, "block.missing", block=t.block_hash) from None
    block_time = int(block["timestamp"])
    if int(block["number"]) != t.block_number or block_time != t.block_time:
        raise steps.fail(step, "signer.block_mismatch", block=t.block_hash, number=int(block["number"]),
                         time=block_time, claimed_number=t.block_number, claimed_time=t.block_time)
    return block_time


def _check_record(w3: Web3, cert: Certificate, record: Any, struct_hash: bytes, steps: _Steps) -> None:
    """The receipt is successful, in the certificate's block, and holds the record's creation event."""
    t = cert.transaction
    receipt = _receipt(w3, t, "record", steps)
    topic0 = _topic(CREATION_EVENTS[cert.kind])
    key = record.root if isinstance(record, Anchor) else struct_hash
    for log in receipt["logs"]:
        topics = [bytes(x) for x in log["topics"]]
        if _checksum(log["address"]) != cert.network.contract or len(topics) < 3 or topics[:2] != [topic0, key]:
            continue
        if isinstance(record, Anchor):
            data = bytes(log["data"])
            if topics[2] != record.court.to_bytes(32, "big") or _uint(data, 0) != record.size or \
                    _word(data, 1) != record.metadata_digest:
                continue
        steps.ok("record", "record.ok", event=CREATION_EVENTS[cert.kind].split("(")[0], number=t.block_number,
                 tx=t.hash)
        return
    raise steps.fail("record", "record.no_event", tx=t.hash, event=CREATION_EVENTS[cert.kind].split("(")[0],
                     id="0x" + key.hex(), contract=cert.network.contract_name)


def _check_dossier_chain(w3: Web3, court_registry: Any, cert: Certificate, jid: bytes, steps: _Steps) -> None:
    """Step ``dossier_chain``: the dossier's block is the chain's; its signer was a valid signer of the filing
    court then; its receipt holds exactly its DossierFiled event; no later version was filed by ``as_of``."""
    d = cert.dossier
    assert d is not None
    struct = dossier_record(cert, jid)
    t = d.transaction
    _stated_block(w3, t, "dossier_chain", steps)
    if not court_registry.functions.isSignerValidAt(d.signature.signer, d.court, t.block_time).call():
        raise steps.fail("dossier_chain", "signer.invalid", signer=d.signature.signer, court=d.court,
                         time=t.block_time)
    receipt = _receipt(w3, t, "dossier_chain", steps)
    expected = (int(struct.by_default).to_bytes(32, "big") + struct.complete_copy + struct.proof_of_service
                + struct.translations_root + struct.sequence.to_bytes(32, "big"))
    topics = [_topic(DOSSIER_FILED), jid, d.court.to_bytes(32, "big")]
    if not any(_checksum(log["address"]) == cert.network.contract and [bytes(x) for x in log["topics"]] == topics
               and bytes(log["data"]) == expected for log in receipt["logs"]):
        raise steps.fail("dossier_chain", "dossier.no_event", tx=t.hash, sequence=d.sequence)
    try:
        as_of = w3.eth.get_block(HexBytes(d.as_of.block_hash))
    except Exception:
        raise steps.fail("dossier_chain", "block.missing", block=d.as_of.block_hash) from None
    if int(as_of["number"]) != d.as_of.block_number:
        raise steps.fail("dossier_chain", "status.as_of_mismatch", block=d.as_of.block_hash,
                         number=d.as_of.block_number)
    for log in _logs(w3, cert.network.contract, [_topic(DOSSIER_FILED), jid], t.block_number,
                     d.as_of.block_number):
        later = _uint(bytes(log["data"]), 4)
        if later > d.sequence:
            raise steps.fail("dossier_chain", "dossier.superseded", sequence=d.sequence, later=later,
                             block=int(log["blockNumber"]), as_of=d.as_of.block_number)
    steps.ok("dossier_chain", "dossier.chain_ok", sequence=d.sequence, court=d.court, block=t.block_number,
             as_of=d.as_of.block_number)


def _as_of(w3: Web3, cert: Certificate, steps: _Steps) -> int:
    """The certificate's ``as_of`` block, checked to be the chain's; returns its timestamp."""
    assert cert.as_of is not None
    try:
        block = w3.eth.get_block(HexBytes(cert.as_of.block_hash))
    except Exception:
        raise steps.fail("status", "block.missing", block=cert.as_of.block_hash) from None
    if int(block["number"]) != cert.as_of.block_number or cert.as_of.block_number < cert.transaction.block_number:
        raise steps.fail("status", "status.as_of_mismatch", block=cert.as_of.block_hash,
                         number=cert.as_of.block_number)
    return int(block["timestamp"])


def _judgment_status(w3: Web3, target: Any, cert: Certificate, record: Any, jid: bytes, steps: _Steps,
                     at: int | None) -> tuple[str, bool, dict[str, Any]]:
    _, status, _, changed_at, changes = target.functions.judgmentRecord(jid).call()
    state = JudgmentStatus(status)
    out: dict[str, Any] = {"status_now": state.name.lower(), "status_changed_at": changed_at, "changes": changes}
    if state == JudgmentStatus.SUPERSEDED:
        out["superseded_by"] = "0x" + bytes(target.functions.supersededBy(jid).call()).hex()
    if at is not None and at < cert.transaction.block_time:
        state = JudgmentStatus.NONE
    elif at is not None and changes and at < changed_at:
        state = JudgmentStatus.EFFECTIVE
        times: dict[bytes, int] = {}
        head = w3.eth.block_number
        for log in _logs(w3, cert.network.contract, [_topic(STATUS_CHANGED), jid], cert.transaction.block_number,
                         head):
            if _block_time(w3, log["blockHash"], times) > at:
                break
            state = JudgmentStatus(_uint(bytes(log["data"]), 1))
    name = "not_yet_recorded" if state == JudgmentStatus.NONE else state.name.lower()
    out["status"] = name
    out.update(_effect(w3, record, state, at))
    detail = Message("status.judgment", {"state": name}) if at is None else \
        Message("status.judgment_at", {"state": name, "at": at})
    if "superseded_by" in out and state == JudgmentStatus.SUPERSEDED:
        detail = Message("status.superseded_by", {"status": detail, "successor": out["superseded_by"]})
    if cert.dossier is not None:
        versions, latest = target.functions.dossierOf(jid).call()
        later = int(versions) - cert.dossier.sequence - 1
        out["dossier"] = {"versions": int(versions), "later_versions": later, "latest": "0x" + bytes(latest).hex()}
        if later:
            detail = Message("status.dossier_later", {"status": detail, "later": later, "versions": int(versions)})
    steps.ok("status", detail.key, **detail.params)
    return name, state == JudgmentStatus.EFFECTIVE, out


def _effect(w3: Web3, record: Any, state: JudgmentStatus, at: int | None) -> dict[str, Any]:
    """Effect and enforceability in the State of origin (Hague 2019 art. 4(3)): effective since the signed
    effective date; an appeal pending; enforcement stayed; enforceable now (or at ``at``) when in effect,
    past the effective date, and neither under appeal nor stayed."""
    when = at if at is not None else int(w3.eth.get_block("latest")["timestamp"])
    since = date_to_unix(record.effective_date)
    return {"effective_since": record.effective_date.isoformat(),
            "appeal_pending": state == JudgmentStatus.UNDER_APPEAL,
            "stayed": state == JudgmentStatus.STAYED,
            "enforceable": state == JudgmentStatus.EFFECTIVE and since <= when}


def _case_status(w3: Web3, target: Any, cert: Certificate, case_id: bytes, steps: _Steps,
                 at: int | None) -> tuple[str, bool, dict[str, Any]]:
    assert cert.case is not None and cert.as_of is not None
    _as_of(w3, cert, steps)
    logs = _logs(w3, cert.network.contract, [_topic(ACTION_RECORDED), case_id], cert.transaction.block_number,
                 cert.as_of.block_number)
    certified = len(cert.case.actions)
    if len(logs) != certified:
        raise steps.fail("status", "status.case_actions", count=len(logs), block=cert.as_of.block_number,
                         certified=certified)
    if logs:
        data = bytes(logs[-1]["data"])
        sequence = int.from_bytes(bytes(logs[-1]["topics"][2]), "big")
        history, state, recovered = _word(data, 6), CaseState(_uint(data, 4)), _uint(data, 5)
        if sequence != certified - 1 or "0x" + history.hex() != cert.case.history_hash:
            raise steps.fail("status", "status.case_history", i=certified - 1)
        if state.name.lower() != cert.case.state or str(recovered) != cert.case.amount_recovered:
            raise steps.fail("status", "status.case_state")
    data_now = target.functions.caseRecord(case_id).call()
    now_state, actions_now, updated_at = CaseState(data_now[1]), data_now[2], data_now[4]
    state_at = now_state
    if at is not None and at < cert.transaction.block_time:
        state_at = CaseState.NONE
    elif at is not None and at < updated_at:
        state_at = CaseState.OPEN
        times: dict[bytes, int] = {}
        for log in _logs(w3, cert.network.contract, [_topic(ACTION_RECORDED), case_id],
                         cert.transaction.block_number, w3.eth.block_number):
            if _block_time(w3, log["blockHash"], times) > at:
                break
            state_at = CaseState(_uint(bytes(log["data"]), 4))
    name = "not_yet_filed" if state_at == CaseState.NONE else state_at.name.lower()
    later = actions_now - certified
    where = {"certified": certified, "block": cert.as_of.block_number, "state": name}
    detail = Message("status.case", where) if at is None else Message("status.case_at", {**where, "at": at})
    if later:
        steps.ok("status", "status.later_actions", status=detail, later=later)
    else:
        steps.ok("status", detail.key, **detail.params)
    return name, state_at == CaseState.OPEN, {"state": name, "actions": actions_now,
                                               "actions_after_certificate": later,
                                               "amount_recovered": str(data_now[8])}


def listing_state(listed_at: int, until: int, removed_at: int | None, at: int) -> str:
    """A listing's state at ``at``: pending, active, removed or expired."""
    if removed_at is not None and removed_at <= at:
        return "removed"
    if at < listed_at:
        return "pending"
    return "active" if at < until else "expired"


def _listing_status(w3: Web3, target: Any, cert: Certificate, record: Listing, lid: bytes, steps: _Steps,
                    at: int | None) -> tuple[str, bool, dict[str, Any]]:
    assert cert.defaulter is not None and cert.as_of is not None
    as_of_time = _as_of(w3, cert, steps)
    until, removed_at = record.until, None
    for log in _logs(w3, cert.network.contract, [[_topic(LISTING_EXTENDED), _topic(DEFAULTER_REMOVED)], lid],
                     cert.transaction.block_number, cert.as_of.block_number):
        data = bytes(log["data"])
        if bytes(log["topics"][0]) == _topic(LISTING_EXTENDED):
            until = _uint(data, 0)
        else:
            removed_at = _uint(data, 1)
    d = cert.defaulter
    if d.at != as_of_time:
        raise steps.fail("status", "status.listing_at", at=d.at, block=cert.as_of.block_number, time=as_of_time)
    if d.until != until or d.removed_at != removed_at:
        raise steps.fail("status", "status.listing_chain", block=cert.as_of.block_number, until=until,
                         removed_at=removed_at, claimed_until=d.until, claimed_removed_at=d.removed_at)
    rec = target.functions.listingRecord(lid).call()
    until_now, removed_now = int(rec[4]), int(rec[5]) or None
    when = at if at is not None else int(w3.eth.get_block("latest")["timestamp"])
    name = listing_state(record.listed_at, until_now, removed_now, when)
    restricted = listing_restricted(record, when, until_now, removed_now)
    where = {"block": cert.as_of.block_number, "restricted": d.restricted, "at": d.at, "state": name}
    if at is None:
        steps.ok("status", "status.listing", **where)
    else:
        steps.ok("status", "status.listing_at_time", **where, when=at)
    return name, name == "active", {"state": name, "restricted": restricted, "at": when, "until": until_now,
                                    "removed_at": removed_now, "removal_reason": RemovalReason(rec[6]).name.lower()}
