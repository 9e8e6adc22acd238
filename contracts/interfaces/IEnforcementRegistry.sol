// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Enforcement registry
/// @notice An enforcement case tied to a judgment, with the amount due and recovered, and an append-only
/// list of actions. A state machine rejects impossible sequences, each with its own error.
/// @dev A case's id is the EIP-712 struct hash of its filing; an action's sequence is the case's action
/// counter, so actions are totally ordered and a signed action cannot be replayed. Every action also
/// extends the case's history hash, `h' = keccak256(abi.encode(h, actionHash))`, which lets a verifier
/// check a full list of actions against one stored word.
/// Who may enforce a judgment: its own court; a court above it on the appellate chain (提级执行); or a court
/// the judgment's court (or a court above it) has delegated enforcement to on chain (委托执行, see
/// `delegateEnforcement`). Any other court's filing reverts with `EnforcementRegistryNotEnforcingCourt`.
/// Example: `openCase(Filing(110105, judgmentId, keccak256("(2019)京0105执2345号"), 1300000, 1546300800))`,
/// then `recordAction(Action(caseId, 0, AssetInquiry, 0, 0x0003, docDigest, 0))`, ... `Conclusion`.
interface IEnforcementRegistry {
    /// @notice Lifecycle of a case. Terminated is "终结本次执行程序" (no assets for now; may resume).
    enum CaseState {
        None,
        Open,
        Terminated,
        Concluded
    }

    /// @notice The kinds of enforcement action (2022 SPC opinion on judicial blockchain).
    /// `amount` carries money for Deduction, Valuation, AuctionListed (start price), AuctionSold (price),
    /// PaymentReceived and Disbursement; `detail` carries the asset categories found (bitmask of 16
    /// categories) for AssetInquiry, `rounds << 32 | extensions` for AuctionSold, and zero otherwise.
    enum ActionKind {
        Notice,
        PropertyReportOrder,
        AssetInquiry,
        Freeze,
        Seal,
        Seize,
        Deduction,
        Valuation,
        AuctionListed,
        AuctionSold,
        AuctionFailed,
        PaymentReceived,
        Disbursement,
        Settlement,
        ConsumptionRestriction,
        DefaulterListing,
        TerminationNoAssets,
        Resumption,
        Conclusion
    }

    /// @notice The filing of a case, signed by the enforcing court.
    struct Filing {
        uint32 court;
        bytes32 judgmentId;
        bytes32 caseNumberDigest;
        uint128 amountDue;
        uint40 filedAt;
    }

    /// @notice One action on a case.
    /// @param caseId the case
    /// @param sequence the case's action counter before this action
    /// @param kind the kind of action
    /// @param amount money in minor units, see ActionKind
    /// @param detail kind-specific detail, see ActionKind
    /// @param documentDigest SHA-256 of the order, notice or report behind the action (zero if none)
    /// @param flags bit 0: the court acknowledges that recovery exceeds the amount due (interest, costs)
    struct Action {
        bytes32 caseId;
        uint32 sequence;
        ActionKind kind;
        uint128 amount;
        uint64 detail;
        bytes32 documentDigest;
        uint8 flags;
    }

    /// @notice A case as stored.
    struct CaseRecord {
        uint32 court;
        CaseState state;
        uint32 actions;
        uint40 openedAt;
        uint40 updatedAt;
        bool assetsInquired;
        uint16 pendingAuctions;
        uint128 amountDue;
        uint128 amountRecovered;
        uint128 amountDisbursed;
        bytes32 judgmentId;
        bytes32 historyHash;
    }

    /// @notice Emitted when a case is filed.
    event CaseOpened(
        bytes32 indexed caseId,
        uint32 indexed court,
        bytes32 indexed judgmentId,
        bytes32 caseNumberDigest,
        uint128 amountDue,
        uint40 filedAt
    );

    /// @notice Emitted when a court grants or withdraws a delegation of enforcement (委托执行) of a judgment.
    event EnforcementDelegated(
        bytes32 indexed judgmentId, uint32 indexed byCourt, uint32 indexed delegate, bool granted
    );

    /// @notice Emitted for every action, with the state and amounts after it.
    event ActionRecorded(
        bytes32 indexed caseId,
        uint32 indexed sequence,
        ActionKind indexed kind,
        uint128 amount,
        uint64 detail,
        bytes32 documentDigest,
        uint8 flags,
        CaseState state,
        uint128 amountRecovered,
        bytes32 historyHash
    );

