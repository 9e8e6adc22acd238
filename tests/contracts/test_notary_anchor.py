"""NotaryAnchor: anchoring (direct and delegated), its errors, and inclusion proofs checked on chain,
among them the golden vectors that pin the Merkle encoding for every implementation."""

from __future__ import annotations

import json
from pathlib import Path

from eth_utils import keccak

from ledger.errors import ContractRevertError
from ledger.merkle import MerkleTree, leaf_hash
from ledger.records import Anchor, sha256_digest
from tests.contracts.helpers import ZERO32, anchor, expect_revert, one_event

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "merkle_vectors.json"


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
    assert ledger.anchor(a.root) == {"court": court.id, "anchored_at": w.block_time, "size": 1000}
    expect_revert(lambda: ledger.submit(court.signer, a), "NotaryAnchorAlreadyAnchored", root=a.root)

    b = Anchor(court=court.id, root=keccak(b"relayed" + a.root), size=1)  # no metadata
    w = ledger.submit(court.signer, b, relayer=relayer)
    assert w.sender == relayer.address
    assert one_event(ledger, w, "NotaryAnchor", "RootAnchored") == {
        "root": b.root,
        "court": court.id,
        "size": 1,
        "metadataDigest": ZERO32,
    }
    assert ledger.anchor(b.root)["court"] == court.id
    expect_revert(
        lambda: ledger.submit(court.signer, b, relayer=relayer, signature=w.signature),
        "NotaryAnchorAlreadyAnchored",
        root=b.root,
    )
    # the same root from another court is refused too: a root is anchored once
    other = new_court()
    expect_revert(
        lambda: ledger.submit(other.signer, Anchor(court=other.id, root=a.root, size=5)),
        "NotaryAnchorAlreadyAnchored",
        root=a.root,
    )


def test_anchor_errors(ledger, new_court):
    court = new_court()
    a = anchor(court, "bad")
    for bad in (
        Anchor.model_construct(**{**a.model_dump(), "root": ZERO32}),
        Anchor.model_construct(**{**a.model_dump(), "size": 0}),
    ):
        expect_revert(lambda b=bad: ledger.submit(court.signer, b), "NotaryAnchorEmptyBatch")
    assert ledger.anchor(a.root) == {"court": 0, "anchored_at": 0, "size": 0}


def test_golden_vectors_verify_on_chain(ledger, new_court):
    """Each golden root, anchored, accepts every golden proof on chain; wrong proofs are refused."""
    court = new_court()
    vectors = json.loads(GOLDEN.read_text(encoding="utf-8"))["vectors"]
    for vector in vectors:
        values = [_unhex(v) for v in vector["values"]]
        root = _unhex(vector["root"])
        proofs = [[_unhex(p) for p in proof] for proof in vector["proofs"]]
        assert MerkleTree.build(values).root == root  # the Python side agrees with the file
        if ledger.anchor(root)["court"] == 0:  # the golden roots are fixed: anchor once per chain
            try:
                ledger.submit(court.signer, Anchor(court=court.id, root=root, size=len(values)))
            except ContractRevertError as exc:  # anchored meanwhile by another test on this chain
                assert exc.error == "NotaryAnchorAlreadyAnchored"
        assert ledger.anchor(root)["size"] == len(values)
        for i, (value, proof) in enumerate(zip(values, proofs, strict=True)):
            assert ledger.verify_inclusion(root, value, proof), f"vector of {len(values)}, value {i}"
        # wrong proofs, on the last value (the deepest): a value not in the batch, a tampered, a truncated
        # and another value's proof
        value, proof = values[-1], proofs[-1]
        assert ledger.view("NotaryAnchor", "leafOf", value) == leaf_hash(value)
        assert not ledger.verify_inclusion(root, sha256_digest(b"not in batch"), proof)
        if proof:
            tampered = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert not ledger.verify_inclusion(root, value, tampered)
            assert not ledger.verify_inclusion(root, value, proof[:-1])
            assert not ledger.verify_inclusion(root, value, proofs[0])
        else:
            assert not ledger.verify_inclusion(root, value, [root])
        # the leaf itself is not a value (leaves are double hashed)
        if len(values) > 1:
            assert not ledger.verify_inclusion(root, leaf_hash(values[0]), proofs[0])


def test_inclusion_needs_an_anchored_root(ledger, new_court, relayer):
    court = new_court()
    values = [sha256_digest(f"unanchored {court.id}/{i}".encode()) for i in range(1000)]
    tree = MerkleTree.build(values)
    samples = (0, 1, 499, 998, 999)
    for i in samples:  # valid proofs of a root nobody anchored
        assert not ledger.verify_inclusion(tree.root, values[i], tree.proof(values[i]))
    ledger.submit(court.signer, Anchor(court=court.id, root=tree.root, size=len(values)), relayer=relayer)
    for i in samples:
        proof = tree.proof(values[i])
        assert len(proof) in (9, 10)
        assert ledger.verify_inclusion(tree.root, values[i], proof)
        assert not ledger.verify_inclusion(tree.root, values[(i + 1) % len(values)], proof)


def test_views_and_constants(ledger):
    assert ledger.view("NotaryAnchor", "version") == "1.0.0"
    assert ledger.view("NotaryAnchor", "ANCHOR_TYPEHASH") == Anchor.type_hash()
    digest = sha256_digest(b"x")
    assert ledger.view("NotaryAnchor", "leafOf", digest) == leaf_hash(digest) == keccak(keccak(digest))
    assert ledger.anchor(keccak(b"never anchored")) == {"court": 0, "anchored_at": 0, "size": 0}
    assert not ledger.verify_inclusion(ZERO32, ZERO32, [])
