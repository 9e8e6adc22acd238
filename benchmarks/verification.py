"""Certificate verification: offline (library), online through the library against anvil, and over HTTP.

Certificates of every kind are issued for records written on the shared anvil chain. A verifier holds
the certificate as JSON text and trusts a network descriptor signed by the governance key (pinned):

- **offline**: ``verify_certificate(text, trust=..., document=...)``: format (the published schema,
  compiled), network, canonical EIP-712 signature (secp256k1 recovery), case-number opening, Merkle proof
  or case history, document digest. No network. The JavaScript verifier (js/verifier, @noble) is timed
  on the same golden certificates by ``benchmarks/verification_js.mjs``.
- **online**: the same plus chain identity, signer validity at block time, the transaction's log and
  the record's current status, against anvil through ``rpc=w3`` (about eight JSON-RPC calls).
- **HTTP**: ``POST /api/v1/verify/certificate`` on the running service (online against its own node;
  its per-address rate limit lifted for the measurement).
"""

from __future__ import annotations

import json
import os
import time
from datetime import date
from functools import partial
from typing import Any

from benchmarks.common import Context, Goal, in_module, latency_summary, profile_shares, time_calls
from benchmarks.gas import CASE_KEY, judgment, shared_chain
from ledger.certificates import case_certificate, defaulter_certificate, judgment_certificate, notary_certificate
from ledger.merkle import notary_leaf
from ledger.records import (
    Action,
    ActionKind,
    Anchor,
    CaseState,
    Filing,
    Ground,
    Listing,
    Restriction,
    case_number_digest,
    sha256_digest,
)
from ledger.verify import NetworkDescriptor, TrustAnchors, verify_certificate
from tests.notary_tree import leaf_tree

NAME = "verify"
OFFLINE_GOAL = Goal("<=", 0.3, "<= 0.3 ms median")
DOCUMENT = b"%PDF-1.7 benchmark judgment document\n" * 200


def certificates(ctx: Context) -> dict[str, tuple[str, bytes | None]]:
    """kind -> (certificate JSON text, the document it certifies or None), written on the shared chain."""

    def make() -> dict[str, tuple[str, bytes | None]]:
        env = shared_chain(ctx)
        ledger = env.ledger
        court, _ = env.new_court()
        chain_id = env.chain.chain_id
        j = judgment(court.id, 0).model_copy(update={"document_digest": sha256_digest(DOCUMENT)})
        wj = ledger.submit(court.signer, j)
        filing = Filing(
            court=court.id,
            judgment_id=wj.record_id,
            case_number_digest=case_number_digest(CASE_KEY, "(2024)京0108执9号"),
            amount_due=1_300_000,
            filed_at=date(2024, 4, 1),
        )
        wf = ledger.submit(court.signer, filing)
        actions = [
            Action(case_id=wf.record_id, sequence=0, kind=ActionKind.ASSET_INQUIRY, detail=0b11),
            Action(case_id=wf.record_id, sequence=1, kind=ActionKind.FREEZE),
            Action(case_id=wf.record_id, sequence=2, kind=ActionKind.PAYMENT_RECEIVED, amount=650_000),
        ]
        for a in actions:
            ledger.submit(court.signer, a)
        now = env.block_time()
        listing = Listing(
            court=court.id,
            subject=sha256_digest(b"bench blind index"),
            case_id=wf.record_id,
            ground=Ground.ABLE_BUT_REFUSES,
            restrictions=Restriction.FLIGHTS | Restriction.RAIL,
            listed_at=now,
            until=now + 730 * 86400,
        )
        wl = ledger.submit(court.signer, listing)
        small = [sha256_digest(DOCUMENT)] + [os.urandom(32) for _ in range(6)]
        big = [sha256_digest(DOCUMENT + b"big")] + [os.urandom(32) for _ in range(9_999)]
        out: dict[str, tuple[str, bytes | None]] = {
            "judgment": (judgment_certificate(wj, chain_id).to_json(), DOCUMENT),
            "enforcement_case (3 actions)": (
                case_certificate(wf, chain_id, actions, state=CaseState.OPEN, amount_recovered=650_000,
                                 as_of=(wl.block_number, wl.block_hash)).to_json(),
                None,
            ),
            "defaulter_status": (
                defaulter_certificate(
                    wl, chain_id, as_of=(wl.block_number, wl.block_hash), at=wl.block_time, until=listing.until
                ).to_json(),
                None,
            ),
        }
        for label, digests, document in (
            ("notarized_digest (7-digest batch)", small, DOCUMENT),
            ("notarized_digest (10,000-digest batch)", big, DOCUMENT + b"big"),
        ):
            nonces = [os.urandom(32) for _ in digests]
            root, proofs = leaf_tree([notary_leaf(d, n) for d, n in zip(digests, nonces, strict=True)], want=1)
            wa = ledger.submit(court.signer, Anchor(court=court.id, root=root, size=len(digests)))
            out[label] = (
                notary_certificate(wa, chain_id, digest=digests[0], nonce=nonces[0], proof=proofs[0]).to_json(),
                document,
            )
        return out

    return ctx.shared("certificates", make)


