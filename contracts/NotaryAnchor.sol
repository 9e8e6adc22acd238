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

    mapping(uint32 court => mapping(bytes32 root => AnchorRecord)) private _anchors;

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
    function anchorRecord(uint32 court, bytes32 root) external view returns (AnchorRecord memory) {
        return _anchors[court][root];
    }

    /// @inheritdoc INotaryAnchor
    function verifyInclusion(uint32 court, bytes32 root, bytes32 digest, bytes32 nonce, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return court != 0 && _anchors[court][root].court == court
            && MerkleProof.verifyCalldata(proof, root, _leaf(digest, nonce));
    }

    /// @inheritdoc INotaryAnchor
    function leafOf(bytes32 digest, bytes32 nonce) external pure returns (bytes32) {
        return _leaf(digest, nonce);
    }

    /// @inheritdoc INotaryAnchor
    function version() external pure returns (string memory) {
        return "2.0.0";
    }

    function _anchor(Anchor calldata a) internal {
        if (a.root == 0 || a.size == 0) revert NotaryAnchorEmptyBatch();
        AnchorRecord storage slot = _anchors[a.court][a.root];
        if (slot.court != 0) revert NotaryAnchorAlreadyAnchored(a.court, a.root);
        _anchors[a.court][a.root] = AnchorRecord({court: a.court, anchoredAt: uint40(block.timestamp), size: a.size});
        emit RootAnchored(a.root, a.court, a.size, a.metadataDigest);
    }

    function _leaf(bytes32 digest, bytes32 nonce) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(digest, nonce))));
    }
}
