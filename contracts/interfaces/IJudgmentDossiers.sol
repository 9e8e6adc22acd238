// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Judgment dossiers (Hague Judgments Convention 2019, art. 12)
/// @notice What a requested State asks for with a judgment, bound to the judgment on chain: the SHA-256 of
/// the complete copy, of the proof of service when the judgment was given by default, and a root over the
/// certified translations. A dossier is filed by the judgment's court or a court with authority over it;
/// a later version (a translation added, a corrected copy) supersedes the earlier one and never erases it.
/// @dev `translationsRoot` is zero when there is no translation, else `keccak256(e_1 ‖ … ‖ e_n)` with
/// `e_i = keccak256(utf8(language_i)) ‖ sha256(translation_i)`, entries in ascending order of their language
/// tags (docs/verification.md, "Dossier"). The contract does not recompute it: verifiers do, from the
/// certificate's list. A dossier's signature is replay-safe: `sequence` must equal the number of dossiers
/// filed before for that judgment, so a signed version is accepted once, and only in its place.
/// Example: `fileDossier(Dossier(id, true, sha256(copy), sha256(service), 0, 0))`, then a translation:
/// `fileDossier(Dossier(id, true, sha256(copy), sha256(service), root([("en", sha256(en))]), 1))`.
interface IJudgmentDossiers {
    /// @notice A version of a judgment's dossier, signed by the filing court.
    /// @param judgmentId the judgment
    /// @param byDefault whether the judgment was given by default (the defendant did not appear)
    /// @param completeCopy SHA-256 of the complete copy of the judgment; never zero
    /// @param proofOfService SHA-256 of the proof of service; required when `byDefault`, else zero allowed
    /// @param translationsRoot root over the certified translations (language, SHA-256), or zero
    /// @param sequence the number of dossiers filed before for this judgment (a nonce and a version)
    struct Dossier {
        bytes32 judgmentId;
        bool byDefault;
        bytes32 completeCopy;
        bytes32 proofOfService;
        bytes32 translationsRoot;
        uint32 sequence;
    }

    /// @notice Emitted for every dossier version, with every field.
    event DossierFiled(
        bytes32 indexed judgmentId,
        uint32 indexed court,
        bool byDefault,
        bytes32 completeCopy,
        bytes32 proofOfService,
        bytes32 translationsRoot,
        uint32 sequence
    );

    /// @notice The complete copy's digest is zero.
    error JudgmentDossierNoCompleteCopy(bytes32 judgmentId);
    /// @notice A default judgment's dossier has no proof of service.
    error JudgmentDossierNoProofOfService(bytes32 judgmentId);
    /// @notice The dossier's sequence is not the number of dossiers filed before.
    error JudgmentDossierOutOfSequence(bytes32 judgmentId, uint32 expected, uint32 given);

    /// @notice Files a dossier version. Sender: a signer of the judgment's court or of a court with
    /// authority over it.
    /// @param dossier the dossier
    /// @return dossierHash its EIP-712 struct hash
    function fileDossier(Dossier calldata dossier) external returns (bytes32 dossierHash);

    /// @notice Same as fileDossier, signed by the filing court and sent by anyone.
    /// @param dossier the dossier
    /// @param signature the filing court signer's EIP-712 signature over `dossier`
    /// @return dossierHash its EIP-712 struct hash
    function fileDossierBySig(Dossier calldata dossier, bytes calldata signature)
        external
        returns (bytes32 dossierHash);

    /// @notice The number of dossier versions filed for a judgment and the struct hash of the latest.
    /// @param judgmentId the judgment
    /// @return versions the number of versions (0: none)
    /// @return latest the latest version's EIP-712 struct hash, or zero
    function dossierOf(bytes32 judgmentId) external view returns (uint32 versions, bytes32 latest);
}
