"""``ledger court …``: governance of courts (admission, signer keys, suspension, case-number codes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.base import DEFAULT_DIR, ChainSpec, DataDir, court_app, out
from ledger.cli.context import fund_on_dev_chain, open_context


@court_app.command("admit")
def court_admit(
    court: int,
    jurisdiction: Annotated[str, typer.Option(help="ISO 3166-2 code, e.g. CN-BJ")],
    appellate: Annotated[int, typer.Option(help="Court with appellate authority (0 for none).")] = 0,
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Admit a court; its first signer key is created in the data dir's keystore."""
    ctx = open_context(data_dir, chain)
    signer = ctx.ws.new_court_signer(court)
    fund_on_dev_chain(ctx, signer.address)
    ctx.ledger.admit_court(ctx.governor(), court, jurisdiction, appellate, signer.address)
    out.print(f"court {court} admitted, signer {signer.address}")


@court_app.command("rotate-key")
def court_rotate_key(court: int, data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Give a court a new signer key and retire the old one; records signed before stay valid."""
    ctx = open_context(data_dir, chain)
    old = ctx.ws.courts().get(court)
    new = ctx.ws.new_court_signer(court)
    fund_on_dev_chain(ctx, new.address)
    ctx.ledger.governance(ctx.governor(), "addSigner", court, new.address)
    if old:
        ctx.ledger.governance(ctx.governor(), "retireSigner", old)
    out.print(f"court {court}: new signer {new.address}" + (f", retired {old}" if old else ""))


def _court_act(function: str, court: int, data_dir: Path, chain: str) -> None:
    ctx = open_context(data_dir, chain)
    ctx.ledger.governance(ctx.governor(), function, court)
    out.print(f"court {court}: {function} done")


@court_app.command("suspend")
def court_suspend(court: int, data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Suspend a court: its keys cannot write until reinstated."""
    _court_act("suspendCourt", court, data_dir, chain)


@court_app.command("reinstate")
def court_reinstate(court: int, data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Reinstate a suspended court."""
    _court_act("reinstateCourt", court, data_dir, chain)


@court_app.command("retire")
def court_retire(court: int, data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Retire a court for good."""
    _court_act("retireCourt", court, data_dir, chain)


@court_app.command("case-number-code")
def court_case_number_code(
    court: int,
    code: Annotated[str, typer.Argument(help="The code the court's case numbers carry after the year, e.g. 京0108; "
                                             "'' removes it.")],
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Record the code a court's case numbers carry: the look-up then checks that a case number names the
    court that recorded it. No two courts carry the same code."""
    ctx = open_context(data_dir, chain)
    ctx.ledger.set_case_number_code(ctx.governor(), court, code)
    out.print(f"court {court}: case-number code {'set' if code.strip() else 'removed'}")
