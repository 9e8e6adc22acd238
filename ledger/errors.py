"""The library's exceptions: one root, subtrees by domain.

Every error the library raises on purpose derives from :class:`LedgerError`, so a caller (the CLI, the
service's exception handler) can map the whole tree in one place. Messages say what was wrong in words
a clerk can act on; they never contain personal data.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ChainError",
    "ChainUnavailableError",
    "ConfigurationError",
    "ContractRevertError",
    "DeploymentError",
    "InsufficientFundsError",
    "InvalidIdentifierError",
    "LedgerError",
    "NotFoundError",
    "SubjectErasedError",
    "TransactionError",
    "ValidationError",
    "VaultError",
    "VerificationError",
]


class LedgerError(Exception):
    """Root of every error raised on purpose by the ledger library."""


class ValidationError(LedgerError, ValueError):
    """Input that the library refuses before anything is sent anywhere."""


class InvalidIdentifierError(ValidationError):
    """A resident ID number, credit code or passport number that is malformed."""


class ConfigurationError(LedgerError):
    """Missing or unsafe configuration (a secret with no value, an unknown chain spec, ...)."""


class NotFoundError(LedgerError, LookupError):
    """A record, court, receipt or deployment that does not exist."""


class VaultError(LedgerError):
    """The off-chain vault cannot do what was asked (wrong key, corrupted row, ...)."""


class SubjectErasedError(VaultError):
    """The subject's key material was destroyed: their data can no longer be read or linked."""


class ChainError(LedgerError):
    """Anything that went wrong while talking to the chain."""


class ChainUnavailableError(ChainError):
    """The node could not be reached (refused, timed out, not started)."""


class DeploymentError(ChainError):
    """The deployment is missing, incomplete or does not match the artifacts."""


class TransactionError(ChainError):
    """A transaction could not be sent or was not mined."""


class InsufficientFundsError(TransactionError):
    """An account lacks the coins a transaction needs. Names the account, what it needs and what it has."""

    def __init__(self, account: str, needed: int, balance: int, what: str = "this transaction") -> None:
        self.account = account
        self.needed = needed
        self.balance = balance
        super().__init__(
            f"account {account} needs {needed} wei for {what} but holds {balance} wei: fund it on the "
            f"network, or configure a zero gas price (LEDGER_GAS_PRICE=0) if the network charges no fees"
        )


class ContractRevertError(TransactionError):
    """A contract call reverted. ``error`` names the decoded custom error, ``args`` its arguments.

    The same exception comes out whichever backend raised it (eth-tester, anvil, any JSON-RPC node).
    """

    def __init__(self, error: str, args: dict[str, Any] | None = None, *, contract: str | None = None,
                 data: bytes | None = None) -> None:
        self.error = error
        self.arguments: dict[str, Any] = dict(args or {})
        self.contract = contract
        self.data = data
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.arguments.items())
        where = f"{contract}: " if contract else ""
        super().__init__(f"{where}{error}({shown})")


class VerificationError(LedgerError):
    """A certificate or document failed verification. ``step`` names the step that failed.

    ``message`` (a :class:`ledger.messages.Message`) renders ``reason`` in another language; see
    :meth:`localized`.
    """

    def __init__(self, step: str, reason: str, *, message: Any = None) -> None:
        self.step = step
        self.reason = reason
        self.message = message
        super().__init__(f"verification failed at step '{step}': {reason}")

    def localized(self, lang: str) -> VerificationError:
        """This error with its reason, and the steps that passed before it, in ``lang`` (en, zh, fr)."""
        from ledger.messages import text

        reason = self.message.render(lang) if self.message is not None else self.reason
        err = VerificationError(self.step, reason, message=self.message)
        err.args = (text("error.failed", lang, step=self.step, reason=reason),)
        err.steps = [s.localized(lang) for s in getattr(self, "steps", [])]  # type: ignore[attr-defined]
        return err


def refused(step: str, key: str, **params: Any) -> VerificationError:
    """A VerificationError at ``step`` whose reason is the catalog message ``key`` (ledger/messages.json)."""
    from ledger.messages import Message

    message = Message(key, params)
    return VerificationError(step, message.render(), message=message)


def _show(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return repr(value) if isinstance(value, str) else str(value)
