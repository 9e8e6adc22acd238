"""Compile the contracts reproducibly, write the committed artifacts, and check deployed bytecode.

Contract: :func:`compile_contracts` turns ``contracts/**/*.sol`` (source names ``contracts/...`` and
``@openzeppelin/contracts/...``, resolved from ``node_modules``) into solc standard-JSON output with the
settings of ``contracts/compiler.json``, through py-solc-x driving the pinned solc-js (``scripts/solc-js``).
The same compiler, settings and source names give the same bytes, which is what lets a foreign court
check a deployment against the published source. :func:`load_artifact` reads the committed artifacts and
needs no compiler. :func:`check_deployed_code` compares the code at an address with an artifact, the
metadata hash included, masking only the constructor's immutable values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ledger.errors import ConfigurationError, DeploymentError

__all__ = [
    "ARTIFACTS_DIR",
    "Artifact",
    "BytecodeCheck",
    "check_deployed_code",
    "compile_contracts",
    "compiler_settings",
    "load_artifact",
    "write_artifacts",
]

PACKAGE_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = PACKAGE_DIR / "artifacts"
REPO_DIR = PACKAGE_DIR.parent
CONTRACTS_DIR = REPO_DIR / "contracts"
SOLC_WRAPPER = REPO_DIR / "scripts" / "solc-js"


@dataclass(frozen=True)
class Artifact:
    """A compiled contract as committed under ``ledger/artifacts``."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes
    immutable_references: dict[str, list[dict[str, int]]]
    metadata: str
    compiler: dict[str, Any]
    source_digests: dict[str, str]

    @property
    def digest(self) -> str:
        """SHA-256 of the creation bytecode and the metadata: names this exact build."""
        return "0x" + hashlib.sha256(self.bytecode + self.metadata.encode()).hexdigest()


@dataclass(frozen=True)
class BytecodeCheck:
    """Result of comparing on-chain code with an artifact."""

    name: str
    address: str
    matches: bool
    metadata_matches: bool
    reason: str


def compiler_settings(root: Path = REPO_DIR) -> dict[str, Any]:
    """The settings of ``contracts/compiler.json``."""
    return json.loads((root / "contracts" / "compiler.json").read_text())


def _standard_input(root: Path) -> dict[str, Any]:
    cfg = compiler_settings(root)
    sources = {
        path.relative_to(root).as_posix(): {"content": path.read_text(encoding="utf-8")}
        for path in sorted((root / "contracts").rglob("*.sol"))
    }
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": cfg["evmVersion"],
            "optimizer": cfg["optimizer"],
            "viaIR": cfg["viaIR"],
            "metadata": cfg["metadata"],
            "outputSelection": {
                "*": {
                    "*": [
                        "abi",
                        "metadata",
                        "evm.bytecode.object",
                        "evm.deployedBytecode.object",
                        "evm.deployedBytecode.immutableReferences",
                    ]
                }
            },
        },
    }


def compile_contracts(root: Path = REPO_DIR) -> dict[str, Any]:
    """Compile every source under ``contracts/`` and return solc's standard-JSON output.

    Raises ConfigurationError when the toolchain is missing or not the pinned version, and
    DeploymentError carrying solc's messages when compilation fails.
    """
    try:
        import solcx
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigurationError("compiling needs py-solc-x: pip install -e '.[build]'") from exc
    wrapper = root / "scripts" / "solc-js"
    if not (root / "node_modules" / "solc").is_dir():
        raise ConfigurationError("solc-js is not installed: run `npm ci` in the repository")
    cfg = compiler_settings(root)
    from solcx.wrapper import get_solc_version

    version = str(get_solc_version(wrapper))
    if version != cfg["solcVersion"]:
        raise ConfigurationError(f"solc {version} found, contracts/compiler.json pins {cfg['solcVersion']}")
    output: dict[str, Any] = solcx.compile_standard(
        _standard_input(root), base_path=str(root), solc_binary=wrapper, allow_empty=True
    )
    # Errors anywhere, and warnings about our own sources, fail the build: a warning today is a bug later.
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error" or (
        e.get("severity") == "warning"
        and any(loc.get("file", "").startswith("contracts/") for loc in [e.get("sourceLocation") or {}]))]
    if errors:
        raise DeploymentError("compilation failed:\n" + "\n".join(e["formattedMessage"] for e in errors))
    return output