    /// @notice A case with this id is already open.
    error EnforcementRegistryCaseExists(bytes32 caseId);
    /// @notice No case with this id.
    error EnforcementRegistryUnknownCase(bytes32 caseId);
    /// @notice The judgment is unknown or not effective, so it cannot be enforced.
    error EnforcementRegistryJudgmentNotEnforceable(bytes32 judgmentId, uint8 status);
    /// @notice The filing court is neither the judgment's court, nor above it on the appellate chain, nor
    /// holding a delegation of its enforcement.
    error EnforcementRegistryNotEnforcingCourt(bytes32 judgmentId, uint32 court, uint32 judgmentCourt);
    /// @notice A delegation to court 0, to the judgment's own court, or to a court the registry does not know.
    error EnforcementRegistryInvalidDelegate(bytes32 judgmentId, uint32 delegate);
    /// @notice No judgment with this id.
    error EnforcementRegistryUnknownJudgment(bytes32 judgmentId);
    /// @notice The amount due is zero.
    error EnforcementRegistryZeroAmountDue();
    /// @notice The action's sequence is not the case's action counter.
    error EnforcementRegistryOutOfSequence(bytes32 caseId, uint32 expected, uint32 given);
    /// @notice The case is concluded; nothing more can happen on it.
    error EnforcementRegistryCaseConcluded(bytes32 caseId);
    /// @notice The case is terminated for lack of assets; only Resumption is allowed.
    error EnforcementRegistryCaseTerminated(bytes32 caseId);
    /// @notice Resumption of a case that is not terminated.
    error EnforcementRegistryCaseNotTerminated(bytes32 caseId);
    /// @notice A money action with a zero amount.
    error EnforcementRegistryZeroAmount(bytes32 caseId, ActionKind kind);
    /// @notice An amount on an action that carries no money.
    error EnforcementRegistryUnexpectedAmount(bytes32 caseId, ActionKind kind, uint128 amount);
    /// @notice Recovery above the amount due without the acknowledgement flag.
    error EnforcementRegistryRecoveryExceedsDue(bytes32 caseId, uint128 due, uint128 recovered, uint128 amount);
    /// @notice Disbursement of more than was recovered.
    error EnforcementRegistryDisbursementExceedsRecovered(
        bytes32 caseId, uint128 recovered, uint128 disbursed, uint128 amount
    );
    /// @notice An auction sold or failed with no auction listed.
    error EnforcementRegistryNoAuctionListed(bytes32 caseId);
    /// @notice Termination for lack of assets before any asset inquiry.
    error EnforcementRegistryAssetInquiryRequired(bytes32 caseId);
    /// @notice Asset categories outside the 16 defined ones, or an inquiry detail of the wrong shape.
    error EnforcementRegistryInvalidDetail(bytes32 caseId, ActionKind kind, uint64 detail);
    /// @notice Flags other than bit 0 set, or bit 0 on an action that recovers nothing.
    error EnforcementRegistryInvalidFlags(bytes32 caseId, uint8 flags);

    /// @notice Opens a case; sender: a signer of `filing.court`.
    /// @param filing the filing
    /// @return caseId the case id (EIP-712 struct hash of the filing)
    function openCase(Filing calldata filing) external returns (bytes32 caseId);

    /// @notice Opens a case signed by the court and sent by anyone.
    /// @param filing the filing
    /// @param signature the court signer's EIP-712 signature over `filing`
    /// @return caseId the case id
    function openCaseBySig(Filing calldata filing, bytes calldata signature) external returns (bytes32 caseId);

    /// @notice Grants (or withdraws) enforcement of a judgment to another court (委托执行); sender: a signer
    /// of the judgment's court or of a court above it. Withdrawal stops new filings; open cases continue.
    /// @param judgmentId the judgment
    /// @param delegate the court entrusted with its enforcement
    /// @param granted true to grant, false to withdraw
    function delegateEnforcement(bytes32 judgmentId, uint32 delegate, bool granted) external;

    /// @notice Whether `court` may open enforcement cases on the judgment `judgmentId`.
    /// @param judgmentId the judgment
    /// @param court the court
    /// @return allowed true for the judgment's court, a court above it, or a delegate
    function mayEnforce(bytes32 judgmentId, uint32 court) external view returns (bool allowed);

    /// @notice Appends an action; sender: a signer of the case's court or of a court above it.
    /// @param action the action
    /// @return actionHash the EIP-712 struct hash of the action
    function recordAction(Action calldata action) external returns (bytes32 actionHash);

    /// @notice Appends an action signed by the court and sent by anyone.
    /// @param action the action
    /// @param signature the court signer's EIP-712 signature over `action`
    /// @return actionHash the EIP-712 struct hash of the action
    function recordActionBySig(Action calldata action, bytes calldata signature) external returns (bytes32 actionHash);

    /// @notice The stored case (state None when unknown).
    /// @param caseId the case id
    /// @return the case
    function caseRecord(bytes32 caseId) external view returns (CaseRecord memory);

    /// @notice The id of a filing.
    /// @param filing the filing
    /// @return the case id
    function caseId(Filing calldata filing) external pure returns (bytes32);

    /// @notice The contract's semantic version.
    /// @return the version string
    function version() external pure returns (string memory);
}
