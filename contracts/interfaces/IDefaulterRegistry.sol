// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Defaulter registry (失信被执行人名单)
/// @notice Listing of a subject, identified only by an off-chain keyed hash (a blind index, never an ID
/// number), on one of the six statutory grounds, with the restrictions attached, the listing period and
/// its removal. `isRestricted` answers for any time, past times included, because nothing is deleted.
/// @dev Listing period: at most 2 years from `listedAt`; one extension of 1 to 3 years while the listing
/// runs. A listing's id is the EIP-712 struct hash of the Listing. Example: `list(Listing(110105, blind,
/// caseId, AbleButRefuses, FLIGHTS | RAIL | COMPANY_OFFICE, t, t + 730 days))`; at the counter
/// `isRestricted(blind, FLIGHTS, now)` returns (true, listingId, until); after `remove(Removal(listingId,
/// Performed, 0))` it returns false for now and still true for times before the removal.
interface IDefaulterRegistry {
    /// @notice The six grounds of the 2017 rules.
    enum Ground {
        None,
        AbleButRefuses,
        ObstructsByForgeryOrViolence,
        EvadesByFalseLitigationOrHidingAssets,
        ViolatesPropertyReport,
        ViolatesConsumptionRestriction,
        RefusesSettlement
    }

    /// @notice Why a listing ended.
    enum RemovalReason {
        None,
        Performed,
        SettlementFulfilled,
        ApplicantAgreed,
        CaseEnded,
        CorrectedWronglyListed,
        PeriodExpired
    }

    /// @notice A listing, signed by the listing court.
    /// @param court the listing court
    /// @param subject the subject's blind index (HMAC under a key kept off chain)
    /// @param caseId the enforcement case behind the listing
    /// @param ground the statutory ground
    /// @param restrictions bitmask of restrictions (see the constants of the implementation)
    /// @param listedAt unix time the listing starts
    /// @param until unix time the listing period ends (exclusive)
    struct Listing {
        uint32 court;
        bytes32 subject;
        bytes32 caseId;
        Ground ground;
        uint16 restrictions;
        uint40 listedAt;
        uint40 until;
    }

    /// @notice An extension of a running listing by 1 to 3 years.
    struct Extension {
        bytes32 listingId;
        uint40 until;
        uint32 sequence;
    }

    /// @notice The removal of a listing.
    struct Removal {
        bytes32 listingId;
        RemovalReason reason;
        uint32 sequence;
    }

    /// @notice A listing as stored (one slot, plus the subject).
    struct ListingRecord {
        uint32 court;
        Ground ground;
        uint16 restrictions;
        uint40 listedAt;
        uint40 until;
        uint40 removedAt;
        RemovalReason removalReason;
        uint8 changes;
        bytes32 subject;
    }

    /// @notice Emitted when a subject is listed.
    event DefaulterListed(
        bytes32 indexed listingId,
        bytes32 indexed subject,
        uint32 indexed court,
        bytes32 caseId,
        Ground ground,
        uint16 restrictions,
        uint40 listedAt,
        uint40 until
    );
    /// @notice Emitted when a listing period is extended.
    event ListingExtended(bytes32 indexed listingId, bytes32 indexed subject, uint32 indexed byCourt, uint40 until);
    /// @notice Emitted when a listing is removed.
    event DefaulterRemoved(
        bytes32 indexed listingId,
        bytes32 indexed subject,
        uint32 indexed byCourt,
        RemovalReason reason,
        uint40 removedAt
    );

