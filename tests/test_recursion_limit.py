"""An outsider's certificate nested 100,000 deep: the library and the console script refuse it with an
error; neither process dies by a signal, whatever libraries raised the recursion limit before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ledger.certificates import parse_certificate
from ledger.errors import VerificationError

DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deeply_nested_certificate_is_refused_at_format_even_after_a_library_raised_the_limit() -> None:
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # what py_ecc and py-evm do when they are imported
    try:
        with pytest.raises(VerificationError) as refused:
            parse_certificate(DEEP)
    finally:
        sys.setrecursionlimit(before)
    assert refused.value.step == "format" and "nested too deeply" in str(refused.value)


def test_importing_the_library_leaves_the_default_limit_and_parsing_raises_not_crashes() -> None:
    code = (
        "import json, sys, ledger.verify, ledger.cli; print(sys.getrecursionlimit()); "
        "json.loads('[' * 100000 + ']' * 100000)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.returncode  # a Python exception, not a signal (negative code)
    assert run.stdout.strip() == "1000" and "RecursionError" in run.stderr


def test_ledger_verify_refuses_a_deep_file_with_a_message(tmp_path: Path) -> None:
    cert = tmp_path / "deep.json"
    cert.write_text(DEEP)
    ledger = Path(sys.executable).with_name("ledger")
    run = subprocess.run(
        [str(ledger), "verify", str(cert), "--unsafe-trust-any"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1 and "nested too deeply" in run.stdout + run.stderr, (run.returncode, run.stderr)
