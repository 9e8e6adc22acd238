"""The ``ledger`` console script: thin commands over the library.

A user's mistake (bad input, a revert, a missing deployment) prints one clear line and exits 1, without a
stack trace. Commands work on a data directory (``--data-dir``, default ``.data``) shared with the service.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

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
app.command("sign")(__import__("ledger._sign_cli", fromlist=["sign"]).sign)  # RFC 9421 request headers

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[Path, typer.Option("--data-dir", envvar="LEDGER_DATA_DIR", help="Data directory.")]
ChainSpec = Annotated[str, typer.Option("--chain", envvar="LEDGER_CHAIN",
                                        help="'local' (anvil in the data dir), 'memory', or a node URL.")]
DEFAULT_DIR = Path(".data")


class _Context:
    """Lazily opened chain, deployment, ledger and workspace for one command."""

    def __init__(self, data_dir: Path, chain_spec: str) -> None:
        from ledger.workspace import Workspace

        self.ws = Workspace(data_dir, mode=os.environ.get("LEDGER_MODE", "development"))  # type: ignore[arg-type]
        self.spec = chain_spec
        self._chain: Any = None
        self._ledger: Any = None

    @property
    def chain(self) -> Any:
        """The chain; ``local`` is the node already running in the data dir: only ``chain start`` starts one,
        so a failing command never leaves a node behind."""
        if self._chain is None:
            from ledger.chain import connect, running_node
            from ledger.errors import ConfigurationError

            if self.spec.strip() == "local" and running_node(self.ws.chain_dir) is None:
                raise ConfigurationError(
                    f"no local chain is running for {self.ws.root}: start it with "
                    f"'ledger chain start --data-dir {self.ws.root}' (or ./scripts/run.sh), or give --chain URL")
            self._chain = connect(self.spec, data_dir=self.ws.chain_dir, detach=True)
        return self._chain

    @property
    def ledger(self) -> Any:
        if self._ledger is None:
            from ledger.client import Ledger
            from ledger.deployment import load_deployment

            self._ledger = Ledger(self.chain, load_deployment(self.ws.deployment_path))
        return self._ledger

    def governor(self) -> Any:
        """The key that governs this data dir's deployment, the one the service uses too:
        ``LEDGER_GOVERNOR_ADDRESS`` (a key in the keystore) or the workspace's governance key
        (``LEDGER_GOVERNANCE_KEY``, or generated once into dev-secrets.json in development). A deployment
        made before by the local chain's first dev account keeps that account."""
        from ledger.errors import ConfigurationError

        address = os.environ.get("LEDGER_GOVERNOR_ADDRESS")
        key = (self.ws.keystore.load(address, self.ws.secrets().keystore_password) if address
               else self.ws.governance_key())
        if not self.ws.deployment_path.is_file():
            return key
        from ledger.deployment import load_deployment

        named = load_deployment(self.ws.deployment_path).governor.lower()
        for candidate in (key, *self.chain.accounts[:1]):
            if candidate.address.lower() == named:
                return candidate
        raise ConfigurationError(f"the deployment in {self.ws.deployment_path} is governed by {named}; "
                                 f"this data dir's governance key is {key.address}")

    def signer(self, court: int) -> Any:
        def current_court(address: str) -> int | None:
            info = self.ledger.signer(address)
            return int(info["court"]) if info["valid_until"] == 0 else None

        return self.ws.court_signer(court, current_court)

    def workspace_key(self, address: str) -> Any:
        """The key of ``address`` in this data dir's keystore, None when it holds none."""
        if address.lower() not in {a.lower() for a in self.ws.keystore.addresses()}:
            return None
        return self.ws.keystore.load(address, self.ws.secrets().keystore_password)

    def desk(self, court: int) -> Any:
        from ledger.desk import CourtDesk
        from ledger.privacy import Vault

        secrets = self.ws.secrets()
        return CourtDesk(court, Vault.open(self.ws.vault_path, secrets.vault_key), secrets.blind_key,
                         secrets.case_key)


def _ctx(data_dir: Path, chain: str) -> _Context:
    """The command's context, its chain connected first: a command that cannot reach its chain changes nothing
    in the data dir (no key created, no vault opened)."""
    ctx = _Context(data_dir, chain)
    ctx.chain  # noqa: B018 (connects, or raises the clear error)
    return ctx