    /// @notice A listing with this id exists.
    error DefaulterRegistryAlreadyListed(bytes32 listingId);
    /// @notice No listing with this id.
    error DefaulterRegistryUnknownListing(bytes32 listingId);
    /// @notice The subject is zero.
    error DefaulterRegistryZeroSubject();
    /// @notice The ground is None.
    error DefaulterRegistryInvalidGround();
    /// @notice No restriction, or a bit outside the defined restrictions.
    error DefaulterRegistryInvalidRestrictions(uint16 restrictions);
    /// @notice The listing starts more than 15 minutes ahead or more than a day behind the block time, or its
    /// period is empty or longer than 2 years. Backdating further is refused so that what isRestricted
    /// answered for a past time does not change later.
    error DefaulterRegistryInvalidPeriod(uint40 listedAt, uint40 until);
    /// @notice The enforcement case is unknown or concluded.
    error DefaulterRegistryCaseNotListable(bytes32 caseId, uint8 state);
    /// @notice An extension outside 1 to 3 years.
    error DefaulterRegistryInvalidExtension(bytes32 listingId, uint40 until, uint40 newUntil);
    /// @notice The listing was already extended once.
    error DefaulterRegistryAlreadyExtended(bytes32 listingId);
    /// @notice The listing period is over (for extension).
    error DefaulterRegistryListingExpired(bytes32 listingId, uint40 until);
    /// @notice The listing period is not over (for removal as PeriodExpired).
    error DefaulterRegistryListingNotExpired(bytes32 listingId, uint40 until);
    /// @notice The listing was already removed.
    error DefaulterRegistryAlreadyRemoved(bytes32 listingId, uint40 removedAt);
    /// @notice Removal reason None.
    error DefaulterRegistryInvalidReason();
    /// @notice The change's sequence is not the listing's change counter.
    error DefaulterRegistryOutOfSequence(bytes32 listingId, uint32 expected, uint32 given);

    /// @notice Lists a subject; sender: a signer of `listing.court`, which must be the enforcement case's
    /// court or a court with appellate authority over it.
    /// @param listing the listing
    /// @return listingId the listing id
    function list(Listing calldata listing) external returns (bytes32 listingId);

    /// @notice Lists a subject, signed by the court and sent by anyone.
    /// @param listing the listing
    /// @param signature the court signer's EIP-712 signature over `listing`
    /// @return listingId the listing id
    function listBySig(Listing calldata listing, bytes calldata signature) external returns (bytes32 listingId);

    /// @notice Extends a running listing once, by 1 to 3 years; sender: the listing court or above.
    /// @param extension the extension
    function extend(Extension calldata extension) external;

    /// @notice Same as extend, signed and sent by anyone.
    /// @param extension the extension
    /// @param signature the court signer's EIP-712 signature
    function extendBySig(Extension calldata extension, bytes calldata signature) external;

    /// @notice Removes a listing; sender: the listing court or a court above it.
    /// @param removal the removal
    function remove(Removal calldata removal) external;

    /// @notice Same as remove, signed and sent by anyone.
    /// @param removal the removal
    /// @param signature the court signer's EIP-712 signature
    function removeBySig(Removal calldata removal, bytes calldata signature) external;

    /// @notice Whether `subject` was restricted for every restriction bit in `restriction` at `time`.
    /// @param subject the blind index
    /// @param restriction one or more restriction bits (zero or an undefined bit reverts with
    /// DefaulterRegistryInvalidRestrictions)
    /// @param time unix time, past or present
    /// @return restricted true when a listing covering `restriction` ran at `time`
    /// @return listingId the listing that restricts (the one ending last), or zero
    /// @return until when that listing ends or ended, or zero
    function isRestricted(bytes32 subject, uint16 restriction, uint64 time)
        external
        view
        returns (bool restricted, bytes32 listingId, uint40 until);

    /// @notice The stored listing (ground None when unknown).
    /// @param listingId the listing id
    /// @return the listing
    function listingRecord(bytes32 listingId) external view returns (ListingRecord memory);

    /// @notice The listings of a subject, oldest first.
    /// @param subject the blind index
    /// @return ids the listing ids
    function listingsOf(bytes32 subject) external view returns (bytes32[] memory ids);

    /// @notice The id of a listing.
    /// @param listing the listing
    /// @return the listing id
    function listingId(Listing calldata listing) external pure returns (bytes32);

    /// @notice The contract's semantic version.
    /// @return the version string
    function version() external pure returns (string memory);
}
