"""The console script, run as a user runs it: real process, real local chain in a temporary data dir."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.privacy import make_credit_code, make_resident_id

LEDGER = [sys.executable, "-m", "ledger.cli"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A data dir with a running local chain, the suite deployed, court 110105 admitted, a descriptor."""
    path = tmp_path_factory.mktemp("cli")
    run(path, "chain", "start")
    run(path, "deploy")
    run(path, "court", "admit", "110105", "--jurisdiction", "CN-BJ")
    run(path, "trust-descriptor", "--name", "test", "--out", "network.json")
    yield path
    subprocess.run([*LEDGER, "chain", "stop", "--data-dir", str(path / ".data")], cwd=path, timeout=60)


def run(workdir: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEDGER_DATA_DIR": str(workdir / ".data"), "COLUMNS": "200"}
    proc = subprocess.run([*LEDGER, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_full_session(workdir):
    assert "deployment on chain 31337" in run(workdir, "deploy").stdout  # the second time: reused
    checked = run(workdir, "check-bytecode").stdout
    assert checked.count("matches the artifact") == 5 and "MISMATCH" not in checked
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
    assert cert["record"]["amount"] == "1300050"  # uint128: a decimal string (format 2)
    assert make_resident_id() not in (workdir / "judgment.cert.json").read_text()
    governor = json.loads((workdir / "network.json").read_text())["governor"]
    port = (workdir / ".data" / "chain" / "anvil.port").read_text().strip()
    verified = run(workdir, "verify", "judgment.cert.json", "--document", str(doc), "--rpc",
                   f"http://127.0.0.1:{port}", "--trust", "network.json", "--governor", governor).stdout
    assert "AUTHENTIC · IN FORCE" in verified and "status" in verified

    offline = run(workdir, "verify", "judgment.cert.json", "--document", str(doc), "--trust", "network.json",
                  "--governor", governor, ok=False)
    assert offline.returncode == 4 and "OFFLINE ONLY" in offline.stdout and "not proved offline" in offline.stdout
    doc.write_bytes(b"%PDF-1.7 a judgment, altered\n")
    failed = run(workdir, "verify", "judgment.cert.json", "--document", str(doc), "--trust", "network.json",
                 "--governor", governor, ok=False)
    assert failed.returncode == 1 and "NOT AUTHENTIC: verification failed at step 'document'" in failed.stdout


def test_court_files_a_dossier_and_the_certificate_carries_it(workdir):
    """The clerk records a default judgment, files its dossier (files hashed locally), and a foreign court
    verifies the certificate with the dossier; a non-file translation says what is wrong."""
    files = {}
    for name, content in (("copy.pdf", b"complete copy"), ("service.pdf", b"served"), ("en.pdf", b"english")):
        (workdir / name).write_bytes(content)
        files[name] = str(workdir / name)
    doc = workdir / "default.pdf"
    doc.write_bytes(b"%PDF-1.7 a default judgment\n")
    run(workdir, "judgment", "record", "--court", "110105", "--case-number", "(2016)京0102民初1240号",
        "--document", str(doc), "--party", f"creditor:resident_id:{make_resident_id()}:张三", "--amount", "100",
        "--judgment-date", "2016-06-01", "--effective-date", "2016-06-15", "--certificate", "default.cert.json")
    jid = json.loads((workdir / "default.cert.json").read_text())["record_id"]
    bad = run(workdir, "judgment", "dossier", jid, "--court", "110105", "--complete-copy", files["copy.pdf"],
              "--by-default", ok=False)
    assert bad.returncode != 0 and "proof of service" in bad.stdout + bad.stderr
    run(workdir, "judgment", "dossier", jid, "--court", "110105", "--complete-copy", files["copy.pdf"],
        "--by-default", "--proof-of-service", files["service.pdf"], "--translation", f"en={files['en.pdf']}",
        "--certificate", "default.cert.json", "--out", "dossier.cert.json")
    cert = json.loads((workdir / "dossier.cert.json").read_text())
    assert cert["dossier"]["sequence"] == 0 and cert["dossier"]["by_default"] is True
    assert cert["dossier"]["translations"][0]["language"] == "en"
    governor = json.loads((workdir / "network.json").read_text())["governor"]
    port = (workdir / ".data" / "chain" / "anvil.port").read_text().strip()
    verified = run(workdir, "verify", "dossier.cert.json", "--document", str(doc), "--rpc",
                   f"http://127.0.0.1:{port}", "--trust", "network.json", "--governor", governor,
                   "--lang", "fr").stdout
    assert "dossier_chain" in verified and "exécutoire maintenant" in verified and "preuve de la signification" \
        in verified


def test_enforcement_listing_and_notarization(workdir):
    doc = workdir / "j2.pdf"
    doc.write_bytes(b"%PDF-1.7 another judgment\n")
    debtor_id = make_credit_code("91110108MA01FGHJK")
    out = run(workdir, "judgment", "record", "--court", "110105", "--case-number", "(2017)京0102民初77号",
              "--document", str(doc),
              "--party", f"creditor:resident_id:{make_resident_id('110105', '19800101', '042')}:李四",
              "--party", f"debtor:credit_code:{debtor_id}:某某公司", "--amount", "500",
              "--judgment-date", "2017-01-01", "--effective-date", "2017-01-20").stdout
    judgment_id = re.search(r"record id\s+(0x[0-9a-f]{64})", out).group(1)
    out = run(workdir, "case", "open", "--court", "110105", "--judgment", judgment_id, "--case-number",
              "(2017)京0102执9号", "--amount-due", "500", "--filed-at", "2017-02-01").stdout
    case_id = re.search(r"record id\s+(0x[0-9a-f]{64})", out).group(1)
    run(workdir, "case", "action", case_id, "asset_inquiry", "--court", "110105", "--detail", "3")
    refused = run(workdir, "case", "action", case_id, "payment_received", "--court", "110105", "--amount", "600",
                  ok=False)
    assert refused.returncode == 1 and "EnforcementRegistryRecoveryExceedsDue" in refused.stderr
    out = run(workdir, "defaulter", "list", "--court", "110105", "--subject", f"credit_code:{debtor_id}",
              "--name", "某某公司", "--case", case_id, "--ground", "able_but_refuses",
              "--restrictions", "company_office,loans_and_cards").stdout
    listing_id = re.search(r"record id\s+(0x[0-9a-f]{64})", out).group(1)
    check = ("defaulter", "check", "--subject", f"credit_code:{debtor_id}", "--restriction", "company_office")
    assert "restricted until" in run(workdir, *check).stdout
    run(workdir, "defaulter", "extend", listing_id, "1", "--court", "110105")
    run(workdir, "defaulter", "remove", listing_id, "performed", "--court", "110105")
    assert "not restricted" in run(workdir, *check).stdout
    files = [workdir / f"evidence-{i}.txt" for i in range(3)]
    for i, f in enumerate(files):
        f.write_text(f"evidence {i}")
    out = run(workdir, "notarize", *map(str, files), "--court", "110105", "--receipts", "receipts").stdout
    assert "anchored 3 digests" in out
    governor = json.loads((workdir / "network.json").read_text())["governor"]
    port = (workdir / ".data" / "chain" / "anvil.port").read_text().strip()
    verified = run(workdir, "verify", "receipts/evidence-1.txt.certificate.json", "--document", str(files[1]),
                   "--rpc", f"http://127.0.0.1:{port}", "--trust", "network.json", "--governor", governor).stdout
    assert "AUTHENTIC · IN FORCE" in verified and "proof" in verified


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
    unknown = run(workdir, "judgement", "record", ok=False)  # a misspelt command: usage, not a traceback
    assert unknown.returncode == 2 and "No such command 'judgement'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@pytest.fixture(scope="module")
def demo_run(workdir):
    """The demo's three stories played once on the module's chain."""
    return run(workdir, "demo").stdout


def test_demo_and_stats(workdir, demo_run):
    assert "demo done" in demo_run
    stats = run(workdir, "stats").stdout
    assert "cases_filed" in stats


def _demo_record(workdir: Path, table: str) -> str:
    """The record id of the demo's first record in an index table (the demo court's first story)."""
    with sqlite3.connect(workdir / ".data" / "index.db") as db:
        (rid,) = db.execute(f"SELECT id FROM {table} WHERE court = 110108 ORDER BY block_number LIMIT 1").fetchone()
    return "0x" + bytes(rid).hex()


def _verify(workdir: Path, path: str) -> subprocess.CompletedProcess[str]:
    governor = json.loads((workdir / "network.json").read_text())["governor"]
    rpc = run(workdir, "chain", "url").stdout.strip()
    return run(workdir, "verify", path, "--rpc", rpc, "--trust", "network.json", "--governor", governor, ok=False)


@pytest.mark.parametrize(("table", "kind", "case_number"), [
    ("judgments", "judgment", "(2019)京0108民初12345号"),
    ("cases", "enforcement_case", "(2019)京0108执4567号"),
    ("listings", "defaulter_status", None),
])
def test_ledger_certificate_issues_every_record_kind_of_the_demo_and_each_verifies(
        workdir, demo_run, table, kind, case_number):
    rid = _demo_record(workdir, table)
    opening = ["--case-number", case_number] if case_number else []
    built = run(workdir, "certificate", rid, *opening, "--out", f"{table}.cert.json")
    assert f"({kind})" in built.stdout
    cert = json.loads((workdir / f"{table}.cert.json").read_text())
    assert cert["kind"] == kind and cert["record_id"] == rid
    if case_number:
        assert cert["case_number"]["text"] == case_number
    verified = _verify(workdir, f"{table}.cert.json")
    assert verified.returncode in (0, 3), verified.stdout + verified.stderr  # 3: authentic, no longer in force
    assert "AUTHENTIC" in verified.stdout and "NOT AUTHENTIC" not in verified.stdout


def test_a_case_certificate_carries_every_action_up_to_its_block(workdir, demo_run):
    rid = _demo_record(workdir, "cases")
    cert = json.loads(run(workdir, "certificate", rid).stdout)
    with sqlite3.connect(workdir / ".data" / "index.db") as db:
        (count,) = db.execute("SELECT count(*) FROM case_actions WHERE case_id = ?",
                              (bytes.fromhex(rid[2:]),)).fetchone()
    assert len(cert["case"]["actions"]) == count > 0
    assert cert["as_of"]["block_number"] >= cert["transaction"]["block_number"]


def test_ledger_certificate_refuses_a_case_number_that_is_not_the_cases(workdir, demo_run):
    wrong = run(workdir, "certificate", _demo_record(workdir, "cases"), "--case-number", "(2019)京0108执4568号",
                ok=False)
    assert wrong.returncode == 1 and "not the case's" in wrong.stderr and "Traceback" not in wrong.stderr
    unknown = run(workdir, "certificate", "0x" + "ab" * 32, ok=False)
    assert unknown.returncode == 1 and "no judgment, enforcement case or listing" in unknown.stderr


def _judgment_of_110105(workdir: Path, n: int) -> str:
    doc = workdir / f"delegated-{n}.pdf"
    doc.write_bytes(f"%PDF-1.7 a judgment enforced elsewhere {n}\n".encode())
    out = run(workdir, "judgment", "record", "--court", "110105", "--case-number", f"(2018)京0102民初{n}号",
              "--document", str(doc), "--party", f"creditor:resident_id:{make_resident_id()}:王五",
              "--amount", "100", "--judgment-date", "2018-01-02", "--effective-date", "2018-01-20").stdout
    return re.search(r"record id\s+(0x[0-9a-f]{64})", out).group(1)


def test_court_cannot_delegate_another_courts_judgment_from_the_cli(workdir):
    run(workdir, "court", "admit", "110106", "--jurisdiction", "CN-BJ")
    jid = _judgment_of_110105(workdir, 501)
    opening = ("case", "open", "--court", "110106", "--judgment", jid, "--case-number", "(2018)京0106执1号",
               "--amount-due", "100", "--filed-at", "2018-02-01")
    grab = run(workdir, "case", "delegate", jid, "110106", "--court", "110106", ok=False)
    assert grab.returncode == 1 and "CourtAuthorizedNoAuthority" in grab.stderr and "Traceback" not in grab.stderr
    refused = run(workdir, *opening, ok=False)
    assert refused.returncode == 1 and "EnforcementRegistryNotEnforcingCourt" in refused.stderr
    assert "entrusted" in run(workdir, "case", "delegate", jid, "110106", "--court", "110105").stdout
    assert "record id" in run(workdir, *opening).stdout  # the entrusted court now enforces it
    assert "withdrawn" in run(workdir, "case", "delegate", jid, "110106", "--court", "110105", "--withdraw").stdout


def test_governance_records_a_case_number_code_from_the_cli(workdir):
    assert "code set" in run(workdir, "court", "case-number-code", "110105", "京0102").stdout
    taken = run(workdir, "court", "case-number-code", "110106", "京0102", ok=False)
    assert taken.returncode == 1 and "CourtRegistryCaseNumberCodeTaken" in taken.stderr
    assert "code removed" in run(workdir, "court", "case-number-code", "110105", "").stdout
