"""Run the service: chain, deployment, (demo data once), then uvicorn on 127.0.0.1.

``python scripts/serve.py [--data-dir DIR] [--port N] [--chain local|memory|URL] [--gas-price WEI] [--demo]
[--production]``

``--chain URL`` serves any EVM node, a permissioned network included: there ``--gas-price 0`` (or
``LEDGER_GAS_PRICE=0``) pays nothing where the node still suggests a price, and no account is funded.
An account that lacks the coins a transaction needs stops the start with a message naming it and the
amount.

Everything durable lives in the data dir (default ``.data`` or ``$LEDGER_DATA_DIR``): the local anvil
node's state, the deployment, the keystore, the vault, the index, the outbox and the API clients. Stop
(Ctrl-C) and start again: records, outbox, index and vault carry on; an interrupted submission resumes.

Once listening it prints the service's address, its health paths (``/api/v1/health/live``,
``/api/v1/health/ready``), ``/docs`` and ``/verify``; with ``--demo``, also the demo judgment's certificate and
document (``<data dir>/demo/``, written when the demo is seeded), the network descriptor beside them and the one
``ledger verify`` command that checks them against the node.

In development mode the first start also writes ``dev-clients.json`` (mode 0600) with signing keys for
a governance, a partner and (with ``--demo``) the demo court's client, so the API can be tried at once.
``python scripts/serve.py clients ...`` manages API clients (see ``python -m api.auth --help``).
``python scripts/serve.py checks [--workers N] [--port P]`` serves partner checks only, in N processes,
from the index this service keeps in the same data dir (``--check-workers N`` starts it alongside).
All logic lives in ``api`` and ``ledger``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.auth import generate_key, private_key_text, public_key_text  # noqa: E402
from api.auth import main as clients_main  # noqa: E402
from api.checking import CheckServices  # noqa: E402
from api.services import Services  # noqa: E402
from api.serving import uvicorn_options  # noqa: E402
from api.settings import Settings  # noqa: E402
from ledger.chain import GAS_PRICE_ENV  # noqa: E402
from ledger.errors import LedgerError  # noqa: E402

DEV_CLIENTS_FILE = "dev-clients.json"
DEMO_DIR = "demo"  # under the data dir: the demo judgment's certificate, its document, the network descriptor


def seed_demo_once(services: Services) -> None:
    """Play ``ledger.demo`` into a fresh data dir, once; its records become confirmed outbox entries."""
    if services.outbox.get_meta("demo_seeded"):
        return
    try:
        from ledger import demo
    except ImportError:
        print("demo: ledger.demo is not available in this checkout; nothing seeded", file=sys.stderr)
        return
    signer = services.signers.create()
    appellate = services.signers.create()
    print("demo: playing the three stories of the source report ...", flush=True)
    result = demo.play(
        services.ledger,
        services.governor,
        services.vault,
        services.blind_key,
        services.secrets.case_key,
        signer=signer,
        appellate_signer=appellate,
        progress=lambda line: print(f"demo: {line}", flush=True),
    )
    services.outbox.add_signer_key(demo.DEMO_APPELLATE_COURT, appellate.address, active=True)
    services.outbox.add_signer_key(demo.DEMO_COURT, signer.address, active=True)
    for writes in result.writes.values():
        for written in writes:
            services.outbox.import_written("demo", demo.DEMO_COURT, written)
    demo.write_demo_files(result, services.data_dir / DEMO_DIR, services.chain.chain_id, services.secrets.case_key)
    services.outbox.set_meta("demo_seeded", str(int(time.time())))


def ensure_dev_clients(services: Services, demo_court: int | None) -> Path:
    """Development only: signing keys for a governance, a partner and the demo court client (0600)."""
    path = services.data_dir / DEV_CLIENTS_FILE
    known: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    wanted: list[tuple[str, str, int | None]] = [
        ("dev-governance", "governance", None),
        ("dev-partner", "partner", None),
    ]
    if demo_court:
        wanted.append((f"dev-court-{demo_court}", "court", demo_court))
    changed = False
    for client_id, kind, court in wanted:
        if client_id in known and services.clients.get(client_id) is not None:
            continue
        key = generate_key()
        services.clients.add(client_id, kind, public_key_text(key), court_id=court, replace=True)
        known[client_id] = {"kind": kind, "court_id": court, "private_key": private_key_text(key)}
        changed = True
    if changed:
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(known, fh, indent=2)
        tmp.replace(path)
    return path


def _announce(server: Any, services: Services, clients_file: Path | None) -> None:
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    host, port = server.config.host, server.config.port
    for s in getattr(server, "servers", []):
        for sock in s.sockets:
            port = sock.getsockname()[1]
    print(announcement(services, f"http://{host}:{port}", clients_file), flush=True)


def write_descriptor(services: Services) -> Path:
    """The service's signed network descriptor (also ``GET /api/v1/verify/network``) as a file to trust."""
    path = services.data_dir / DEMO_DIR / "network.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(services.descriptor.model_dump_json(indent=2))
    return path


