"""Court signer keys held by the service: created into the encrypted keystore, unlocked once, kept in memory.

The court's current key is the newest one the outbox marks active (its governance act confirmed); every
write, and every notary anchor, is signed by the key current at signing time.
"""

from __future__ import annotations

import threading
from typing import Literal

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from api.outbox import Outbox
from ledger.signing import Keystore

__all__ = ["Signers"]


class Signers:
    """Court signer keys: created into the encrypted keystore, unlocked once and kept in memory."""

    def __init__(self, keystore: Keystore, password: str, outbox: Outbox, *,
                 kdf: Literal["scrypt", "pbkdf2"] = "scrypt") -> None:
        self.keystore = keystore
        self._password = password
        self.outbox = outbox
        self.kdf = kdf
        self._cache: dict[str, LocalAccount] = {}
        self._lock = threading.Lock()

    def create(self) -> LocalAccount:
        account = self.keystore.create(self._password, kdf=self.kdf)
        with self._lock:
            self._cache[account.address] = account
        return account

    def remember(self, account: LocalAccount) -> None:
        with self._lock:
            self._cache[account.address] = account

    def account(self, address: str) -> LocalAccount:
        address = to_checksum_address(address)
        with self._lock:
            cached = self._cache.get(address)
        if cached is not None:
            return cached
        account = self.keystore.load(address, self._password)
        with self._lock:
            self._cache[address] = account
        return account

    def for_court(self, court: int) -> LocalAccount | None:
        address = self.outbox.active_signer(court)
        return self.account(address) if address else None
