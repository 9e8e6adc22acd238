// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Notary anchor
/// @notice Fixes in time the Merkle root of a batch of document digests; anyone checks that a digest is in
/// an anchored batch with its proof.
/// @dev Leaves and inner nodes are kept apart as in OpenZeppelin's StandardMerkleTree: a leaf is
/// `keccak256(bytes.concat(keccak256(abi.encode(digest))))` (64-byte-free, double hashed), an inner node is
/// the keccak256 of its two children sorted. Proofs are checked with OpenZeppelin's MerkleProof.
/// Example: `anchor(Anchor(110105, root, 1000, metadataDigest))`, then
/// `verifyInclusion(root, sha256(file), proof)` returns true.
interface INotaryAnchor {
    /// @notice An anchor, signed by the court.
    /// @param court the anchoring court
    /// @param root the Merkle root of the batch
    /// @param size the number of digests in the batch
    /// @param metadataDigest SHA-256 of the batch's metadata (batch id, time range, system), or zero
    struct Anchor {
        uint32 court;
        bytes32 root;
        uint32 size;
        bytes32 metadataDigest;
    }

    /// @notice An anchored root as stored (one slot).
    struct AnchorRecord {
        uint32 court;
        uint40 anchoredAt;
        uint32 size;
    }

    /// @notice Emitted when a batch root is anchored.
    event RootAnchored(bytes32 indexed root, uint32 indexed court, uint32 size, bytes32 metadataDigest);

    /// @notice The root is already anchored.
    error NotaryAnchorAlreadyAnchored(bytes32 root);
    /// @notice The root is zero or the batch is empty.
    error NotaryAnchorEmptyBatch();

    /// @notice Anchors a batch root; sender: a signer of `anchor_.court`.
    /// @param anchor_ the anchor
    function anchor(Anchor calldata anchor_) external;

    /// @notice Anchors a batch root signed by the court and sent by anyone.
    /// @param anchor_ the anchor
    /// @param signature the court signer's EIP-712 signature over `anchor_`
    function anchorBySig(Anchor calldata anchor_, bytes calldata signature) external;

    /// @notice The stored anchor (court 0 when unknown).
    /// @param root the batch root
    /// @return the anchor
    function anchorRecord(bytes32 root) external view returns (AnchorRecord memory);

    /// @notice Whether `digest` is in the anchored batch with root `root`.
    /// @param root an anchored root
    /// @param digest the document digest (SHA-256)
    /// @param proof the Merkle proof
    /// @return included true when the root is anchored and the proof leads from the digest to it
    function verifyInclusion(bytes32 root, bytes32 digest, bytes32[] calldata proof)
        external
        view
        returns (bool included);

    /// @notice The leaf of a digest.
    /// @param digest the document digest
    /// @return the leaf hash
    function leafOf(bytes32 digest) external pure returns (bytes32);

    /// @notice The contract's semantic version.
    /// @return the version string
    function version() external pure returns (string memory);
}
