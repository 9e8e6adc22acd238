"""The Ethereum Attestation Service as the peer: compiled from its npm package with its own settings.

``@ethereum-attestation-service/eas-contracts`` 1.9.0 is compiled here, at benchmark time, from the
sources in ``node_modules`` (nothing is copied into the repository), with the package's own build
settings: solc 0.8.29 (the npm alias ``solc-0.8.29``, driven by ``benchmarks/solc-js``), optimizer on
with 1,000,000 runs, evmVersion paris, metadata bytecodeHash none. Its OpenZeppelin imports resolve to
OpenZeppelin Contracts 5.3.0 (the npm alias ``@openzeppelin/contracts-5.3.0``), the version EAS 1.9.0
declares; the project's own contracts use 5.7.0. The compiled runtime code is compared with the
artifacts the package ships: equal bytes mean the build is EAS's own.

A schema equivalent to our judgment is registered, then ``attest``, ``multiAttest`` (a batch of 10),
``attestByDelegation`` (the peer of our ``...BySig``) and ``timestamp`` (the peer of a one-digest
anchor) are measured on the same anvil as our contracts.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from benchmarks.common import REPO, Context
from benchmarks.gas import GasBook, calldata_costs, shared_chain
from ledger.chain import send_transaction
from ledger.records import Judgment

NAME = "eas"
PACKAGE = REPO / "node_modules" / "@ethereum-attestation-service" / "eas-contracts"
OPENZEPPELIN = REPO / "node_modules" / "@openzeppelin" / "contracts-5.3.0"
SOLC_MODULE = "solc-0.8.29"
SOLC_WRAPPER = REPO / "benchmarks" / "solc-js"
CACHE = REPO / "benchmarks" / "results" / ".cache"
SCHEMA = (
    "uint32 court,bytes32 caseNumberDigest,bytes32 documentDigest,bytes32 partiesCommitment,"
    "uint128 amount,bytes3 currency,uint40 judgmentDate,uint40 effectiveDate"
)
SETTINGS = {
    "evmVersion": "paris",
    "optimizer": {"enabled": True, "runs": 1_000_000},
    "metadata": {"bytecodeHash": "none"},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20


def compile_eas(ctx: Context) -> dict[str, dict[str, Any]]:
    """ABI, creation and runtime code of SchemaRegistry and EAS; compiled, or read from the run cache."""
    import solcx

    if not PACKAGE.is_dir() or not OPENZEPPELIN.is_dir() or not (REPO / "node_modules" / SOLC_MODULE).is_dir():
        raise RuntimeError(
            "the EAS peer needs `npm ci` (eas-contracts 1.9.0, solc-0.8.29, @openzeppelin/contracts-5.3.0)"
        )
    names = ("SchemaRegistry", "EAS")
    standard = {
        "language": "Solidity",
        "sources": {f"contracts/{n}.sol": {"content": (PACKAGE / "contracts" / f"{n}.sol").read_text()} for n in names},
        "settings": SETTINGS,
    }
    env = {"BENCH_SOLC_MODULE": SOLC_MODULE, "BENCH_SOLC_REMAP": f"@openzeppelin/contracts/={OPENZEPPELIN}/"}
    os.environ.update(env)
    from solcx.wrapper import get_solc_version

    version = str(get_solc_version(SOLC_WRAPPER))
    key = hashlib.sha256(
        json.dumps([standard, version, sorted(_package_digests().items())], sort_keys=True).encode()
    ).hexdigest()[:32]
    cached = CACHE / f"eas-{key}.json"
    if cached.is_file():
        output = json.loads(cached.read_text())
        ctx.log(f"EAS compile output reused from {cached.relative_to(REPO)} (same sources, settings and compiler)")
        compile_seconds = None
    else:
        started = time.perf_counter()
        output = solcx.compile_standard(standard, base_path=str(PACKAGE), solc_binary=SOLC_WRAPPER, allow_empty=True)
        compile_seconds = time.perf_counter() - started
        errors = [e["formattedMessage"] for e in output.get("errors", []) if e.get("severity") == "error"]
        if errors:
            raise RuntimeError("compiling EAS failed:\n" + "\n".join(errors))
        CACHE.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(output))
    out: dict[str, dict[str, Any]] = {}
    identical = []
    for n in names:
        data = output["contracts"][f"contracts/{n}.sol"][n]
        runtime = data["evm"]["deployedBytecode"]["object"]
        shipped = json.loads((PACKAGE / "artifacts" / "contracts" / f"{n}.sol" / f"{n}.json").read_text())
        identical.append(runtime == shipped["deployedBytecode"].removeprefix("0x"))
        out[n] = {
            "abi": data["abi"],
            "bytecode": bytes.fromhex(data["evm"]["bytecode"]["object"]),
            "runtime_bytes": len(runtime) // 2,
        }
    same = all(identical)
    ctx.record(
        "EAS compile (solc-js 0.8.29, 1,000,000 runs)",
        compile_seconds,
        "s",
        note=(
            "runtime bytecode identical to the package's shipped artifacts"
            if same
            else "WARNING: runtime bytecode differs from the package's artifacts"
        )
        + ("" if compile_seconds is not None else "; output cached from an earlier run"),
        identical_to_package=same,
        solc=version,
    )
    if not same:
        ctx.log("[yellow]EAS bytecode differs from the package's own artifacts: settings may not be EAS's[/yellow]")
    return out


def _package_digests() -> dict[str, str]:
    files = sorted((PACKAGE / "contracts").rglob("*.sol")) + sorted((OPENZEPPELIN).rglob("*.sol"))
    return {str(p.relative_to(REPO)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _deploy(env: Any, account: Any, bytecode: bytes, args: bytes = b"") -> tuple[ChecksumAddress, Any]:
    receipt = send_transaction(env.chain, account, {"data": "0x" + (bytecode + args).hex()})
    if receipt["status"] != 1:
        raise RuntimeError("deploying an EAS contract failed")
    address = receipt["contractAddress"]
    if address is None:
        raise RuntimeError("no contract address in the deployment receipt")
    return to_checksum_address(address), receipt


def judgment_data(record: Judgment) -> bytes:
    """The attestation data: the judgment's eight fields, ABI-encoded as the schema declares them."""
    m = record.message()
    return abi_encode(
        ["uint32", "bytes32", "bytes32", "bytes32", "uint128", "bytes3", "uint40", "uint40"],
        [
            m["court"],
            m["caseNumberDigest"],
            m["documentDigest"],
            m["partiesCommitment"],
            m["amount"],
            m["currency"],
            m["judgmentDate"],
            m["effectiveDate"],
        ],
    )