def trust_anchors(ctx: Context) -> TrustAnchors:
    env = shared_chain(ctx)
    descriptor = NetworkDescriptor.from_deployment(env.deployment, "benchmark").signed(env.governor)
    return TrustAnchors.from_descriptors([descriptor], [env.governor.address])


def run(ctx: Context) -> None:
    env = shared_chain(ctx)
    certs = certificates(ctx)
    trust = trust_anchors(ctx)

    self_check(ctx, certs)

    # -- offline ------------------------------------------------------------------------------------
    runs = ctx.pick(100, 1_000)
    for kind, (text, document) in certs.items():
        timings = time_calls(partial(verify_certificate, text, trust=trust, document=document), runs)
        s = latency_summary(timings)
        ctx.record(
            f"offline verification: {kind}",
            s["median_ms"],
            "ms",
            size=runs,
            goal=OFFLINE_GOAL,
            note=f"p99 {s['p99_ms']:.2f} ms over {runs} runs",
            extra=s,
        )
    text, document = certs["judgment"]
    _wall, shares = profile_shares(
        lambda: [verify_certificate(text, trust=trust, document=document) for _ in range(50)],
        {
            "secp256k1 recovery (coincurve)": in_module("ledger/verify.py", "_recover"),
            "parsing and validation (JSON, pydantic, record id)": in_module(
                "ledger/certificates.py", "parse_certificate_record"
            ),
        },
    )
    for label, share in shares.items():
        ctx.record(
            f"offline judgment verification profile: {label}", 100 * share, "% of time", size=50, note="cProfile"
        )

    for kind, s in javascript_offline(ctx.pick(100, 1_000)).items():
        ctx.record(f"offline verification (JavaScript, js/verifier with @noble): {kind} (golden)", s["median_ms"],
                   "ms", size=s["runs"], note=f"p99 {s['p99_ms']:.2f} ms over {s['runs']} runs; node", extra=s)

    # -- online through the library ----------------------------------------------------------------
    runs = ctx.pick(10, 200)
    for kind, (text, document) in certs.items():
        timings = time_calls(
            partial(verify_certificate, text, trust=trust, document=document, rpc=env.w3), runs, warmup=2
        )
        s = latency_summary(timings)
        ctx.record(
            f"online verification (library, anvil): {kind}",
            s["median_ms"],
            "ms",
            size=runs,
            note=f"p99 {s['p99_ms']:.1f} ms over {runs} runs",
            extra=s,
        )

    # -- over HTTP: POST /api/v1/verify/certificate ------------------------------------------------------
    from benchmarks.service import shared_service

    svc = shared_service(ctx)
    r = svc.court.post("/api/v1/judgments", _http_judgment())
    if r.status_code != 202:
        raise RuntimeError(f"POST judgment: {r.status_code} {r.text[:300]}")
    submitted = r.json()
    record = svc.wait_record(svc.court, submitted["outbox_id"])
    if record["state"] != "confirmed":
        raise RuntimeError(f"judgment not confirmed: {record}")
    c = svc.court.get(f"/api/v1/judgments/{submitted['record_id']}/certificate")
    if c.status_code != 200:
        raise RuntimeError(f"GET certificate: {c.status_code} {c.text[:300]}")
    body = json.dumps({"certificate": c.json()}).encode()

    def post() -> Any:
        answer = svc.public.post("/api/v1/verify/certificate", body)
        if answer.status_code != 200:
            raise RuntimeError(f"POST /api/v1/verify/certificate: {answer.status_code} {answer.text[:300]}")
        return answer

    runs = ctx.pick(10, 200)
    t0 = time.perf_counter()
    timings = time_calls(post, runs, warmup=2)
    s = latency_summary(timings)
    ctx.record(
        "HTTP POST /api/v1/verify/certificate (judgment, online)",
        s["median_ms"],
        "ms",
        size=runs,
        note=f"p99 {s['p99_ms']:.1f} ms; one client, sequential; {runs / (time.perf_counter() - t0):.0f} req/s",
        extra=s,
    )


def _http_judgment() -> dict[str, Any]:
    from benchmarks.harness import judgment_body

    return judgment_body(int.from_bytes(os.urandom(3), "big"), "verify")


