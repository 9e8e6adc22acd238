// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Court-authorized registry
/// @notice A registry courts write to. It keeps a write-through copy of which accounts may write for which
/// court, pushed by the court registry in the same transaction as every governance act, so that a write
/// costs one storage read instead of a call to the court registry (about 5,600 gas less per record).
/// @dev The court registry stays the source of truth (`ICourtRegistry.activeCourtOf`, `isSignerValidAt`);
/// `writerOf` here must always agree with it, which the tests check after every governance act.
interface ICourtAuthorized {
    /// @notice Whether an account may write now, and if not, why.
    enum WriterState {
        None,
        Active,
        SignerRetired,
        CourtSuspended,
        CourtRetired
    }

    /// @notice Emitted when the court registry updates an account's right to write here.
    event WriterSynced(address indexed signer, uint32 indexed court, WriterState state);

    /// @notice Only the court registry pushes writer updates.
    error CourtAuthorizedOnlyCourtRegistry(address caller);
    /// @notice The account is not a signer of any court.
    error CourtAuthorizedUnknownWriter(address signer);
    /// @notice The account's key is retired or its court is suspended or retired.
    error CourtAuthorizedInactiveWriter(address signer, uint32 court, WriterState state);
    /// @notice The record names a court other than the one whose key wrote it.
    error CourtAuthorizedWrongCourt(uint32 recordCourt, uint32 signerCourt);
    /// @notice The acting court has no authority over the court that owns the record.
    error CourtAuthorizedNoAuthority(uint32 actingCourt, uint32 recordCourt);

    /// @notice Updates whether `signer` may write for `court`. Court registry only.
    /// @param signer the signer account
    /// @param court its court
    /// @param state whether it may write now
    function syncWriter(address signer, uint32 court, WriterState state) external;

    /// @notice The court of `signer` and whether it may write now.
    /// @param signer the account
    /// @return court its court (0 when unknown)
    /// @return state whether it may write
    function writerOf(address signer) external view returns (uint32 court, WriterState state);

    /// @notice The court registry this registry trusts.
    /// @return the registry address
    function courtRegistry() external view returns (address);
}
