"""The service's settings: one ``BaseSettings`` class, read from ``LEDGER_*`` environment variables.

Contract: :class:`Settings` holds every knob of the service. The five secrets (vault master key,
blind-index key, case-number key, keystore password, governance key) have no defaults. :func:`resolve_secrets` turns the
settings into usable secrets:

- ``mode == "production"``: every secret must be given explicitly; a missing value, a placeholder
  (``changeme``, all zeros, a public anvil development key, ...) or a value found in the data
  directory's ``dev-secrets.json`` stops the service with a :class:`~ledger.errors.ConfigurationError`
  naming the setting (never its value).
- ``mode == "development"``: a missing secret is generated once into ``<data_dir>/dev-secrets.json``
  (mode 0600, the same file and names as :class:`ledger.workspace.Workspace`) and reused on restart.

Environment names match the library's workspace: ``LEDGER_VAULT_KEY``, ``LEDGER_BLIND_INDEX_KEY``,
``LEDGER_CASE_NUMBER_KEY``, ``LEDGER_KEYSTORE_PASSWORD``, ``LEDGER_GOVERNANCE_KEY``, ``LEDGER_DATA_DIR``,
``LEDGER_MODE``, ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.errors import ConfigurationError
from ledger.privacy import BlindIndexKey, CaseNumberKey
from ledger.workspace import ensure_dev_secrets

__all__ = ["DEV_SECRETS_FILE", "ServiceSecrets", "Settings", "resolve_blind_key", "resolve_secrets"]

Mode = Literal["development", "production"]
DEV_SECRETS_FILE = "dev-secrets.json"

#: setting name -> environment name (the names in dev-secrets.json)
SECRET_ENV = {
    "vault_key": "LEDGER_VAULT_KEY",
    "blind_index_key": "LEDGER_BLIND_INDEX_KEY",
    "case_number_key": "LEDGER_CASE_NUMBER_KEY",
    "keystore_password": "LEDGER_KEYSTORE_PASSWORD",
    "governance_key": "LEDGER_GOVERNANCE_KEY",
}
_PLACEHOLDERS = {
    "",
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "passw0rd",
    "dev",
    "development",
    "test",
    "testing",
    "example",
    "placeholder",
    "default",
    "none",
    "null",
    "todo",
    "xxx",
    "admin",
}
_MIN_PASSWORD = 12


class Settings(BaseSettings):
    """Everything the service is configured with. Secrets are ``SecretStr`` and never logged."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", hide_input_in_errors=True)

    mode: Mode = "development"
    data_dir: Path = Field(default=Path(".data"), description="all durable state lives here")
    chain: str = Field(default="local", description="memory | local (anvil in <data_dir>/chain) | node URL")
    chain_id: int | None = Field(default=None, description="the chain id the node must report")
    chain_port: int | None = Field(
        default=None, description="local anvil: a fixed port (default: any free one)"
    )
    network_name: str = Field(
        default="judicial-trust-ledger-dev", description="name in the network descriptor"
    )

    # -- secrets: no defaults; see resolve_secrets ---------------------------------------------------
    vault_key: SecretStr | None = Field(default=None, description="vault master key, 64 hex digits")
    blind_index_key: SecretStr | None = Field(default=None, description="blind-index HMAC key, 64 hex digits")
    case_number_key: SecretStr | None = Field(
        default=None, description="K_case, the network's case-number key (HMAC), 64 hex digits"
    )
    keystore_password: SecretStr | None = Field(default=None, description="password of the signer keystore")
    governance_key: SecretStr | None = Field(default=None, description="governance account private key")

    # -- keys and funding --------------------------------------------------------------------------
    keystore_kdf: Literal["scrypt", "pbkdf2"] = "scrypt"
    signer_funding_wei: int = Field(
        default=-1, description="sent to each new court signer; -1: 10 ETH in development, 0 in production"
    )
    dev_governor_funding_wei: int = 1_000 * 10**18

    # -- authentication ----------------------------------------------------------------------------
    clock_skew_seconds: int = 300
    clients_file: Path | None = Field(default=None, description="JSON list of clients loaded at startup")
    public_url: str | None = Field(
        default=None, pattern=r"^https?://[A-Za-z0-9.\-\[\]:]+$",
        description="scheme://host[:port] clients address (through any proxy): what a signature's @target-uri "
                    "is compared with; unset: the scheme this server is reached by and the request's Host",
    )

    # -- public verification -----------------------------------------------------------------------
    verify_rate_per_second: float = 5.0
    verify_burst: int = 20

    # -- background work ---------------------------------------------------------------------------
    index_interval_seconds: float = 0.5
    index_confirmations: int = 0
    worker_interval_seconds: float = 0.1
    worker_process: bool = Field(
        default=False,
        description="run the outbox worker in a process of its own (api.worker.process): accepting and "
                    "sending each get a core; not on the memory chain. scripts/serve.py turns it on for "
                    "a node unless LEDGER_WORKER_PROCESS says otherwise",
    )
    receipt_timeout_seconds: float = 120.0
    max_batch_checks: int = 10_000

    # -- notary (ledger.notary.NotaryBatcher, when present) ---------------------------------------
    notary_court: int | None = Field(default=None, description="court whose signer anchors notary batches")
    notary_max_size: int = 10_000
    notary_max_age_seconds: float = 2.0

    # -- request bounds (api.limits, api.serving) -------------------------------------------------
    max_body_bytes: int = Field(default=64 * 1024, gt=0, description="request body, most endpoints")
    max_record_body_bytes: int = Field(
        default=512 * 1024, gt=0, description="body of a judgment (up to 100 parties) or a certificate to verify"
    )
    max_batch_body_bytes: int = Field(
        default=2 * 1024 * 1024, gt=0, description="body of a batch check or a notary digest batch (10,000 items)"
    )
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, gt=0, description="notary file uploads (multipart)")
    max_json_depth: int = Field(default=32, gt=0, description="nesting of arrays and objects in a JSON body")
    body_timeout_seconds: float = Field(default=15.0, gt=0, description="to receive a whole JSON body")
    upload_timeout_seconds: float = Field(default=300.0, gt=0, description="to receive a whole upload")
    header_timeout_seconds: float = Field(default=10.0, gt=0, description="to receive request line and headers")
    max_header_bytes: int = Field(default=32 * 1024, gt=0, description="request line and headers together")
    max_connections: int = Field(
        default=512, gt=0, description="open connections (and tasks) before new requests get 503"
    )
    keep_alive_seconds: float = Field(default=5.0, gt=0, description="idle keep-alive connections are closed after")

    # -- health (api.health) -----------------------------------------------------------------------
    health_timeout_seconds: float = Field(default=2.0, gt=0, description="readiness: per question to the node")
    max_index_lag_blocks: int = Field(default=20, ge=0, description="readiness: the index may lag this much")

    # -- serve.py ----------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    seed_demo: bool = Field(default=False, description="play ledger.demo once into a fresh data directory")

    def funding_wei(self) -> int:
        if self.signer_funding_wei >= 0:
            return self.signer_funding_wei
        return 10 * 10**18 if self.mode == "development" else 0


