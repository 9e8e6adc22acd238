// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IEnforcementRegistry} from "./interfaces/IEnforcementRegistry.sol";
import {IJudgmentRegistry} from "./interfaces/IJudgmentRegistry.sol";
import {ICourtRegistry} from "./interfaces/ICourtRegistry.sol";
import {CourtAuthorized} from "./utils/CourtAuthorized.sol";

/// @title EnforcementRegistry
/// @notice Enforcement cases and their actions, with the rules that keep the sequence possible.
contract EnforcementRegistry is IEnforcementRegistry, CourtAuthorized {
    /// @notice EIP-712 type of a filing; its struct hash is the case id.
    bytes32 public constant FILING_TYPEHASH = keccak256(
        "Filing(uint32 court,bytes32 judgmentId,bytes32 caseNumberDigest,uint128 amountDue,uint40 filedAt)"
    );
    /// @notice EIP-712 type of an action.
    bytes32 public constant ACTION_TYPEHASH = keccak256(
        "Action(bytes32 caseId,uint32 sequence,uint8 kind,uint128 amount,uint64 detail,bytes32 documentDigest,"
        "uint8 flags)"
    );
    /// @notice Flag: the court acknowledges recovery above the amount due.
    uint8 public constant FLAG_EXCESS_ACKNOWLEDGED = 1;
    /// @notice Mask of the 16 asset categories of the online inquiry network.
    uint64 public constant ASSET_CATEGORY_MASK = 0xFFFF;

    IJudgmentRegistry private immutable _judgments;
    mapping(bytes32 caseId => CaseRecord) private _cases;
    mapping(bytes32 judgmentId => mapping(uint32 court => bool)) private _delegates;

    /// @param courtRegistry_ the court registry
    /// @param judgments_ the judgment registry whose judgments are enforced
    constructor(ICourtRegistry courtRegistry_, IJudgmentRegistry judgments_)
        CourtAuthorized(courtRegistry_, "EnforcementRegistry", "1")
    {
        _judgments = judgments_;
    }

    /// @notice The judgment registry this registry enforces.
    /// @return the registry
    function judgmentRegistry() external view returns (IJudgmentRegistry) {
        return _judgments;
    }

    /// @inheritdoc IEnforcementRegistry
    function openCase(Filing calldata filing) external returns (bytes32) {
        _requireSameCourt(filing.court, _senderCourt());
        return _open(filing, _hashFiling(filing));
    }

    /// @inheritdoc IEnforcementRegistry
    function openCaseBySig(Filing calldata filing, bytes calldata signature) external returns (bytes32 id) {
        id = _hashFiling(filing);
        _requireSameCourt(filing.court, _signerCourt(id, signature));
        return _open(filing, id);
    }

    /// @inheritdoc IEnforcementRegistry
    function recordAction(Action calldata action) external returns (bytes32) {
        return _act(action, _hashAction(action), _senderCourt());
    }

    /// @inheritdoc IEnforcementRegistry
    function recordActionBySig(Action calldata action, bytes calldata signature) external returns (bytes32 h) {
        h = _hashAction(action);
        return _act(action, h, _signerCourt(h, signature));
    }

    /// @inheritdoc IEnforcementRegistry
    function delegateEnforcement(bytes32 judgmentId, uint32 delegate, bool granted) external {
        _delegateEnforcement(judgmentId, delegate, granted, _senderCourt());
    }

    /// @inheritdoc IEnforcementRegistry
    function mayEnforce(bytes32 judgmentId, uint32 court) external view returns (bool) {
        uint32 judgmentCourt = _judgments.judgmentRecord(judgmentId).court;
        return judgmentCourt != 0 && _mayEnforce(judgmentId, court, judgmentCourt);
    }

    /// @inheritdoc IEnforcementRegistry
    function caseRecord(bytes32 id) external view returns (CaseRecord memory) {
        return _cases[id];
    }

    /// @inheritdoc IEnforcementRegistry
    function caseId(Filing calldata filing) external pure returns (bytes32) {
        return _hashFiling(filing);
    }

    /// @inheritdoc IEnforcementRegistry
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    function _open(Filing calldata f, bytes32 id) internal returns (bytes32) {
        if (_cases[id].state != CaseState.None) revert EnforcementRegistryCaseExists(id);
        if (f.amountDue == 0) revert EnforcementRegistryZeroAmountDue();
        IJudgmentRegistry.JudgmentRecord memory judgment = _judgments.judgmentRecord(f.judgmentId);
        if (judgment.status != IJudgmentRegistry.JudgmentStatus.Effective) {
            revert EnforcementRegistryJudgmentNotEnforceable(f.judgmentId, uint8(judgment.status));
        }
        if (!_mayEnforce(f.judgmentId, f.court, judgment.court)) {
            revert EnforcementRegistryNotEnforcingCourt(f.judgmentId, f.court, judgment.court);
        }
        CaseRecord storage c = _cases[id];
        c.court = f.court;
        c.state = CaseState.Open;
        c.openedAt = uint40(block.timestamp);
        c.updatedAt = uint40(block.timestamp);
        c.amountDue = f.amountDue;
        c.judgmentId = f.judgmentId;
        c.historyHash = id;
        emit CaseOpened(id, f.court, f.judgmentId, f.caseNumberDigest, f.amountDue, f.filedAt);
        return id;
    }

    function _delegateEnforcement(bytes32 judgmentId, uint32 delegate, bool granted, uint32 actingCourt) internal {
        uint32 judgmentCourt = _judgments.judgmentRecord(judgmentId).court;
        if (judgmentCourt == 0) revert EnforcementRegistryUnknownJudgment(judgmentId);
        _requireAuthority(actingCourt, judgmentCourt);
        if (
            delegate == 0 || delegate == judgmentCourt
                || _courtRegistry.courtInfo(delegate).status == ICourtRegistry.CourtStatus.None
        ) revert EnforcementRegistryInvalidDelegate(judgmentId, delegate);
        _delegates[judgmentId][delegate] = granted;
        emit EnforcementDelegated(judgmentId, actingCourt, delegate, granted);
    }

    /// @dev The judgment's court, a court above it on the appellate chain, or a delegate of its enforcement.
    function _mayEnforce(bytes32 judgmentId, uint32 court, uint32 judgmentCourt) internal view returns (bool) {
        return court == judgmentCourt || _delegates[judgmentId][court]
            || _courtRegistry.hasAuthority(court, judgmentCourt);
    }

    function _act(Action calldata a, bytes32 actionHash, uint32 actingCourt) internal returns (bytes32) {
        bytes32 id = a.caseId;
        CaseRecord storage c = _cases[id];
        if (c.state == CaseState.None) revert EnforcementRegistryUnknownCase(id);
        _requireAuthority(actingCourt, c.court);
        if (a.sequence != c.actions) revert EnforcementRegistryOutOfSequence(id, c.actions, a.sequence);
        if (c.state == CaseState.Concluded) revert EnforcementRegistryCaseConcluded(id);
        if (c.state == CaseState.Terminated && a.kind != ActionKind.Resumption) {
            revert EnforcementRegistryCaseTerminated(id);
        }
        if (a.flags & ~FLAG_EXCESS_ACKNOWLEDGED != 0) revert EnforcementRegistryInvalidFlags(id, a.flags);
        bool recovers = a.kind == ActionKind.Deduction || a.kind == ActionKind.PaymentReceived;
        if (a.flags != 0 && !recovers) revert EnforcementRegistryInvalidFlags(id, a.flags);
        _apply(c, a, id, recovers);
        c.actions = a.sequence + 1;
        c.updatedAt = uint40(block.timestamp);
        bytes32 history = keccak256(abi.encode(c.historyHash, actionHash));
        c.historyHash = history;
        emit ActionRecorded(
            id, a.sequence, a.kind, a.amount, a.detail, a.documentDigest, a.flags, c.state, c.amountRecovered, history
        );
        return actionHash;
    }

    /// @dev The rules of one action; reverts on an impossible sequence.
    function _apply(CaseRecord storage c, Action calldata a, bytes32 id, bool recovers) internal {
        ActionKind kind = a.kind;
        bool money = _carriesMoney(kind);
        if (money && a.amount == 0) revert EnforcementRegistryZeroAmount(id, kind);
        if (!money && a.amount != 0) revert EnforcementRegistryUnexpectedAmount(id, kind, a.amount);
        if (kind != ActionKind.AssetInquiry && kind != ActionKind.AuctionSold && a.detail != 0) {
            revert EnforcementRegistryInvalidDetail(id, kind, a.detail);
        }
        if (recovers) {
            uint128 recovered = c.amountRecovered;
            if (recovered + a.amount > c.amountDue && a.flags & FLAG_EXCESS_ACKNOWLEDGED == 0) {
                revert EnforcementRegistryRecoveryExceedsDue(id, c.amountDue, recovered, a.amount);
            }
            c.amountRecovered = recovered + a.amount;
        } else if (kind == ActionKind.Disbursement) {
            if (c.amountDisbursed + a.amount > c.amountRecovered) {
                revert EnforcementRegistryDisbursementExceedsRecovered(
                    id, c.amountRecovered, c.amountDisbursed, a.amount
                );
            }
            c.amountDisbursed += a.amount;
        } else if (kind == ActionKind.AssetInquiry) {
            if (a.detail & ~ASSET_CATEGORY_MASK != 0) revert EnforcementRegistryInvalidDetail(id, kind, a.detail);
            c.assetsInquired = true;
        } else if (kind == ActionKind.AuctionListed) {
            ++c.pendingAuctions;
        } else if (kind == ActionKind.AuctionSold || kind == ActionKind.AuctionFailed) {
            if (c.pendingAuctions == 0) revert EnforcementRegistryNoAuctionListed(id);
            if (kind == ActionKind.AuctionSold && (a.detail >> 32) == 0) {
                revert EnforcementRegistryInvalidDetail(id, kind, a.detail);
            }
            --c.pendingAuctions;
        } else if (kind == ActionKind.TerminationNoAssets) {
            if (!c.assetsInquired) revert EnforcementRegistryAssetInquiryRequired(id);
            c.state = CaseState.Terminated;
        } else if (kind == ActionKind.Resumption) {
            if (c.state != CaseState.Terminated) revert EnforcementRegistryCaseNotTerminated(id);
            c.state = CaseState.Open;
        } else if (kind == ActionKind.Conclusion) {
            c.state = CaseState.Concluded;
        }
    }

    function _carriesMoney(ActionKind kind) internal pure returns (bool) {
        return kind == ActionKind.Deduction || kind == ActionKind.Valuation || kind == ActionKind.AuctionListed
            || kind == ActionKind.AuctionSold || kind == ActionKind.PaymentReceived || kind == ActionKind.Disbursement;
    }

    function _hashFiling(Filing calldata f) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(FILING_TYPEHASH, f.court, f.judgmentId, f.caseNumberDigest, f.amountDue, f.filedAt)
        );
    }

    function _hashAction(Action calldata a) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                ACTION_TYPEHASH, a.caseId, a.sequence, uint8(a.kind), a.amount, a.detail, a.documentDigest, a.flags
            )
        );
    }
}
