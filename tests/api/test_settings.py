"""Secrets: explicit in production (placeholders refused at startup), generated once in development."""

from __future__ import annotations

import json
import os
import secrets
import stat

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import DEV_SECRETS_FILE, SECRET_ENV, Settings, resolve_secrets
from ledger.errors import ConfigurationError

ANVIL_KEY_0 = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in [*SECRET_ENV.values(), "LEDGER_MODE", "LEDGER_DATA_DIR", "LEDGER_CHAIN"]:
        monkeypatch.delenv(name, raising=False)


def _good() -> dict[str, str]:
    return {
        "vault_key": secrets.token_hex(32),
        "blind_index_key": secrets.token_hex(32),
        "case_number_key": secrets.token_hex(32),
        "keystore_password": secrets.token_urlsafe(18),
        "governance_key": secrets.token_hex(32),
    }


def test_production_accepts_real_secrets(tmp_path):
    resolved = resolve_secrets(Settings(mode="production", data_dir=tmp_path, **_good()))
    assert len(resolved.vault_key) == 32
    assert "<secrets redacted>" in repr(resolved)
    assert not (tmp_path / DEV_SECRETS_FILE).exists()


@pytest.mark.parametrize("missing", list(SECRET_ENV))
def test_production_refuses_a_missing_secret(tmp_path, missing):
    values = _good()
    del values[missing]
    with pytest.raises(ConfigurationError, match=SECRET_ENV[missing]):
        resolve_secrets(Settings(mode="production", data_dir=tmp_path, **values))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("vault_key", "0" * 64),
        ("blind_index_key", "f" * 64),
        ("case_number_key", "0" * 64),
        ("case_number_key", "changeme"),
        ("keystore_password", "changeme"),
        ("keystore_password", "short-pw"),
        ("governance_key", ANVIL_KEY_0),
        ("governance_key", "0x" + ANVIL_KEY_0),
        ("vault_key", "placeholder"),
        ("vault_key", "not hex at all, but long enough"),
    ],
)
def test_production_refuses_placeholders(tmp_path, name, value):
    values = {**_good(), name: value}
    with pytest.raises(ConfigurationError, match=SECRET_ENV[name]) as caught:
        resolve_secrets(Settings(mode="production", data_dir=tmp_path, **values))
    if len(value) > 16:
        assert value not in str(caught.value)  # the error names the setting, never the value


def test_production_refuses_development_secrets(tmp_path):
    dev = resolve_secrets(Settings(mode="development", data_dir=tmp_path))
    values = {**_good(), "vault_key": dev.vault_key.hex()}
    with pytest.raises(ConfigurationError, match="development secret"):
        resolve_secrets(Settings(mode="production", data_dir=tmp_path, **values))


def test_production_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGER_MODE", "production")
    for name, value in _good().items():
        monkeypatch.setenv(SECRET_ENV[name], value)
    monkeypatch.setenv("LEDGER_KEYSTORE_PASSWORD", "password")
    with pytest.raises(ConfigurationError, match="LEDGER_KEYSTORE_PASSWORD"):
        resolve_secrets(Settings(data_dir=tmp_path))


def test_production_service_refuses_to_start(tmp_path):
    settings = Settings(
        mode="production", data_dir=tmp_path, chain="memory", **{**_good(), "vault_key": "changeme"}
    )
    with pytest.raises(ConfigurationError, match="LEDGER_VAULT_KEY"), TestClient(create_app(settings)):
        pass


def test_development_secrets_are_generated_once_0600_and_reused(tmp_path):
    first = resolve_secrets(Settings(mode="development", data_dir=tmp_path))
    path = tmp_path / DEV_SECRETS_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert set(json.loads(path.read_text())) == set(SECRET_ENV.values())
    again = resolve_secrets(Settings(mode="development", data_dir=tmp_path))
    assert (again.vault_key, again.keystore_password, again.governor.address) == (
        first.vault_key,
        first.keystore_password,
        first.governor.address,
    )
    assert again.blind_key == first.blind_key and again.case_key == first.case_key
    explicit = secrets.token_hex(32)
    assert (
        resolve_secrets(Settings(mode="development", data_dir=tmp_path, vault_key=explicit)).vault_key.hex()
        == explicit
    )


def test_development_adds_to_a_workspace_secrets_file(tmp_path):
    """The CLI's workspace writes three secrets; the service adds its governance key to the same file."""
    path = tmp_path / DEV_SECRETS_FILE
    cli = {
        "LEDGER_VAULT_KEY": secrets.token_hex(32),
        "LEDGER_BLIND_INDEX_KEY": secrets.token_hex(32),
        "LEDGER_KEYSTORE_PASSWORD": "p" + secrets.token_hex(8),
    }
    path.write_text(json.dumps(cli))
    os.chmod(path, 0o600)
    resolved = resolve_secrets(Settings(mode="development", data_dir=tmp_path))
    assert resolved.vault_key.hex() == cli["LEDGER_VAULT_KEY"]
    assert "LEDGER_GOVERNANCE_KEY" in json.loads(path.read_text())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_serve_refuses_to_start_in_production_without_secrets(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update({"LEDGER_VAULT_KEY": "0" * 64, "LEDGER_KEYSTORE_PASSWORD": "changeme"})
    done = subprocess.run(
        [sys.executable, str(root / "scripts" / "serve.py"), "--production", "--data-dir", str(tmp_path)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "LEDGER_BLIND_INDEX_KEY" in done.stderr and "LEDGER_GOVERNANCE_KEY" in done.stderr
    assert not (tmp_path / "chain").exists()  # refused before anything started