def _artifacts_from_output(output: dict[str, Any], root: Path) -> dict[str, dict[str, Any]]:
    cfg = compiler_settings(root)
    result: dict[str, dict[str, Any]] = {}
    for source, contracts in output["contracts"].items():
        if not source.startswith("contracts/"):
            continue
        for name, data in contracts.items():
            if name not in cfg["contracts"]:
                continue
            metadata = json.loads(data["metadata"])
            result[name] = {
                "name": name,
                "source": source,
                "compiler": {
                    "solcVersion": metadata["compiler"]["version"],
                    "evmVersion": cfg["evmVersion"],
                    "optimizer": cfg["optimizer"],
                    "viaIR": cfg["viaIR"],
                },
                "sourceDigests": {k: v["keccak256"] for k, v in sorted(metadata["sources"].items())},
                "abi": data["abi"],
                "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "immutableReferences": data["evm"]["deployedBytecode"].get("immutableReferences", {}),
                "metadata": data["metadata"],
            }
    missing = set(cfg["contracts"]) - set(result)
    if missing:
        raise DeploymentError(f"compiler output lacks contracts: {sorted(missing)}")
    return result


def write_artifacts(root: Path = REPO_DIR, out_dir: Path | None = None) -> list[Path]:
    """Compile and write one JSON artifact per deployed contract; returns the paths written."""
    out = out_dir or root / "ledger" / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, art in sorted(_artifacts_from_output(compile_contracts(root), root).items()):
        path = out / f"{name}.json"
        path.write_text(json.dumps(art, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    load_artifact.cache_clear()
    return written


def fresh_artifacts(root: Path = REPO_DIR) -> dict[str, dict[str, Any]]:
    """Artifacts as a fresh compilation would write them (used by the reproducibility test)."""
    return _artifacts_from_output(compile_contracts(root), root)


@cache
def load_artifact(name: str) -> Artifact:
    """Read a committed artifact; needs no compiler."""
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.is_file():
        raise DeploymentError(f"no artifact for {name}: run `python scripts/build.py`")
    data = json.loads(path.read_text(encoding="utf-8"))
    return Artifact(
        name=data["name"],
        source=data["source"],
        abi=data["abi"],
        bytecode=bytes.fromhex(data["bytecode"][2:]),
        deployed_bytecode=bytes.fromhex(data["deployedBytecode"][2:]),
        immutable_references=data["immutableReferences"],
        metadata=data["metadata"],
        compiler=data["compiler"],
        source_digests=data["sourceDigests"],
    )


def _metadata_section(code: bytes) -> bytes:
    """The CBOR metadata at the end of runtime code (its length is in the last two bytes)."""
    if len(code) < 2:
        return b""
    length = int.from_bytes(code[-2:], "big")
    return code[-(length + 2):] if length + 2 <= len(code) else b""


def _mask_immutables(code: bytes, references: dict[str, list[dict[str, int]]]) -> bytes:
    masked = bytearray(code)
    for refs in references.values():
        for ref in refs:
            start, length = ref["start"], ref["length"]
            masked[start:start + length] = b"\x00" * length
    return bytes(masked)


def check_deployed_code(name: str, address: str, onchain_code: bytes) -> BytecodeCheck:
    """Compare code read from the chain with the committed artifact of ``name``.

    Immutable values (the addresses wired in by the constructor) are the only bytes masked; everything
    else, the metadata hash that commits to the exact sources included, must be equal.
    """
    art = load_artifact(name)
    expected = art.deployed_bytecode
    if not onchain_code:
        return BytecodeCheck(name, address, False, False, "no code at this address")
    meta_ok = _metadata_section(onchain_code) == _metadata_section(expected)
    if len(onchain_code) != len(expected):
        return BytecodeCheck(name, address, False, meta_ok,
                             f"code length {len(onchain_code)} differs from the artifact's {len(expected)}")
    same = _mask_immutables(onchain_code, art.immutable_references) == _mask_immutables(
        expected, art.immutable_references
    )
    if same and meta_ok:
        return BytecodeCheck(name, address, True, True, "matches the artifact, metadata hash included")
    where = "metadata hash" if not meta_ok else "code"
    return BytecodeCheck(name, address, False, meta_ok, f"{where} differs from the artifact")
