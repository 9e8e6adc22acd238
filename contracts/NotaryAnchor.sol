// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {INotaryAnchor} from "./interfaces/INotaryAnchor.sol";
import {ICourtRegistry} from "./interfaces/ICourtRegistry.sol";
import {CourtAuthorized} from "./utils/CourtAuthorized.sol";

/// @title NotaryAnchor
/// @notice Merkle-batch anchoring of document digests: one transaction for any number of documents.
contract NotaryAnchor is INotaryAnchor, CourtAuthorized {
    /// @notice EIP-712 type of an anchor.
    bytes32 public constant ANCHOR_TYPEHASH =
        keccak256("Anchor(uint32 court,bytes32 root,uint32 size,bytes32 metadataDigest)");

    mapping(bytes32 root => AnchorRecord) private _anchors;

    /// @param courtRegistry_ the court registry
    constructor(ICourtRegistry courtRegistry_) CourtAuthorized(courtRegistry_, "NotaryAnchor", "1") {}

    /// @inheritdoc INotaryAnchor
    function anchor(Anchor calldata anchor_) external {
        _requireSameCourt(anchor_.court, _senderCourt());
        _anchor(anchor_);
    }

    /// @inheritdoc INotaryAnchor
    function anchorBySig(Anchor calldata anchor_, bytes calldata signature) external {
        bytes32 h = keccak256(
            abi.encode(ANCHOR_TYPEHASH, anchor_.court, anchor_.root, anchor_.size, anchor_.metadataDigest)
        );
        _requireSameCourt(anchor_.court, _signerCourt(h, signature));
        _anchor(anchor_);
    }

    /// @inheritdoc INotaryAnchor
    function anchorRecord(bytes32 root) external view returns (AnchorRecord memory) {
        return _anchors[root];
    }

    /// @inheritdoc INotaryAnchor
    function verifyInclusion(bytes32 root, bytes32 digest, bytes32[] calldata proof) external view returns (bool) {
        return _anchors[root].court != 0 && MerkleProof.verifyCalldata(proof, root, _leaf(digest));
    }

    /// @inheritdoc INotaryAnchor
    function leafOf(bytes32 digest) external pure returns (bytes32) {
        return _leaf(digest);
    }

    /// @inheritdoc INotaryAnchor
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    function _anchor(Anchor calldata a) internal {
        if (a.root == 0 || a.size == 0) revert NotaryAnchorEmptyBatch();
        if (_anchors[a.root].court != 0) revert NotaryAnchorAlreadyAnchored(a.root);
        _anchors[a.root] = AnchorRecord({court: a.court, anchoredAt: uint40(block.timestamp), size: a.size});
        emit RootAnchored(a.root, a.court, a.size, a.metadataDigest);
    }

    function _leaf(bytes32 digest) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(digest))));
    }
}
