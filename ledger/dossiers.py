"""A judgment's dossier for a requested State (Hague Judgments Convention 2019, art. 12): file it, certify it.

Contract: :func:`prepare_dossier` turns the files a court holds (the complete copy, the proof of service
for a default judgment, certified translations by language) into the signed ``Dossier`` struct and the
list of translations its ``translationsRoot`` is computed from; the files' SHA-256 digests are computed
here, locally, and only digests leave the court. :func:`file_dossier` writes the next version with the
court's key (``sequence`` read from the chain: a later version supersedes, e.g. a translation added).
:func:`certify_dossier` makes the certificate's ``dossier`` block as of the chain's head, which
``ledger.certificates.judgment_certificate(..., dossier=block)`` carries and the verifiers check
(docs/verification.md 2.7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.records import ZERO32, Dossier, Translation, sha256_digest, translations_root

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from ledger.client import Ledger, Written

__all__ = ["FiledDossier", "certify_dossier", "file_dossier", "prepare_dossier"]


@dataclass(frozen=True)
class FiledDossier:
    """A dossier version on chain, with what its certificate block needs besides the chain."""

    written: Written
    court: int
    translations: list[Translation]


def prepare_dossier(judgment_id: bytes, *, sequence: int, complete_copy: bytes, by_default: bool = False,
                    proof_of_service: bytes | None = None,
                    translations: dict[str, bytes] | None = None) -> tuple[Dossier, list[Translation]]:
    """The Dossier struct of these files (bytes of each file), and its translations in canonical order.

    Raises ValueError (naming what is wrong, never a file's content) for an empty complete copy, a
    default judgment without proof of service, or a language tag not in its one lower-case spelling.
    """
    if not complete_copy:
        raise ValueError("the complete copy is empty")
    if proof_of_service is not None and not proof_of_service:
        raise ValueError("the proof of service is empty")
    for language, data in (translations or {}).items():
        if not data:
            raise ValueError(f"the {language!r} translation is empty")
    listed = sorted((Translation(language=language, digest=sha256_digest(data))
                     for language, data in (translations or {}).items()), key=lambda t: t.language)
    dossier = Dossier(judgment_id=judgment_id, by_default=by_default, complete_copy=sha256_digest(complete_copy),
                      proof_of_service=sha256_digest(proof_of_service) if proof_of_service else ZERO32,
                      translations_root=translations_root(listed), sequence=sequence)
    return dossier, listed


def file_dossier(ledger: Ledger, signer: LocalAccount, court: int, judgment_id: bytes, *,
                 relayer: LocalAccount | None = None, **files: Any) -> FiledDossier:
    """File the next dossier version of ``judgment_id`` for ``court`` (whose key ``signer`` is); ``files`` as
    :func:`prepare_dossier` takes them. The contract refuses another court's filing (no authority)."""
    sequence = int(ledger.view("JudgmentRegistry", "dossierOf", judgment_id)[0])
    dossier, translations = prepare_dossier(judgment_id, sequence=sequence, **files)
    return FiledDossier(ledger.submit(signer, dossier, relayer=relayer), court, translations)


def certify_dossier(ledger: Ledger, filed: FiledDossier) -> dict[str, Any]:
    """The certificate's dossier block for ``filed``: as of the chain's head when it is the latest version,
    else as of the block before the next version (a named older version; verifiers report the later ones).

    Raises ValueError when the next version was filed in the same block: no block has this one as the latest.
    """
    from ledger.certificates import dossier_block

    w = filed.written
    d = w.record
    assert isinstance(d, Dossier)
    versions = int(ledger.view("JudgmentRegistry", "dossierOf", d.judgment_id)[0])
    block = ledger.w3.eth.get_block("latest")
    if versions > d.sequence + 1:
        number = _next_version_block(ledger, d, w.block_number, int(block["number"])) - 1
        if number < w.block_number:
            raise ValueError(f"dossier version {d.sequence} was superseded in the block that filed it")
        block = ledger.w3.eth.get_block(number)
    return dossier_block(w, filed.court, filed.translations,
                         as_of=(int(block["number"]), "0x" + bytes(block["hash"]).hex()))


def _next_version_block(ledger: Ledger, d: Dossier, start: int, head: int) -> int:
    """The block of the first DossierFiled log of ``d``'s judgment with a greater sequence (bounded ranges)."""
    from ledger.verify import DOSSIER_FILED, _logs, _topic, _uint

    contract = ledger.deployment.address("JudgmentRegistry")
    for log in _logs(ledger.w3, contract, [_topic(DOSSIER_FILED), d.judgment_id], start, head):
        if _uint(bytes(log["data"]), 4) > d.sequence:
            return int(log["blockNumber"])
    raise ValueError("the chain counts a later dossier version but holds no log of it")
