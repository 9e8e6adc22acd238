// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ICourtAuthorized} from "./ICourtAuthorized.sol";

/// @title Court registry: who may write to the judicial trust ledger
/// @notice A court has an id, a jurisdiction, a status and one or more signer accounts. Each signer has the
/// time it became valid and the time it stopped, so a record signed before a key rotation still verifies
/// after it. Admitting, suspending, reinstating and retiring courts and rotating their keys are governance
/// acts, each recorded as an event.
/// @dev Example: governance calls `admitCourt(110105, "CN-BJ", 110100, 0xSigner)`; the signer then writes
/// judgments; a year later governance calls `addSigner(110105, 0xNewSigner)` and `retireSigner(0xSigner)`.
/// `isSignerValidAt(0xSigner, 110105, t)` stays true for every `t` in the old key's validity period.
interface ICourtRegistry {
    /// @notice Lifecycle of a court. `Retired` is final.
    enum CourtStatus {
        None,
        Active,
        Suspended,
        Retired
    }

    /// @notice A court as stored on chain (one storage slot).
    /// @param status current lifecycle status
    /// @param appellateCourt the court with appellate authority over this one (0 for none)
    /// @param jurisdiction ISO 3166-2 code, ASCII, left-aligned and zero-padded, e.g. "CN-BJ"
    /// @param admittedAt block time of admission
    /// @param signerCount number of signers ever registered for this court
    struct Court {
        CourtStatus status;
        uint32 appellateCourt;
        bytes8 jurisdiction;
        uint40 admittedAt;
        uint8 signerCount;
    }

    /// @notice A signer account of a court. `validUntil == 0` means still valid; otherwise the key was
    /// retired in a block with time `validUntil - 1` and is valid for times `validFrom <= t < validUntil`.
    struct Signer {
        uint32 court;
        uint40 validFrom;
        uint40 validUntil;
    }

    /// @notice Emitted when governance admits a court.
    event CourtAdmitted(uint32 indexed court, bytes8 jurisdiction, uint32 appellateCourt);
    /// @notice Emitted when governance suspends a court; its signers cannot write until reinstated.
    event CourtSuspended(uint32 indexed court);
    /// @notice Emitted when governance lifts a suspension.
    event CourtReinstated(uint32 indexed court);
    /// @notice Emitted when governance retires a court for good.
    event CourtRetired(uint32 indexed court);
    /// @notice Emitted when a signer account becomes valid for a court.
    event SignerAdded(uint32 indexed court, address indexed signer, uint40 validFrom);
    /// @notice Emitted when a signer account stops being valid (key rotation or compromise).
    event SignerRetired(uint32 indexed court, address indexed signer, uint40 validUntil);

    /// @notice Emitted when a registry is attached: it now receives every writer update.
    event RegistryAttached(address indexed registry);
    /// @notice Emitted when governance records the code a court's case numbers carry (zero: none).
    event CaseNumberCodeSet(uint32 indexed court, bytes16 code);

    /// @notice The registry trusts another court registry, or is already attached.
    error CourtRegistryInvalidRegistry(address registry);
    /// @notice No more registries can be attached.
    error CourtRegistryTooManyRegistries();
    /// @notice The court id 0 is reserved for "no court".
    error CourtRegistryInvalidCourtId();
    /// @notice No court with this id was admitted.
    error CourtRegistryUnknownCourt(uint32 court);
    /// @notice A court with this id was already admitted.
    error CourtRegistryCourtExists(uint32 court);
    /// @notice The court is not in the status the operation needs.
    error CourtRegistryCourtNotActive(uint32 court, CourtStatus status);
    /// @notice The jurisdiction is not of the form "CC-RRR" (ISO 3166-2, upper-case ASCII).
    error CourtRegistryInvalidJurisdiction(bytes8 jurisdiction);
    /// @notice The appellate court does not exist or would create a cycle.
    error CourtRegistryInvalidAppellateCourt(uint32 court, uint32 appellateCourt);
    /// @notice The account is not a signer of any court.
    error CourtRegistryUnknownSigner(address signer);
    /// @notice The account is already a signer (signers are never reused, so history stays unambiguous).
    error CourtRegistrySignerExists(address signer, uint32 court);
    /// @notice The signer's validity period ended.
    error CourtRegistrySignerRetired(address signer, uint40 validUntil);
    /// @notice The court already has the maximum number of signers over its lifetime.
    error CourtRegistryTooManySigners(uint32 court);
    /// @notice The zero address cannot sign.
    error CourtRegistryZeroSigner();
    /// @notice Another court already carries this case-number code.
    error CourtRegistryCaseNumberCodeTaken(bytes16 code, uint32 court);

