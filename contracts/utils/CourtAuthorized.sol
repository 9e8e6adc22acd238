// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ICourtAuthorized} from "../interfaces/ICourtAuthorized.sol";
import {ICourtRegistry} from "../interfaces/ICourtRegistry.sol";

/// @title CourtAuthorized
/// @notice Shared by every registry a court writes to: finds the writing court from the sender (direct
/// submission) or from an EIP-712 signature (delegated submission through a relayer), and checks
/// appellate authority. The EIP-712 domain binds signatures to the chain id and this contract's address.
abstract contract CourtAuthorized is ICourtAuthorized, EIP712 {
    ICourtRegistry internal immutable _courtRegistry;

    /// @dev signer => court (low 32 bits) | WriterState (next 8 bits)
    mapping(address signer => uint256) private _writers;

    constructor(ICourtRegistry courtRegistry_, string memory name, string memory version_) EIP712(name, version_) {
        _courtRegistry = courtRegistry_;
    }

    /// @inheritdoc ICourtAuthorized
    function syncWriter(address signer, uint32 court, WriterState state) external {
        if (msg.sender != address(_courtRegistry)) revert CourtAuthorizedOnlyCourtRegistry(msg.sender);
        _writers[signer] = uint256(court) | (uint256(uint8(state)) << 32);
        emit WriterSynced(signer, court, state);
    }

    /// @inheritdoc ICourtAuthorized
    function writerOf(address signer) external view returns (uint32 court, WriterState state) {
        uint256 word = _writers[signer];
        return (uint32(word), WriterState(uint8(word >> 32)));
    }

    /// @inheritdoc ICourtAuthorized
    function courtRegistry() external view returns (address) {
        return address(_courtRegistry);
    }

    /// @dev The court of msg.sender, which must be allowed to write now.
    function _senderCourt() internal view returns (uint32) {
        return _activeCourt(msg.sender);
    }

    /// @dev The court of the account that signed `structHash` under this contract's domain.
    function _signerCourt(bytes32 structHash, bytes calldata signature) internal view returns (uint32) {
        return _activeCourt(ECDSA.recover(_hashTypedDataV4(structHash), signature));
    }

    function _activeCourt(address signer) internal view returns (uint32 court) {
        uint256 word = _writers[signer];
        court = uint32(word);
        if (court == 0) revert CourtAuthorizedUnknownWriter(signer);
        WriterState state = WriterState(uint8(word >> 32));
        if (state != WriterState.Active) revert CourtAuthorizedInactiveWriter(signer, court, state);
    }

    /// @dev Records are written by the court they name, and by no other.
    function _requireSameCourt(uint32 recordCourt, uint32 signerCourt) internal pure {
        if (recordCourt != signerCourt) revert CourtAuthorizedWrongCourt(recordCourt, signerCourt);
    }

    /// @dev Changes are made by the owning court or a court above it on the appellate chain.
    function _requireAuthority(uint32 actingCourt, uint32 recordCourt) internal view {
        if (actingCourt != recordCourt && !_courtRegistry.hasAuthority(actingCourt, recordCourt)) {
            revert CourtAuthorizedNoAuthority(actingCourt, recordCourt);
        }
    }
}
