"""Certificates as W3C Verifiable Credentials (Data Model 2.0), and back.

Contract: :func:`credential` turns a format-2 certificate into a Verifiable Credential; nothing in it is
new: every member is a function of the certificate (and of the status-list entries the caller gives).

- ``issuer`` is ``did:ethr:<chain id, hex>:<signer>``: the court's EIP-712 signer key as a DID (the key
  whose signature is the proof), with the court number (``docs/verification.md`` section 9 says why);
- ``validFrom`` is the block time of the record's transaction (``validUntil``, for a listing, its end);
- ``credentialSubject`` holds the record's fields (the certificate's JSON names), the record id, and the
  per-kind state the certificate certifies (case-number opening, case state, listing state, notary digest,
  a judgment's dossier);
- ``proof`` is an ``EthereumEip712Signature2021`` carrying the court's signature as ``proofValue`` and the
  complete EIP-712 ``domain``, ``types``, ``primaryType`` and ``message`` (the record), so any EIP-712
  library recovers the issuer's address from it; no new cryptosuite;
- ``evidence`` carries the certificate itself (``LedgerCertificate``), which the verifiers check as format 2;
- ``credentialStatus`` is a ``BitstringStatusListEntry`` per status purpose of the kind (judgment:
  revocation and suspension; listing: revocation) when the issuer gives the record's list position.

:func:`certificate_from_credential` is the way back: it takes the certificate from ``evidence``, rebuilds
the credential from it and refuses (``VerificationError('format')``) a credential that differs from the
rebuilt one anywhere, so no claim of a credential can say other than what the court signed.
"""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime
from typing import Any

from ledger.certificates import Certificate, parse_certificate_record
from ledger.errors import refused
from ledger.signing import Domain

__all__ = [
    "CREDENTIAL_TYPES",
    "STATUS_LIST_SIZE",
    "STATUS_PURPOSES",
    "certificate_from_credential",
    "credential",
    "encode_status_list",
    "is_credential",
    "issuer_did",
    "status_bit",
    "status_entries",
    "status_list_credential",
]

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
EIP712_CONTEXT = "https://w3id.org/security/suites/eip712sig-2021/v1"
PROOF_TYPE = "EthereumEip712Signature2021"
EVIDENCE_TYPE = "LedgerCertificate"
#: kind -> our credential type (after VerifiableCredential)
CREDENTIAL_TYPES = {
    "judgment": "CourtJudgmentCredential",
    "enforcement_case": "EnforcementCaseCredential",
    "defaulter_status": "DefaulterListingCredential",
    "notarized_digest": "NotarizedDigestCredential",
}
#: kind -> the status purposes its credentials carry (Bitstring Status List v1.0)
STATUS_PURPOSES: dict[str, tuple[str, ...]] = {
    "judgment": ("revocation", "suspension"),
    "defaulter_status": ("revocation",),
    "enforcement_case": (),
    "notarized_digest": (),
}
#: entries per published list: 16 KB of bits, the spec's minimum for herd privacy
STATUS_LIST_SIZE = 131_072
_STATUS_KEYS = ("id", "type", "statusPurpose", "statusListIndex", "statusListCredential")
_MAX_SAFE = 2**53


def iso(unix: int) -> str:
    """Unix seconds as an XML Schema dateTimeStamp in UTC (``2023-11-14T22:13:21Z``)."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issuer_did(chain_id: int, signer: str) -> str:
    """The signer key as a did:ethr DID on the record's chain."""
    return f"did:ethr:{hex(chain_id)}:{signer}"


def status_entries(kind: str, position: int, base_url: str) -> list[dict[str, Any]]:
    """The credential's BitstringStatusListEntry members for the record at global ``position``.

    Position ``p`` is entry ``p % STATUS_LIST_SIZE`` of list ``p // STATUS_LIST_SIZE``; the list of a
    purpose is published at ``{base_url}/{purpose}/{list}``.
    """
    if position < 0:
        raise ValueError("a status list position is not negative")
    number, index = divmod(position, STATUS_LIST_SIZE)
    out = []
    for purpose in STATUS_PURPOSES[kind]:
        url = f"{base_url.rstrip('/')}/{purpose}/{number}"
        out.append({"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
                    "statusListIndex": str(index), "statusListCredential": url})
    return out


