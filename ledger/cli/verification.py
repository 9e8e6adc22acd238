"""``ledger verify`` (a certificate or credential, step by step), ``ledger trust-descriptor`` (the signed
network descriptor a verifier trusts) and ``ledger certificate`` (a record's certificate built from the chain)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.base import DEFAULT_DIR, ChainSpec, DataDir, app, out
from ledger.cli.context import open_context
from ledger.cli.params import hex32


@app.command()
def verify(
    certificate: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    document: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    rpc: Annotated[str | None, typer.Option(help="Node URL for online checks; omit to verify offline.")] = None,
    trust: Annotated[Path | None, typer.Option(help="Signed network descriptor (JSON) to trust.")] = None,
    governor: Annotated[str | None, typer.Option(help="Pinned governance address that signed --trust.")] = None,
    at: Annotated[int | None, typer.Option(help="Answer 'in force' as of this unix time instead of now.")] = None,
    unsafe_trust_any: bool = typer.Option(False, help="Trust any deployment (development only)."),
    lang: Annotated[str, typer.Option(help="Language of the messages: en, zh or fr.")] = "en",
) -> None:
    """Verify a certificate or its Verifiable Credential (and document) step by step: authentic? in force?

    Exit code: 0 authentic and in force; 3 authentic but not in force; 1 not authentic (a step failed);
    4 offline only (the signature holds; the chain was not asked); 2 bad usage.
    """
    from ledger.errors import ConfigurationError, VerificationError
    from ledger.messages import LANGUAGES, text
    from ledger.verify import EXIT_CODES, NetworkDescriptor, TrustAnchors, UnsafeTrustAnyNetwork, verify_certificate

    if lang not in LANGUAGES:
        raise typer.BadParameter(f"--lang is one of {', '.join(LANGUAGES)}")
    if at is not None and rpc is None:
        raise typer.BadParameter("--at needs --rpc: the state at a time is read from the chain")
    if unsafe_trust_any:
        anchors: TrustAnchors = UnsafeTrustAnyNetwork()
    elif trust and governor:
        try:
            anchors = TrustAnchors.from_descriptors([NetworkDescriptor.model_validate_json(trust.read_text())],
                                                    [governor])
        except (ConfigurationError, ValueError) as exc:
            raise typer.BadParameter(f"--trust: {exc}") from None
    else:
        raise typer.BadParameter("give --trust FILE and --governor ADDRESS (or --unsafe-trust-any)")
    try:
        result = verify_certificate(certificate.read_bytes(), trust=anchors, rpc=rpc, at=at,
                                    document=document.read_bytes() if document else None)
    except VerificationError as exc:
        exc = exc.localized(lang)
        for step in getattr(exc, "steps", []):
            out.print(f"  [green]✓[/green] {step.name:<11} {step.detail}")
        out.print(f"  [red]✗[/red] {exc.step:<11} {exc.reason}")
        out.print(f"[red]{text('verdict.not_authentic', lang, step=exc.step)}[/red]")
        raise typer.Exit(EXIT_CODES["not_authentic"]) from None
    for step in result.steps:
        out.print(f"  [green]✓[/green] {step.name:<11} {step.localized(lang).detail}")
    effect = result.effect()
    if effect is not None:
        out.print(f"  {effect.render(lang)}")
    summary = result.summary_in(lang)
    if not result.online:
        for claim in result.proves:
            out.print(f"  {text('verdict.proved_offline', lang, claim=claim.render(lang))}")
        for claim in result.does_not_prove:
            out.print(f"  [yellow]{text('verdict.not_proved_offline', lang, claim=claim.render(lang))}[/yellow]")
        out.print(f"[yellow]{text('verdict.offline', lang)}[/yellow]: {summary}")
    elif result.in_force:
        out.print(f"[green]{text('verdict.in_force', lang)}[/green]: {summary}")
    else:
        out.print(f"[green]{text('verdict.authentic', lang)}[/green] · "
                  f"[red]{text('verdict.not_in_force', lang, state=result.state)}[/red]: {summary}")
    raise typer.Exit(result.exit_code)


@app.command("trust-descriptor")
def trust_descriptor(
    name: Annotated[str, typer.Option(help="Network name, e.g. cn-courts-test")],
    output: Annotated[Path, typer.Option("--out")] = Path("network.json"),
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Write the network descriptor of this deployment, signed by the governance key."""
    from ledger.deployment import load_deployment
    from ledger.verify import NetworkDescriptor

    ctx = open_context(data_dir, chain)
    governor = ctx.governor()
    descriptor = NetworkDescriptor.from_deployment(load_deployment(ctx.ws.deployment_path), name).signed(governor)
    output.write_text(descriptor.model_dump_json(indent=2))
    out.print(f"descriptor written to {output}; governance address {governor.address}")


@app.command()
def certificate(
    record_id: Annotated[str, typer.Argument(
        help="A judgment's, an enforcement case's or a listing's record id (0x + 64 hex digits).")],
    case_number: Annotated[str | None, typer.Option(
        help="A judgment's or a case's case number, to open its case-number digest: the certificate then carries "
             "the case number and its salt (needs this data dir's case-number key).")] = None,
    output: Annotated[Path | None, typer.Option("--out", help="Write the certificate here (default: print).")] = None,
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Build the certificate (format 2) of a confirmed judgment, enforcement case or listing from the chain and
    this data dir; a case's actions and a listing's state are those of the last block indexed."""
    from ledger.index import Index, Indexer
    from ledger.issuing import Issuer

    ctx = open_context(data_dir, chain)
    rid = hex32(record_id, "record id")
    with Index(ctx.ws.index_path) as index:
        indexed = Indexer(ctx.ledger, index).sync().to_block
        case_key = ctx.ws.secrets().case_key if case_number is not None else None
        cert = Issuer(ctx.ledger, index, indexed, ctx.workspace_key, case_key).certificate(rid, case_number)
    if output is None:
        print(cert.to_json())
    else:
        output.write_text(cert.to_json())
        out.print(f"certificate of 0x{rid.hex()} ({cert.kind}) written to {output}")
