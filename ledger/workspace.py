"""A data directory holding one installation's off-chain state, shared by the CLI and the service.

Layout (all under ``root``, default ``.data`` or ``$LEDGER_DATA_DIR``)::

    chain/            the local anvil node's persisted state (when the chain spec is ``local``)
    deployment.json   where the contracts are (see ledger.deployment)
    keystore/         court signer keys, encrypted (Web3 Secret Storage v3)
    courts.json       court id -> signer address, for the keys in the keystore
    vault.db          personal data, encrypted per subject (ledger.privacy.vault)
    index.db          the read model (ledger.index); rebuildable from the chain
    dev-secrets.json  development mode only: generated secrets, mode 0600

Secrets come from the environment (``LEDGER_VAULT_KEY``, ``LEDGER_BLIND_INDEX_KEY``, ``LEDGER_CASE_NUMBER_KEY``
as 64 hex digits, ``LEDGER_KEYSTORE_PASSWORD``). In development mode a missing secret is generated once into
``dev-secrets.json`` and reused; in production mode a missing or placeholder secret is an error.
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eth_account.signers.local import LocalAccount

from ledger.errors import ConfigurationError
from ledger.privacy import BlindIndexKey, CaseNumberKey
from ledger.signing import Keystore

__all__ = ["Secrets", "Workspace", "ensure_dev_secrets"]

Mode = Literal["development", "production"]
PLACEHOLDERS = {"", "changeme", "change-me", "secret", "password", "dev", "development", "0" * 64}


@dataclass(frozen=True)
class Secrets:
    vault_key: bytes
    blind_key: BlindIndexKey
    keystore_password: str
    case_key: CaseNumberKey

    def __repr__(self) -> str:
        return "Secrets(<redacted>)"


class Workspace:
    def __init__(self, root: Path | str | None = None, mode: Mode = "development") -> None:
        self.root = Path(root or os.environ.get("LEDGER_DATA_DIR") or ".data").resolve()
        self.mode = mode
        self.chain_dir = self.root / "chain"
        self.deployment_path = self.root / "deployment.json"
        self.keystore = Keystore(self.root / "keystore")
        self.courts_path = self.root / "courts.json"
        self.vault_path = self.root / "vault.db"
        self.index_path = self.root / "index.db"
        self.secrets_path = self.root / "dev-secrets.json"

    # -- secrets -----------------------------------------------------------------------------

    def secrets(self) -> Secrets:
        env = {k: os.environ.get(k, "") for k in ("LEDGER_VAULT_KEY", "LEDGER_BLIND_INDEX_KEY",
                                                  "LEDGER_CASE_NUMBER_KEY", "LEDGER_KEYSTORE_PASSWORD")}
        if self.mode == "production":
            bad = [k for k, v in env.items() if v.strip().lower() in PLACEHOLDERS]
            if bad:
                raise ConfigurationError(f"production mode needs real values for {', '.join(bad)}")
            values = env
        else:
            values = {**self._dev_secrets(), **{k: v for k, v in env.items() if v}}
        try:
            vault_key = bytes.fromhex(values["LEDGER_VAULT_KEY"])
            blind = BlindIndexKey.from_hex(values["LEDGER_BLIND_INDEX_KEY"])
            case_key = CaseNumberKey.from_hex(values["LEDGER_CASE_NUMBER_KEY"])
        except ValueError as exc:
            raise ConfigurationError(
                "LEDGER_VAULT_KEY, LEDGER_BLIND_INDEX_KEY and LEDGER_CASE_NUMBER_KEY must be 64 hex digits"
            ) from exc
        if len(vault_key) != 32:
            raise ConfigurationError("LEDGER_VAULT_KEY must be 64 hex digits (32 bytes)")
        return Secrets(vault_key, blind, values["LEDGER_KEYSTORE_PASSWORD"], case_key)

    def _dev_secrets(self) -> dict[str, str]:
        return ensure_dev_secrets(self.secrets_path, ("LEDGER_VAULT_KEY", "LEDGER_BLIND_INDEX_KEY",
                                                      "LEDGER_CASE_NUMBER_KEY", "LEDGER_KEYSTORE_PASSWORD"))

    # -- court keys --------------------------------------------------------------------------

    def courts(self) -> dict[int, str]:
        if not self.courts_path.is_file():
            return {}
        return {int(k): v for k, v in json.loads(self.courts_path.read_text()).items()}

    def court_signer(self, court: int, court_of: Callable[[str], int | None] | None = None) -> LocalAccount:
        """The court's signer key: the one ``courts.json`` names, else (``court_of`` given: the chain's
        answer for an address) a key in the keystore that the chain registers as the court's current signer.
        The service admits courts without ``courts.json``; its keys are in the same keystore."""
        address = self.courts().get(court)
        if address is None and court_of is not None:
            address = next((a for a in self.keystore.addresses() if court_of(a) == court), None)
        if address is None:
            raise ConfigurationError(f"no signer key for court {court} in {self.keystore.directory}")
        return self.keystore.load(address, self.secrets().keystore_password)

    # -- governance --------------------------------------------------------------------------

    def governance_key(self) -> LocalAccount:
        """The governance key this data dir's deployment is made with: ``LEDGER_GOVERNANCE_KEY``, or in
        development mode the one generated once into ``dev-secrets.json`` (the service uses the same)."""
        from eth_account import Account

        value = os.environ.get("LEDGER_GOVERNANCE_KEY", "").strip()
        if not value and self.mode == "development":
            value = ensure_dev_secrets(self.secrets_path, ("LEDGER_GOVERNANCE_KEY",))["LEDGER_GOVERNANCE_KEY"]
        if not value or value.lower() in PLACEHOLDERS:
            raise ConfigurationError("production mode needs LEDGER_GOVERNANCE_KEY (the network's governance key)")
        try:
            return Account.from_key(value)
        except ValueError:
            raise ConfigurationError("LEDGER_GOVERNANCE_KEY is not a valid secp256k1 private key") from None

    def new_court_signer(self, court: int) -> LocalAccount:
        """Create and store a signer key for ``court`` (the court's current key from now on)."""
        account = self.keystore.create(self.secrets().keystore_password, kdf="pbkdf2")
        courts = {str(k): v for k, v in self.courts().items()}
        courts[str(court)] = account.address
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.courts_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(courts, indent=2))
        tmp.replace(self.courts_path)
        return account


#: How each development secret is generated (names as in the environment and in dev-secrets.json).
_DEV_GENERATORS: dict[str, Callable[[], str]] = {
    "LEDGER_VAULT_KEY": lambda: _secrets.token_hex(32),
    "LEDGER_BLIND_INDEX_KEY": lambda: _secrets.token_hex(32),
    "LEDGER_CASE_NUMBER_KEY": lambda: _secrets.token_hex(32),
    "LEDGER_KEYSTORE_PASSWORD": lambda: _secrets.token_urlsafe(24),
    "LEDGER_GOVERNANCE_KEY": lambda: _secrets.token_hex(32),
}


def ensure_dev_secrets(path: Path, names: Iterable[str]) -> dict[str, str]:
    """Development mode: dev-secrets.json with every one of ``names``, generating (once) whatever is missing;
    written atomically, mode 0600. Shared by the CLI's workspace and the service, which add to one file."""
    try:
        values = {k: str(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        values = {}
    missing = [n for n in names if not values.get(n)]
    if not missing:
        return values
    values.update({n: _DEV_GENERATORS[n]() for n in missing})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return values