def _eip712_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, int) and not isinstance(value, bool) and value >= _MAX_SAFE:
        return str(value)
    return value


def _subject(cert: Certificate) -> dict[str, Any]:
    subject: dict[str, Any] = {"id": f"urn:judicial-trust-ledger:{cert.network.chain_id}:{cert.record_id}",
                               "type": CREDENTIAL_TYPES[cert.kind].removesuffix("Credential"),
                               "record_id": cert.record_id, **cert.record}
    if cert.case_number is not None:
        subject["case_number"] = cert.case_number.text
    if cert.case is not None and cert.as_of is not None:
        subject["as_of"] = {"block_number": cert.as_of.block_number, "state": cert.case.state,
                            "amount_recovered": cert.case.amount_recovered, "actions": len(cert.case.actions)}
    if cert.defaulter is not None and cert.as_of is not None:
        d = cert.defaulter
        subject["as_of"] = {"block_number": cert.as_of.block_number, "at": iso(d.at), "restricted": d.restricted,
                            "until": iso(d.until)}
        if d.removed_at is not None:
            subject["as_of"]["removed_at"] = iso(d.removed_at)
    if cert.notary is not None:
        subject["digest"] = cert.notary.digest
    if cert.dossier is not None:
        subject["dossier"] = _dossier_claims(cert)
    return subject


def _dossier_claims(cert: Certificate) -> dict[str, Any]:
    """The dossier (Hague 2019 art. 12) as claims: what the filing court signed (its signature and the
    DossierFiled transaction stay in the certificate, in ``evidence``), when, and as of which block."""
    d = cert.dossier
    assert d is not None
    claims: dict[str, Any] = {"version": d.sequence, "filed_by": d.court, "filed_at": iso(d.transaction.block_time),
                              "by_default": d.by_default, "complete_copy": d.complete_copy,
                              "translations": [dict(t) for t in d.translations],
                              "latest_as_of_block": d.as_of.block_number}
    if d.proof_of_service is not None:
        claims["proof_of_service"] = d.proof_of_service
    return claims


def _proof(cert: Certificate, record: Any, did: str, created: str) -> dict[str, Any]:
    domain = Domain(cert.network.contract_name, cert.network.chain_id, cert.network.contract).as_dict()
    types = {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                              {"name": "chainId", "type": "uint256"},
                              {"name": "verifyingContract", "type": "address"}],
             **type(record).eip712_types()}
    return {
        "type": PROOF_TYPE,
        "created": created,
        "proofPurpose": "assertionMethod",
        "verificationMethod": f"{did}#controller",
        "proofValue": cert.signature.value,
        "eip712": {"domain": domain, "types": types, "primaryType": type(record).TYPE_NAME,
                   "message": {k: _eip712_json(v) for k, v in record.message().items()}},
    }


