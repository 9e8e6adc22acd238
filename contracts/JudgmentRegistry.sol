// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IJudgmentRegistry} from "./interfaces/IJudgmentRegistry.sol";
import {IJudgmentDossiers} from "./interfaces/IJudgmentDossiers.sol";
import {ICourtRegistry} from "./interfaces/ICourtRegistry.sol";
import {CourtAuthorized} from "./utils/CourtAuthorized.sol";

/// @title JudgmentRegistry
/// @notice Judgments, their status history and their dossiers (Hague 2019, art. 12).
/// @dev Gas: one new storage slot per judgment (court, status, times and change counter packed); every
/// other field lives in the event and is bound by the id, which is the EIP-712 struct hash of all fields.
contract JudgmentRegistry is IJudgmentRegistry, CourtAuthorized {
    /// @notice EIP-712 type of a judgment; its struct hash is the judgment id.
    bytes32 public constant JUDGMENT_TYPEHASH = keccak256(
        "Judgment(uint32 court,bytes32 caseNumberDigest,bytes32 documentDigest,bytes32 partiesCommitment,"
        "uint128 amount,bytes3 currency,uint40 judgmentDate,uint40 effectiveDate)"
    );

    /// @notice EIP-712 type of a status change.
    bytes32 public constant STATUS_CHANGE_TYPEHASH =
        keccak256("StatusChange(bytes32 judgmentId,uint8 status,bytes32 supersededBy,uint32 sequence)");

    /// @notice EIP-712 type of a dossier version.
    bytes32 public constant DOSSIER_TYPEHASH = keccak256(
        "Dossier(bytes32 judgmentId,bool byDefault,bytes32 completeCopy,bytes32 proofOfService,"
        "bytes32 translationsRoot,uint32 sequence)"
    );

    /// @dev A judgment's dossier versions: their number and the struct hash of the latest.
    struct DossierState {
        uint32 versions;
        bytes32 latest;
    }

    mapping(bytes32 id => JudgmentRecord) private _records;
    mapping(bytes32 id => bytes32 successor) private _supersededBy;
    mapping(bytes32 id => DossierState) private _dossiers;

    /// @param courtRegistry_ the court registry deciding who may write
    constructor(ICourtRegistry courtRegistry_) CourtAuthorized(courtRegistry_, "JudgmentRegistry", "1") {}

    /// @inheritdoc IJudgmentRegistry
    function recordJudgment(Judgment calldata judgment) external returns (bytes32 id) {
        _requireSameCourt(judgment.court, _senderCourt());
        return _record(judgment, _hashJudgment(judgment));
    }

    /// @inheritdoc IJudgmentRegistry
    function recordJudgmentBySig(Judgment calldata judgment, bytes calldata signature) external returns (bytes32 id) {
        id = _hashJudgment(judgment);
        _requireSameCourt(judgment.court, _signerCourt(id, signature));
        return _record(judgment, id);
    }

    /// @inheritdoc IJudgmentRegistry
    function changeStatus(StatusChange calldata change) external {
        _changeStatus(change, _senderCourt());
    }

    /// @inheritdoc IJudgmentRegistry
    function changeStatusBySig(StatusChange calldata change, bytes calldata signature) external {
        _changeStatus(change, _signerCourt(_hashStatusChange(change), signature));
    }

    /// @inheritdoc IJudgmentDossiers
    function fileDossier(Dossier calldata dossier) external returns (bytes32 dossierHash) {
        dossierHash = _hashDossier(dossier);
        _fileDossier(dossier, dossierHash, _senderCourt());
    }

    /// @inheritdoc IJudgmentDossiers
    function fileDossierBySig(Dossier calldata dossier, bytes calldata signature)
        external
        returns (bytes32 dossierHash)
    {
        dossierHash = _hashDossier(dossier);
        _fileDossier(dossier, dossierHash, _signerCourt(dossierHash, signature));
    }

    /// @inheritdoc IJudgmentDossiers
    function dossierOf(bytes32 id) external view returns (uint32 versions, bytes32 latest) {
        DossierState storage d = _dossiers[id];
        return (d.versions, d.latest);
    }

    /// @inheritdoc IJudgmentRegistry
    function judgmentRecord(bytes32 id) external view returns (JudgmentRecord memory) {
        return _records[id];
    }

    /// @inheritdoc IJudgmentRegistry
    function supersededBy(bytes32 id) external view returns (bytes32 successor) {
        return _supersededBy[id];
    }

    /// @inheritdoc IJudgmentRegistry
    function judgmentId(Judgment calldata judgment) external pure returns (bytes32) {
        return _hashJudgment(judgment);
    }

    /// @inheritdoc IJudgmentRegistry
    function version() external pure returns (string memory) {
        return "1.1.0";
    }

    function _record(Judgment calldata j, bytes32 id) internal returns (bytes32) {
        if (j.caseNumberDigest == 0 || j.documentDigest == 0 || j.partiesCommitment == 0) {
            revert JudgmentRegistryZeroDigest();
        }
        if (j.effectiveDate == 0 || j.effectiveDate < j.judgmentDate) {
            revert JudgmentRegistryInvalidDates(j.judgmentDate, j.effectiveDate);
        }
        if (!_isCurrency(j.currency)) revert JudgmentRegistryInvalidCurrency(j.currency);
        JudgmentRecord storage r = _records[id];
        if (r.status != JudgmentStatus.None) revert JudgmentRegistryAlreadyRecorded(id);
        uint40 nowTime = uint40(block.timestamp);
        _records[id] = JudgmentRecord({
            court: j.court,
            status: JudgmentStatus.Effective,
            recordedAt: nowTime,
            statusChangedAt: nowTime,
            changes: 0
        });
        emit JudgmentRecorded(
            id,
            j.court,
            j.caseNumberDigest,
            j.documentDigest,
            j.partiesCommitment,
            j.amount,
            j.currency,
            j.judgmentDate,
            j.effectiveDate
        );
        return id;
    }

    function _changeStatus(StatusChange calldata change, uint32 actingCourt) internal {
        bytes32 id = change.judgmentId;
        JudgmentRecord storage r = _records[id];
        JudgmentStatus from = r.status;
        if (from == JudgmentStatus.None) revert JudgmentRegistryUnknownJudgment(id);
        _requireAuthority(actingCourt, r.court);
        if (change.sequence != r.changes) revert JudgmentRegistryOutOfSequence(id, r.changes, change.sequence);
        if (!_allowed(from, change.status)) revert JudgmentRegistryInvalidTransition(id, from, change.status);
        if (change.status == JudgmentStatus.Superseded) {
            bytes32 successor = change.supersededBy;
            if (successor == id || _records[successor].status == JudgmentStatus.None) {
                revert JudgmentRegistryInvalidSuccessor(id, successor);
            }
            _supersededBy[id] = successor;
        } else if (change.supersededBy != 0) {
            revert JudgmentRegistryInvalidSuccessor(id, change.supersededBy);
        }
        r.status = change.status;
        r.statusChangedAt = uint40(block.timestamp);
        r.changes = change.sequence + 1;
        emit JudgmentStatusChanged(id, actingCourt, from, change.status, change.supersededBy, change.sequence);
    }

    function _fileDossier(Dossier calldata d, bytes32 dossierHash, uint32 actingCourt) internal {
        bytes32 id = d.judgmentId;
        JudgmentRecord storage r = _records[id];
        if (r.status == JudgmentStatus.None) revert JudgmentRegistryUnknownJudgment(id);
        _requireAuthority(actingCourt, r.court);
        DossierState storage state = _dossiers[id];
        if (d.sequence != state.versions) revert JudgmentDossierOutOfSequence(id, state.versions, d.sequence);
        if (d.completeCopy == 0) revert JudgmentDossierNoCompleteCopy(id);
        if (d.byDefault && d.proofOfService == 0) revert JudgmentDossierNoProofOfService(id);
        state.versions = d.sequence + 1;
        state.latest = dossierHash;
        emit DossierFiled(
            id, actingCourt, d.byDefault, d.completeCopy, d.proofOfService, d.translationsRoot, d.sequence
        );
    }

    /// @dev Effective -> under appeal (retrial), set aside, superseded, satisfied, stayed; under appeal ->
    /// effective (upheld), set aside, superseded, stayed; stayed -> effective (stay lifted), set aside,
    /// superseded; satisfied -> set aside (retrial); set aside and superseded are final.
    function _allowed(JudgmentStatus from, JudgmentStatus to) internal pure returns (bool) {
        if (from == JudgmentStatus.Effective) {
            return to == JudgmentStatus.UnderAppeal || to == JudgmentStatus.SetAside
                || to == JudgmentStatus.Superseded || to == JudgmentStatus.Satisfied || to == JudgmentStatus.Stayed;
        }
        if (from == JudgmentStatus.UnderAppeal) {
            return to == JudgmentStatus.Effective || to == JudgmentStatus.SetAside || to == JudgmentStatus.Superseded
                || to == JudgmentStatus.Stayed;
        }
        if (from == JudgmentStatus.Stayed) {
            return to == JudgmentStatus.Effective || to == JudgmentStatus.SetAside || to == JudgmentStatus.Superseded;
        }
        if (from == JudgmentStatus.Satisfied) return to == JudgmentStatus.SetAside;
        return false;
    }

    function _hashJudgment(Judgment calldata j) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                JUDGMENT_TYPEHASH,
                j.court,
                j.caseNumberDigest,
                j.documentDigest,
                j.partiesCommitment,
                j.amount,
                j.currency,
                j.judgmentDate,
                j.effectiveDate
            )
        );
    }

    function _hashStatusChange(StatusChange calldata c) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(STATUS_CHANGE_TYPEHASH, c.judgmentId, uint8(c.status), c.supersededBy, c.sequence)
        );
    }

    function _hashDossier(Dossier calldata d) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                DOSSIER_TYPEHASH, d.judgmentId, d.byDefault, d.completeCopy, d.proofOfService, d.translationsRoot,
                d.sequence
            )
        );
    }

    function _isCurrency(bytes3 c) internal pure returns (bool) {
        return _isUpper(c[0]) && _isUpper(c[1]) && _isUpper(c[2]);
    }

    function _isUpper(bytes1 b) internal pure returns (bool) {
        return b >= "A" && b <= "Z";
    }
}