def _hex32(value: str, what: str) -> bytes:
    text = value[2:] if value.startswith("0x") else value
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise typer.BadParameter(f"{what} must be 32 bytes of hex") from None
    if len(raw) != 32:
        raise typer.BadParameter(f"{what} must be 32 bytes of hex")
    return raw


def _enum(enum_cls: Any, name: str) -> Any:
    """A record enum from its lower-case name, or a clear error listing the names."""
    key = name.strip().upper().replace("-", "_")
    if key not in enum_cls.__members__ or key == "NONE":
        known = ", ".join(m.lower() for m in enum_cls.__members__ if m != "NONE")
        raise typer.BadParameter(f"unknown {enum_cls.__name__} {name!r}; known: {known}")
    return enum_cls[key]


def _money(text: str) -> int:
    """'13000' or '13000.50' yuan -> minor units."""
    try:
        whole, _, frac = text.partition(".")
        if len(frac) > 2:
            raise ValueError
        return int(whole) * 100 + int((frac + "00")[:2])
    except ValueError:
        raise typer.BadParameter(f"amount {text!r} is not a number with at most 2 decimals") from None


def _written(w: Any) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("record id", "0x" + w.record_id.hex())
    table.add_row("contract", f"{w.contract} {w.contract_address}")
    table.add_row("transaction", w.transaction_hash)
    table.add_row("block", f"{w.block_number} at {w.block_time}")
    table.add_row("gas", str(w.gas_used))
    out.print(table)


def _save_certificate(cert: Any, path: Path | None) -> None:
    if path is not None:
        path.write_text(cert.to_json())
        out.print(f"certificate written to {path}")


# -- chain ---------------------------------------------------------------------------------------


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

    ctx = _ctx(data_dir, chain)
    governor = ctx.governor()
    _fund_on_dev_chain(ctx, governor.address, minimum=10**18)
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

    ctx = _ctx(data_dir, chain)
    deployment = load_deployment(deployment_file or ctx.ws.deployment_path)
    results = check_deployment(ctx.chain, deployment)
    for r in results:
        verdict = "[green]match[/green]" if r.matches else "[red]MISMATCH[/red]"
        out.print(f"{r.name:<20} {r.address}  {verdict}  {r.reason}")
    if not all(r.matches for r in results):
        raise typer.Exit(1)


# -- governance ----------------------------------------------------------------------------------