def credential(certificate: Certificate | dict[str, Any] | str | bytes,
               status: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The Verifiable Credential of a format-2 certificate; ``status`` are its status-list entries."""
    data = certificate.model_dump(exclude_none=True) if isinstance(certificate, Certificate) else certificate
    cert, record, _ = parse_certificate_record(data)
    did = issuer_did(cert.network.chain_id, cert.signature.signer)
    valid_from = iso(cert.transaction.block_time)
    vc: dict[str, Any] = {
        "@context": [VC_CONTEXT, EIP712_CONTEXT],
        "type": ["VerifiableCredential", CREDENTIAL_TYPES[cert.kind]],
        "issuer": {"id": did, "court": cert.record["court"]},
        "validFrom": valid_from,
    }
    if cert.defaulter is not None:
        vc["validUntil"] = iso(cert.defaulter.until)
    vc["credentialSubject"] = _subject(cert)
    if status:
        vc["credentialStatus"] = status
    vc["evidence"] = [{"type": [EVIDENCE_TYPE], "certificate": cert.model_dump(exclude_none=True)}]
    vc["proof"] = _proof(cert, record, did, valid_from)
    return vc


def is_credential(data: Any) -> bool:
    """Whether parsed JSON is presented as a Verifiable Credential (it has an ``@context``)."""
    return isinstance(data, dict) and "@context" in data


def _status_problem(kind: str, status: Any) -> bool:
    """Whether ``status`` is not one well-formed BitstringStatusListEntry per purpose of the kind (None: none)."""
    if status is None:
        return False
    if not isinstance(status, list) or [e.get("statusPurpose") if isinstance(e, dict) else None
                                        for e in status] != list(STATUS_PURPOSES[kind]):
        return True
    return any(set(entry) != set(_STATUS_KEYS) or entry["type"] != "BitstringStatusListEntry"
               or not isinstance(entry["statusListIndex"], str) or not entry["statusListIndex"].isdigit()
               or int(entry["statusListIndex"]) >= STATUS_LIST_SIZE
               or not isinstance(entry["statusListCredential"], str)
               or entry["id"] != f"{entry['statusListCredential']}#{entry['statusListIndex']}"
               for entry in status)


def _first_difference(given: Any, expected: Any, path: str = "") -> str | None:
    if isinstance(given, dict) and isinstance(expected, dict):
        for key in sorted(set(given) | set(expected)):
            if key not in expected:
                return f"{path}/{key} (not certified)"
            if key not in given:
                return f"{path}/{key} (missing)"
            found = _first_difference(given[key], expected[key], f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(given, list) and isinstance(expected, list) and len(given) == len(expected):
        for i, (g, e) in enumerate(zip(given, expected, strict=True)):
            found = _first_difference(g, e, f"{path}/{i}")
            if found:
                return found
        return None
    if type(given) is not type(expected) or given != expected:
        return path or "(credential)"
    return None


def certificate_from_credential(vc: dict[str, Any]) -> dict[str, Any]:
    """The certificate a credential carries, once every claim of the credential is shown to be certified.

    Raises VerificationError('format') when the credential has no certificate in ``evidence``, when the
    certificate is not format 2, or when any member of the credential (subject, issuer, dates, types,
    proof) differs from the one the certificate determines.
    """
    evidence = vc.get("evidence")
    if not (isinstance(evidence, list) and len(evidence) == 1 and isinstance(evidence[0], dict)
            and evidence[0].get("type") == [EVIDENCE_TYPE] and isinstance(evidence[0].get("certificate"), dict)):
        raise refused("format", "format.vc_evidence")
    certificate = evidence[0]["certificate"]
    cert, _, _ = parse_certificate_record(certificate)
    status = vc.get("credentialStatus")
    if _status_problem(cert.kind, status):
        raise refused("format", "format.vc_status", purposes=list(STATUS_PURPOSES[cert.kind]))
    difference = _first_difference(vc, credential(certificate, status))
    if difference is not None:
        raise refused("format", "format.vc_claim", path=difference)
    return certificate


# -- Bitstring Status List v1.0 --------------------------------------------------------------------


def encode_status_list(set_positions: list[int], size: int = STATUS_LIST_SIZE) -> str:
    """``encodedList``: multibase base64url (no padding, prefix ``u``) of the GZIP-compressed bitstring.

    Index 0 is the left-most bit of the first byte (the specification's order).
    """
    bits = bytearray(size // 8)
    for i in set_positions:
        bits[i // 8] |= 0x80 >> (i % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode("ascii").rstrip("=")


def status_bit(encoded_list: str, index: int) -> bool:
    """The bit at ``index`` of an ``encodedList`` (what a credential verifier reads)."""
    if not encoded_list.startswith("u"):
        raise ValueError("encodedList is multibase base64url: it starts with 'u'")
    body = encoded_list[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(url: str, purpose: str, encoded_list: str, *, issuer: str,
                           valid_from: int) -> dict[str, Any]:
    """The BitstringStatusListCredential published at ``url`` (unsigned: the chain is the authority)."""
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": iso(valid_from),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": encoded_list},
    }
