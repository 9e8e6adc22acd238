"""Court signatures: EIP-712 domains, signing and recovery, and encrypted keystores.

Contract: a court signs each record as EIP-712 typed data under the domain of the contract that stores
it (name = contract name, version "1", the chain id, the contract address), so ethers, eth-account or any
EIP-712 implementation verifies it. The encoding half (:func:`typed_data`, :func:`signing_digest`,
:func:`recover_signer`) is pure; :class:`Keystore` reads and writes Web3 Secret Storage (v3) files, the
only place a signer key lives at rest.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from ledger.errors import ConfigurationError, ValidationError
from ledger.records import CONTRACT_OF, Record

__all__ = [
    "DOMAIN_VERSION",
    "Domain",
    "Keystore",
    "domain_for",
    "recover_signer",
    "sign_record",
    "signing_digest",
    "typed_data",
]

DOMAIN_VERSION = "1"


@dataclass(frozen=True)
class Domain:
    """An EIP-712 domain: binds a signature to one contract on one chain."""

    name: str
    chain_id: int
    verifying_contract: str
    version: str = DOMAIN_VERSION

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }

    def separator(self) -> bytes:
        return encode_typed_data(full_message=_full(self, _Empty())).header


class _Empty:
    TYPE_NAME = "Empty"

    @staticmethod
    def eip712_types() -> dict[str, list[dict[str, str]]]:
        return {"Empty": []}

    @staticmethod
    def message() -> dict[str, Any]:
        return {}


def domain_for(record: Record | type[Record], chain_id: int, addresses: dict[str, str]) -> Domain:
    """The domain of the contract that stores ``record``, from a deployment's address book."""
    cls = record if isinstance(record, type) else type(record)
    name = CONTRACT_OF[cls]
    if name not in addresses:
        raise ConfigurationError(f"the deployment has no {name}")
    return Domain(name=name, chain_id=chain_id, verifying_contract=addresses[name])


def _full(domain: Domain, record: Any) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            **record.eip712_types(),
        },
        "primaryType": record.TYPE_NAME,
        "domain": domain.as_dict(),
        "message": record.message(),
    }


def typed_data(domain: Domain, record: Record) -> dict[str, Any]:
    """The full EIP-712 typed-data document (what ethers' ``verifyTypedData`` takes, JSON-ready)."""
    full = _full(domain, record)
    full["message"] = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in full["message"].items()}
    return full


def signing_digest(domain: Domain, record: Record) -> bytes:
    """keccak256(0x1901 || domainSeparator || hashStruct(record)): what the signer signs."""
    signable = encode_typed_data(full_message=_full(domain, record))
    return keccak(b"\x19\x01" + signable.header + signable.body)


def sign_record(account: LocalAccount, domain: Domain, record: Record) -> bytes:
    """The 65-byte signature (r, s, v) of ``record`` under ``domain``."""
    signed = account.sign_typed_data(full_message=_full(domain, record))
    return bytes(signed.signature)


def recover_signer(domain: Domain, record: Record, signature: bytes) -> str:
    """The checksummed address that produced ``signature``; raises ValidationError if malformed."""
    if len(signature) != 65:
        raise ValidationError(f"signature must be 65 bytes, got {len(signature)}")
    try:
        return str(Account.recover_message(encode_typed_data(full_message=_full(domain, record)),
                                           signature=signature))
    except Exception as exc:  # eth-keys raises several types for a bad (r, s, v)
        raise ValidationError(f"signature cannot be recovered: {exc}") from exc


class Keystore:
    """Encrypted signer keys (Web3 Secret Storage v3, scrypt) in a directory, one file per address."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, address: str) -> Path:
        return self.directory / f"{to_checksum_address(address)}.json"

    def create(self, password: str, *, private_key: bytes | None = None,
               kdf: Literal["scrypt", "pbkdf2"] = "scrypt") -> LocalAccount:
        """Generate (or import) a key and store it encrypted; returns the unlocked account."""
        if not password:
            raise ConfigurationError("a keystore password is required")
        account: LocalAccount = Account.from_key(private_key) if private_key else Account.create()
        encrypted = Account.encrypt(account.key, password, kdf=kdf)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(account.address)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(encrypted, fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
        return account

    def load(self, address: str, password: str) -> LocalAccount:
        path = self.path_for(address)
        if not path.is_file():
            raise ConfigurationError(f"no keystore file for {to_checksum_address(address)} in {self.directory}")
        try:
            key = Account.decrypt(json.loads(path.read_text()), password)
        except ValueError as exc:
            raise ConfigurationError(f"cannot unlock the keystore of {to_checksum_address(address)}: "
                                     "wrong password or corrupted file") from exc
        return Account.from_key(key)

    def addresses(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("0x*.json"))
