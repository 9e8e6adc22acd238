"""Deploy the contract suite, describe a deployment, and check one against the artifacts.

Contract: :func:`deploy` deploys the five contracts in dependency order (court registry first, each
registry given the addresses it trusts as constructor immutables), grants the governance role to the
given account, attaches the four registries to the court registry (which pushes writer rights to them),
and writes a deployments file (chain id, genesis hash, addresses, transaction hashes,
block numbers, artifact digests). Called again on a chain that already has that deployment, it reuses it.
Only standard JSON-RPC methods are used.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict

from ledger.build import BytecodeCheck, check_deployed_code, load_artifact
from ledger.chain import Chain, send_transaction
from ledger.errors import DeploymentError, InsufficientFundsError

__all__ = ["CONTRACTS", "ContractDeployment", "Deployment", "check_deployment", "deploy", "load_deployment"]

#: Deployment order; each entry lists the contracts whose addresses its constructor takes.
CONTRACTS: dict[str, tuple[str, ...]] = {
    "CourtRegistry": (),
    "JudgmentRegistry": ("CourtRegistry",),
    "EnforcementRegistry": ("CourtRegistry", "JudgmentRegistry"),
    "DefaulterRegistry": ("CourtRegistry", "EnforcementRegistry"),
    "NotaryAnchor": ("CourtRegistry",),
}


class ContractDeployment(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    transaction_hash: str
    block_number: int
    artifact_digest: str


class Deployment(BaseModel):
    """Where the suite lives on one chain; what a verifier is told to trust."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    genesis_hash: str
    governor: str
    deployed_at: str
    contracts: dict[str, ContractDeployment]

    def address(self, name: str) -> str:
        try:
            return self.contracts[name].address
        except KeyError:
            raise DeploymentError(f"the deployment has no {name}") from None

    @property
    def addresses(self) -> dict[str, str]:
        return {name: c.address for name, c in self.contracts.items()}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            fh.write(self.model_dump_json(indent=2) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)


def genesis_hex(chain: Chain) -> str:
    return "0x" + bytes(chain.genesis_hash).hex()


def load_deployment(path: Path) -> Deployment:
    if not Path(path).is_file():
        raise DeploymentError(f"no deployments file at {path}: run `ledger deploy` first")
    try:
        return Deployment.model_validate_json(Path(path).read_text())
    except ValueError as exc:
        raise DeploymentError(f"deployments file {path} is malformed: {exc}") from exc


def _is_live(chain: Chain, deployment: Deployment) -> bool:
    """The file describes this chain and every contract has code there."""
    if deployment.chain_id != chain.chain_id or deployment.genesis_hash != genesis_hex(chain):
        return False
    return all(chain.w3.eth.get_code(to_checksum_address(c.address)) for c in deployment.contracts.values())


def deploy(chain: Chain, governor: LocalAccount, path: Path | None = None, *, reuse: bool = True) -> Deployment:
    """Deploy the suite (or reuse the one described at ``path`` if it is live on this chain)."""
    if path is not None and reuse and Path(path).is_file():
        existing = load_deployment(path)
        if _is_live(chain, existing):
            return existing
    addresses: dict[str, str] = {}
    records: dict[str, ContractDeployment] = {}
    for name, deps in CONTRACTS.items():
        art = load_artifact(name)
        args = [governor.address] if name == "CourtRegistry" else [addresses[d] for d in deps]
        data = art.bytecode + abi_encode(["address"] * len(args), args)
        try:
            receipt = send_transaction(chain, governor, {"data": "0x" + data.hex()})
        except InsufficientFundsError as exc:
            raise InsufficientFundsError(
                exc.account, exc.needed, exc.balance, f"deploying {name} (it is the governance account)"
            ) from None
        if receipt["status"] != 1 or not receipt.get("contractAddress"):
            raise DeploymentError(f"deploying {name} failed in transaction {receipt['transactionHash'].hex()}")
        address = to_checksum_address(str(receipt["contractAddress"]))
        addresses[name] = address
        records[name] = ContractDeployment(
            address=address,
            transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=receipt["blockNumber"],
            artifact_digest=art.digest,
        )
    registry_abi = load_artifact("CourtRegistry").abi
    court_registry = chain.w3.eth.contract(address=to_checksum_address(addresses["CourtRegistry"]), abi=registry_abi)
    for name in CONTRACTS:
        if name == "CourtRegistry":
            continue
        data = court_registry.encode_abi("attachRegistry", args=[addresses[name]])
        receipt = send_transaction(chain, governor, {"to": addresses["CourtRegistry"], "data": data})
        if receipt["status"] != 1:
            raise DeploymentError(f"attaching {name} to the court registry failed")
    deployment = Deployment(
        chain_id=chain.chain_id,
        genesis_hash=genesis_hex(chain),
        governor=governor.address,
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        contracts=records,
    )
    if path is not None:
        deployment.save(Path(path))
    return deployment


def check_deployment(chain: Chain, deployment: Deployment) -> list[BytecodeCheck]:
    """Compare the code at every address of ``deployment`` with the committed artifacts."""
    results = []
    for name, c in deployment.contracts.items():
        code = bytes(chain.w3.eth.get_code(to_checksum_address(c.address)))
        results.append(check_deployed_code(name, c.address, code))
    return results


def deployment_json(deployment: Deployment) -> str:
    return json.dumps(deployment.model_dump(), indent=2)
