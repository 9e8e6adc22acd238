"""The README's commands, run as a newcomer runs them, and what ``./scripts/run.sh`` promises.

Every command in the README's fenced ``sh`` blocks runs here, in order, in one shell, against a fresh
workspace on a local anvil node, unless it says ``# example: <why it cannot run here>``. The service
(``scripts/serve.py --demo``, what ``run.sh`` executes) is started as a real process on a fresh data dir: the
verify command it prints must verify its demo certificate, and the CLI must work on its data dir (same
governance key, same court keys). A failing command must not leave a node behind.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.chain import running_node
from tests.api._service import free_port

pytestmark = pytest.mark.anvil

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
VENV = Path(sys.executable).parent.parent
LEDGER = [sys.executable, "-m", "ledger.cli"]
EXAMPLE = re.compile(r"#\s*example:\s*(\S.*)$")


def readme_commands() -> list[str]:
    """Each command of the README's ``sh`` blocks, continuation lines joined, in order."""
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S):
        current = ""
        for line in block.splitlines():
            current += line + "\n"
            if not line.rstrip().endswith("\\"):
                if current.strip():
                    commands.append(current.rstrip("\n"))
                current = ""
    return commands


def test_every_readme_command_runs_or_says_why_it_cannot(tmp_path):
    commands = readme_commands()
    runnable = [c for c in commands if not EXAMPLE.search(c)]
    examples = [EXAMPLE.search(c) for c in commands if EXAMPLE.search(c)]
    assert all(m and len(m.group(1)) > 10 for m in examples), "an example must say why it cannot run here"
    assert len(runnable) >= 12, runnable
    (tmp_path / ".venv").symlink_to(VENV)
    script = "set -euo pipefail\n" + "\n".join(runnable) + "\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["COLUMNS"] = "200"
    try:
        proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
    finally:
        subprocess.run([*LEDGER, "chain", "stop", "--data-dir", str(tmp_path / ".data")], cwd=tmp_path,
                       env=env, capture_output=True, timeout=60)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.count("AUTHENTIC · IN FORCE") >= 2  # the recorded certificate and the rebuilt one
    rebuilt = json.loads((tmp_path / "rebuilt.cert.json").read_text())
    assert rebuilt["case_number"]["text"] == "(2016)京0102民初1234号"


