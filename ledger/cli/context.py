"""What a command works on: the data dir's workspace, its chain, deployment, ledger and keys.

The chain is connected first, so a command that cannot reach its chain changes nothing in the data dir.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class Context:
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


def open_context(data_dir: Path, chain: str) -> Context:
    """The command's context, its chain connected first: a command that cannot reach its chain changes nothing
    in the data dir (no key created, no vault opened)."""
    ctx = Context(data_dir, chain)
    ctx.chain  # noqa: B018 (connects, or raises the clear error)
    return ctx


def fund_on_dev_chain(ctx: Context, address: str, minimum: int | None = None) -> None:
    """On the local or memory chain, give ``address`` 10 coins from a dev account (unless it has ``minimum``)."""
    if ctx.chain.kind in ("local", "memory") and ctx.chain.charges_fees():
        from ledger.chain import send_transaction

        if minimum is not None and ctx.chain.w3.eth.get_balance(address) >= minimum:
            return
        send_transaction(ctx.chain, ctx.chain.accounts[1], {"to": address, "value": 10**19})
