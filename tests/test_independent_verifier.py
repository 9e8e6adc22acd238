"""The independent Go verifier (tests/independent/), written from docs/verification.md, the schemas
and the golden vectors alone, agrees with every golden certificate and offline forged vector.

`go test` fills the Go module cache itself from the module proxy (dependencies pinned in go.mod and
go.sum). Go is on every machine of this project: a missing `go` fails the test, it is not skipped.
"""

import os
import shutil
import subprocess
from pathlib import Path

MODULE = Path(__file__).parent / "independent"


def test_go_verifier_written_from_the_docs_agrees_on_every_vector():
    go = shutil.which("go")
    assert go is not None, "the Go toolchain (`go`) is required to run tests/independent"
    env = dict(os.environ, GOFLAGS=(os.environ.get("GOFLAGS", "") + " -mod=readonly").strip())
    result = subprocess.run(
        [go, "test", "-count=1", "-v", "./..."],
        cwd=MODULE,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "--- FAIL" not in output, output
    for test in (
        "TestGoldenCertificatesVerifyOffline",
        "TestEveryOfflineForgeryIsRefusedAtItsStep",
        "TestOnlineForgeriesAreListedAndOnlineOnly",
        "TestGoldenDescriptorIsSignedByThePinnedGovernor",
    ):
        assert f"--- PASS: {test}" in output, output