def test_a_failing_command_outside_the_repository_leaves_no_node(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    document = tmp_path / "judgment.pdf"
    document.write_bytes(b"%PDF-1.7\n")
    for args in (["deploy"], ["court", "admit", "110105", "--jurisdiction", "CN-BJ"],
                 ["judgment", "record", "--court", "110105", "--case-number", "(2016)京0102民初1234号",
                  "--document", str(document), "--party", "creditor:resident_id:110105199001011232:张三",
                  "--amount", "1", "--judgment-date", "2016-06-01", "--effective-date", "2016-06-15"],
                 ["chain", "url"]):
        proc = subprocess.run([*LEDGER, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "no local chain is running" in proc.stderr
        assert running_node(tmp_path / ".data" / "chain") is None
        assert not (tmp_path / ".data").exists()  # nothing created: no node, no key, no vault


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """``scripts/serve.py --demo`` (what run.sh runs) on a fresh data dir and local chain: (data dir, output)."""
    work = tmp_path_factory.mktemp("service")
    data = work / ".data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "serve.py"), "--data-dir", str(data), "--port", str(free_port()),
         "--chain", "local", "--demo", "--log-level", "warning"],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 300
    try:
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if " verify " in line and "--governor" in line:
                break
        assert any("--governor" in line for line in lines), "".join(lines)
        yield work, data, "".join(lines)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def cli(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["COLUMNS"] = "200"
    return subprocess.run([*LEDGER, *args], cwd=work, env=env, capture_output=True, text=True, timeout=300)


def test_run_prints_address_health_paths_and_a_verify_command_that_verifies(service):
    work, data, printed = service
    base = re.search(r"Service:\s+(http://127\.0\.0\.1:\d+)", printed).group(1)
    assert f"{base}/api/v1/health/live" in printed and f"{base}/api/v1/health/ready" in printed
    assert f"{base}/docs" in printed and f"{base}/verify/" in printed
    certificate = data / "demo" / "judgment.cert.json"
    assert f"Demo certificate: {certificate}" in printed
    assert f"Its document:     {data / 'demo' / 'judgment.pdf'}" in printed
    command = shlex.split(next(line for line in printed.splitlines() if "--governor" in line))
    assert command[1:3] == ["verify", str(certificate)]
    verified = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "COLUMNS": "200"})  # exactly as printed
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "AUTHENTIC · IN FORCE" in verified.stdout and "document" in verified.stdout
    assert json.loads(certificate.read_text())["case_number"]["text"] == "(2017)京01民初77号"
    dossier = json.loads(certificate.read_text())["dossier"]  # the demo judgment's Hague dossier
    assert [t["language"] for t in dossier["translations"]] == ["en", "fr"] and "dossier_chain" in verified.stdout
    assert f"{data / 'demo' / 'judgment.en.pdf'}" in printed and (data / "demo" / "judgment.fr.pdf").is_file()


def test_the_cli_works_on_the_services_data_dir(service):
    """Same governance key (admit a court, sign the descriptor) and same court keys (the demo court's)."""
    work, data, printed = service
    governor = re.search(r"--governor (0x[0-9a-fA-F]{40})", printed).group(1)
    dd = ["--data-dir", str(data)]
    admitted = cli(work, "court", "admit", "110109", "--jurisdiction", "CN-BJ", *dd)
    assert admitted.returncode == 0, admitted.stdout + admitted.stderr
    document = work / "cli.pdf"
    document.write_bytes(b"%PDF-1.7 recorded by the CLI for the demo court\n")
    recorded = cli(work, "judgment", "record", "--court", "110108", "--case-number", "(2021)京0108民初9号",
                   "--document", str(document), "--party", "creditor:resident_id:110105199001011232:张三",
                   "--amount", "100", "--judgment-date", "2021-01-04", "--effective-date", "2021-01-20",
                   "--certificate", "cli.cert.json", *dd)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    described = cli(work, "trust-descriptor", "--name", "demo", "--out", "network.json", *dd)
    assert described.returncode == 0, described.stdout + described.stderr
    assert json.loads((work / "network.json").read_text())["governor"].lower() == governor.lower()
    rpc = cli(work, "chain", "url", *dd).stdout.strip()
    verified = cli(work, "verify", "cli.cert.json", "--document", str(document), "--rpc", rpc,
                   "--trust", "network.json", "--governor", governor)
    assert verified.returncode == 0 and "AUTHENTIC · IN FORCE" in verified.stdout, verified.stdout + verified.stderr


def test_ledger_certificate_rebuilds_the_demo_certificate_from_the_chain(service):
    work, data, _ = service
    demo = json.loads((data / "demo" / "judgment.cert.json").read_text())
    dd = ["--data-dir", str(data)]
    built = cli(work, "certificate", demo["record_id"], "--case-number", "(2017)京01民初77号",
                "--out", "rebuilt.cert.json", *dd)
    assert built.returncode == 0, built.stdout + built.stderr
    # the chain holds the dossier's translations root, not its list: the dossier travels with the filer's certificate
    assert json.loads((work / "rebuilt.cert.json").read_text()) == {k: v for k, v in demo.items() if k != "dossier"}
    wrong = cli(work, "certificate", demo["record_id"], "--case-number", "(2017)京01民初78号", *dd)
    assert wrong.returncode == 1 and "not the judgment's" in wrong.stderr


def test_ledger_certificate_of_a_removed_listing_says_it_no_longer_restricts(service):
    work, data, printed = service
    governor = re.search(r"--governor (0x[0-9a-fA-F]{40})", printed).group(1)
    with sqlite3.connect(data / "index.db") as db:  # the demo's one listing (story 1), removed once paid
        (listing_id,) = db.execute("SELECT id FROM listings").fetchone()
    dd = ["--data-dir", str(data)]
    built = cli(work, "certificate", "0x" + bytes(listing_id).hex(), "--out", "listing.cert.json", *dd)
    assert built.returncode == 0, built.stdout + built.stderr
    cert = json.loads((work / "listing.cert.json").read_text())
    assert cert["kind"] == "defaulter_status" and cert["defaulter"]["restricted"] is False
    assert cert["defaulter"]["removed_at"] > 0
    verified = cli(work, "verify", "listing.cert.json", "--rpc", cli(work, "chain", "url", *dd).stdout.strip(),
                   "--trust", str(data / "demo" / "network.json"), "--governor", governor)
    assert verified.returncode == 3 and "NOT IN FORCE" in verified.stdout, verified.stdout + verified.stderr
