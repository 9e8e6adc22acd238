"""Merkle trees over 32-byte digests, compatible with OpenZeppelin Contracts 5 and StandardMerkleTree.

Contract
--------
A tree commits to a set of distinct 32-byte values (document digests, record ids). Any proof produced
here verifies with OpenZeppelin's ``MerkleProof.verify(proof, root, leaf)`` on chain, given
``leaf = keccak256(bytes.concat(keccak256(abi.encode(value))))``, and the root equals the root that
``StandardMerkleTree.of(values.map(v => [v]), ["bytes32"])`` from ``@openzeppelin/merkle-tree``
computes for the same values (in any order).

Encoding, exactly:

* **leaf** ``= keccak256(keccak256(abi.encode(bytes32 value)))``. ``abi.encode`` of one ``bytes32`` is
  the 32 bytes themselves, so the leaf is ``keccak256(keccak256(value))``. Hashing twice means a leaf
  preimage is 32 bytes while an inner node's preimage is 64 bytes: an inner node can never be passed
  off as a leaf (no second-preimage attack).
* **inner node** ``= keccak256(min(a, b) || max(a, b))`` over its two 32-byte children ``a`` and ``b``,
  compared as unsigned big-endian integers (byte-wise). This is OpenZeppelin's
  ``Hashes.commutativeKeccak256``: a proof is a plain list of sibling hashes, with no left/right bits.
* **layout** (StandardMerkleTree's): leaves sorted ascending by leaf hash, stored at the end of an
  array of ``2n - 1`` nodes in reverse order (``tree[2n - 2 - i] = sorted_leaves[i]``); node ``i``
  has children ``2i + 1`` and ``2i + 2``; ``tree[0]`` is the root. A one-leaf tree's root is that
  leaf hash and its proof is empty.
* **proof** for the node at index ``i``: the siblings from the leaf up to (excluding) the root.

Notary leaves (:func:`notary_leaf`, :meth:`MerkleTree.build_notary`) are StandardMerkleTree's leaves
with leaf encoding ``["bytes32", "bytes32"]``: ``keccak256(keccak256(abi.encode(digest, nonce)))``,
``abi.encode`` of two words being their 64-byte concatenation, with ``nonce`` a random 32-byte value
drawn for each receipt (as OpenTimestamps appends a nonce): a root then reveals nothing about a
low-entropy document, even alone in its batch. Inner nodes and layout are unchanged.

Golden vectors in ``tests/golden/merkle_vectors.json`` (values) and ``tests/golden/notary_vectors.json``
(digest and nonce leaves) pin this encoding for every implementation (Python, Solidity, a browser).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.errors import NotFoundError, ValidationError

__all__ = [
    "MerkleTree",
    "leaf_hash",
    "notary_leaf",
    "process_proof",
    "verify_notary_proof",
    "verify_proof",
]

_WORD = 32

try:  # safe-pysha3's C keccak is ~5x faster than eth-hash's default pycryptodome backend.
    from sha3 import keccak_256 as _keccak_256  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - depends on the environment
    from eth_hash.auto import keccak as _eth_hash_keccak

    def _keccak(data: bytes) -> bytes:
        return _eth_hash_keccak(data)
else:

    def _keccak(data: bytes) -> bytes:
        return bytes(_keccak_256(data).digest())


def leaf_hash(value: bytes) -> bytes:
    """The leaf for a 32-byte value: ``keccak256(keccak256(abi.encode(bytes32 value)))``."""
    return _keccak(_keccak(_word(value, "value")))


def notary_leaf(digest: bytes, nonce: bytes) -> bytes:
    """A notarized digest's leaf: ``keccak256(keccak256(abi.encode(bytes32 digest, bytes32 nonce)))``.

    The receipt's random nonce keeps the anchor from revealing which digest it holds.
    """
    return _keccak(_keccak(_word(digest, "digest") + _word(nonce, "nonce")))


def process_proof(leaf: bytes, proof: Iterable[bytes]) -> bytes:
    """The root reached from a leaf hash and a proof, as OpenZeppelin's ``MerkleProof.processProof``.

    ``leaf`` is already hashed (see :func:`leaf_hash`); this function cannot tell a leaf from an inner
    node, which is why callers holding a *value* should use :func:`verify_proof`.
    """
    node = _word(leaf, "leaf")
    for sibling in proof:
        node = _node_hash(node, _word(sibling, "proof element"))
    return node


def verify_proof(root: bytes, value: bytes, proof: Iterable[bytes]) -> bool:
    """Whether ``proof`` proves that the 32-byte ``value`` is in the tree with this ``root``.

    Returns a bool to mirror ``MerkleProof.verify``; malformed input (a field that is not 32 bytes)
    raises :class:`~ledger.errors.ValidationError` because it is a caller error, not a failed proof.
    """
    expected = _word(root, "root")
    return process_proof(leaf_hash(value), proof) == expected


def verify_notary_proof(root: bytes, digest: bytes, nonce: bytes, proof: Iterable[bytes]) -> bool:
    """Whether ``proof`` proves the notary leaf of ``digest`` and ``nonce`` is in the tree with this ``root``."""
    expected = _word(root, "root")
    return process_proof(notary_leaf(digest, nonce), proof) == expected


class MerkleTree:
    """An immutable tree over distinct 32-byte values; build with :meth:`build`."""

    __slots__ = ("_positions", "_tree", "_values")

    _tree: tuple[bytes, ...]
    _values: tuple[bytes, ...]
    _positions: dict[bytes, int]

    def __init__(
        self, tree: tuple[bytes, ...], values: tuple[bytes, ...], positions: dict[bytes, int]
    ) -> None:
        # Private: use MerkleTree.build, which establishes the invariants.
        self._tree = tree
        self._values = values
        self._positions = positions

    @classmethod
    def build(cls, values: Sequence[bytes]) -> MerkleTree:
        """Build the tree; values must be non-empty, distinct and each exactly 32 bytes.

        Duplicates are refused rather than merged: a batch that lists a document twice is a bug
        upstream, and two equal leaves would make the tree's size disagree with the batch's.
        """
        if len(values) == 0:
            raise ValidationError("a Merkle tree needs at least one value")
        words = tuple(_word(v, f"value #{i}") for i, v in enumerate(values))
        if len(set(words)) != len(words):
            seen: set[bytes] = set()
            for i, w in enumerate(words):
                if w in seen:
                    raise ValidationError(f"duplicate Merkle tree value #{i}: 0x{w.hex()}")
                seen.add(w)
        return cls._from_leaves(sorted((_keccak(_keccak(w)), w) for w in words), words)

    @classmethod
    def build_notary(cls, entries: Sequence[tuple[bytes, bytes]]) -> MerkleTree:
        """The tree of notary leaves over ``(digest, nonce)`` pairs; digests distinct, looked up by digest.

        :meth:`values`, :meth:`leaf` and :meth:`proof` then take the digest; each leaf is
        :func:`notary_leaf` of the digest and its nonce.
        """
        if len(entries) == 0:
            raise ValidationError("a Merkle tree needs at least one value")
        words = tuple(_word(d, f"digest #{i}") for i, (d, _) in enumerate(entries))
        if len(set(words)) != len(words):
            raise ValidationError("duplicate digest in a notary batch")
        hashed = sorted((notary_leaf(d, n), w) for (d, n), w in zip(entries, words, strict=True))
        return cls._from_leaves(hashed, words)

    @classmethod
    def _from_leaves(cls, hashed: list[tuple[bytes, bytes]], words: tuple[bytes, ...]) -> MerkleTree:
        """The tree over (leaf, value) pairs already sorted by leaf."""
        n = len(hashed)
        size = 2 * n - 1
        tree: list[bytes] = [b""] * size
        positions: dict[bytes, int] = {}
        for i, (leaf, w) in enumerate(hashed):
            tree[size - 1 - i] = leaf
            positions[w] = size - 1 - i
        for i in range(size - 1 - n, -1, -1):
            tree[i] = _node_hash(tree[2 * i + 1], tree[2 * i + 2])
        return cls(tuple(tree), words, positions)

    @property
    def root(self) -> bytes:
        """The 32-byte root to anchor on chain."""
        return self._tree[0]

    @property
    def values(self) -> tuple[bytes, ...]:
        """The values, in the order given to :meth:`build`."""
        return self._values

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, bytes | bytearray) and bytes(value) in self._positions

    def leaf(self, value: bytes) -> bytes:
        """The leaf hash stored for ``value`` (raises NotFoundError if the value is not in the tree)."""
        return self._tree[self._position(value)]

    def proof(self, value: bytes) -> list[bytes]:
        """Sibling hashes from the value's leaf up to the root, for ``MerkleProof.verify``."""
        i = self._position(value)
        path: list[bytes] = []
        while i > 0:
            path.append(self._tree[i + 1 if i % 2 == 1 else i - 1])
            i = (i - 1) // 2
        return path

    def __repr__(self) -> str:
        return f"MerkleTree(root=0x{self.root.hex()}, size={len(self)})"

    def _position(self, value: bytes) -> int:
        word = _word(value, "value")
        try:
            return self._positions[word]
        except KeyError:
            raise NotFoundError(f"value 0x{word.hex()} is not in this Merkle tree") from None


def _node_hash(a: bytes, b: bytes) -> bytes:
    return _keccak(a + b) if a <= b else _keccak(b + a)


def _word(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ValidationError(f"{what} must be 32 bytes, got {type(value).__name__}")
    word = bytes(value)
    if len(word) != _WORD:
        raise ValidationError(f"{what} must be 32 bytes, got {len(word)}")
    return word