def self_check(ctx: Context, certs: dict[str, tuple[str, bytes | None]]) -> None:
    """The verifier's fast signature path must agree with the reference on every record kind.

    ``ledger.verify`` recovers the signer from ``0x1901 || cached domain separator || record id``; the
    reference (``ledger.signing``) encodes the whole EIP-712 document with eth-account. Both are compared
    on the certificates above and on random records of every kind, signed by random keys.
    """
    import random

    from eth_account import Account

    from ledger import verify as verify_module
    from ledger.certificates import parse_certificate, struct_hash
    from ledger.records import Extension, Judgment, JudgmentStatus, JudgmentStatusChange, Removal, RemovalReason
    from ledger.signing import Domain, recover_signer, sign_record, signing_digest

    rng = random.Random(7)

    def word() -> bytes:
        return bytes(rng.getrandbits(8) for _ in range(32))

    samples: list[Any] = []
    for text, _ in certs.values():
        cert = parse_certificate(text)
        samples.append(
            (
                cert.typed_record(),
                Domain(cert.network.contract_name, cert.network.chain_id, cert.network.contract),
                bytes.fromhex(cert.signature.value[2:]),
            )
        )
    key = Account.create()
    for i in range(40):
        n = rng.randrange(2**32)
        records = [
            Judgment(
                court=1 + n % 10**9,
                case_number_digest=word(),
                document_digest=word(),
                parties_commitment=word(),
                amount=rng.randrange(2**128),
                currency=rng.choice(["CNY", "USD", "EUR"]),
                judgment_date=date(2000 + i % 25, 1 + i % 12, 1),
                effective_date=date(2026, 1, 1),
            ),
            JudgmentStatusChange(
                judgment_id=word(), status=JudgmentStatus(1 + i % 5), superseded_by=word(), sequence=n
            ),
            Filing(
                court=1 + n % 10**9,
                judgment_id=word(),
                case_number_digest=word(),
                amount_due=1 + n,
                filed_at=date(2024, 1 + i % 12, 1 + i % 28),
            ),
            Action(
                case_id=word(),
                sequence=n,
                kind=ActionKind(i % 19),
                amount=rng.randrange(2**128),
                detail=rng.randrange(2**64),
                document_digest=word(),
                flags=i % 256,
            ),
            Listing(
                court=1 + n % 10**9,
                subject=word(),
                case_id=word(),
                ground=Ground(1 + i % 6),
                restrictions=Restriction(1 + i % 255),
                listed_at=1_700_000_000 + n % 10**6,
                until=1_700_000_000 + n % 10**6 + 86_400,
            ),
            Extension(listing_id=word(), until=rng.randrange(1, 2**40), sequence=n),
            Removal(listing_id=word(), reason=RemovalReason(1 + i % 6), sequence=n),
            Anchor(court=1 + n % 10**9, root=word(), size=1 + n, metadata_digest=word()),
        ]
        for record in records:
            domain = Domain("Registry", 1 + i, "0x" + word()[:20].hex())
            samples.append((record, domain, sign_record(key, domain, record)))
    for record, domain, signature in samples:
        separator = verify_module._domain_separator(domain.name, domain.chain_id, domain.verifying_contract)
        digest = verify_module._keccak(b"\x19\x01" + separator + struct_hash(record))
        fast = verify_module._recover(digest, signature)
        reference = recover_signer(domain, record, signature)
        if fast != reference or digest != signing_digest(domain, record):
            raise AssertionError(f"the fast signature path disagrees with the reference for {record!r}")
    ctx.record(
        "self-check: fast signature path == eth-account EIP-712 reference",
        len(samples),
        "records",
        basis="measured",
        note="every record kind, random fields and keys",
    )


def javascript_offline(runs: int) -> dict[str, dict[str, float]]:
    """The JavaScript verifier's offline figures on the golden certificates (benchmarks/verification_js.mjs)."""
    import shutil
    import subprocess
    from pathlib import Path

    script = Path(__file__).with_name("verification_js.mjs")
    proc = subprocess.run([shutil.which("node") or "node", str(script), str(runs)], capture_output=True, text=True,
                          timeout=600, check=True)
    return dict(json.loads(proc.stdout))


def golden_offline(runs: int) -> dict[str, dict[str, float]]:
    """Python offline verification of the golden certificates (no chain needed): median and p99 per kind."""
    from tests.test_golden_certificates import DOCUMENT as GOLDEN_DOCUMENT
    from tests.test_golden_certificates import GOLDEN, trust

    anchors = trust()
    out = {}
    for kind in ("judgment", "enforcement_case", "defaulter_status", "notarized_digest"):
        text = (GOLDEN / f"{kind}.json").read_text(encoding="utf-8")
        document = GOLDEN_DOCUMENT if kind in ("judgment", "notarized_digest") else None
        out[kind] = latency_summary(time_calls(partial(verify_certificate, text, trust=anchors, document=document),
                                               runs, warmup=50))
    return out


if __name__ == "__main__":  # quick offline figures: python -m benchmarks.verification [runs]
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    for label, figures in (("python", golden_offline(n)), ("javascript", javascript_offline(n))):
        for kind, s in figures.items():
            print(f"offline {label:<10} {kind:<18} median {s['median_ms']:.3f} ms",
                  f"p99 {s['p99_ms']:.3f} ms ({n} runs)")
