"""NotaryBatcher: receipts at once, batches closed by size or age, proofs offline and on chain,
certificates, and exactly-once anchoring across crashes."""

from __future__ import annotations

import io
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_utils import keccak

from ledger import notary as notary_module
from ledger.errors import ConfigurationError, NotFoundError, ValidationError, VerificationError
from ledger.merkle import MerkleTree, verify_notary_proof
from ledger.notary import NotAnchoredError, NotaryBatcher, _build_tree, _positions, _proof_from, sha256_file
from ledger.notary.anchoring import Anchoring
from ledger.pipeline import Pipeline
from ledger.records import sha256_digest
from ledger.verify import NetworkDescriptor, TrustAnchors, verify_certificate
from tests.conftest import admit_new_court, fund

ROOT_ANCHORED = keccak(text="RootAnchored(bytes32,uint32,uint32,bytes32)")


@pytest.fixture(scope="session")
def trust(deployment, governor) -> TrustAnchors:
    descriptor = NetworkDescriptor.from_deployment(deployment, "x").signed(governor)
    return TrustAnchors.from_descriptors([descriptor], [governor.address])


@pytest.fixture(scope="module")
def court(ledger, governor, funder):
    """One court per backend for the module: each test has its own store, and stores do not share digests."""
    return admit_new_court(ledger, governor, funder)


@pytest.fixture
def store(tmp_path):
    return tmp_path / "notary.db"