@dataclass(frozen=True)
class ServiceSecrets:
    """The resolved secrets. Its ``repr`` shows none of them."""

    vault_key: bytes
    blind_key: BlindIndexKey
    keystore_password: str
    governor: LocalAccount
    case_key: CaseNumberKey

    def __repr__(self) -> str:
        return f"ServiceSecrets(governor={self.governor.address}, <secrets redacted>)"


def resolve_secrets(settings: Settings) -> ServiceSecrets:
    """Usable secrets from the settings (production) or the settings plus dev-secrets.json (development)."""
    given = {
        name: (getattr(settings, name).get_secret_value() if getattr(settings, name) is not None else None)
        for name in SECRET_ENV
    }
    path = Path(settings.data_dir) / DEV_SECRETS_FILE
    if settings.mode == "production":
        missing = [SECRET_ENV[n] for n, v in given.items() if v is None or not v.strip()]
        if missing:
            raise ConfigurationError(f"production mode needs explicit values for {', '.join(missing)}")
        dev_values = set(_read_dev_secrets(path).values())
        for name, value in given.items():
            assert value is not None
            if value.strip() in dev_values:
                raise ConfigurationError(
                    f"{SECRET_ENV[name]} is a development secret from {path}; production needs its own"
                )
            _refuse_placeholder(name, value)
        values = {n: v.strip() for n, v in given.items() if v is not None}
    else:
        dev = _dev_secrets(path)
        values = {
            n: (v.strip() if v is not None and v.strip() else dev[SECRET_ENV[n]]) for n, v in given.items()
        }
    return ServiceSecrets(
        vault_key=_hex32("vault_key", values["vault_key"]),
        blind_key=BlindIndexKey(_hex32("blind_index_key", values["blind_index_key"])),
        keystore_password=values["keystore_password"],
        governor=_account(values["governance_key"]),
        case_key=CaseNumberKey(_hex32("case_number_key", values["case_number_key"])),
    )


