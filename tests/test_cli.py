"""The console script, run as a user runs it: real process, real local chain in a temporary data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.privacy import make_credit_code, make_resident_id

LEDGER = [sys.executable, "-m", "ledger.cli"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli")
    yield path
    subprocess.run([*LEDGER, "chain", "stop", "--data-dir", str(path / ".data")], cwd=path, timeout=60)


def run(workdir: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEDGER_DATA_DIR": str(workdir / ".data"), "COLUMNS": "200"}
    proc = subprocess.run([*LEDGER, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_full_session(workdir):
    run(workdir, "chain", "start")
    run(workdir, "deploy")
    assert "match" in run(workdir, "check-bytecode").stdout
    assert "MISMATCH" not in run(workdir, "check-bytecode").stdout
    run(workdir, "court", "admit", "110105", "--jurisdiction", "CN-BJ")
    doc = workdir / "judgment.pdf"
    doc.write_bytes(b"%PDF-1.7 a judgment\n")
    creditor = f"creditor:resident_id:{make_resident_id()}:张三"
    debtor = f"debtor:credit_code:{make_credit_code('91110108MA01ABCDE')}:某公司"
    out = run(workdir, "judgment", "record", "--court", "110105", "--case-number", "(2016)京0102民初1234号",
              "--document", str(doc), "--party", creditor, "--party", debtor, "--amount", "13000.50",
              "--judgment-date", "2016-06-01", "--effective-date", "2016-06-15",
              "--certificate", "judgment.cert.json").stdout
    assert "record id" in out
    cert = json.loads((workdir / "judgment.cert.json").read_text())
    assert cert["record"]["amount"] == 1_300_050
    assert make_resident_id() not in (workdir / "judgment.cert.json").read_text()
    run(workdir, "trust-descriptor", "--name", "test", "--out", "network.json")
    governor = json.loads((workdir / "network.json").read_text())["governor"]
    port = (workdir / ".data" / "chain" / "anvil.port").read_text().strip()
    verified = run(workdir, "verify", "judgment.cert.json", "--document", str(doc), "--rpc",
                   f"http://127.0.0.1:{port}", "--trust", "network.json", "--governor", governor).stdout
    assert "VERIFIED" in verified and "status" in verified

    doc.write_bytes(b"%PDF-1.7 a judgment, altered\n")
    failed = run(workdir, "verify", "judgment.cert.json", "--document", str(doc), "--trust", "network.json",
                 "--governor", governor, ok=False)
    assert failed.returncode == 1 and "NOT VERIFIED at step 'document'" in failed.stdout


def test_user_mistakes_print_one_line_and_exit_1(workdir):
    bad_id = run(workdir, "defaulter", "check", "--subject", "resident_id:110105199001011230",
                 "--restriction", "flights", ok=False)
    assert bad_id.returncode == 1
    assert "check digit" in bad_id.stderr and "Traceback" not in bad_id.stderr
    assert "110105199001011230" not in bad_id.stderr + bad_id.stdout
    bad_restriction = run(workdir, "defaulter", "check", "--subject", f"resident_id:{make_resident_id()}",
                          "--restriction", "yachts", ok=False)
    assert bad_restriction.returncode == 1 and "unknown restriction" in bad_restriction.stderr
    no_court = run(workdir, "judgment", "status", "0x" + "00" * 32, "satisfied", "--court", "999", ok=False)
    assert no_court.returncode == 1 and "Traceback" not in no_court.stderr
    assert len(no_court.stderr.strip().splitlines()) == 1


def test_demo_and_stats(workdir):
    assert "demo done" in run(workdir, "demo").stdout
    stats = run(workdir, "stats").stdout
    assert "cases_filed" in stats