def _ledger_command() -> str:
    """This environment's ``ledger`` script, relative to the working directory when it lies below it."""
    script = Path(sys.executable).parent / "ledger"
    relative = os.path.relpath(script)
    return relative if not relative.startswith("..") else str(script)


def announcement(services: Services, base: str, clients_file: Path | None) -> str:
    """What a newcomer needs: where the service listens, its health paths, and (with the demo) a certificate,
    its document and the one command that verifies them against the node, trusting the signed descriptor."""
    node = services.chain.url or services.chain.kind
    lines = [
        f"Judicial trust ledger service ({services.settings.mode}) on chain {services.chain.chain_id}",
        f"  Service:       {base}",
        f"  Health:        {base}/api/v1/health/live  {base}/api/v1/health/ready",
        f"  API docs:      {base}/docs",
        f"  Verify page:   {base}/verify/",
        f"  OpenAPI:       {base}/openapi.json",
        f"  Chain node:    {node}",
        f"  Data dir:      {services.data_dir}",
    ]
    if clients_file is not None:
        lines.append(f"  Client keys:   {clients_file} (development)")
    demo_dir = services.data_dir / DEMO_DIR
    certificate, document = demo_dir / "judgment.cert.json", demo_dir / "judgment.pdf"
    if certificate.is_file() and document.is_file() and services.chain.url:
        descriptor = write_descriptor(services)
        lines += [
            f"  Demo certificate: {certificate}",
            f"  Its document:     {document}",
            f"  Its dossier:      complete copy and translations {demo_dir / 'judgment.en.pdf'}, "
            f"{demo_dir / 'judgment.fr.pdf'} (the certificate's dossier block, Hague 2019 art. 12)",
            "  Verify them (exit 0: authentic and in force):",
            f"    {_ledger_command()} verify {certificate} --document {document} --rpc {node} "
            f"--trust {descriptor} --governor {services.governor.address}",
        ]
    return "\n".join(lines)


def checks_main(argv: list[str]) -> int:
    """``serve.py checks``: partner checks only, in several worker processes, on the main service's data dir."""
    parser = argparse.ArgumentParser(
        prog="serve.py checks",
        description="Serve partner checks (POST /api/v1/checks, /checks/batch) from the index the main service "
        "keeps in the same data dir, in several processes. Needs only the blind-index key.",
    )
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--production", action="store_true", help="production mode: every secret explicit")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    # The workers are separate processes that build their settings from the environment.
    if args.data_dir is not None:
        os.environ["LEDGER_DATA_DIR"] = str(args.data_dir.resolve())
    if args.production:
        os.environ["LEDGER_MODE"] = "production"
    settings = Settings()
    try:
        CheckServices.open(settings).close()  # fail here, once, with a clear message
    except (LedgerError, FileNotFoundError) as exc:
        print(f"serve checks: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    print(f"Partner checks on http://{args.host or settings.host}:{args.port} ({args.workers} workers, "
          f"data dir {Path(settings.data_dir).resolve()})", flush=True)
    options = {**uvicorn_options(settings), "host": args.host or settings.host, "port": args.port}
    uvicorn.run(
        "api.app:create_check_app", factory=True, workers=args.workers, log_level=args.log_level,
        access_log=False, **options,
    )
    return 0


