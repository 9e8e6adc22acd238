// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDefaulterRegistry} from "./interfaces/IDefaulterRegistry.sol";
import {IEnforcementRegistry} from "./interfaces/IEnforcementRegistry.sol";
import {ICourtRegistry} from "./interfaces/ICourtRegistry.sol";
import {CourtAuthorized} from "./utils/CourtAuthorized.sol";

/// @title DefaulterRegistry
/// @notice The list of dishonest judgment debtors, by blind index, with restrictions answerable for any time.
contract DefaulterRegistry is IDefaulterRegistry, CourtAuthorized {
    /// @notice Restriction: flights.
    uint16 public constant FLIGHTS = 1 << 0;
    /// @notice Restriction: soft sleepers and high-speed-rail seats.
    uint16 public constant RAIL = 1 << 1;
    /// @notice Restriction: star hotels, night clubs, golf and other high consumption.
    uint16 public constant HIGH_CONSUMPTION = 1 << 2;
    /// @notice Restriction: buying property or non-business cars.
    uint16 public constant PROPERTY_AND_CARS = 1 << 3;
    /// @notice Restriction: loans and credit cards.
    uint16 public constant LOANS_AND_CARDS = 1 << 4;
    /// @notice Restriction: founding companies, serving as legal representative or executive.
    uint16 public constant COMPANY_OFFICE = 1 << 5;
    /// @notice Restriction: public office and representative posts.
    uint16 public constant PUBLIC_OFFICE = 1 << 6;
    /// @notice Restriction: bidding for public contracts.
    uint16 public constant PUBLIC_BIDDING = 1 << 7;
    /// @notice All defined restriction bits.
    uint16 public constant ALL_RESTRICTIONS = (1 << 8) - 1;

    /// @notice Longest initial listing period (2 years).
    uint40 public constant MAX_PERIOD = 730 days;
    /// @notice Shortest extension (1 year).
    uint40 public constant MIN_EXTENSION = 365 days;
    /// @notice Longest extension (3 years).
    uint40 public constant MAX_EXTENSION = 1095 days;
    /// @notice Tolerated clock difference between the court's listedAt and the block time.
    uint40 public constant CLOCK_SKEW = 15 minutes;

    /// @notice EIP-712 type of a listing; its struct hash is the listing id.
    bytes32 public constant LISTING_TYPEHASH = keccak256(
        "Listing(uint32 court,bytes32 subject,bytes32 caseId,uint8 ground,uint16 restrictions,uint40 listedAt,uint40 until)"
    );
    /// @notice EIP-712 type of an extension.
    bytes32 public constant EXTENSION_TYPEHASH =
        keccak256("Extension(bytes32 listingId,uint40 until,uint32 sequence)");
    /// @notice EIP-712 type of a removal.
    bytes32 public constant REMOVAL_TYPEHASH = keccak256("Removal(bytes32 listingId,uint8 reason,uint32 sequence)");

    IEnforcementRegistry private immutable _enforcement;
    mapping(bytes32 listingId => ListingRecord) private _listings;
    mapping(bytes32 subject => bytes32[]) private _bySubject;

    /// @param courtRegistry_ the court registry
    /// @param enforcement_ the enforcement registry whose cases lead to listings
    constructor(ICourtRegistry courtRegistry_, IEnforcementRegistry enforcement_)
        CourtAuthorized(courtRegistry_, "DefaulterRegistry", "1")
    {
        _enforcement = enforcement_;
    }

    /// @notice The enforcement registry whose cases lead to listings.
    /// @return the registry
    function enforcementRegistry() external view returns (IEnforcementRegistry) {
        return _enforcement;
    }

    /// @inheritdoc IDefaulterRegistry
    function list(Listing calldata listing) external returns (bytes32) {
        _requireSameCourt(listing.court, _senderCourt());
        return _list(listing, _hashListing(listing));
    }

    /// @inheritdoc IDefaulterRegistry
    function listBySig(Listing calldata listing, bytes calldata signature) external returns (bytes32 id) {
        id = _hashListing(listing);
        _requireSameCourt(listing.court, _signerCourt(id, signature));
        return _list(listing, id);
    }

    /// @inheritdoc IDefaulterRegistry
    function extend(Extension calldata extension) external {
        _extend(extension, _senderCourt());
    }

    /// @inheritdoc IDefaulterRegistry
    function extendBySig(Extension calldata extension, bytes calldata signature) external {
        bytes32 h = keccak256(abi.encode(EXTENSION_TYPEHASH, extension.listingId, extension.until, extension.sequence));
        _extend(extension, _signerCourt(h, signature));
    }

    /// @inheritdoc IDefaulterRegistry
    function remove(Removal calldata removal) external {
        _remove(removal, _senderCourt());
    }

    /// @inheritdoc IDefaulterRegistry
    function removeBySig(Removal calldata removal, bytes calldata signature) external {
        bytes32 h = keccak256(abi.encode(REMOVAL_TYPEHASH, removal.listingId, uint8(removal.reason), removal.sequence));
        _remove(removal, _signerCourt(h, signature));
    }

    /// @inheritdoc IDefaulterRegistry
    function isRestricted(bytes32 subject, uint16 restriction, uint64 time)
        external
        view
        returns (bool restricted, bytes32 listingId_, uint40 until)
    {
        bytes32[] storage ids = _bySubject[subject];
        uint256 n = ids.length;
        for (uint256 i = 0; i < n; ++i) {
            ListingRecord storage l = _listings[ids[i]];
            uint40 end = l.removedAt != 0 && l.removedAt < l.until ? l.removedAt : l.until;
            if (l.restrictions & restriction == restriction && l.listedAt <= time && time < end && end >= until) {
                restricted = true;
                listingId_ = ids[i];
                until = end;
            }
        }
    }

    /// @inheritdoc IDefaulterRegistry
    function listingRecord(bytes32 id) external view returns (ListingRecord memory) {
        return _listings[id];
    }

    /// @inheritdoc IDefaulterRegistry
    function listingsOf(bytes32 subject) external view returns (bytes32[] memory ids) {
        return _bySubject[subject];
    }

    /// @inheritdoc IDefaulterRegistry
    function listingId(Listing calldata listing) external pure returns (bytes32) {
        return _hashListing(listing);
    }

    /// @inheritdoc IDefaulterRegistry
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    function _list(Listing calldata l, bytes32 id) internal returns (bytes32) {
        if (_listings[id].ground != Ground.None) revert DefaulterRegistryAlreadyListed(id);
        if (l.subject == 0) revert DefaulterRegistryZeroSubject();
        if (l.ground == Ground.None) revert DefaulterRegistryInvalidGround();
        if (l.restrictions == 0 || l.restrictions & ~ALL_RESTRICTIONS != 0) {
            revert DefaulterRegistryInvalidRestrictions(l.restrictions);
        }
        if (l.listedAt > block.timestamp + CLOCK_SKEW || l.until <= l.listedAt || l.until - l.listedAt > MAX_PERIOD) {
            revert DefaulterRegistryInvalidPeriod(l.listedAt, l.until);
        }
        IEnforcementRegistry.CaseState state = _enforcement.caseRecord(l.caseId).state;
        if (state == IEnforcementRegistry.CaseState.None || state == IEnforcementRegistry.CaseState.Concluded) {
            revert DefaulterRegistryCaseNotListable(l.caseId, uint8(state));
        }
        _listings[id] = ListingRecord({
            court: l.court,
            ground: l.ground,
            restrictions: l.restrictions,
            listedAt: l.listedAt,
            until: l.until,
            removedAt: 0,
            removalReason: RemovalReason.None,
            changes: 0,
            subject: l.subject
        });
        _bySubject[l.subject].push(id);
        emit DefaulterListed(id, l.subject, l.court, l.caseId, l.ground, l.restrictions, l.listedAt, l.until);
        return id;
    }

    function _extend(Extension calldata e, uint32 actingCourt) internal {
        ListingRecord storage l = _existing(e.listingId, actingCourt, e.sequence);
        if (l.changes != 0) revert DefaulterRegistryAlreadyExtended(e.listingId);
        if (block.timestamp >= l.until) revert DefaulterRegistryListingExpired(e.listingId, l.until);
        if (e.until < l.until + MIN_EXTENSION || e.until > l.until + MAX_EXTENSION) {
            revert DefaulterRegistryInvalidExtension(e.listingId, l.until, e.until);
        }
        l.until = e.until;
        l.changes = 1;
        emit ListingExtended(e.listingId, l.subject, actingCourt, e.until);
    }

    function _remove(Removal calldata r, uint32 actingCourt) internal {
        ListingRecord storage l = _existing(r.listingId, actingCourt, r.sequence);
        if (r.reason == RemovalReason.None) revert DefaulterRegistryInvalidReason();
        if (r.reason == RemovalReason.PeriodExpired && block.timestamp < l.until) {
            revert DefaulterRegistryListingNotExpired(r.listingId, l.until);
        }
        uint40 nowTime = uint40(block.timestamp);
        l.removedAt = nowTime;
        l.removalReason = r.reason;
        l.changes += 1;
        emit DefaulterRemoved(r.listingId, l.subject, actingCourt, r.reason, nowTime);
    }

    /// @dev The listing, checked to exist, not removed, changeable by `actingCourt` at `sequence`.
    function _existing(bytes32 id, uint32 actingCourt, uint32 sequence) internal view returns (ListingRecord storage l) {
        l = _listings[id];
        if (l.ground == Ground.None) revert DefaulterRegistryUnknownListing(id);
        _requireAuthority(actingCourt, l.court);
        if (l.removedAt != 0) revert DefaulterRegistryAlreadyRemoved(id, l.removedAt);
        if (sequence != l.changes) revert DefaulterRegistryOutOfSequence(id, l.changes, sequence);
    }

    function _hashListing(Listing calldata l) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                LISTING_TYPEHASH, l.court, l.subject, l.caseId, uint8(l.ground), l.restrictions, l.listedAt, l.until
            )
        );
    }
}
