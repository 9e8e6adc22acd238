"""``ledger chain …`` (the persistent local node), ``ledger deploy`` and ``ledger check-bytecode``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ledger.cli.base import DEFAULT_DIR, ChainSpec, DataDir, app, chain_app, err, out
from ledger.cli.context import fund_on_dev_chain, open_context


@chain_app.command("start")
def chain_start(data_dir: DataDir = DEFAULT_DIR, port: int = typer.Option(None, help="Fixed port.")) -> None:
    """Start (or find) the persistent local chain; it keeps running after this command."""
    from ledger._node import ensure_node

    node = ensure_node(data_dir.resolve() / "chain", port=port, detach=True)
    out.print(f"local chain running at {node.url} (pid {node.pid}), state in {node.data_dir}")


@chain_app.command("url")
def chain_url(data_dir: DataDir = DEFAULT_DIR) -> None:
    """Print the local chain's node URL (its port is chosen at start), for --rpc; exit 1 when none runs."""
    from ledger.chain import running_node

    node = running_node(data_dir.resolve() / "chain")
    if node is None:
        err.print(f"no local chain is running for {data_dir.resolve()}")
        raise typer.Exit(1)
    print(node.url)


@chain_app.command("stop")
def chain_stop(data_dir: DataDir = DEFAULT_DIR) -> None:
    """Stop the local chain cleanly (its state is saved)."""
    from ledger.chain import running_node

    node = running_node(data_dir.resolve() / "chain")
    if node is None:
        out.print("no local chain is running")
        return
    node.stop()
    out.print("local chain stopped")


@chain_app.command("status")
def chain_status(data_dir: DataDir = DEFAULT_DIR) -> None:
    """Is the local chain running?"""
    from ledger.chain import running_node

    node = running_node(data_dir.resolve() / "chain")
    out.print(f"running at {node.url} (pid {node.pid})" if node else "not running")


# -- deployment ----------------------------------------------------------------------------------


@app.command()
def deploy(data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Deploy the contract suite (or reuse the deployment already on this chain) and print it."""
    from ledger.deployment import deploy as do_deploy

    ctx = open_context(data_dir, chain)
    governor = ctx.governor()
    fund_on_dev_chain(ctx, governor.address, minimum=10**18)
    deployment = do_deploy(ctx.chain, governor, ctx.ws.deployment_path)
    _print_deployment(deployment, ctx.ws.deployment_path)


def _print_deployment(deployment: Any, path: Path) -> None:
    table = Table(title=f"deployment on chain {deployment.chain_id} ({path})")
    table.add_column("contract")
    table.add_column("address")
    table.add_column("block")
    for name, c in deployment.contracts.items():
        table.add_row(name, c.address, str(c.block_number))
    out.print(table)


@app.command("check-bytecode")
def check_bytecode(
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
    deployment_file: Annotated[Path | None, typer.Option("--deployment")] = None,
) -> None:
    """Compare the code deployed on chain with the artifacts built from the published source."""
    from ledger.deployment import check_deployment, load_deployment

    ctx = open_context(data_dir, chain)
    deployment = load_deployment(deployment_file or ctx.ws.deployment_path)
    results = check_deployment(ctx.chain, deployment)
    for r in results:
        verdict = "[green]match[/green]" if r.matches else "[red]MISMATCH[/red]"
        out.print(f"{r.name:<20} {r.address}  {verdict}  {r.reason}")
    if not all(r.matches for r in results):
        raise typer.Exit(1)