def resolve_blind_key(settings: Settings) -> BlindIndexKey:
    """Only the blind-index key, for a process that answers partner checks and holds no other secret.

    Production: ``LEDGER_BLIND_INDEX_KEY``, refused if missing or a placeholder. Development: the same
    variable, else the key in ``dev-secrets.json``, which the main service must have written already.
    """
    given = settings.blind_index_key.get_secret_value().strip() if settings.blind_index_key is not None else ""
    path = Path(settings.data_dir) / DEV_SECRETS_FILE
    env = SECRET_ENV["blind_index_key"]
    if settings.mode == "production":
        if not given:
            raise ConfigurationError(f"production mode needs an explicit value for {env}")
        if given in set(_read_dev_secrets(path).values()):
            raise ConfigurationError(f"{env} is a development secret from {path}; production needs its own")
        _refuse_placeholder("blind_index_key", given)
    elif not given:
        given = _read_dev_secrets(path).get(env, "")
        if not given:
            raise ConfigurationError(f"no {env} and no {path}: start the main service on this data dir first")
    return BlindIndexKey(_hex32("blind_index_key", given))


def _refuse_placeholder(name: str, value: str) -> None:
    env = SECRET_ENV[name]
    text = value.strip()
    lowered = text.lower().removeprefix("0x")
    if lowered in _PLACEHOLDERS or any(lowered.startswith(p + "-") for p in ("dev", "test", "changeme")):
        raise ConfigurationError(f"{env} is a placeholder value; set a real secret")
    if len(set(lowered)) <= 2:
        raise ConfigurationError(f"{env} is a placeholder value (repeated characters); set a real secret")
    if name == "keystore_password":
        if len(text) < _MIN_PASSWORD:
            raise ConfigurationError(f"{env} must be at least {_MIN_PASSWORD} characters in production")
        return
    if name == "governance_key" and lowered in _dev_account_keys():
        raise ConfigurationError(f"{env} is a public development key (anvil's mnemonic); set a real key")
    if lowered in _dev_account_keys():
        raise ConfigurationError(f"{env} is a public development key; set a real secret")


def _dev_account_keys() -> set[str]:
    from ledger._node import DEV_ACCOUNT_COUNT, DEV_MNEMONIC

    seed = seed_from_mnemonic(DEV_MNEMONIC, "")
    return {key_from_seed(seed, f"m/44'/60'/0'/0/{i}").hex() for i in range(DEV_ACCOUNT_COUNT)}


def _hex32(name: str, value: str) -> bytes:
    digits = value.strip().removeprefix("0x")
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raise ConfigurationError(f"{SECRET_ENV[name]} must be 64 hex digits") from None
    if len(raw) != 32:
        raise ConfigurationError(f"{SECRET_ENV[name]} must be 64 hex digits (32 bytes)")
    return raw


def _account(value: str) -> LocalAccount:
    try:
        return Account.from_key(_hex32("governance_key", value))
    except ConfigurationError:
        raise
    except Exception:
        raise ConfigurationError("LEDGER_GOVERNANCE_KEY is not a valid secp256k1 private key") from None


def _read_dev_secrets(path: Path) -> dict[str, str]:
    try:
        return {k: str(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        return {}


def _dev_secrets(path: Path) -> dict[str, str]:
    """Read dev-secrets.json, adding whatever is missing (written atomically, mode 0600)."""
    return ensure_dev_secrets(path, SECRET_ENV.values())
