"""``ledger index sync`` and ``ledger stats`` (the off-chain read model), and ``ledger demo``."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.table import Table

from ledger.cli.base import DEFAULT_DIR, ChainSpec, DataDir, app, index_app, out
from ledger.cli.context import Context, open_context


@index_app.command("sync")
def index_sync(data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Bring the read model up to the chain head."""
    from ledger.index import Index, Indexer

    ctx = open_context(data_dir, chain)
    with Index(ctx.ws.index_path) as index:
        started = time.perf_counter()
        result = Indexer(ctx.ledger, index).sync()
        out.print(f"indexed {result.events} events up to block {result.to_block} "
                  f"in {time.perf_counter() - started:.2f}s")


@app.command()
def stats(data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Statistics from the read model (synced first)."""
    from ledger.index import Index, Indexer

    ctx = open_context(data_dir, chain)
    with Index(ctx.ws.index_path) as index:
        Indexer(ctx.ledger, index).sync()
        table = Table(title="statistics")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in index.statistics().items():
            table.add_row(key, json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value))
        out.print(table)


@app.command()
def demo(data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Play the three stories of the source report on the current chain."""
    from ledger.demo import DEMO_APPELLATE_COURT, DEMO_COURT, play, write_demo_files
    from ledger.privacy import Vault

    ctx = open_context(data_dir, chain)
    secrets = ctx.ws.secrets()
    signer, appellate = (_signer_or_new(ctx, court) for court in (DEMO_COURT, DEMO_APPELLATE_COURT))
    with Vault.open(ctx.ws.vault_path, secrets.vault_key) as vault:
        result = play(ctx.ledger, ctx.governor(), vault, secrets.blind_key, secrets.case_key, signer=signer,
                      appellate_signer=appellate, funder=ctx.chain.accounts[1] if ctx.chain.accounts else None,
                      progress=lambda line: out.print(f"• {line}"))
    count = sum(len(v) for v in result.writes.values())
    files = write_demo_files(result, ctx.ws.root / "demo", ctx.chain.chain_id, secrets.case_key)
    out.print(f"[green]demo done[/green]: {count} records written; judgment {files.record_id}: certificate "
              f"{files.certificate}, document {files.document}")


def _signer_or_new(ctx: Context, court: int) -> Any:
    """The court's key in the workspace, or a new one when the court is not admitted yet."""
    if ctx.ledger.court(court)["status"] == 0:
        return ctx.ws.new_court_signer(court)
    return ctx.signer(court)