@court_app.command("admit")
def court_admit(
    court: int,
    jurisdiction: Annotated[str, typer.Option(help="ISO 3166-2 code, e.g. CN-BJ")],
    appellate: Annotated[int, typer.Option(help="Court with appellate authority (0 for none).")] = 0,
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Admit a court; its first signer key is created in the data dir's keystore."""
    ctx = _ctx(data_dir, chain)
    signer = ctx.ws.new_court_signer(court)
    _fund_on_dev_chain(ctx, signer.address)
    ctx.ledger.admit_court(ctx.governor(), court, jurisdiction, appellate, signer.address)
    out.print(f"court {court} admitted, signer {signer.address}")


def _fund_on_dev_chain(ctx: _Context, address: str, minimum: int | None = None) -> None:
    """On the local or memory chain, give ``address`` 10 coins from a dev account (unless it has ``minimum``)."""
    if ctx.chain.kind in ("local", "memory") and ctx.chain.charges_fees():
        from ledger.chain import send_transaction

        if minimum is not None and ctx.chain.w3.eth.get_balance(address) >= minimum:
            return
        send_transaction(ctx.chain, ctx.chain.accounts[1], {"to": address, "value": 10**19})


@court_app.command("rotate-key")
def court_rotate_key(court: int, data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Give a court a new signer key and retire the old one; records signed before stay valid."""
    ctx = _ctx(data_dir, chain)
    old = ctx.ws.courts().get(court)
    new = ctx.ws.new_court_signer(court)
    _fund_on_dev_chain(ctx, new.address)
    ctx.ledger.governance(ctx.governor(), "addSigner", court, new.address)
    if old:
        ctx.ledger.governance(ctx.governor(), "retireSigner", old)
    out.print(f"court {court}: new signer {new.address}" + (f", retired {old}" if old else ""))


def _court_act(function: str, court: int, data_dir: Path, chain: str) -> None:
    ctx = _ctx(data_dir, chain)
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
    ctx = _ctx(data_dir, chain)
    ctx.ledger.set_case_number_code(ctx.governor(), court, code)
    out.print(f"court {court}: case-number code {'set' if code.strip() else 'removed'}")


# -- records -------------------------------------------------------------------------------------


def _party(text: str) -> Any:
    """ROLE:KIND:ID[:COUNTRY]:NAME, e.g. creditor:resident_id:110105199001011237:张三."""
    from ledger.privacy import Party, parse_subject

    parts = text.split(":")
    if len(parts) not in (4, 5):
        raise typer.BadParameter("a party is ROLE:KIND:ID:NAME or ROLE:passport:NUMBER:COUNTRY:NAME")
    role, kind, ident = parts[0], parts[1], parts[2]
    country = parts[3] if len(parts) == 5 else None
    return Party(role=role, subject=parse_subject(kind, ident, country), name=parts[-1])  # type: ignore[arg-type]


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

    ctx = _ctx(data_dir, chain)
    record = ctx.desk(court).judgment(
        case_number=case_number, document=document.read_bytes(), parties=[_party(p) for p in party],
        amount=_money(amount), currency=currency, judgment_date=date.fromisoformat(judgment_date),
        effective_date=date.fromisoformat(effective_date))
    w = ctx.ledger.submit(ctx.signer(court), record)
    _written(w)
    _save_certificate(judgment_certificate(w, ctx.chain.chain_id), certificate)


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

    ctx = _ctx(data_dir, chain)
    jid = _hex32(judgment_id, "judgment id")
    sequence = ctx.ledger.judgment(jid)["changes"]
    change = JudgmentStatusChange(judgment_id=jid, status=_enum(JudgmentStatus, status), sequence=sequence,
                                  superseded_by=_hex32(superseded_by, "superseded-by") if superseded_by else b"\0" * 32)
    _written(ctx.ledger.submit(ctx.signer(court), change))


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

    jid = _hex32(judgment_id, "judgment id")
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
    ctx = _ctx(data_dir, chain)
    try:
        filed = file_dossier(ctx.ledger, ctx.signer(court), court, jid, complete_copy=copy_bytes,
                             by_default=by_default, proof_of_service=service_bytes, translations=translations)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _written(filed.written)
    if base is not None and out_path is not None:
        data = json.loads(base.to_json())
        data["dossier"] = certify_dossier(ctx.ledger, filed)
        _save_certificate(parse_certificate(data), out_path)


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
    ctx = _ctx(data_dir, chain)
    filing = ctx.desk(court).filing(judgment_id=_hex32(judgment, "judgment id"), case_number=case_number,
                                    amount_due=_money(amount_due), filed_at=date.fromisoformat(filed_at))
    _written(ctx.ledger.submit(ctx.signer(court), filing))


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
    ctx = _ctx(data_dir, chain)
    jid = _hex32(judgment, "judgment id")
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

    ctx = _ctx(data_dir, chain)
    cid = _hex32(case_id, "case id")
    action = Action(case_id=cid, sequence=ctx.ledger.case(cid)["actions"], kind=_enum(ActionKind, kind),
                    amount=_money(amount) if amount else 0, detail=detail,
                    document_digest=sha256_digest(document.read_bytes()) if document else b"\0" * 32,
                    flags=1 if acknowledge_excess else 0)
    _written(ctx.ledger.submit(ctx.signer(court), action))


def _subject(text: str) -> Any:
    """KIND:ID or passport:NUMBER:COUNTRY."""
    from ledger.privacy import parse_subject

    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise typer.BadParameter("a subject is KIND:ID (resident_id, credit_code) or passport:NUMBER:COUNTRY")
    return parse_subject(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


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

    ctx = _ctx(data_dir, chain)
    try:
        ground_value = Ground[ground.upper()]
        restriction_value = Restriction.parse(restrictions)
    except (KeyError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    listing = ctx.desk(court).listing(subject=_subject(subject), display_name=name, case_id=_hex32(case, "case id"),
                                      ground=ground_value, restrictions=restriction_value,
                                      listed_at=ctx.chain.w3.eth.get_block("latest")["timestamp"])
    w = ctx.ledger.submit(ctx.signer(court), listing)
    _written(w)
    _save_certificate(defaulter_certificate(w, ctx.chain.chain_id, as_of=(w.block_number, w.block_hash),
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

    ctx = _ctx(data_dir, chain)
    lid = _hex32(listing, "listing id")
    removal = Removal(listing_id=lid, reason=_enum(RemovalReason, reason), sequence=ctx.ledger.listing(lid)["changes"])
    _written(ctx.ledger.submit(ctx.signer(court), removal))


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

    ctx = _ctx(data_dir, chain)
    lid = _hex32(listing, "listing id")
    current = ctx.ledger.listing(lid)
    if not 1 <= years <= 3:
        raise typer.BadParameter("a listing is extended by 1 to 3 years")
    extension = Extension(listing_id=lid, until=current["until"] + years * 365 * 86400, sequence=current["changes"])
    _written(ctx.ledger.submit(ctx.signer(court), extension))


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

    ctx = _ctx(data_dir, chain)
    blind = blind_index(ctx.ws.secrets().blind_key, _subject(subject))
    when = at if at is not None else int(ctx.chain.w3.eth.get_block("latest")["timestamp"])
    restricted, _, until = ctx.ledger.is_restricted(bytes(blind), Restriction.parse(restriction), when)
    out.print(f"restricted until {until}" if restricted else "not restricted")


# -- notarization and verification ---------------------------------------------------------------


@app.command()
def notarize(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)],
    court: Annotated[int, typer.Option()],
    receipts: Annotated[Path, typer.Option(help="Directory for one certificate per file.")] = Path("receipts"),
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Anchor the SHA-256 digests of files under one Merkle root; write a certificate per file."""
    import hashlib
    import os

    from ledger.certificates import notary_certificate
    from ledger.merkle import MerkleTree
    from ledger.records import Anchor

    ctx = _ctx(data_dir, chain)
    digests: dict[Path, bytes] = {}
    with Progress(console=err) as progress:
        task = progress.add_task("hashing", total=len(files))
        for f in files:
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            digests[f] = h.digest()
            progress.advance(task)
    nonces = {d: os.urandom(32) for d in digests.values()}  # one fresh nonce per leaf (ledger.merkle)
    tree = MerkleTree.build_notary(list(nonces.items()))
    w = ctx.ledger.submit(ctx.signer(court), Anchor(court=court, root=tree.root, size=len(nonces)))
    receipts.mkdir(parents=True, exist_ok=True)
    for f, d in digests.items():
        cert = notary_certificate(w, ctx.chain.chain_id, digest=d, nonce=nonces[d], proof=tree.proof(d))
        (receipts / f"{f.name}.certificate.json").write_text(cert.to_json())
    out.print(f"anchored {len(nonces)} digests under root 0x{tree.root.hex()} in block {w.block_number}; "
              f"certificates in {receipts}/")


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

    ctx = _ctx(data_dir, chain)
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

    ctx = _ctx(data_dir, chain)
    rid = _hex32(record_id, "record id")
    with Index(ctx.ws.index_path) as index:
        indexed = Indexer(ctx.ledger, index).sync().to_block
        case_key = ctx.ws.secrets().case_key if case_number is not None else None
        cert = Issuer(ctx.ledger, index, indexed, ctx.workspace_key, case_key).certificate(rid, case_number)
    if output is None:
        print(cert.to_json())
    else:
        output.write_text(cert.to_json())
        out.print(f"certificate of 0x{rid.hex()} ({cert.kind}) written to {output}")


# -- index and demo ------------------------------------------------------------------------------


@index_app.command("sync")
def index_sync(data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Bring the read model up to the chain head."""
    from ledger.index import Index, Indexer

    ctx = _ctx(data_dir, chain)
    with Index(ctx.ws.index_path) as index:
        started = time.perf_counter()
        result = Indexer(ctx.ledger, index).sync()
        out.print(f"indexed {result.events} events up to block {result.to_block} "
                  f"in {time.perf_counter() - started:.2f}s")


@app.command()
def stats(data_dir: DataDir = DEFAULT_DIR, chain: ChainSpec = "local") -> None:
    """Statistics from the read model (synced first)."""
    from ledger.index import Index, Indexer

    ctx = _ctx(data_dir, chain)
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

    ctx = _ctx(data_dir, chain)
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


def _signer_or_new(ctx: _Context, court: int) -> Any:
    """The court's key in the workspace, or a new one when the court is not admitted yet."""
    if ctx.ledger.court(court)["status"] == 0:
        return ctx.ws.new_court_signer(court)
    return ctx.signer(court)


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
    except Exception as exc:  # click's usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