    /// @notice Admits a court with its first signer. Governance only.
    /// @param court the new court's id (non-zero, unique)
    /// @param jurisdiction ISO 3166-2 code such as "CN-BJ", left-aligned in 8 bytes
    /// @param appellateCourt an admitted court with appellate authority over this one, or 0
    /// @param firstSigner the court's first signer account
    function admitCourt(uint32 court, bytes8 jurisdiction, uint32 appellateCourt, address firstSigner) external;

    /// @notice Suspends an active court: its signers cannot write until it is reinstated. Governance only.
    /// @param court the court to suspend
    function suspendCourt(uint32 court) external;

    /// @notice Reinstates a suspended court. Governance only.
    /// @param court the court to reinstate
    function reinstateCourt(uint32 court) external;

    /// @notice Retires a court for good; its records stay valid, it can never write again. Governance only.
    /// @param court the court to retire
    function retireCourt(uint32 court) external;

    /// @notice Registers a new signer for a court, valid from now. Governance only.
    /// @param court the court
    /// @param signer the new signer account
    function addSigner(uint32 court, address signer) external;

    /// @notice Ends a signer's validity now: it cannot write from this transaction on, and `validUntil`
    /// becomes the block time + 1, so records it wrote before, in the same second included, stay valid.
    /// Governance only.
    /// @param signer the signer to retire
    function retireSigner(address signer) external;

    /// @notice Attaches a registry courts write to: it receives the current state of every signer now,
    /// and every later change in the same transaction as the governance act. Governance only.
    /// @param registry a registry whose `courtRegistry()` is this contract
    function attachRegistry(ICourtAuthorized registry) external;

    /// @notice The attached registries.
    /// @return registries their addresses
    function attachedRegistries() external view returns (ICourtAuthorized[] memory registries);

    /// @notice Returns the court of `signer` if the signer may write now, and reverts otherwise.
    /// @dev Reverts with CourtRegistryUnknownSigner, CourtRegistrySignerRetired or CourtRegistryCourtNotActive.
    /// @param signer the account that signed or sent a record
    /// @return court the signer's court, which is active
    function activeCourtOf(address signer) external view returns (uint32 court);

    /// @notice Whether `signer` was a signer of `court` at time `time` (validFrom <= time < validUntil).
    /// @param signer the signer account
    /// @param court the court the record claims
    /// @param time the unix time of the record
    /// @return valid true when the key was registered for that court and valid at that time
    function isSignerValidAt(address signer, uint32 court, uint64 time) external view returns (bool valid);

    /// @notice Whether `actor` may change records of `target`: the same court, or one above it on the
    /// appellate chain.
    /// @param actor the court acting
    /// @param target the court that issued the record
    /// @return allowed true when `actor` is `target` or an appellate ancestor of it
    function hasAuthority(uint32 actor, uint32 target) external view returns (bool allowed);

    /// @notice Records the code a court's case numbers carry, so a look-up can check that the court which
    /// recorded a case number is the court the number names. Chinese case numbers carry the court's code
    /// after the year: "(2019)京0108民初12345号" names the court whose code is "京0108". The code is the
    /// UTF-8 text, left-aligned and zero-padded; zero removes it. No two courts carry the same code.
    /// @param court the court id
    /// @param code the case-number code, e.g. bytes16("京0108")
    function setCaseNumberCode(uint32 court, bytes16 code) external;

    /// @notice The code a court's case numbers carry (zero when none is recorded).
    /// @param court the court id
    /// @return code the case-number code
    function caseNumberCode(uint32 court) external view returns (bytes16 code);

    /// @notice The court carrying a case-number code (0 when none).
    /// @param code the case-number code
    /// @return court the court id
    function courtOfCaseNumberCode(bytes16 code) external view returns (uint32 court);

    /// @notice The stored court.
    /// @param court the court id
    /// @return the court (status None when unknown)
    function courtInfo(uint32 court) external view returns (Court memory);

    /// @notice The stored signer.
    /// @param signer the signer account
    /// @return the signer (court 0 when unknown)
    function signerInfo(address signer) external view returns (Signer memory);

    /// @notice The signer accounts ever registered for a court, oldest first.
    /// @param court the court id
    /// @return signers the accounts
    function signersOf(uint32 court) external view returns (address[] memory signers);

    /// @notice The contract's semantic version.
    /// @return the version string
    function version() external pure returns (string memory);
}
