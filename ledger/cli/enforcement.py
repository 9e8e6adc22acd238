"""``ledger case …`` (enforcement cases, delegations, actions) and ``ledger defaulter …`` (dishonest-debtor
listings: listing, removal, extension, and the restriction check)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.base import DEFAULT_DIR, ChainSpec, DataDir, case_app, defaulter_app, out
from ledger.cli.context import open_context
from ledger.cli.params import enum_member, hex32, money, print_written, save_certificate, subject_from_text


@case_app.command("open")
def case_open(
    court: Annotated[int, typer.Option()],
    judgment: Annotated[str, typer.Option(help="The judgment id enforced.")],
    case_number: Annotated[str, typer.Option()],
    amount_due: Annotated[str, typer.Option(help="In yuan.")],
    filed_at: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Open an enforcement case on an effective judgment."""
    ctx = open_context(data_dir, chain)
    filing = ctx.desk(court).filing(judgment_id=hex32(judgment, "judgment id"), case_number=case_number,
                                    amount_due=money(amount_due), filed_at=date.fromisoformat(filed_at))
    print_written(ctx.ledger.submit(ctx.signer(court), filing))


@case_app.command("delegate")
def case_delegate(
    judgment: Annotated[str, typer.Argument(help="The judgment id whose enforcement is entrusted.")],
    delegate: Annotated[int, typer.Argument(help="The court entrusted with its enforcement.")],
    court: Annotated[int, typer.Option(help="The acting court: the judgment's, or a court above it.")],
    withdraw: Annotated[bool, typer.Option(help="Withdraw the delegation instead.")] = False,
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Entrust a judgment's enforcement to another court (委托执行), or withdraw it; the delegate may then
    open cases on it. Only the judgment's court or a court above it may; the contract refuses anyone else."""
    ctx = open_context(data_dir, chain)
    jid = hex32(judgment, "judgment id")
    ctx.ledger.delegate_enforcement(ctx.signer(court), jid, delegate, not withdraw)
    out.print(f"judgment 0x{jid.hex()}: enforcement by court {delegate} {'withdrawn' if withdraw else 'entrusted'}")


@case_app.command("action")
def case_action(
    case_id: str,
    kind: Annotated[str, typer.Argument(help="notice, asset_inquiry, freeze, payment_received, conclusion, ...")],
    court: Annotated[int, typer.Option()],
    amount: Annotated[str | None, typer.Option(help="In yuan, for money actions.")] = None,
    detail: Annotated[int, typer.Option(help="Asset categories bitmask, or rounds<<32|extensions.")] = 0,
    document: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    acknowledge_excess: bool = False,
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Append an action to a case; impossible sequences are refused by the contract."""
    from ledger.records import Action, ActionKind, sha256_digest

    ctx = open_context(data_dir, chain)
    cid = hex32(case_id, "case id")
    action = Action(case_id=cid, sequence=ctx.ledger.case(cid)["actions"], kind=enum_member(ActionKind, kind),
                    amount=money(amount) if amount else 0, detail=detail,
                    document_digest=sha256_digest(document.read_bytes()) if document else b"\0" * 32,
                    flags=1 if acknowledge_excess else 0)
    print_written(ctx.ledger.submit(ctx.signer(court), action))


@defaulter_app.command("list")
def defaulter_list(
    court: Annotated[int, typer.Option()],
    subject: Annotated[str, typer.Option(help="KIND:ID, e.g. credit_code:91110108MA01ABCDE8")],
    name: Annotated[str, typer.Option(help="Name, kept in the vault only.")],
    case: Annotated[str, typer.Option(help="The enforcement case id.")],
    ground: Annotated[str, typer.Option(help="able_but_refuses, violates_property_report, ...")],
    restrictions: Annotated[str, typer.Option(help="Comma-separated: flights,rail,high_consumption,...")],
    certificate: Annotated[Path | None, typer.Option()] = None,
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """List a dishonest judgment debtor (on chain only by blind index) for 2 years."""
    from ledger.certificates import defaulter_certificate
    from ledger.records import Ground, Restriction

    ctx = open_context(data_dir, chain)
    try:
        ground_value = Ground[ground.upper()]
        restriction_value = Restriction.parse(restrictions)
    except (KeyError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    listing = ctx.desk(court).listing(subject=subject_from_text(subject), display_name=name,
                                      case_id=hex32(case, "case id"), ground=ground_value,
                                      restrictions=restriction_value,
                                      listed_at=ctx.chain.w3.eth.get_block("latest")["timestamp"])
    w = ctx.ledger.submit(ctx.signer(court), listing)
    print_written(w)
    save_certificate(defaulter_certificate(w, ctx.chain.chain_id, as_of=(w.block_number, w.block_hash),
                                           at=w.block_time, until=listing.until), certificate)


@defaulter_app.command("remove")
def defaulter_remove(
    listing: str,
    reason: Annotated[str, typer.Argument(help="performed, settlement_fulfilled, applicant_agreed, ...")],
    court: Annotated[int, typer.Option()],
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Remove a listing, with its reason."""
    from ledger.records import Removal, RemovalReason

    ctx = open_context(data_dir, chain)
    lid = hex32(listing, "listing id")
    removal = Removal(listing_id=lid, reason=enum_member(RemovalReason, reason),
                      sequence=ctx.ledger.listing(lid)["changes"])
    print_written(ctx.ledger.submit(ctx.signer(court), removal))


@defaulter_app.command("extend")
def defaulter_extend(
    listing: str,
    years: Annotated[int, typer.Argument(help="1 to 3 years, for serious cases; once, while the listing runs.")],
    court: Annotated[int, typer.Option()],
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Extend a running listing by 1 to 3 years."""
    from ledger.records import Extension

    ctx = open_context(data_dir, chain)
    lid = hex32(listing, "listing id")
    current = ctx.ledger.listing(lid)
    if not 1 <= years <= 3:
        raise typer.BadParameter("a listing is extended by 1 to 3 years")
    extension = Extension(listing_id=lid, until=current["until"] + years * 365 * 86400, sequence=current["changes"])
    print_written(ctx.ledger.submit(ctx.signer(court), extension))


@defaulter_app.command("check")
def defaulter_check(
    subject: Annotated[str, typer.Option(help="KIND:ID")],
    restriction: Annotated[str, typer.Option(help="flights, rail, company_office, ...")],
    at: Annotated[int | None, typer.Option(help="Unix time (default: now).")] = None,
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Is this subject restricted for this restriction (now or at a past time)? Answers from the chain."""
    from ledger.privacy import blind_index
    from ledger.records import Restriction

    ctx = open_context(data_dir, chain)
    blind = blind_index(ctx.ws.secrets().blind_key, subject_from_text(subject))
    when = at if at is not None else int(ctx.chain.w3.eth.get_block("latest")["timestamp"])
    restricted, _, until = ctx.ledger.is_restricted(bytes(blind), Restriction.parse(restriction), when)
    out.print(f"restricted until {until}" if restricted else "not restricted")
