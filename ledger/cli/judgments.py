"""``ledger judgment …``: recording a judgment, changing its status, filing its dossier."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.base import DEFAULT_DIR, ChainSpec, DataDir, judgment_app
from ledger.cli.context import open_context
from ledger.cli.params import enum_member, hex32, money, party_from_text, print_written, save_certificate


@judgment_app.command("record")
def judgment_record(
    court: Annotated[int, typer.Option(help="Issuing court (its key must be in the keystore).")],
    case_number: Annotated[str, typer.Option(help="e.g. (2016)京0102民初1234号")],
    document: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="The signed judgment file.")],
    party: Annotated[list[str], typer.Option(help="ROLE:KIND:ID:NAME; repeat for each party.")],
    amount: Annotated[str, typer.Option(help="Amount in yuan, e.g. 13000.00")],
    judgment_date: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    effective_date: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    currency: str = "CNY",
    certificate: Annotated[Path | None, typer.Option(help="Write the certificate here.")] = None,
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Record a judgment: parties go to the vault, only their salted commitment goes on chain."""
    from ledger.certificates import judgment_certificate

    ctx = open_context(data_dir, chain)
    record = ctx.desk(court).judgment(
        case_number=case_number, document=document.read_bytes(), parties=[party_from_text(p) for p in party],
        amount=money(amount), currency=currency, judgment_date=date.fromisoformat(judgment_date),
        effective_date=date.fromisoformat(effective_date))
    w = ctx.ledger.submit(ctx.signer(court), record)
    print_written(w)
    save_certificate(judgment_certificate(w, ctx.chain.chain_id), certificate)


@judgment_app.command("status")
def judgment_status(
    judgment_id: str,
    status: Annotated[str, typer.Argument(
        help="under_appeal | effective | set_aside | superseded | satisfied | stayed (stay of enforcement)")],
    court: Annotated[int, typer.Option(help="Acting court.")],
    superseded_by: Annotated[str | None, typer.Option(help="The newer judgment's id.")] = None,
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Change a judgment's status (history is appended, nothing is overwritten)."""
    from ledger.records import JudgmentStatus, JudgmentStatusChange

    ctx = open_context(data_dir, chain)
    jid = hex32(judgment_id, "judgment id")
    sequence = ctx.ledger.judgment(jid)["changes"]
    change = JudgmentStatusChange(judgment_id=jid, status=enum_member(JudgmentStatus, status), sequence=sequence,
                                  superseded_by=hex32(superseded_by, "superseded-by") if superseded_by else b"\0" * 32)
    print_written(ctx.ledger.submit(ctx.signer(court), change))


def _translation(text: str) -> tuple[str, bytes]:
    language, sep, path = text.partition("=")
    if not sep or not Path(path).is_file():
        raise typer.BadParameter(f"a translation is LANGUAGE=FILE (e.g. en=judgment.en.pdf); {text!r} is not one")
    return language, Path(path).read_bytes()


@judgment_app.command("dossier")
def judgment_dossier(
    judgment_id: str,
    court: Annotated[int, typer.Option(help="Filing court: the judgment's, or one above it.")],
    complete_copy: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="The complete copy.")],
    by_default: Annotated[bool, typer.Option(help="The judgment was given by default.")] = False,
    proof_of_service: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                          help="Required for a default judgment.")] = None,
    translation: Annotated[list[str] | None, typer.Option(help="LANGUAGE=FILE, e.g. en=judgment.en.pdf; "
                                                               "repeat for each certified translation.")] = None,
    certificate: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                     help="The judgment's certificate, to add the dossier to.")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="Write the certificate with the dossier here.")] = None,
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """File the judgment's next dossier version (Hague 2019 art. 12): the files are hashed here, only their
    SHA-256 digests go on chain. With --certificate, write that certificate with the dossier added."""
    from ledger.certificates import parse_certificate
    from ledger.dossiers import certify_dossier, file_dossier

    jid = hex32(judgment_id, "judgment id")
    if certificate is not None and out_path is None:
        raise typer.BadParameter("--certificate needs --out: where to write the certificate with the dossier")
    base = parse_certificate(certificate.read_text("utf-8")) if certificate is not None else None
    if base is not None and (base.kind != "judgment" or base.record_id != "0x" + jid.hex()):
        raise typer.BadParameter("--certificate is not this judgment's certificate")
    try:
        copy_bytes = complete_copy.read_bytes()
        service_bytes = proof_of_service.read_bytes() if proof_of_service else None
        translations = dict(_translation(t) for t in translation or [])
    except OSError as exc:
        raise typer.BadParameter(f"cannot read a dossier file: {exc.strerror}") from None
    ctx = open_context(data_dir, chain)
    try:
        filed = file_dossier(ctx.ledger, ctx.signer(court), court, jid, complete_copy=copy_bytes,
                             by_default=by_default, proof_of_service=service_bytes, translations=translations)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    print_written(filed.written)
    if base is not None and out_path is not None:
        data = json.loads(base.to_json())
        data["dossier"] = certify_dossier(ctx.ledger, filed)
        save_certificate(parse_certificate(data), out_path)
