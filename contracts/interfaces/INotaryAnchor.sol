// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Notary anchor
/// @notice Fixes in time the Merkle root of a batch of document digests, per court; anyone checks that a
/// digest is in a court's anchored batch with its nonce and proof.
/// @dev Anchors are unique per (court, root), never per root alone: a court that copies another court's
/// pending root anchors it for itself and blocks nothing. Leaves and inner nodes are kept apart as in
/// OpenZeppelin's StandardMerkleTree with leaf encoding `["bytes32", "bytes32"]`: a leaf is
/// `keccak256(bytes.concat(keccak256(abi.encode(digest, nonce))))`, where `nonce` is a random 32-byte value
/// drawn for each receipt (so a root reveals nothing about a low-entropy document, even alone in its batch);
/// an inner node is the keccak256 of its two children sorted. Proofs are checked with OpenZeppelin's
/// MerkleProof. Example: `anchor(Anchor(110105, root, 1000, metadataDigest))`, then
/// `verifyInclusion(110105, root, sha256(file), nonce, proof)` returns true.
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

    /// @notice An anchored root as stored (one slot); court 0 when the court never anchored the root.
    struct AnchorRecord {
        uint32 court;
        uint40 anchoredAt;
        uint32 size;
    }

    /// @notice Emitted when a court anchors a batch root.
    event RootAnchored(bytes32 indexed root, uint32 indexed court, uint32 size, bytes32 metadataDigest);

    /// @notice The court has already anchored this root.
    error NotaryAnchorAlreadyAnchored(uint32 court, bytes32 root);
    /// @notice The root is zero or the batch is empty.
    error NotaryAnchorEmptyBatch();

    /// @notice Anchors a batch root for `anchor_.court`; sender: a signer of that court.
    /// @param anchor_ the anchor
    function anchor(Anchor calldata anchor_) external;

    /// @notice Anchors a batch root signed by the court and sent by anyone.
    /// @param anchor_ the anchor
    /// @param signature the court signer's EIP-712 signature over `anchor_`
    function anchorBySig(Anchor calldata anchor_, bytes calldata signature) external;

    /// @notice The anchor of `root` by `court` (all zero when that court never anchored it).
    /// @param court the anchoring court
    /// @param root the batch root
    /// @return the anchor
    function anchorRecord(uint32 court, bytes32 root) external view returns (AnchorRecord memory);

    /// @notice Whether `digest` with `nonce` is in the batch with root `root` that `court` anchored.
    /// @param court the anchoring court
    /// @param root a root anchored by `court`
    /// @param digest the document digest (SHA-256)
    /// @param nonce the receipt's random nonce
    /// @param proof the Merkle proof
    /// @return included true when `court` anchored the root and the proof leads from the leaf to it
    function verifyInclusion(uint32 court, bytes32 root, bytes32 digest, bytes32 nonce, bytes32[] calldata proof)
        external
        view
        returns (bool included);

    /// @notice The leaf of a digest and its nonce.
    /// @param digest the document digest
    /// @param nonce the receipt's random nonce
    /// @return the leaf hash
    function leafOf(bytes32 digest, bytes32 nonce) external pure returns (bytes32);

    /// @notice The contract's semantic version.
    /// @return the version string
    function version() external pure returns (string memory);
}
