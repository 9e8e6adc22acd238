// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IJudgmentDossiers} from "./IJudgmentDossiers.sol";

/// @title Judgment registry
/// @notice One record per judgment: issuing court, digests of the case number and the signed document, a
/// salted commitment to the parties (never the parties), amount, currency and dates, and a status whose
/// history is appended, never overwritten.
/// @dev A judgment's id is its EIP-712 struct hash, so anyone holding the fields recomputes it:
/// `id = keccak256(abi.encode(JUDGMENT_TYPEHASH, court, caseNumberDigest, documentDigest, partiesCommitment,
/// amount, currency, judgmentDate, effectiveDate))`. The court's EIP-712 signature over that struct (domain
/// "JudgmentRegistry", version "1", this chain, this contract) travels in the certificate; a relayer may
/// submit it with `recordJudgmentBySig`. A signature cannot be replayed: an id is recorded once, and a
/// status change carries the record's change counter as its nonce.
/// Example: `recordJudgment(Judgment(110105, keccak256("(2016)京0102执1234号"), sha256(pdf), commitment,
/// 1300000, "CNY", 1466985600, 1468195200))` returns the id; later `changeStatus(StatusChange(id,
/// Satisfied, 0, 0))`.
interface IJudgmentRegistry is IJudgmentDossiers {
    /// @notice Status of a judgment. SetAside and Superseded are final. Stayed: enforcement is stayed
    /// (暂缓执行 / 中止执行); the judgment stands but may not be enforced until the stay is lifted.
    enum JudgmentStatus {
        None,
        Effective,
        UnderAppeal,
        SetAside,
        Superseded,
        Satisfied,
        Stayed
    }

    /// @notice The fields a court records and signs.
    /// @param court issuing court id
    /// @param caseNumberDigest keccak256 of the UTF-8 case number, e.g. "(2016)京0102执1234号"
    /// @param documentDigest SHA-256 of the signed judgment file
    /// @param partiesCommitment keccak256 commitment to the parties under a per-record random salt
    /// @param amount amount awarded, in the currency's minor unit (fen for CNY)
    /// @param currency ISO 4217 code in ASCII, e.g. "CNY"
    /// @param judgmentDate unix time (UTC midnight) of the judgment
    /// @param effectiveDate unix time (UTC midnight) it took effect, not before judgmentDate
    struct Judgment {
        uint32 court;
        bytes32 caseNumberDigest;
        bytes32 documentDigest;
        bytes32 partiesCommitment;
        uint128 amount;
        bytes3 currency;
        uint40 judgmentDate;
        uint40 effectiveDate;
    }

    /// @notice A change of status, signed by the acting court.
    /// @param judgmentId the judgment
    /// @param status the new status
    /// @param supersededBy the newer judgment when status is Superseded, else zero
    /// @param sequence the judgment's number of earlier status changes (a nonce)
    struct StatusChange {
        bytes32 judgmentId;
        JudgmentStatus status;
        bytes32 supersededBy;
        uint32 sequence;
    }

    /// @notice A judgment as stored (one slot); the other fields are in the JudgmentRecorded event and
    /// are bound by the id.
    struct JudgmentRecord {
        uint32 court;
        JudgmentStatus status;
        uint40 recordedAt;
        uint40 statusChangedAt;
        uint32 changes;
    }

    /// @notice Emitted once per judgment, with every field, so the index can be rebuilt from logs.
    event JudgmentRecorded(
        bytes32 indexed id,
        uint32 indexed court,
        bytes32 indexed caseNumberDigest,
        bytes32 documentDigest,
        bytes32 partiesCommitment,
        uint128 amount,
        bytes3 currency,
        uint40 judgmentDate,
        uint40 effectiveDate
    );

    /// @notice Emitted on every status change.
    event JudgmentStatusChanged(
        bytes32 indexed id,
        uint32 indexed byCourt,
        JudgmentStatus from,
        JudgmentStatus to,
        bytes32 supersededBy,
        uint32 sequence
    );

    /// @notice A judgment with this id is already recorded.
    error JudgmentRegistryAlreadyRecorded(bytes32 id);
    /// @notice No judgment with this id.
    error JudgmentRegistryUnknownJudgment(bytes32 id);
    /// @notice The effective date is zero or before the judgment date.
    error JudgmentRegistryInvalidDates(uint40 judgmentDate, uint40 effectiveDate);
    /// @notice The currency is not three upper-case ASCII letters.
    error JudgmentRegistryInvalidCurrency(bytes3 currency);
    /// @notice A digest field is zero.
    error JudgmentRegistryZeroDigest();
    /// @notice The status change is not allowed from the current status.
    error JudgmentRegistryInvalidTransition(bytes32 id, JudgmentStatus from, JudgmentStatus to);
    /// @notice The successor of a superseded judgment is missing, unknown or the judgment itself.
    error JudgmentRegistryInvalidSuccessor(bytes32 id, bytes32 supersededBy);
    /// @notice The change's sequence is not the judgment's change counter.
    error JudgmentRegistryOutOfSequence(bytes32 id, uint32 expected, uint32 given);

    /// @notice Records a judgment sent by one of the court's signers.
    /// @param judgment the fields; `judgment.court` must be the sender's court
    /// @return id the judgment id (its EIP-712 struct hash)
    function recordJudgment(Judgment calldata judgment) external returns (bytes32 id);

    /// @notice Records a judgment signed by one of the court's signers and sent by anyone (a relayer).
    /// @param judgment the fields
    /// @param signature the court signer's EIP-712 signature over `judgment`
    /// @return id the judgment id
    function recordJudgmentBySig(Judgment calldata judgment, bytes calldata signature) external returns (bytes32 id);

    /// @notice Changes a judgment's status. Sender: a signer of the issuing court or of a court with
    /// appellate authority over it.
    /// @param change the change
    function changeStatus(StatusChange calldata change) external;

    /// @notice Same as changeStatus, signed by the acting court and sent by anyone.
    /// @param change the change
    /// @param signature the acting court signer's EIP-712 signature over `change`
    function changeStatusBySig(StatusChange calldata change, bytes calldata signature) external;

    /// @notice The stored record (status None when unknown).
    /// @param id the judgment id
    /// @return the record
    function judgmentRecord(bytes32 id) external view returns (JudgmentRecord memory);

    /// @notice The judgment that superseded `id`, or zero.
    /// @param id the judgment id
    /// @return successor the newer judgment id
    function supersededBy(bytes32 id) external view returns (bytes32 successor);

    /// @notice The id (EIP-712 struct hash) of a judgment's fields.
    /// @param judgment the fields
    /// @return the id
    function judgmentId(Judgment calldata judgment) external pure returns (bytes32);

    /// @notice The contract's semantic version.
    /// @return the version string
    function version() external pure returns (string memory);
}
