"""The persistent local dev chain.

``python scripts/devchain.py start|stop|status [--data-dir DIR] [--port N]``:

``start`` leaves anvil running detached (state in DIR, default ``.data/chain``) and is a no-op when it
already runs; ``stop`` stops it cleanly (its state is written first). All logic lives in ledger.chain.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ledger.chain import connect, default_data_dir, running_node
from ledger.errors import LedgerError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devchain", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument(
        "--data-dir", type=Path, default=None, help=f"chain state directory (default: {default_data_dir()})"
    )
    parser.add_argument("--port", type=int, default=None, help="fixed port (default: a free one)")
    args = parser.parse_args(argv)
    data_dir = (args.data_dir or default_data_dir()).resolve()
    try:
        if args.command == "start":
            with connect("local", data_dir=data_dir, port=args.port, detach=True) as chain:
                node = chain.node
                assert node is not None
                print(f"running: {chain.url} chain id {chain.chain_id} (pid {node.pid}, data {data_dir})")
            return 0
        node = running_node(data_dir)
        if node is None:
            print(f"not running (data {data_dir})")
            return 0 if args.command == "stop" else 3
        if args.command == "stop":
            node.stop()
            print(f"stopped pid {node.pid} (data {data_dir})")
            return 0
        with connect(node.url) as chain:
            block = chain.w3.eth.block_number
            print(
                f"running: {node.url} chain id {chain.chain_id}, block {block} "
                f"(pid {node.pid}, data {data_dir})"
            )
        return 0
    except LedgerError as exc:
        print(f"devchain: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
