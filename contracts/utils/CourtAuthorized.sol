// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ICourtRegistry} from "../interfaces/ICourtRegistry.sol";

/// @title CourtAuthorized
/// @notice Shared by every registry a court writes to: finds the writing court from the sender (direct
/// submission) or from an EIP-712 signature (delegated submission through a relayer), and checks
/// appellate authority. The EIP-712 domain binds signatures to the chain id and this contract's address.
abstract contract CourtAuthorized is EIP712 {
    /// @notice The record names a court other than the one whose key wrote it.
    error CourtAuthorizedWrongCourt(uint32 recordCourt, uint32 signerCourt);
    /// @notice The acting court has no authority over the court that owns the record.
    error CourtAuthorizedNoAuthority(uint32 actingCourt, uint32 recordCourt);

    ICourtRegistry internal immutable _courtRegistry;

    constructor(ICourtRegistry courtRegistry_, string memory name, string memory version_) EIP712(name, version_) {
        _courtRegistry = courtRegistry_;
    }

    /// @notice The court registry this contract trusts.
    /// @return the registry
    function courtRegistry() external view returns (ICourtRegistry) {
        return _courtRegistry;
    }

    /// @dev The active court of msg.sender; reverts with the registry's error otherwise.
    function _senderCourt() internal view returns (uint32) {
        return _courtRegistry.activeCourtOf(msg.sender);
    }

    /// @dev The active court of the account that signed `structHash` under this contract's domain.
    function _signerCourt(bytes32 structHash, bytes calldata signature) internal view returns (uint32) {
        address signer = ECDSA.recover(_hashTypedDataV4(structHash), signature);
        return _courtRegistry.activeCourtOf(signer);
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
