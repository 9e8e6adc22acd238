"""The persistent local dev chain.

``python scripts/devchain.py start|stop|status [--data-dir DIR] [--port N]``:

``start`` leaves anvil running detached (state in DIR, default ``.data/chain``) and is a no-op when it
already runs; ``stop`` stops it cleanly (its state is written first). All logic lives in ledger.chain.

``python scripts/devchain.py run-on anvil|geth [--geth PATH] -- COMMAND ...`` starts a throw-away node with
2-second blocks (``JTL_BLOCK_SECONDS``) on a free loopback port, runs COMMAND with ``JTL_TEST_RPC`` set to it,
stops the node and exits with COMMAND's status: ``anvil`` with zero gas price and base fee (and
``LEDGER_GAS_PRICE=0``, as an operator of such a network configures), ``geth`` in ``--dev --dev.period 2``
(the same period; its fees, paid as it asks).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ledger._node import find_anvil, rpc_chain_id  # noqa: E402
from ledger.chain import connect, default_data_dir, running_node  # noqa: E402
from ledger.errors import LedgerError  # noqa: E402

#: The throw-away node's block period (``JTL_BLOCK_SECONDS``; QBFT networks run 1 to a few seconds).
BLOCK_SECONDS = int(os.environ.get("JTL_BLOCK_SECONDS", "2"))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_argv(kind: str, port: int, data_dir: Path, geth: str | None) -> tuple[list[str], dict[str, str]]:
    """The command line of a test node with 2-second blocks, and the environment its clients need."""
    if kind == "anvil":
        argv = [str(find_anvil()), "--host", "127.0.0.1", "--port", str(port), "--hardfork", "prague",
                "--block-time", str(BLOCK_SECONDS), "--gas-price", "0", "--base-fee", "0", "--silent"]
        return argv, {"LEDGER_GAS_PRICE": "0"}
    if geth is None:
        raise SystemExit("run-on geth needs --geth PATH (scripts/setup.sh --geth prints it)")
    _init_prague_dev_chain(geth, data_dir)
    argv = [geth, "--dev", "--dev.period", str(BLOCK_SECONDS), "--dev.gaslimit", "30000000",
            "--datadir", str(data_dir), "--ipcdisable", "--nodiscover", "--verbosity", "2",
            "--http", "--http.addr", "127.0.0.1", "--http.port", str(port), "--http.api", "eth,net,web3",
            "--port", "0", "--authrpc.port", str(_free_port())]
    return argv, {"LEDGER_GAS_PRICE": ""}


PRAGUE_AND_BEFORE = {"shanghaiTime", "cancunTime", "pragueTime"}
# geth's developer account (a fixed, public key since geth 1.13); funded in the genesis as --dev does.
GETH_DEV_ACCOUNT = "71562b71999873db5b286df957af199ec94617f7"


def _init_prague_dev_chain(geth: str, data_dir: Path) -> None:
    """Initialise ``data_dir`` with geth's own dev genesis (its system contracts and funded dev account),
    minus every fork after Prague: the project's fork (the compiler's evmVersion, anvil's --hardfork),
    whose gas schedule the gas targets are stated for. geth 1.17's dev chain starts on later forks."""
    dumped = subprocess.run([geth, "--dev", "dumpgenesis"], capture_output=True, text=True, check=True).stdout
    genesis = json.loads(dumped)
    config = genesis["config"]
    for key in [k for k in config if k.endswith("Time") and k not in PRAGUE_AND_BEFORE]:
        del config[key]
    genesis["alloc"].setdefault(GETH_DEV_ACCOUNT, {"balance": hex(2**200)})
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "genesis.json"
    path.write_text(json.dumps(genesis))
    subprocess.run([geth, "init", "--datadir", str(data_dir), str(path)], capture_output=True, check=True)


def run_on(kind: str, geth: str | None, command: list[str]) -> int:
    if not command:
        raise SystemExit("run-on needs a command after --")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix=f"jtl-{kind}-") as tmp:
        argv, env = node_argv(kind, port, Path(tmp) / "data", geth)
        log = Path(tmp) / "node.log"
        with log.open("wb") as out:
            node = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while rpc_chain_id(url) is None:
                if node.poll() is not None or time.monotonic() > deadline:
                    print(f"devchain: the {kind} node did not start:\n{log.read_text()[-3000:]}", file=sys.stderr)
                    return 1
                time.sleep(0.2)
            print(f"devchain: {kind} ({BLOCK_SECONDS}-second blocks) at {url}", flush=True)
            child_env = {**os.environ, "JTL_TEST_RPC": url, **env}
            if not child_env["LEDGER_GAS_PRICE"]:
                del child_env["LEDGER_GAS_PRICE"]
            return subprocess.call(command, env=child_env)
        finally:
            node.terminate()
            try:
                node.wait(20)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run-on"]:
        runner = argparse.ArgumentParser(prog="devchain run-on")
        runner.add_argument("kind", choices=["anvil", "geth"])
        runner.add_argument("--geth", help="the geth binary (scripts/setup.sh --geth prints its path)")
        split = argv.index("--") if "--" in argv else len(argv)
        args = runner.parse_args(argv[1:split])
        return run_on(args.kind, args.geth, argv[split + 1 :])
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
