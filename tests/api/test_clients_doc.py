"""docs/clients.md: its Python and JavaScript snippets and its ``ledger sign`` line sign requests that a live
service accepts, and a client with the wrong key is refused the same way."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.auth import generate_key, private_key_text
from tests.api._live import live_server
from tests.api.conftest import register

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "clients.md").read_text()


def _snippet(language: str) -> str:
    (code,) = re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)
    return code


@pytest.fixture(scope="module")
def service_url(services):
    with live_server(services) as url:
        yield url


@pytest.fixture
def partner_env(services, tmp_path):
    client_id, key = register(services, "partner")
    key_file = tmp_path / "partner.key"
    key_file.write_text(private_key_text(key))
    return {"LEDGER_CLIENT_ID": client_id, "LEDGER_KEY_FILE": str(key_file)}


def _run(argv: list[str], env: dict[str, str], url: str) -> tuple[int, dict]:
    done = subprocess.run(argv, env={"PATH": "/usr/bin:/bin", **env, "LEDGER_URL": url}, capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    status, _, body = done.stdout.strip().partition(" ")
    return int(status), json.loads(body)


def test_python_snippet_is_accepted(service_url, partner_env):
    status, answer = _run([sys.executable, "-c", _snippet("python")], partner_env, service_url)
    assert (status, answer) == (200, {"restricted": False, "until": None})


def test_javascript_snippet_is_accepted(service_url, partner_env):
    node = shutil.which("node")
    assert node, "node is part of the project's toolchain (scripts/setup.sh)"
    status, answer = _run([node, "--input-type=module", "-e", _snippet("js")], partner_env, service_url)
    assert (status, answer) == (200, {"restricted": False, "until": None})


def test_snippets_with_another_clients_key_are_refused(service_url, partner_env, tmp_path):
    wrong = tmp_path / "wrong.key"
    wrong.write_text(private_key_text(generate_key()))
    env = {**partner_env, "LEDGER_KEY_FILE": str(wrong)}
    assert _run([sys.executable, "-c", _snippet("python")], env, service_url)[0] == 401
    status, answer = _run([shutil.which("node") or "node", "--input-type=module", "-e", _snippet("js")], env,
                          service_url)
    assert status == 401 and answer["detail"] == "bad signature"


def test_ledger_sign_gives_curl_the_headers(service_url, partner_env, tmp_path):
    curl = shutil.which("curl")
    assert curl, "curl is on every machine the project runs on"
    body = tmp_path / "check.json"
    body.write_text(json.dumps({"subject": {"kind": "resident_id", "id": "11010519491231002X"},
                                "restriction": "flights"}))
    url = f"{service_url}/api/v1/checks"
    config = subprocess.run(
        [sys.executable, "-m", "ledger.cli", "sign", "POST", url, "--client-id", partner_env["LEDGER_CLIENT_ID"],
         "--key-file", partner_env["LEDGER_KEY_FILE"], "--body-file", str(body)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=True).stdout
    answer = subprocess.run([curl, "-s", "-K", "-", "--data-binary", f"@{body}", url], input=config,
                            capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(answer) == {"restricted": False, "until": None}
    again = subprocess.run([curl, "-s", "-K", "-", "--data-binary", f"@{body}", url], input=config,
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert "replayed" in json.loads(again)["detail"]  # each signature is good once
