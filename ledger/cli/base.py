"""The ``ledger`` application and its command groups, the consoles, the shared options, and ``main``.

Every command module registers its commands on the Typer apps defined here; ``main`` turns a user's mistake
into one line on stderr and exit status 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ledger.errors import LedgerError

app = typer.Typer(help="Judicial trust ledger: record, verify and check court records on an EVM chain.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
chain_app = typer.Typer(help="The persistent local chain (an anvil node).", no_args_is_help=True)
court_app = typer.Typer(help="Governance: courts and their signer keys.", no_args_is_help=True)
judgment_app = typer.Typer(help="Judgments.", no_args_is_help=True)
case_app = typer.Typer(help="Enforcement cases and actions.", no_args_is_help=True)
defaulter_app = typer.Typer(help="Dishonest-debtor listings.", no_args_is_help=True)
index_app = typer.Typer(help="The off-chain read model.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
app.add_typer(court_app, name="court")
app.add_typer(judgment_app, name="judgment")
app.add_typer(case_app, name="case")
app.add_typer(defaulter_app, name="defaulter")
app.add_typer(index_app, name="index")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[Path, typer.Option("--data-dir", envvar="LEDGER_DATA_DIR", help="Data directory.")]
ChainSpec = Annotated[str, typer.Option("--chain", envvar="LEDGER_CHAIN",
                                        help="'local' (anvil in the data dir), 'memory', or a node URL.")]
DEFAULT_DIR = Path(".data")


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit status 1."""
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except LedgerError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(1)
    except (typer.BadParameter, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except typer.TyperException as exc:  # usage errors (an unknown command, a missing argument): typer's click
        show = getattr(exc, "show", None)
        if callable(show):
            show()  # the usage line and the error, as click prints them
        else:
            err.print(f"[red]error:[/red] {exc.format_message()}")
        sys.exit(exc.exit_code)
