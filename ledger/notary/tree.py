"""The notary's Merkle tree as the store keeps it (pure): a flat node array, leaf positions, proofs.

Same encoding as :meth:`ledger.merkle.MerkleTree.build_notary` (OpenZeppelin's sorted pairs over leaves
``keccak(keccak(digest ‖ nonce))``; tests pin the roots and proofs against it), built here because the flat
``2n - 1`` node array (root first) is what the store writes as one BLOB; a proof is read from it by node
index (node i's sibling is ``((i - 1) ^ 1) + 1``).
"""

from __future__ import annotations

import array
import hashlib
import os
import sys
from typing import IO

from eth_utils import keccak

from ledger.errors import ValidationError

__all__ = ["build_tree", "digest_of", "positions", "proof_from", "sha256_file"]

_READ_CHUNK = 1 << 20

try:  # the same C keccak ledger.merkle prefers; the tree is rebuilt here to keep its flat node array
    from sha3 import keccak_256 as _keccak_256  # type: ignore[import-not-found, unused-ignore]

    def _keccak(data: bytes) -> bytes:
        return bytes(_keccak_256(data).digest())
except ImportError:  # pragma: no cover - depends on the environment

    def _keccak(data: bytes) -> bytes:
        return keccak(data)


def sha256_file(source: bytes | str | os.PathLike[str] | IO[bytes]) -> bytes:
    """SHA-256 of a file's bytes, a path, or a binary stream (read in chunks, never whole)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return hashlib.sha256(source).digest()
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").digest()
    h = hashlib.sha256()
    while chunk := source.read(_READ_CHUNK):
        h.update(chunk)
    return h.digest()


def digest_of(value: object, index: int) -> bytes:
    if isinstance(value, str):
        text = value.removeprefix("0x").removeprefix("0X")
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise ValidationError(f"digest #{index} is not hex") from None
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != 32:
        raise ValidationError(f"digest #{index} must be 32 bytes (a SHA-256 digest)")
    return bytes(value)


def build_tree(entries: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """(nodes, positions) of the tree ``MerkleTree.build_notary`` builds over ``(digest, nonce)`` entries.

    ``nodes`` is the flat ``2n - 1`` node array (root first), ``positions[i]`` the node index of
    ``entries[i]``'s leaf as uint32 little-endian. Same encoding as ``MerkleTree.build_notary`` (tests pin
    the roots and proofs against it); built here because the flat array is what the store keeps.
    """
    k = _keccak
    n = len(entries)
    size = 2 * n - 1
    leaves = sorted((k(k(d + nonce)), i) for i, (d, nonce) in enumerate(entries))
    tree: list[bytes] = [b""] * size
    pos = array.array("I", bytes(4 * n))
    for rank, (leaf, i) in enumerate(leaves):
        tree[size - 1 - rank] = leaf
        pos[i] = size - 1 - rank
    for i in range(size - 1 - n, -1, -1):
        a, b = tree[2 * i + 1], tree[2 * i + 2]
        tree[i] = k(a + b) if a <= b else k(b + a)
    if sys.byteorder != "little":  # pragma: no cover
        pos.byteswap()
    return b"".join(tree), pos.tobytes()


def positions(raw: bytes) -> array.array[int]:
    pos = array.array("I")
    pos.frombytes(bytes(raw))
    if sys.byteorder != "little":  # pragma: no cover
        pos.byteswap()
    return pos


def proof_from(tree: list[bytes], index: int) -> tuple[bytes, ...]:
    """Sibling hashes from node ``index`` up to the root (node i's sibling is ((i - 1) ^ 1) + 1)."""
    path: list[bytes] = []
    append = path.append
    while index:
        append(tree[((index - 1) ^ 1) + 1])
        index = (index - 1) >> 1
    return tuple(path)
