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
    /// @notice How far ahead of the block time a listing may start (clock differences).
    uint40 public constant CLOCK_SKEW = 15 minutes;
    /// @notice How far behind the block time a listing may start: room for a court's durable outbox to
    /// deliver a listing after a node outage, short enough that past answers of isRestricted stay settled.
    uint40 public constant MAX_BACKDATE = 1 days;

    /// @notice EIP-712 type of a listing; its struct hash is the listing id.
    bytes32 public constant LISTING_TYPEHASH = keccak256(
        "Listing(uint32 court,bytes32 subject,bytes32 caseId,uint8 ground,uint16 restrictions,uint40 listedAt,"
        "uint40 until)"
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
        if (restriction == 0 || restriction & ~ALL_RESTRICTIONS != 0) {
            revert DefaulterRegistryInvalidRestrictions(restriction);
        }
        bytes32[] storage ids = _bySubject[subject];
        uint256 n = ids.length;
        for (uint256 i = 0; i < n; ++i) {
            ListingRecord storage rec = _listings[ids[i]];
            uint40 end = rec.removedAt != 0 && rec.removedAt < rec.until ? rec.removedAt : rec.until;
            if (rec.restrictions & restriction == restriction && rec.listedAt <= time && time < end && end >= until) {
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

    function _list(Listing calldata listing, bytes32 id) internal returns (bytes32) {
        if (_listings[id].ground != Ground.None) revert DefaulterRegistryAlreadyListed(id);
        if (listing.subject == 0) revert DefaulterRegistryZeroSubject();
        if (listing.ground == Ground.None) revert DefaulterRegistryInvalidGround();
        if (listing.restrictions == 0 || listing.restrictions & ~ALL_RESTRICTIONS != 0) {
            revert DefaulterRegistryInvalidRestrictions(listing.restrictions);
        }
        // A listing starts now, give or take a clock skew ahead and a day behind: backdating it further would
        // rewrite what isRestricted answered for past times, which partners may already have relied on.
        if (
            listing.listedAt > block.timestamp + CLOCK_SKEW || listing.listedAt + MAX_BACKDATE < block.timestamp
                || listing.until <= listing.listedAt || listing.until - listing.listedAt > MAX_PERIOD
        ) {
            revert DefaulterRegistryInvalidPeriod(listing.listedAt, listing.until);
        }
        IEnforcementRegistry.CaseRecord memory enforcementCase = _enforcement.caseRecord(listing.caseId);
        IEnforcementRegistry.CaseState state = enforcementCase.state;
        if (state == IEnforcementRegistry.CaseState.None || state == IEnforcementRegistry.CaseState.Concluded) {
            revert DefaulterRegistryCaseNotListable(listing.caseId, uint8(state));
        }
        _requireAuthority(listing.court, enforcementCase.court);
        _listings[id] = ListingRecord({
            court: listing.court,
            ground: listing.ground,
            restrictions: listing.restrictions,
            listedAt: listing.listedAt,
            until: listing.until,
            removedAt: 0,
            removalReason: RemovalReason.None,
            changes: 0,
            subject: listing.subject
        });
        _bySubject[listing.subject].push(id);
        emit DefaulterListed(
            id,
            listing.subject,
            listing.court,
            listing.caseId,
            listing.ground,
            listing.restrictions,
            listing.listedAt,
            listing.until
        );
        return id;
    }

    function _extend(Extension calldata e, uint32 actingCourt) internal {
        ListingRecord storage rec = _existing(e.listingId, actingCourt, e.sequence);
        if (rec.changes != 0) revert DefaulterRegistryAlreadyExtended(e.listingId);
        if (block.timestamp >= rec.until) revert DefaulterRegistryListingExpired(e.listingId, rec.until);
        if (e.until < rec.until + MIN_EXTENSION || e.until > rec.until + MAX_EXTENSION) {
            revert DefaulterRegistryInvalidExtension(e.listingId, rec.until, e.until);
        }
        rec.until = e.until;
        rec.changes = 1;
        emit ListingExtended(e.listingId, rec.subject, actingCourt, e.until);
    }

    function _remove(Removal calldata r, uint32 actingCourt) internal {
        ListingRecord storage rec = _existing(r.listingId, actingCourt, r.sequence);
        if (r.reason == RemovalReason.None) revert DefaulterRegistryInvalidReason();
        if (r.reason == RemovalReason.PeriodExpired && block.timestamp < rec.until) {
            revert DefaulterRegistryListingNotExpired(r.listingId, rec.until);
        }
        uint40 nowTime = uint40(block.timestamp);
        rec.removedAt = nowTime;
        rec.removalReason = r.reason;
        ++rec.changes;
        emit DefaulterRemoved(r.listingId, rec.subject, actingCourt, r.reason, nowTime);
    }

    /// @dev The listing, checked to exist, not removed, changeable by `actingCourt` at `sequence`.
    function _existing(bytes32 id, uint32 actingCourt, uint32 sequence)
        internal
        view
        returns (ListingRecord storage rec)
    {
        rec = _listings[id];
        if (rec.ground == Ground.None) revert DefaulterRegistryUnknownListing(id);
        _requireAuthority(actingCourt, rec.court);
        if (rec.removedAt != 0) revert DefaulterRegistryAlreadyRemoved(id, rec.removedAt);
        if (sequence != rec.changes) revert DefaulterRegistryOutOfSequence(id, rec.changes, sequence);
    }

    function _hashListing(Listing calldata listing) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                LISTING_TYPEHASH,
                listing.court,
                listing.subject,
                listing.caseId,
                uint8(listing.ground),
                listing.restrictions,
                listing.listedAt,
                listing.until
            )
        );
    }
}