@pytest.fixture
def make_batcher(ledger, court, store):
    made: list[NotaryBatcher] = []

    def make(**kw) -> NotaryBatcher:
        kw.setdefault("max_age", 3600.0)
        b = NotaryBatcher(store, ledger, court.id, court.signer, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def digests(n: int, tag: str = "") -> list[bytes]:
    salt = os.urandom(8).hex() + tag
    return [sha256_digest(f"document {salt} {i}".encode()) for i in range(n)]


@pytest.fixture
def since(ledger) -> int:
    """The newest block when the test began: its anchors are all above (never scan the chain from its start)."""
    return int(ledger.w3.eth.block_number)


def anchor_logs(ledger, root: bytes, since: int) -> list:
    """Every anchor of ``root`` since block ``since`` (the roots of a test are its own)."""
    return ledger.w3.eth.get_logs(
        {
            "address": ledger.contract("NotaryAnchor").address,
            "fromBlock": since,
            "toBlock": "latest",
            "topics": ["0x" + ROOT_ANCHORED.hex(), "0x" + root.hex()],
        }
    )


def stored_batch(store, batch: int) -> dict:
    with sqlite3.connect(store) as db:
        db.row_factory = sqlite3.Row
        return dict(
            db.execute(
                "SELECT b.state, b.tx_hash, t.raw_tx, t.nonce FROM batches b "
                "LEFT JOIN transactions t ON t.tx_hash = b.tx_hash WHERE b.id = ?",
                (batch,),
            ).fetchone()
        )


# -- the tree (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 17, 1000])
def test_flat_tree_is_merkle_tree(n):
    values = digests(n)
    entries = [(v, os.urandom(32)) for v in values]
    nodes, raw = _build_tree(entries)
    reference = MerkleTree.build_notary(entries)
    assert nodes[:32] == reference.root
    tree = [nodes[i : i + 32] for i in range(0, len(nodes), 32)]
    positions = _positions(raw)
    for i, (v, nonce) in enumerate(entries):
        proof = _proof_from(tree, positions[i])
        assert list(proof) == reference.proof(v)
        assert verify_notary_proof(reference.root, v, nonce, proof)


def test_sha256_file_reads_bytes_paths_and_streams(tmp_path):
    data = os.urandom(3 << 20)
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    expected = sha256_digest(data)
    assert (
        sha256_file(data)
        == sha256_file(path)
        == sha256_file(str(path))
        == sha256_file(io.BytesIO(data))
        == expected
    )


# -- submitting --------------------------------------------------------------------------------


def test_submit_answers_at_once_and_is_idempotent(make_batcher):
    b = make_batcher()
    one, *many = digests(5)
    rid = b.submit(one)
    ids = b.submit_many([*many, many[0]])
    assert len(set([rid, *ids])) == 5 and ids[-1] == ids[0]
    assert b.submit(one) == rid  # a digest already held keeps its receipt
    assert b.submit_many([many[1], digests(1)[0]])[0] == ids[1]
    receipt = b.receipt(rid)
    assert (receipt.state, receipt.digest, receipt.proof, receipt.root) == ("pending", one, None, None)
    assert b.stats()["pending"] == 6
    assert b.submit_many([]) == []


def test_submit_many_takes_ten_thousand_in_one_call(make_batcher):
    b = make_batcher(max_size=10_000)
    values = digests(10_000)
    ids = b.submit_many(values)
    assert len(set(ids)) == 10_000
    assert b.submit_many(values[::-1]) == ids[::-1]
    assert b.due()
    assert [r.digest for r in b.receipts(ids[:3])] == values[:3]


def test_submit_refuses_what_is_not_a_digest(make_batcher):
    b = make_batcher()
    with pytest.raises(ValidationError, match="#1"):
        b.submit_many([digests(1)[0], b"short"])
    assert b.stats()["pending"] == 0
    assert b.submit("0x" + "ab" * 32) == b.submit(bytes.fromhex("ab" * 32))


def test_unknown_or_forged_receipt_ids_are_not_found(make_batcher):
    b = make_batcher()
    rid = b.submit(digests(1)[0])
    forged = rid[:12] + ("0" if rid[12] != "0" else "1") + rid[13:]
    for bad in (forged, "00" * 16, "not-hex", rid + "00"):
        with pytest.raises(NotFoundError):
            b.receipt(bad)


def test_submit_files_hashes_and_keeps_nothing(make_batcher, tmp_path):
    b = make_batcher()
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF a")
    ids = b.submit_files([path, b"%PDF b", io.BytesIO(b"%PDF c")])
    assert [b.receipt(r).digest for r in ids] == [sha256_digest(x) for x in (b"%PDF a", b"%PDF b", b"%PDF c")]
    assert b.submit_file(path) == ids[0]


# -- batching ----------------------------------------------------------------------------------


def test_closes_by_size(make_batcher):
    b = make_batcher(max_size=4)
    ids = b.submit_many(digests(10))
    assert b.due()
    sizes = []
    while (result := b.run_once()) is not None:
        sizes.append(result.size)
    assert sizes == [4, 4]  # the last 2 are neither full nor old
    assert not b.due() and b.stats()["pending"] == 2
    assert [b.receipt(r).state for r in ids] == ["anchored"] * 8 + ["pending"] * 2
    assert [r.size for r in b.flush()] == [2]
    assert b.stats() == {"pending": 0, "unfinished_batches": 0, "anchored_batches": 3, "failed_batches": 0}


class Clock:
    """Stands in for the ``time`` module inside ledger.notary's batcher and store: age is measured on this clock."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


def test_closes_by_age(make_batcher, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(notary_module.batcher, "time", clock)
    monkeypatch.setattr(notary_module.store, "time", clock)
    b = make_batcher(max_size=1000, max_age=2.0)
    ids = b.submit_many(digests(3))
    clock.now += 1.0
    b.submit(digests(1)[0])
    clock.now += 0.99
    assert not b.due() and b.run_once() is None
    clock.now += 0.01  # the oldest digest is 2 s old: the batch closes with everything pending
    assert b.due()
    result = b.run_once()
    assert result is not None and result.size == 4
    assert {b.receipt(r).state for r in ids} == {"anchored"}
    assert not b.due()


def test_background_thread_anchors(make_batcher):
    b = make_batcher(max_size=50, max_age=0.05)
    b.start()
    try:
        ids = b.submit_many(digests(7))
        deadline = time.monotonic() + 60
        while b.receipt(ids[-1]).state != "anchored":
            assert time.monotonic() < deadline, "the background batcher did not anchor"
            time.sleep(0.02)
    finally:
        b.stop()
    assert {r.state for r in b.receipts(ids)} == {"anchored"}


def test_every_proof_verifies_offline_and_on_chain(make_batcher, ledger, court):
    b = make_batcher(max_size=13)
    values = digests(13)
    ids = b.submit_many(values)
    result = b.run_once()
    assert result is not None and result.size == 13 and not result.recovered
    assert ledger.anchor(court.id, result.root)["court"] == court.id
    bulk = b.receipts(ids)
    for rid, value, receipt in zip(ids, values, bulk, strict=True):
        assert b.receipt(rid) == receipt
        assert receipt.state == "anchored" and receipt.root == result.root
        assert (
            receipt.transaction_hash == result.transaction_hash
            and receipt.block_number == result.block_number
        )
        assert verify_notary_proof(receipt.root, value, receipt.nonce, receipt.proof)
        assert ledger.verify_inclusion(court.id, receipt.root, value, receipt.nonce, receipt.proof)
    assert b.verify(ids[0], values[0], on_chain=True)
    assert not b.verify(ids[0], values[1])
    assert not b.verify(ids[0], document=values[0])  # a digest passed as a document is hashed again


def test_a_digest_is_anchored_once(since, make_batcher, ledger):
    b = make_batcher()
    value = digests(1)[0]
    rid = b.submit(value)
    (first,) = b.flush()
    assert b.submit(value) == rid and b.stats()["pending"] == 0
    assert b.flush() == []
    assert len(anchor_logs(ledger, first.root, since)) == 1


def test_verify_and_certificate_wait_for_the_anchor(make_batcher):
    b = make_batcher()
    value = digests(1)[0]
    rid = b.submit(value)
    assert not b.verify(rid, value)
    with pytest.raises(NotAnchoredError):
        b.certificate(rid)


def test_certificate_verifies_online_with_the_document(make_batcher, ledger, trust, tmp_path):
    b = make_batcher()
    document = b"%PDF-1.7 notarized evidence\n" * 50
    path = tmp_path / "evidence.pdf"
    path.write_bytes(document)
    rid = b.submit_file(path)
    b.submit_many(digests(4))
    b.flush()
    assert b.verify(rid, document=path, on_chain=True)

    cert = b.certificate(rid)
    result = verify_certificate(cert.to_json(), trust=trust, rpc=ledger.w3, document=document)
    names = [s.name for s in result.steps]
    assert names == [
        "format",
        "network",
        "signature",
        "proof",
        "document",
        "chain",
        "signer",
        "record",
        "status",
    ]
    assert result.status["state"] == "anchored" and cert.record["size"] == 5

    tampered = bytearray(document)
    tampered[100] ^= 1
    assert not b.verify(rid, document=bytes(tampered))
    with pytest.raises(VerificationError) as failed:
        verify_certificate(cert.to_json(), trust=trust, rpc=ledger.w3, document=bytes(tampered))
    assert failed.value.step == "document"


def test_relayer_sends_and_the_court_signs(ledger, court, store, relayer, trust):
    b = NotaryBatcher(store, ledger, court.id, court.signer, relayer=relayer)
    try:
        values = digests(3)
        ids = b.submit_many(values)
        (result,) = b.flush()
        tx = ledger.w3.eth.get_transaction(result.transaction_hash)
        assert tx["from"] == relayer.address
        verify_certificate(b.certificate(ids[1]).to_json(), trust=trust, rpc=ledger.w3, document=None)
    finally:
        b.close()


def test_two_courts_notaries_sharing_one_relayer_never_take_the_same_nonce(
    ledger, court, new_court, relayer, tmp_path, monkeypatch
):
    """Two courts' notaries send through one relayer and one pipeline, as the service runs them. One signs
    while the other is about to send: it must not take the nonce the other holds (on a node that does not
    mine at once, the same nonce twice is a replacement the node refuses, or one anchor pushing out the
    other)."""
    other = new_court()
    pipeline = Pipeline(ledger.chain)
    stores = [tmp_path / "first.db", tmp_path / "second.db"]
    batchers = [
        NotaryBatcher(path, ledger, c.id, c.signer, relayer=relayer, pipeline=pipeline, max_age=3600.0)
        for path, c in zip(stores, (court, other), strict=True)
    ]
    both_signing = threading.Event()
    send, sign = Anchoring._send_raw, Anchoring._sign
    signing: set[int] = set()
    first_sends: set[int] = set()

    def sign_noting_the_second(self, batch, **kw):
        signing.add(self.court)
        if len(signing) == 2:
            both_signing.set()
        return sign(self, batch, **kw)

    def send_once_both_signed(self, batch):
        if not first_sends:  # the first send waits until the other notary is signing too
            first_sends.add(self.court)
            assert both_signing.wait(timeout=60)
        return send(self, batch)

    monkeypatch.setattr(Anchoring, "_sign", sign_noting_the_second)
    monkeypatch.setattr(Anchoring, "_send_raw", send_once_both_signed)
    try:
        for b in batchers:
            b.submit_many(digests(2))
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda b: b.run_once(force=True), batchers))
        nonces = [ledger.w3.eth.get_transaction(r.transaction_hash)["nonce"] for r in results]
        assert len(set(nonces)) == 2
        for path in stores:  # each anchor went out once: no transaction signed, given up and signed again
            with sqlite3.connect(path) as db:
                assert db.execute("SELECT count(*) FROM transactions").fetchone()[0] == 1
    finally:
        for b in batchers:
            b.close()


def test_a_store_belongs_to_one_court(make_batcher, ledger, store, new_court):
    make_batcher().submit(digests(1)[0])
    other = new_court()
    with pytest.raises(ConfigurationError, match="court"):
        NotaryBatcher(store, ledger, other.id, other.signer)


# -- crash recovery ----------------------------------------------------------------------------


class Crash(Exception):
    pass


def signed_not_sent(make_batcher, monkeypatch, n: int):
    """A batcher whose first batch of ``n`` digests was closed and signed, then the power went out
    before the transaction was sent: (the batcher, the digests, their receipt ids)."""
    b = make_batcher()
    values = digests(n)
    ids = b.submit_many(values)

    def crash(self, batch):
        raise Crash("power cut before sending")

    with monkeypatch.context() as m:
        m.setattr(Anchoring, "_send_raw", crash)
        with pytest.raises(Crash):
            b.run_once(force=True)
    return b, values, ids


def test_crash_after_closing_before_signing(since, make_batcher, ledger, monkeypatch, store):
    b = make_batcher()
    ids = b.submit_many(digests(6))

    def crash(self, batch, **_):
        raise Crash("power cut before signing")

    with monkeypatch.context() as m:
        m.setattr(Anchoring, "_sign", crash)
        with pytest.raises(Crash):
            b.run_once(force=True)
    assert stored_batch(store, 1)["state"] == "closed"
    assert b.receipt(ids[0]).state == "anchoring"
    b.close()

    result = make_batcher().run_once()
    assert result is not None and result.recovered and result.size == 6
    assert len(anchor_logs(ledger, result.root, since)) == 1


def test_crash_before_sending_resends_the_stored_transaction(since, make_batcher, ledger, monkeypatch, store):
    b, values, ids = signed_not_sent(make_batcher, monkeypatch, 6)
    signed = stored_batch(store, 1)
    assert signed["state"] == "signed" and signed["raw_tx"]
    b.close()

    reopened = make_batcher()
    assert reopened.due()
    result = reopened.run_once()
    assert result is not None and result.recovered
    assert result.transaction_hash == signed["tx_hash"]  # the same bytes, sent once
    assert len(anchor_logs(ledger, result.root, since)) == 1
    assert reopened.run_once() is None
    assert all(reopened.verify(r, v, on_chain=True) for r, v in zip(ids, values, strict=True))


def test_crash_after_sending_does_not_send_again(since, make_batcher, ledger, monkeypatch, store, court):
    b = make_batcher()
    ids = b.submit_many(digests(6))
    send = Anchoring._send_raw

    def send_then_crash(self, batch):
        send(self, batch)
        raise Crash("power cut after sending")

    with monkeypatch.context() as m:
        m.setattr(Anchoring, "_send_raw", send_then_crash)
        with pytest.raises(Crash):
            b.run_once(force=True)
    signed = stored_batch(store, 1)
    b.close()
    # The anchor may still wait for its block (no instant mining): count what was sent, mined or not.
    nonce = ledger.w3.eth.get_transaction_count(court.signer.address, "pending")

    reopened = make_batcher()
    result = reopened.run_once()
    assert result is not None and result.recovered and result.transaction_hash == signed["tx_hash"]
    assert ledger.w3.eth.get_transaction_count(court.signer.address, "pending") == nonce  # nothing sent again
    assert len(anchor_logs(ledger, result.root, since)) == 1
    assert reopened.receipt(ids[0]).state == "anchored"


def test_nonce_taken_meanwhile_signs_anew_for_the_same_root(
    since, make_batcher, ledger, monkeypatch, store, court, funder
):
    b, values, ids = signed_not_sent(make_batcher, monkeypatch, 4)
    signed = stored_batch(store, 1)
    b.close()
    fund(ledger.chain, court.signer, funder.address, 1)  # the signer's key is used elsewhere: nonce taken

    reopened = make_batcher()
    result = reopened.run_once()
    assert result is not None and result.transaction_hash != signed["tx_hash"]
    assert stored_batch(store, 1)["nonce"] == signed["nonce"] + 1
    assert len(anchor_logs(ledger, result.root, since)) == 1
    assert reopened.verify(ids[2], values[2], on_chain=True)
    with sqlite3.connect(store) as db:  # the journal keeps the transaction given up, superseded by the new one
        journal = db.execute(
            "SELECT tx_hash, nonce, replaced_by, block_number FROM transactions WHERE owner = 'notary:1' "
            "ORDER BY signed_at"
        ).fetchall()
    assert journal == [
        (signed["tx_hash"], signed["nonce"], result.transaction_hash, None),
        (result.transaction_hash, signed["nonce"] + 1, None, result.block_number),
    ]


def test_a_root_anchored_by_another_transaction_is_found_in_a_narrow_block_range(
    make_batcher, ledger, monkeypatch, store, court, funder
):
    """A relayer sent the court's signed anchor before the batcher did: the batcher adopts that
    transaction, found by its log in the blocks of the time the contract stored, not from block 0."""
    from ledger.records import Anchor

    b, values, ids = signed_not_sent(make_batcher, monkeypatch, 5)
    b.close()
    with sqlite3.connect(store) as db:
        root, size, metadata_digest, signature = db.execute(
            "SELECT root, size, metadata_digest, signature FROM batches WHERE id = 1"
        ).fetchone()
    for _ in range(3):  # blocks before the relayed anchor, a second earlier (block times are seconds)
        fund(ledger.chain, court.signer, funder.address, 1)
    before = ledger.w3.eth.block_number
    time.sleep(1.1)
    record = Anchor(court=court.id, root=bytes(root), size=size, metadata_digest=bytes(metadata_digest))
    relayed = ledger.submit(court.signer, record, relayer=funder, signature=bytes(signature))
    time.sleep(1.1)
    for _ in range(3):  # and after it
        fund(ledger.chain, funder, court.signer.address, 1)
    after = ledger.w3.eth.block_number - 2  # the first block of a later second

    searched: list[tuple[int, int]] = []
    real_get_logs = type(ledger.w3.eth).get_logs

    def spying(self, params):
        searched.append((int(params["fromBlock"]), int(params["toBlock"])))
        return real_get_logs(self, params)

    monkeypatch.setattr(type(ledger.w3.eth), "get_logs", spying)
    reopened = make_batcher()
    result = reopened.run_once()
    assert result is not None and result.transaction_hash == relayed.transaction_hash
    assert reopened.verify(ids[3], values[3], on_chain=True)
    first, last = searched[0]  # the blocks of the anchor's second (and the next block), not the chain
    assert before < first <= relayed.block_number <= last <= after, (searched, before, after)
