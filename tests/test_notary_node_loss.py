"""NotaryBatcher after the node lost the block holding an anchor: the batch is anchored again (same root,
same transaction), and every receipt's proof verifies against a root the chain holds.

Two ways to lose a block: on the in-memory chain, a snapshot taken before the anchor is restored (a
test-only RPC); on anvil, the node is restarted from a state file saved before the anchor's block, as
after a ``kill -9`` between two of its state dumps (deterministic here: the older file is put back).
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from ledger._node import ensure_node
from ledger.chain import Chain, connect
from ledger.client import Ledger
from ledger.deployment import deploy
from ledger.notary import NotaryBatcher
from ledger.notary.anchoring import Anchoring
from ledger.records import sha256_digest
from tests.conftest import admit_new_court


def _digests(n: int, tag: str) -> list[bytes]:
    return [sha256_digest(f"node loss {tag} {i}".encode()) for i in range(n)]


def _block_hash(ledger: Ledger, number: int) -> str | None:
    try:
        return "0x" + bytes(ledger.w3.eth.get_block(number)["hash"]).hex()
    except Exception:
        return None


def _stored_block(store: Path, batch: int) -> tuple[str, int | None, str | None, str | None]:
    import sqlite3

    with sqlite3.connect(store) as db:
        return db.execute(
            "SELECT state, block_number, block_hash, tx_hash FROM batches WHERE id = ?", (batch,)
        ).fetchone()


def _assert_every_proof_on_chain(batcher: NotaryBatcher, ledger: Ledger, ids: list[str], values: list[bytes]) -> None:
    receipts = batcher.receipts(ids)
    assert {r.state for r in receipts} == {"anchored"}
    for receipt, value in zip(receipts, values, strict=True):
        assert receipt.root is not None and ledger.anchor(batcher.court, receipt.root)["court"] == batcher.court
        assert batcher.verify(receipt.id, value, on_chain=True)
        assert receipt.block_number is not None
    for batch in {r.batch for r in receipts}:
        assert batch is not None
        _, number, block_hash, _ = _stored_block(batcher.path, batch)
        assert number is not None and block_hash == _block_hash(ledger, number)  # the block the chain holds


@pytest.fixture
def memory_notary(tmp_path):
    """(chain, ledger, court, store, batcher) on a fresh in-memory chain, the batcher rechecking at once."""
    chain = connect("memory")
    try:
        ledger = Ledger(chain, deploy(chain, chain.accounts[0]))
        court = admit_new_court(ledger, chain.accounts[0], chain.accounts[1])
        store = tmp_path / "notary.db"
        batcher = NotaryBatcher(store, ledger, court.id, court.signer, max_age=3600.0, recheck_interval=0.0)
        try:
            yield chain, ledger, court, store, batcher
        finally:
            batcher.close()
    finally:
        chain.close()


def test_an_anchor_in_a_block_the_chain_lost_is_anchored_again(memory_notary):
    chain, ledger, _court, _store, batcher = memory_notary
    kept = _digests(4, "kept")
    kept_ids = batcher.submit_many(kept)
    assert batcher.run_once(force=True) is not None  # batch 1: stays on chain
    snapshot = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    values = _digests(6, "lost")
    ids = batcher.submit_many(values)
    first = batcher.run_once(force=True)
    assert first is not None and first.batch == 2
    _assert_every_proof_on_chain(batcher, ledger, ids, values)

    chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    assert ledger.anchor(batcher.court, first.root)["court"] == 0  # the anchor is gone from the chain
    assert batcher.receipt(ids[0]).state == "anchored"  # ...but the store does not know yet

    again = batcher.run_once()
    assert again is not None and again.batch == 2 and again.recovered
    assert again.root == first.root  # the same root: the proofs did not change
    assert again.transaction_hash == first.transaction_hash  # the same stored transaction, resent
    _assert_every_proof_on_chain(batcher, ledger, ids + kept_ids, values + kept)
    assert batcher.run_once() is None  # nothing else was lost


def test_an_intact_chain_costs_one_block_lookup(memory_notary, monkeypatch):
    chain, _ledger, _court, _store, batcher = memory_notary
    for tag in ("a", "b", "c"):
        batcher.submit_many(_digests(3, tag))
        assert batcher.run_once(force=True) is not None
    asked: list[object] = []
    real = chain.w3.eth.get_block
    monkeypatch.setattr(chain.w3.eth, "get_block", lambda n, *a, **k: asked.append(n) or real(n, *a, **k))
    assert batcher.run_once() is None
    assert len(asked) == 1  # the newest anchored block only
    assert batcher.stats()["anchored_batches"] == 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _restart(chain: Chain, chain_dir: Path, port: int, state: Path | None = None) -> None:
    """Stop the node (SIGTERM: it saves its state), optionally put an older state file back, start it."""
    assert chain.node is not None
    chain.node.stop()
    if state is not None:
        shutil.copyfile(state, chain_dir / "state.json")
    chain.node = ensure_node(chain_dir, port=port)


@pytest.mark.anvil
def test_anvil_restarted_from_a_state_before_the_anchor(tmp_path):
    chain_dir = tmp_path / "chain"
    port = _free_port()
    chain = connect("local", data_dir=chain_dir, port=port)
    try:
        ledger = Ledger(chain, deploy(chain, chain.accounts[0]))
        court = admit_new_court(ledger, chain.accounts[0], chain.accounts[1])
        store = tmp_path / "notary.db"
        batcher = NotaryBatcher(store, ledger, court.id, court.signer, max_age=3600.0, recheck_interval=0.0)
        try:
            kept = _digests(3, "anvil kept")
            kept_ids = batcher.submit_many(kept)
            assert batcher.run_once(force=True) is not None
            _restart(chain, chain_dir, port)  # a state file holding the first anchor, not the second
            saved = tmp_path / "state-before-anchor.json"
            shutil.copyfile(chain_dir / "state.json", saved)
            head = ledger.w3.eth.block_number

            values = _digests(5, "anvil lost")
            ids = batcher.submit_many(values)
            first = batcher.run_once(force=True)
            assert first is not None and first.block_number > head
            _assert_every_proof_on_chain(batcher, ledger, ids, values)
            lost_block = _stored_block(store, first.batch)[2]

            _restart(chain, chain_dir, port, state=saved)  # the node comes back without the anchor's block
            assert ledger.w3.eth.block_number == head
            assert ledger.anchor(batcher.court, first.root)["court"] == 0
            assert _block_hash(ledger, first.block_number) != lost_block

            again = batcher.run_once()
            assert again is not None and again.batch == first.batch and again.root == first.root
            assert again.transaction_hash == first.transaction_hash
            _assert_every_proof_on_chain(batcher, ledger, ids + kept_ids, values + kept)
            anchored_since = ledger.w3.eth.get_logs(
                {"address": ledger.contract("NotaryAnchor").address, "fromBlock": head + 1, "toBlock": "latest"}
            )
            assert len(anchored_since) == 1  # anchored once on the chain as it now is
        finally:
            batcher.close()
    finally:
        if chain.node is not None:
            chain.node.stop()
        chain.close()


def test_an_adopted_anchor_of_another_sender_lost_with_its_block_is_signed_and_sent_anew(memory_notary, monkeypatch):
    """A relayer sent the court's signed anchor first and the batcher adopted that transaction; then the
    chain lost its block. The batcher cannot resend a transaction it never held: it signs and sends its
    own, for the same root, and every proof verifies on chain again."""
    import sqlite3

    from ledger.records import Anchor
    chain, ledger, court, store, batcher = memory_notary
    relayer = chain.accounts[2]
    values = _digests(5, "adopted")
    ids = batcher.submit_many(values)

    class PowerCut(Exception):
        pass

    def cut(self, batch):
        raise PowerCut

    with monkeypatch.context() as m:
        m.setattr(Anchoring, "_send_raw", cut)
        with pytest.raises(PowerCut):
            batcher.run_once(force=True)  # closed and signed, never sent
    with sqlite3.connect(store) as db:
        root, size, digest, signature = db.execute(
            "SELECT root, size, metadata_digest, signature FROM batches WHERE id = 1"
        ).fetchone()
    snapshot = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    record = Anchor(court=court.id, root=bytes(root), size=size, metadata_digest=bytes(digest))
    relayed = ledger.submit(court.signer, record, relayer=relayer, signature=bytes(signature))
    adopted = batcher.run_once()
    assert adopted is not None and adopted.transaction_hash == relayed.transaction_hash
    _assert_every_proof_on_chain(batcher, ledger, ids, values)

    chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    assert ledger.anchor(court.id, bytes(root))["court"] == 0  # the relayer's anchor is gone

    again = None
    for _ in range(5):
        again = batcher.run_once() or again
        if again is not None and ledger.anchor(court.id, bytes(root))["court"] == court.id:
            break
    assert again is not None and again.root == bytes(root)
    assert again.transaction_hash != relayed.transaction_hash  # its own transaction this time
    sender = chain.w3.eth.get_transaction(again.transaction_hash)["from"]
    assert sender != relayer.address
    _assert_every_proof_on_chain(batcher, ledger, ids, values)
