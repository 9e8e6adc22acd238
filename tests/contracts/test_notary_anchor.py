"""NotaryAnchor: anchoring (direct and delegated) per (court, root), its errors, and inclusion proofs of
(digest, nonce) leaves checked on chain, among them the golden vectors that pin the encoding for every
implementation."""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_utils import keccak

from ledger.merkle import MerkleTree, leaf_hash, notary_leaf
from ledger.records import Anchor, sha256_digest
from tests.contracts.helpers import ZERO32, anchor, expect_revert, one_event

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "notary_vectors.json"


def _unhex(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def test_anchor_direct_by_sig_and_replay(ledger, new_court, relayer):
    court = new_court()
    a = anchor(court, "direct", size=1000)
    w = ledger.submit(court.signer, a)
    assert one_event(ledger, w, "NotaryAnchor", "RootAnchored") == {
        "root": a.root,
        "court": court.id,
        "size": 1000,
        "metadataDigest": a.metadata_digest,
    }
    assert ledger.anchor(court.id, a.root) == {"court": court.id, "anchored_at": w.block_time, "size": 1000}
    expect_revert(lambda: ledger.submit(court.signer, a), "NotaryAnchorAlreadyAnchored", court=court.id, root=a.root)

    b = Anchor(court=court.id, root=keccak(b"relayed" + a.root), size=1)  # no metadata
    w = ledger.submit(court.signer, b, relayer=relayer)
    assert w.sender == relayer.address
    assert one_event(ledger, w, "NotaryAnchor", "RootAnchored") == {
        "root": b.root,
        "court": court.id,
        "size": 1,
        "metadataDigest": ZERO32,
    }
    assert ledger.anchor(court.id, b.root)["court"] == court.id
    expect_revert(
        lambda: ledger.submit(court.signer, b, relayer=relayer, signature=w.signature),
        "NotaryAnchorAlreadyAnchored",
        court=court.id,
        root=b.root,
    )


def test_court_cannot_block_another_courts_root_by_anchoring_it_first(ledger, new_court):
    """Anchors are unique per (court, root): a court that anchors another court's root (copied from its
    pending transaction) anchors it for itself only; the owner's anchor still goes through, and each
    court's record is its own."""
    owner, copier = new_court(), new_court()
    a = anchor(owner, "copied", size=7)
    copied = ledger.submit(copier.signer, Anchor(court=copier.id, root=a.root, size=99))
    assert ledger.anchor(owner.id, a.root)["court"] == 0  # nothing credited to the owner
    w = ledger.submit(owner.signer, a)
    assert ledger.anchor(owner.id, a.root) == {"court": owner.id, "anchored_at": w.block_time, "size": 7}
    assert ledger.anchor(copier.id, a.root) == {"court": copier.id, "anchored_at": copied.block_time, "size": 99}


def test_anchor_errors(ledger, new_court):
    court = new_court()
    a = anchor(court, "bad")
    for bad in (
        Anchor.model_construct(**{**a.model_dump(), "root": ZERO32}),
        Anchor.model_construct(**{**a.model_dump(), "size": 0}),
    ):
        expect_revert(lambda b=bad: ledger.submit(court.signer, b), "NotaryAnchorEmptyBatch")
    assert ledger.anchor(court.id, a.root) == {"court": 0, "anchored_at": 0, "size": 0}


def test_golden_vectors_verify_on_chain(ledger, new_court):
    """Each golden root, anchored, accepts every golden proof on chain; wrong proofs are refused."""
    court = new_court()
    vectors = json.loads(GOLDEN.read_text(encoding="utf-8"))["vectors"]
    c = court.id
    for vector in vectors:
        values = [_unhex(v) for v in vector["digests"]]
        nonces = [_unhex(v) for v in vector["nonces"]]
        root = _unhex(vector["root"])
        proofs = [[_unhex(p) for p in proof] for proof in vector["proofs"]]
        assert MerkleTree.build_notary(list(zip(values, nonces, strict=True))).root == root  # Python agrees
        ledger.submit(court.signer, Anchor(court=c, root=root, size=len(values)))
        assert ledger.anchor(c, root)["size"] == len(values)
        for i, (value, nonce, proof) in enumerate(zip(values, nonces, proofs, strict=True)):
            assert ledger.verify_inclusion(c, root, value, nonce, proof), f"vector of {len(values)}, value {i}"
        # wrong proofs, on the last value (the deepest): a value not in the batch, a wrong nonce, a tampered,
        # a truncated and another value's proof, and a court that did not anchor the root
        value, nonce, proof = values[-1], nonces[-1], proofs[-1]
        assert ledger.view("NotaryAnchor", "leafOf", value, nonce) == notary_leaf(value, nonce)
        assert not ledger.verify_inclusion(c, root, sha256_digest(b"not in batch"), nonce, proof)
        assert not ledger.verify_inclusion(c, root, value, bytes(32), proof)
        assert not ledger.verify_inclusion(c + 1, root, value, nonce, proof)
        assert not ledger.verify_inclusion(0, root, value, nonce, proof)
        if proof:
            tampered = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert not ledger.verify_inclusion(c, root, value, nonce, tampered)
            assert not ledger.verify_inclusion(c, root, value, nonce, proof[:-1])
            assert not ledger.verify_inclusion(c, root, value, nonce, proofs[0])
        else:
            assert not ledger.verify_inclusion(c, root, value, nonce, [root])


def test_inclusion_needs_an_anchored_root(ledger, new_court, relayer):
    court = new_court()
    values = [sha256_digest(f"unanchored {court.id}/{i}".encode()) for i in range(1000)]
    nonces = [os.urandom(32) for _ in values]
    tree = MerkleTree.build_notary(list(zip(values, nonces, strict=True)))
    samples = (0, 1, 499, 998, 999)
    c = court.id
    for i in samples:  # valid proofs of a root nobody anchored
        assert not ledger.verify_inclusion(c, tree.root, values[i], nonces[i], tree.proof(values[i]))
    ledger.submit(court.signer, Anchor(court=c, root=tree.root, size=len(values)), relayer=relayer)
    for i in samples:
        proof = tree.proof(values[i])
        assert len(proof) in (9, 10)
        assert ledger.verify_inclusion(c, tree.root, values[i], nonces[i], proof)
        j = (i + 1) % len(values)
        assert not ledger.verify_inclusion(c, tree.root, values[j], nonces[j], proof)


def test_views_and_constants(ledger):
    assert ledger.view("NotaryAnchor", "version") == "2.0.0"
    assert ledger.view("NotaryAnchor", "ANCHOR_TYPEHASH") == Anchor.type_hash()
    digest, nonce = sha256_digest(b"x"), sha256_digest(b"nonce")
    assert ledger.view("NotaryAnchor", "leafOf", digest, nonce) == notary_leaf(digest, nonce)
    assert notary_leaf(digest, nonce) == keccak(keccak(digest + nonce)) != leaf_hash(digest)
    assert ledger.anchor(1, keccak(b"never anchored")) == {"court": 0, "anchored_at": 0, "size": 0}
    assert not ledger.verify_inclusion(0, ZERO32, ZERO32, ZERO32, [])