def start_check_workers(services: Services, port: int, workers: int, log_level: str) -> subprocess.Popen[bytes]:
    """``serve.py checks`` beside this service, on the same data dir, with the same environment."""
    argv = [sys.executable, str(Path(__file__).resolve()), "checks", "--data-dir", str(services.data_dir),
            "--host", services.settings.host, "--port", str(port), "--workers", str(workers),
            "--log-level", log_level]
    if services.settings.mode == "production":
        argv.append("--production")
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["clients"]:
        return clients_main(argv[1:])
    if argv[:1] == ["checks"]:
        return checks_main(argv[1:])
    parser = argparse.ArgumentParser(prog="serve.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--chain", help="memory | local | a node URL")
    parser.add_argument(
        "--gas-price", type=int, metavar="WEI",
        help="fixed price per gas in wei (0 on a zero-fee network; default: what the node suggests; "
        "LEDGER_GAS_PRICE)",
    )
    parser.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="seed the demo stories once (LEDGER_SEED_DEMO)",
    )
    parser.add_argument("--production", action="store_true", help="production mode: every secret explicit")
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--check-workers", type=int, default=0,
        help="also serve partner checks from N more processes on --check-port (see 'serve.py checks')",
    )
    parser.add_argument("--check-port", type=int, default=8001)
    args = parser.parse_args(argv)
    if args.gas_price is not None:
        if args.gas_price < 0:
            parser.error("--gas-price must be 0 or more wei")
        os.environ[GAS_PRICE_ENV] = str(args.gas_price)  # read by ledger.chain.connect, and check workers
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "host", "port", "chain"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.demo is not None:
        overrides["seed_demo"] = args.demo
    if args.production:
        overrides["mode"] = "production"
    chain = (args.chain or os.environ.get("LEDGER_CHAIN", "local")).strip()
    if "LEDGER_WORKER_PROCESS" not in os.environ and chain != "memory":
        overrides["worker_process"] = True  # accepting and sending each get a core (api.worker.process)
    # The service's own loggers (api.*, ledger.*) at the same level as uvicorn's, on stderr.
    level = logging.getLevelName(args.log_level.upper())
    logging.basicConfig(
        level=level if isinstance(level, int) else logging.DEBUG,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = Settings(**overrides)
    try:
        services = Services.open(settings)
    except LedgerError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    check_process: subprocess.Popen[bytes] | None = None
    try:
        demo_court = None
        if settings.seed_demo:
            seed_demo_once(services)
            from ledger import demo

            demo_court = demo.DEMO_COURT
            if settings.notary_court is None:
                services.settings = settings.model_copy(update={"notary_court": demo_court})
        clients_file = ensure_dev_clients(services, demo_court) if settings.mode == "development" else None
        services.start()
        if args.check_workers > 0:
            check_process = start_check_workers(services, args.check_port, args.check_workers, args.log_level)
        import uvicorn

        config = uvicorn.Config(create_app(services=services), log_level=args.log_level, **uvicorn_options(settings))
        server = uvicorn.Server(config)
        threading.Thread(target=_announce, args=(server, services, clients_file), daemon=True).start()
        # uvicorn shuts down on SIGINT or SIGTERM, then raises the signal again with the handler it found:
        # as SystemExit here, so that the stores close and the worker process stops, instead of the
        # default SIGTERM ending the process at once (and SIGINT a KeyboardInterrupt traceback).
        signal.signal(signal.SIGTERM, _exit_quietly)
        signal.signal(signal.SIGINT, _exit_quietly)
        server.run()
    except LedgerError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    finally:
        if check_process is not None:
            check_process.send_signal(signal.SIGINT)
            try:
                check_process.wait(20)
            except subprocess.TimeoutExpired:
                check_process.kill()
        services.close()
    return 0


def _exit_quietly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