def run(ctx: Context, reference: Judgment | None = None) -> None:
    env = shared_chain(ctx)
    book = GasBook(ctx, env)
    w3 = env.w3
    built = compile_eas(ctx)
    attester = env.chain.accounts[3]
    relayer = env.relayer
    registry_address, r = _deploy(env, attester, built["SchemaRegistry"]["bytecode"])
    book.receipt("EAS deploy SchemaRegistry", r, system="eas")
    eas_address, r = _deploy(env, attester, built["EAS"]["bytecode"], abi_encode(["address"], [registry_address]))
    book.receipt("EAS deploy EAS", r, system="eas")
    registry = w3.eth.contract(address=registry_address, abi=built["SchemaRegistry"]["abi"])
    eas = w3.eth.contract(address=eas_address, abi=built["EAS"]["abi"])

    def send(account: Any, contract: Any, fn: str, *args: Any) -> Any:
        data = contract.encode_abi(fn, args=list(args))
        receipt = send_transaction(env.chain, account, {"to": contract.address, "data": data})
        if receipt["status"] != 1:
            raise RuntimeError(f"EAS {fn} reverted")
        return receipt

    schema_uid = registry.functions.register(SCHEMA, ZERO_ADDRESS, True).call({"from": attester.address})
    book.receipt(
        "EAS register schema (judgment-equivalent)",
        send(attester, registry, "register", SCHEMA, ZERO_ADDRESS, True),
        system="eas",
    )

    if reference is None:
        from benchmarks.gas import judgment

        reference = judgment(1_000, 1)

    def request_data(n: int) -> tuple[Any, ...]:
        record = reference.model_copy(update={"amount": reference.amount + n})
        return (
            ZERO_ADDRESS,
            0,
            True,
            ZERO32,
            judgment_data(record),
            0,
        )  # recipient, expiry, revocable, ref, data, value

    book.receipt(
        "EAS attest (first of the schema)", send(attester, eas, "attest", (schema_uid, request_data(1))), system="eas"
    )
    attest = send(attester, eas, "attest", (schema_uid, request_data(2)))
    book.receipt("EAS attest", attest, system="eas", note="the peer of 'judgment (direct)'")
    batch = 10
    multi = send(attester, eas, "multiAttest", [(schema_uid, [request_data(10 + i) for i in range(batch)])])
    book.receipt(f"EAS multiAttest ({batch} attestations)", multi, system="eas", per=batch)
    ctx.record(
        "EAS multiAttest gas per attestation",
        int(multi["gasUsed"]) / batch,
        "gas",
        size=batch,
        basis="computed",
        system="eas",
    )

    # attestByDelegation: the attester signs EIP-712 typed data, a relayer sends (our ...BySig).
    signer = Account.create()
    data = request_data(100)
    nonce = eas.functions.getNonce(signer.address).call()
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Attest": [
                {"name": "attester", "type": "address"},
                {"name": "schema", "type": "bytes32"},
                {"name": "recipient", "type": "address"},
                {"name": "expirationTime", "type": "uint64"},
                {"name": "revocable", "type": "bool"},
                {"name": "refUID", "type": "bytes32"},
                {"name": "data", "type": "bytes"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint64"},
            ],
        },
        "primaryType": "Attest",
        "domain": {"name": "EAS", "version": "1.4.0", "chainId": env.chain.chain_id, "verifyingContract": eas_address},
        "message": {
            "attester": signer.address,
            "schema": schema_uid,
            "recipient": ZERO_ADDRESS,
            "expirationTime": 0,
            "revocable": True,
            "refUID": ZERO32,
            "data": data[4],
            "value": 0,
            "nonce": nonce,
            "deadline": 0,
        },
    }
    sig = signer.sign_typed_data(full_message=typed)
    delegated = (schema_uid, data, (sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big")), signer.address, 0)
    book.receipt(
        "EAS attestByDelegation (relayer)",
        send(relayer, eas, "attestByDelegation", delegated),
        system="eas",
        note="the peer of 'judgment (relayer, BySig)'",
    )

    book.receipt(
        "EAS timestamp (one digest)",
        send(attester, eas, "timestamp", os.urandom(32)),
        system="eas",
        note="the peer of 'anchor of a 1-digest batch'",
    )
    ctx.record(
        "EAS attestation data (ABI-encoded judgment)",
        len(judgment_data(reference)),
        "bytes",
        basis="computed",
        extra=calldata_costs(judgment_data(reference)),
        system="eas",
    )
