"""Records per second into the ledger on anvil, through the library.

- **sequential**: ``Ledger.submit`` one judgment after another, each returning once its receipt is in
  (EIP-712 signature, nonce, fees, gas estimate, signed raw transaction, receipt, block).
- **pipelined**: what a writer that does not wait can do with the library's pieces: for every record the
  EIP-712 signature (``Ledger.sign``, kept for the certificate) and the transaction signed with an
  explicit nonce; then every raw transaction sent; then every receipt fetched. Each phase is timed, and
  the slowest phase is what bounds the rate.

A profile of the sequential path says where its time goes (secp256k1 in eth-keys, JSON-RPC round trips).
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import ECDSA, RPC, Context, in_module, latency_summary, profile_shares
from benchmarks.gas import judgment, shared_chain

NAME = "writes"


def run(ctx: Context) -> None:
    env = shared_chain(ctx)
    ledger = env.ledger
    court, _ = env.new_court()
    signer = court.signer
    counter = iter(range(10_000_000))

    # -- sequential Ledger.submit --------------------------------------------------------------
    for n in ctx.pick([20], [100, 1_000]):
        records = [judgment(court.id, 1_000_000 + next(counter)) for _ in range(n)]
        latencies = []
        t0 = time.perf_counter()
        for record in records:
            t = time.perf_counter()
            ledger.submit(signer, record)
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - t0
        lat = latency_summary(latencies)
        ctx.record(
            "Ledger.submit sequential",
            n / elapsed,
            "records/s",
            size=n,
            note=f"median {lat['median_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms per record",
            extra=lat,
        )

    # where the sequential time goes
    sample = [judgment(court.id, 1_000_000 + next(counter)) for _ in range(ctx.pick(10, 30))]
    _wall, shares = profile_shares(
        lambda: [ledger.submit(signer, r) for r in sample],
        {
            "secp256k1 (EIP-712 + transaction signatures)": ECDSA,
            "JSON-RPC round trips to anvil": RPC,
            "  of which eth_estimateGas": in_module("web3/eth/eth.py", "estimate_gas"),
            "  of which waiting for the receipt": in_module("web3/eth/eth.py", "wait_for_transaction_receipt"),
        },
    )
    for label, share in shares.items():
        ctx.record(
            f"Ledger.submit profile: {label}",
            100 * share,
            "% of time",
            size=len(sample),
            basis="measured",
            note="cProfile; the profiler slows Python parts",
        )

    # -- pipelined: sign all, send all, then wait for all --------------------------------------------
    w3 = env.w3
    for n in ctx.pick([50], [100, 1_000]):
        records = [judgment(court.id, 2_000_000 + next(counter)) for _ in range(n)]
        nonce = w3.eth.get_transaction_count(signer.address, "pending")
        fees = ledger.chain.fees()
        to, data = ledger.call_data(records[0])
        gas = w3.eth.estimate_gas({"from": signer.address, "to": to, "data": data}) * 12 // 10  # type: ignore[typeddict-item]
        t0 = time.perf_counter()
        raws = []
        for i, record in enumerate(records):
            ledger.sign(signer, record)  # the EIP-712 signature that goes into the certificate
            to, data = ledger.call_data(record)
            tx: dict[str, Any] = {
                "to": to,
                "data": data,
                "nonce": nonce + i,
                "gas": gas,
                "chainId": env.chain.chain_id,
                **fees,
            }
            raws.append(signer.sign_transaction(tx).raw_transaction)
        t1 = time.perf_counter()
        hashes = [w3.eth.send_raw_transaction(raw) for raw in raws]
        t2 = time.perf_counter()
        w3.eth.wait_for_transaction_receipt(hashes[-1], timeout=600, poll_latency=0.01)
        failed = sum(1 for h in hashes if w3.eth.get_transaction_receipt(h)["status"] != 1)
        t3 = time.perf_counter()
        if failed:
            raise RuntimeError(f"{failed} of {n} pipelined writes reverted")
        phases = {"sign": t1 - t0, "send": t2 - t1, "wait for receipts": t3 - t2}
        bound = max(phases, key=lambda k: phases[k])
        ctx.record(
            "pipelined writes end to end",
            n / (t3 - t0),
            "records/s",
            size=n,
            note="bounded by " + bound + ": " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()),
            phases=phases,
        )
        ctx.record("pipelined: signing (EIP-712 + tx)", n / phases["sign"], "records/s", size=n)
        ctx.record("pipelined: eth_sendRawTransaction", n / phases["send"], "tx/s", size=n)
        ctx.record(
            f"pipelined: anvil still mining after the last of {n:,} sends",
            phases["wait for receipts"],
            "s",
            note="anvil mines one block per transaction (automine); the wait, not a per-item figure",
        )

    # the project's node keeps its whole history in state.json, rewritten every second
    state = env.data_dir / "state.json"
    blocks = int(w3.eth.block_number)
    if state.is_file() and blocks:
        size = state.stat().st_size
        ctx.record(
            "anvil state.json of the project's node (rewritten every second)",
            size / 1e6,
            "MB",
            size=blocks,
            note=f"{size / blocks / 1000:.1f} KB per block (one transaction each); --state-interval 1",
        )
