// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ICourtRegistry} from "./interfaces/ICourtRegistry.sol";
import {ICourtAuthorized} from "./interfaces/ICourtAuthorized.sol";

/// @title CourtRegistry
/// @notice Who may write to the ledger, and since when.
/// @dev Governance is an OpenZeppelin AccessControl role, GOVERNOR_ROLE, separate from the writing role
/// (being a registered signer). We chose a role held by one address over an N-of-M approval written into
/// this contract: on a network of courts the role is granted to a multisig wallet (a Safe with, say, 3 of 5
/// supreme-court officers) or to an OpenZeppelin TimelockController in front of it. Those are audited,
/// widely deployed and replaceable without redeploying the registry; an approval scheme written here would
/// be new, unaudited code guarding the most sensitive function of the system. DEFAULT_ADMIN_ROLE can grant
/// GOVERNOR_ROLE to a new multisig and is meant to be held by the same multisig.
/// Every governance act that changes who may write is pushed, in the same transaction, to the attached
/// registries (see ICourtAuthorized), so a court's write needs one storage read there.
contract CourtRegistry is ICourtRegistry, AccessControl {
    /// @notice Role allowed to admit, suspend, reinstate and retire courts and rotate their keys.
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");

    /// @notice Signers a court may have over its lifetime (rotation adds one each time).
    uint8 public constant MAX_SIGNERS = 32;

    /// @notice Registries that can be attached.
    uint256 public constant MAX_REGISTRIES = 8;

    /// @notice Longest appellate chain walked by `hasAuthority` (basic, intermediate, high, supreme, ...).
    uint256 public constant MAX_APPELLATE_DEPTH = 8;

    mapping(uint32 court => Court) private _courts;
    mapping(address signer => Signer) private _signers;
    mapping(uint32 court => address[]) private _courtSigners;
    address[] private _allSigners;
    ICourtAuthorized[] private _registries;
    mapping(uint32 court => bytes16 code) private _caseNumberCodes;
    mapping(bytes16 code => uint32 court) private _courtOfCaseNumberCode;

    /// @param governance the account (a multisig in production) granted GOVERNOR_ROLE and DEFAULT_ADMIN_ROLE
    constructor(address governance) {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(GOVERNOR_ROLE, governance);
    }

    /// @inheritdoc ICourtRegistry
    function admitCourt(uint32 court, bytes8 jurisdiction, uint32 appellateCourt, address firstSigner)
        external
        onlyRole(GOVERNOR_ROLE)
    {
        _admitCourt(court, jurisdiction, appellateCourt, firstSigner);
    }

    /// @inheritdoc ICourtRegistry
    function suspendCourt(uint32 court) external onlyRole(GOVERNOR_ROLE) {
        Court storage c = _existingCourt(court);
        if (c.status != CourtStatus.Active) revert CourtRegistryCourtNotActive(court, c.status);
        c.status = CourtStatus.Suspended;
        emit CourtSuspended(court);
        _syncCourt(court);
    }

    /// @inheritdoc ICourtRegistry
    function reinstateCourt(uint32 court) external onlyRole(GOVERNOR_ROLE) {
        Court storage c = _existingCourt(court);
        if (c.status != CourtStatus.Suspended) revert CourtRegistryCourtNotActive(court, c.status);
        c.status = CourtStatus.Active;
        emit CourtReinstated(court);
        _syncCourt(court);
    }

    /// @inheritdoc ICourtRegistry
    function retireCourt(uint32 court) external onlyRole(GOVERNOR_ROLE) {
        Court storage c = _existingCourt(court);
        if (c.status == CourtStatus.Retired) revert CourtRegistryCourtNotActive(court, c.status);
        c.status = CourtStatus.Retired;
        emit CourtRetired(court);
        _syncCourt(court);
    }

    /// @inheritdoc ICourtRegistry
    function addSigner(uint32 court, address signer) external onlyRole(GOVERNOR_ROLE) {
        Court storage c = _existingCourt(court);
        if (c.status == CourtStatus.Retired) revert CourtRegistryCourtNotActive(court, c.status);
        _addSigner(court, c, signer);
    }

    /// @inheritdoc ICourtRegistry
    function retireSigner(address signer) external onlyRole(GOVERNOR_ROLE) {
        Signer storage s = _signers[signer];
        if (s.court == 0) revert CourtRegistryUnknownSigner(signer);
        if (s.validUntil != 0) revert CourtRegistrySignerRetired(signer, s.validUntil);
        // Exclusive end one second after now: blocks share a timestamp on some chains (anvil, 1-second
        // block times), and a record this key wrote earlier in the same second must still verify at its
        // block time. No later record of this key can exist: the retirement stops its writes at once.
        uint40 validUntil = uint40(block.timestamp) + 1;
        s.validUntil = validUntil;
        emit SignerRetired(s.court, signer, validUntil);
        _syncSigner(signer);
    }

    /// @inheritdoc ICourtRegistry
    function attachRegistry(ICourtAuthorized registry) external onlyRole(GOVERNOR_ROLE) {
        if (registry.courtRegistry() != address(this)) revert CourtRegistryInvalidRegistry(address(registry));
        uint256 n = _registries.length;
        if (n >= MAX_REGISTRIES) revert CourtRegistryTooManyRegistries();
        for (uint256 i = 0; i < n; ++i) {
            if (address(_registries[i]) == address(registry)) revert CourtRegistryInvalidRegistry(address(registry));
        }
        _registries.push(registry);
        emit RegistryAttached(address(registry));
        uint256 signers = _allSigners.length;
        for (uint256 i = 0; i < signers; ++i) {
            address signer = _allSigners[i];
            registry.syncWriter(signer, _signers[signer].court, _writerState(signer));
        }
    }

    /// @inheritdoc ICourtRegistry
    function setCaseNumberCode(uint32 court, bytes16 code) external onlyRole(GOVERNOR_ROLE) {
        _existingCourt(court);
        uint32 holder = _courtOfCaseNumberCode[code];
        if (code != 0 && holder != 0 && holder != court) revert CourtRegistryCaseNumberCodeTaken(code, holder);
        bytes16 old = _caseNumberCodes[court];
        if (old != 0) delete _courtOfCaseNumberCode[old];
        _caseNumberCodes[court] = code;
        if (code != 0) _courtOfCaseNumberCode[code] = court;
        emit CaseNumberCodeSet(court, code);
    }

    /// @inheritdoc ICourtRegistry
    function caseNumberCode(uint32 court) external view returns (bytes16) {
        return _caseNumberCodes[court];
    }

    /// @inheritdoc ICourtRegistry
    function courtOfCaseNumberCode(bytes16 code) external view returns (uint32) {
        return _courtOfCaseNumberCode[code];
    }

    /// @inheritdoc ICourtRegistry
    function attachedRegistries() external view returns (ICourtAuthorized[] memory registries) {
        return _registries;
    }

    /// @inheritdoc ICourtRegistry
    function activeCourtOf(address signer) external view returns (uint32 court) {
        Signer memory s = _signers[signer];
        // Equality on a court id, not on a time (slither's incorrect-equality is a false positive here).
        // slither-disable-next-line incorrect-equality
        if (s.court == 0) revert CourtRegistryUnknownSigner(signer);
        if (s.validUntil != 0) revert CourtRegistrySignerRetired(signer, s.validUntil);
        CourtStatus status = _courts[s.court].status;
        if (status != CourtStatus.Active) revert CourtRegistryCourtNotActive(s.court, status);
        return s.court;
    }

    /// @inheritdoc ICourtRegistry
    function isSignerValidAt(address signer, uint32 court, uint64 time) external view returns (bool valid) {
        Signer memory s = _signers[signer];
        // `validUntil == 0` means "never retired", a sentinel, not a time comparison; the times are compared
        // with <= and <, end exclusive (slither's incorrect-equality is a false positive here).
        // slither-disable-next-line incorrect-equality
        return s.court != 0 && s.court == court && s.validFrom <= time && (s.validUntil == 0 || time < s.validUntil);
    }

    /// @inheritdoc ICourtRegistry
    function hasAuthority(uint32 actor, uint32 target) external view returns (bool allowed) {
        if (actor == 0 || target == 0) return false;
        uint32 current = target;
        for (uint256 depth = 0; depth <= MAX_APPELLATE_DEPTH; ++depth) {
            // Court ids, not times (slither's incorrect-equality is a false positive on both lines).
            // slither-disable-next-line incorrect-equality
            if (current == actor) return true;
            current = _courts[current].appellateCourt;
            // slither-disable-next-line incorrect-equality
            if (current == 0) return false;
        }
        return false;
    }

    /// @inheritdoc ICourtRegistry
    function courtInfo(uint32 court) external view returns (Court memory) {
        return _courts[court];
    }

    /// @inheritdoc ICourtRegistry
    function signerInfo(address signer) external view returns (Signer memory) {
        return _signers[signer];
    }

    /// @inheritdoc ICourtRegistry
    function signersOf(uint32 court) external view returns (address[] memory signers) {
        return _courtSigners[court];
    }

    /// @inheritdoc ICourtRegistry
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    function _admitCourt(uint32 court, bytes8 jurisdiction, uint32 appellateCourt, address firstSigner) internal {
        if (court == 0) revert CourtRegistryInvalidCourtId();
        Court storage c = _courts[court];
        if (c.status != CourtStatus.None) revert CourtRegistryCourtExists(court);
        if (!_isJurisdiction(jurisdiction)) revert CourtRegistryInvalidJurisdiction(jurisdiction);
        if (appellateCourt != 0 && (appellateCourt == court || _courts[appellateCourt].status == CourtStatus.None)) {
            revert CourtRegistryInvalidAppellateCourt(court, appellateCourt);
        }
        c.status = CourtStatus.Active;
        c.appellateCourt = appellateCourt;
        c.jurisdiction = jurisdiction;
        c.admittedAt = uint40(block.timestamp);
        emit CourtAdmitted(court, jurisdiction, appellateCourt);
        _addSigner(court, c, firstSigner);
    }

    function _addSigner(uint32 court, Court storage c, address signer) internal {
        if (signer == address(0)) revert CourtRegistryZeroSigner();
        if (_signers[signer].court != 0) revert CourtRegistrySignerExists(signer, _signers[signer].court);
        if (c.signerCount >= MAX_SIGNERS) revert CourtRegistryTooManySigners(court);
        ++c.signerCount;
        uint40 nowTime = uint40(block.timestamp);
        _signers[signer] = Signer({court: court, validFrom: nowTime, validUntil: 0});
        _courtSigners[court].push(signer);
        _allSigners.push(signer);
        emit SignerAdded(court, signer, nowTime);
        _syncSigner(signer);
    }

    /// @dev Whether `signer` may write now, as the attached registries must know it.
    function _writerState(address signer) internal view returns (ICourtAuthorized.WriterState) {
        Signer storage s = _signers[signer];
        if (s.validUntil != 0) return ICourtAuthorized.WriterState.SignerRetired;
        CourtStatus status = _courts[s.court].status;
        // Enum statuses, not times (slither's incorrect-equality is a false positive on both lines).
        // slither-disable-next-line incorrect-equality
        if (status == CourtStatus.Suspended) return ICourtAuthorized.WriterState.CourtSuspended;
        // slither-disable-next-line incorrect-equality
        if (status == CourtStatus.Retired) return ICourtAuthorized.WriterState.CourtRetired;
        return ICourtAuthorized.WriterState.Active;
    }

    function _syncSigner(address signer) internal {
        ICourtAuthorized.WriterState state = _writerState(signer);
        uint32 court = _signers[signer].court;
        uint256 n = _registries.length;
        for (uint256 i = 0; i < n; ++i) {
            _registries[i].syncWriter(signer, court, state);
        }
    }

    function _syncCourt(uint32 court) internal {
        address[] storage signers = _courtSigners[court];
        uint256 n = signers.length;
        for (uint256 i = 0; i < n; ++i) {
            _syncSigner(signers[i]);
        }
    }

    function _existingCourt(uint32 court) internal view returns (Court storage c) {
        c = _courts[court];
        if (c.status == CourtStatus.None) revert CourtRegistryUnknownCourt(court);
    }

    /// @dev "CC-R", "CC-RR" or "CC-RRR" in upper-case ASCII letters or digits, zero-padded on the right.
    function _isJurisdiction(bytes8 j) internal pure returns (bool) {
        if (!_isUpper(j[0]) || !_isUpper(j[1]) || j[2] != "-") return false;
        uint256 len = 3;
        while (len < 8 && j[len] != 0) {
            bytes1 ch = j[len];
            if (!_isUpper(ch) && !(ch >= "0" && ch <= "9")) return false;
            ++len;
        }
        if (len < 4 || len > 6) return false;
        for (uint256 i = len; i < 8; ++i) {
            if (j[i] != 0) return false;
        }
        return true;
    }

    function _isUpper(bytes1 ch) internal pure returns (bool) {
        return ch >= "A" && ch <= "Z";
    }
}
