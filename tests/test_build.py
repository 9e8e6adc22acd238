"""The committed artifacts are exactly what the pinned compiler makes of the sources; deployed code is checked."""

from __future__ import annotations

import json

import pytest

from ledger.build import ARTIFACTS_DIR, check_deployed_code, fresh_artifacts, load_artifact
from ledger.deployment import check_deployment


@pytest.fixture(scope="module")
def recompiled():
    return fresh_artifacts()


def test_recompiling_reproduces_every_committed_byte(recompiled):
    for name, fresh in recompiled.items():
        committed = json.loads((ARTIFACTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert fresh == committed, f"{name}: committed artifact differs from a fresh compilation"


def test_artifacts_pin_the_compiler(recompiled):
    for art in recompiled.values():
        assert art["compiler"]["solcVersion"].startswith("0.8.37+commit")
        assert art["compiler"]["evmVersion"] == "prague"


@pytest.mark.parametrize("chain", ["memory"], indirect=True)
def test_deployed_code_matches_artifacts(chain, deployment):
    results = check_deployment(chain, deployment)
    assert [r.name for r in results] == list(deployment.contracts)
    assert all(r.matches and r.metadata_matches for r in results), [r.reason for r in results]


@pytest.mark.parametrize("chain", ["memory"], indirect=True)
def test_other_code_is_a_mismatch(chain, deployment):
    code = bytes(chain.w3.eth.get_code(deployment.address("NotaryAnchor")))
    wrong = check_deployed_code("JudgmentRegistry", deployment.address("NotaryAnchor"), code)
    assert not wrong.matches
    # One byte changed in the metadata hash: same length, still a mismatch, and it says where.
    real = bytes(chain.w3.eth.get_code(deployment.address("JudgmentRegistry")))
    tampered = bytearray(real)
    tampered[-10] ^= 0xFF
    result = check_deployed_code("JudgmentRegistry", deployment.address("JudgmentRegistry"), bytes(tampered))
    assert not result.matches and not result.metadata_matches and "metadata" in result.reason
    # One byte changed in the code itself.
    tampered = bytearray(real)
    tampered[40] ^= 0xFF
    result = check_deployed_code("JudgmentRegistry", deployment.address("JudgmentRegistry"), bytes(tampered))
    assert not result.matches and result.metadata_matches
    assert not check_deployed_code("JudgmentRegistry", "0x" + "00" * 20, b"").matches


def test_artifacts_load_without_a_compiler():
    art = load_artifact("JudgmentRegistry")
    assert art.bytecode and art.deployed_bytecode and art.abi
    assert art.digest.startswith("0x") and len(art.digest) == 66
