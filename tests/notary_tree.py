"""A Merkle tree over ready-made leaves (notary leaves carry a nonce), laid out as StandardMerkleTree.

Tests only: certificates for notarized digests need a root and proofs over ``notary_leaf(digest, nonce)``.
"""

from __future__ import annotations

from eth_utils import keccak


def leaf_tree(leaves: list[bytes], want: int | None = None) -> tuple[bytes, list[list[bytes]]]:
    """(root, proofs of the first ``want`` leaves (all by default), in the given order).

    Inner nodes are keccak256 of the sorted pair, as ledger.merkle and OpenZeppelin's MerkleProof.
    """
    ordered = sorted(leaves)
    n = len(ordered)
    size = 2 * n - 1
    tree = [b""] * size
    for i, leaf in enumerate(ordered):
        tree[size - 1 - i] = leaf
    for i in range(size - 1 - n, -1, -1):
        a, b = tree[2 * i + 1], tree[2 * i + 2]
        tree[i] = bytes(keccak(min(a, b) + max(a, b)))
    position = {leaf: size - 1 - i for i, leaf in enumerate(ordered)}
    proofs = []
    for leaf in leaves[:want]:
        k = position[leaf]
        proof = []
        while k > 0:
            proof.append(tree[k - 1] if k % 2 == 0 else tree[k + 1])
            k = (k - 1) // 2
        proofs.append(proof)
    return tree[0], proofs
