"""Per-client authentication: RFC 9421 signed requests (Ed25519), single-use nonces, a rotatable registry.

Contract
--------
A request is signed per RFC 9421 HTTP Message Signatures as :mod:`api.httpsig` profiles it: headers
``Signature-Input`` and ``Signature`` (one label, ``alg="ed25519"``), covering at least ``"@method"``,
``"@path"``, ``"@query"`` and, with a body, ``"content-digest"`` (RFC 9530 ``Content-Digest: sha-256=:…:``),
with the parameters ``created`` (unix seconds, refused outside ``now ± clock_skew``, 300 s by default),
``keyid`` (the client id in the registry) and ``nonce`` (random, single use). The former ``X-Signature``
headers are not accepted (see docs/security.md). Checks, in order: headers present and well formed,
required components covered, ``Content-Digest`` matches the body, ``created`` (and ``expires``) in the
window, client known and active, signature valid under the client's current key, nonce not seen (it is
then stored until the window has passed). Any failure is a 401 naming the reason; the nonce is stored
only for a valid signature, so a forger cannot burn another client's nonces.

The registry (table ``clients`` in ``<data_dir>/service.sqlite``) holds per client: id, kind (court,
partner, governance, notary), court id (courts and notaries), scopes, Ed25519 public key (raw 32
bytes, base64 in files) and an active flag. A key is rotated by replacing it: requests signed with the
old key fail from that moment. :func:`sign_request` is the client side, used by tests, the demo and
scripts. ``python -m api.auth --data-dir DIR add|rotate|deactivate|list|keygen`` manages the registry.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import BadSignatureError
from nacl.exceptions import ValueError as NaclValueError
from nacl.signing import VerifyKey

from api import httpsig
from api.errors import Unauthenticated
from ledger._sqlite import busy_retry
from ledger.errors import ConfigurationError, ValidationError
from ledger.request_signing import private_key_from_text, sign_headers, signature_base

__all__ = [
    "DEFAULT_SCOPES",
    "Authenticator",
    "Client",
    "ClientKind",
    "ClientRegistry",
    "generate_key",
    "private_key_from_text",
    "public_key_text",
    "sign_request",
]

ClientKind = Literal["court", "partner", "governance", "notary"]
KINDS: tuple[str, ...] = get_args(ClientKind)

#: Scopes a client of each kind gets when none are given.
DEFAULT_SCOPES: dict[str, frozenset[str]] = {
    "court": frozenset({"judgments:write", "enforcement:write", "defaulters:write", "notary:write", "records:read"}),
    "partner": frozenset({"checks:read"}),
    "governance": frozenset({"courts:write", "records:read"}),
    "notary": frozenset({"notary:write", "records:read"}),
}

NONCE_INSERT = "INSERT INTO request_nonces (client_id, nonce, expires_at) VALUES (?, ?, ?)"
REPLAYED = "the signature's nonce was already used: replayed request refused"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True)
class Client:
    """An authenticated client: who is calling and what it may do."""

    client_id: str
    kind: ClientKind
    court_id: int | None
    scopes: frozenset[str]
    active: bool = True

    def has(self, scope: str) -> bool:
        return scope in self.scopes


# -- client side -------------------------------------------------------------------------------


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64: the form the registry stores."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def private_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw).decode()


def sign_request(
    client_id: str,
    private_key: Ed25519PrivateKey | str | bytes,
    method: str,
    path: str,
    body: bytes | str | None = b"",
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The RFC 9421 signature headers for one request. ``path`` includes the query string, as sent.

    Send exactly ``body`` (the same bytes) with these headers; each call makes a fresh nonce."""
    key = private_key if isinstance(private_key, Ed25519PrivateKey) else private_key_from_text(private_key)
    raw = body.encode() if isinstance(body, str) else (body or b"")
    headers = sign_headers(client_id, key.sign, method, path, raw, created=timestamp, nonce=nonce)
    if raw:
        headers["Content-Type"] = "application/json"
    return headers


# -- registry ----------------------------------------------------------------------------------

CLIENTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY, kind TEXT NOT NULL, court_id INTEGER, scopes TEXT NOT NULL,
    public_key BLOB NOT NULL, active INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL,
    key_rotated_at INTEGER);
CREATE TABLE IF NOT EXISTS request_nonces (
    client_id TEXT NOT NULL, nonce TEXT NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, nonce));
CREATE INDEX IF NOT EXISTS request_nonces_by_expiry ON request_nonces (expires_at);
"""


def open_db(path: Path) -> sqlite3.Connection:
    """The service database (clients, nonces, audit): WAL, NORMAL sync, one shared connection."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # timeout=0: several processes (the service, check workers) write here, each holding the lock for
    # tens of microseconds; every statement goes through ledger._sqlite.busy_retry, which waits in steps
    # of 50 µs instead of SQLite's 1-100 ms.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
    busy_retry(lambda: conn.execute("PRAGMA journal_mode=WAL"))
    # NORMAL: a committed nonce or audit row survives a crash of the process; only a power cut may lose
    # the last transactions. Full sync per authenticated request would cap partner checks at disk speed.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class ClientRegistry:
    """The clients table plus the single-use nonces, in one SQLite file shared with the audit log."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.db = open_db(self.path)
        self.lock = threading.RLock()
        with self.lock:
            busy_retry(lambda: self.db.executescript(CLIENTS_SCHEMA))

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return busy_retry(lambda: self.db.execute(sql, params))

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # -- management ------------------------------------------------------------------------

    def add(
        self,
        client_id: str,
        kind: str,
        public_key: str | bytes | Ed25519PublicKey,
        *,
        court_id: int | None = None,
        scopes: Iterable[str] | None = None,
        active: bool = True,
        replace: bool = False,
    ) -> Client:
        """Register a client (``replace``: overwrite an existing one, e.g. from the clients file)."""
        if not _CLIENT_ID.match(client_id):
            raise ValidationError("a client id is 1 to 64 characters of letters, digits and _ . : -")
        if kind not in KINDS:
            raise ValidationError(f"client kind must be one of {', '.join(KINDS)}")
        if kind in ("court", "notary") and not court_id:
            raise ValidationError(f"a {kind} client needs its court id")
        if kind in ("partner", "governance") and court_id:
            raise ValidationError(f"a {kind} client has no court id")
        chosen = frozenset(scopes) if scopes is not None else DEFAULT_SCOPES[kind]
        raw = _public_bytes(public_key)
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self.lock:
            try:
                self._execute(
                    f"{verb} INTO clients (client_id, kind, court_id, scopes, public_key, active, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        client_id,
                        kind,
                        court_id,
                        json.dumps(sorted(chosen)),
                        raw,
                        int(active),
                        int(time.time()),
                    ),
                )
            except sqlite3.IntegrityError:
                raise ValidationError(f"client {client_id!r} already exists; rotate its key instead") from None
        return Client(client_id, kind, court_id, chosen, active)  # type: ignore[arg-type]

    def rotate(self, client_id: str, public_key: str | bytes | Ed25519PublicKey) -> None:
        """Replace the client's key: the old key stops working at once."""
        with self.lock:
            cur = self._execute(
                "UPDATE clients SET public_key = ?, key_rotated_at = ? WHERE client_id = ?",
                (_public_bytes(public_key), int(time.time()), client_id),
            )
        if cur.rowcount == 0:
            raise ValidationError(f"no client {client_id!r}")

    def set_active(self, client_id: str, active: bool) -> None:
        with self.lock:
            cur = self._execute("UPDATE clients SET active = ? WHERE client_id = ?", (int(active), client_id))
        if cur.rowcount == 0:
            raise ValidationError(f"no client {client_id!r}")

    def get(self, client_id: str) -> tuple[Client, bytes] | None:
        with self.lock:
            row = self._execute(
                "SELECT client_id, kind, court_id, scopes, public_key, active FROM clients WHERE client_id = ?",
                (client_id,),
            ).fetchone()
        if row is None:
            return None
        cid, kind, court, scopes, key, active = row
        return Client(cid, kind, court, frozenset(json.loads(scopes)), bool(active)), bytes(key)

    def clients(self) -> list[Client]:
        with self.lock:
            ids = [r[0] for r in self._execute("SELECT client_id FROM clients ORDER BY client_id")]
        return [found[0] for cid in ids if (found := self.get(cid)) is not None]

    def load_file(self, path: Path) -> int:
        """Upsert the clients listed in a JSON file: ``[{client_id, kind, court_id?, scopes?, public_key,
        active?}]``. Returns how many were loaded."""
        try:
            entries = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the clients file {path}: {exc}") from None
        if not isinstance(entries, list):
            raise ConfigurationError(f"the clients file {path} must hold a JSON list")
        for entry in entries:
            self.add(
                entry["client_id"],
                entry["kind"],
                entry["public_key"],
                court_id=entry.get("court_id"),
                scopes=entry.get("scopes"),
                active=entry.get("active", True),
                replace=True,
            )
        return len(entries)

    # -- nonces ----------------------------------------------------------------------------

    def use_nonce(self, client_id: str, nonce: str, expires_at: int) -> bool:
        """Store a nonce; False if the client already used it (a replay)."""
        with self.lock:
            try:
                self._execute(NONCE_INSERT, (client_id, nonce, expires_at))
            except sqlite3.IntegrityError:
                return False
        return True

    def purge_nonces(self, now: int | None = None) -> int:
        with self.lock:
            cur = self._execute(
                "DELETE FROM request_nonces WHERE expires_at < ?", (int(time.time()) if now is None else now,)
            )
        return cur.rowcount


def _public_bytes(key: str | bytes | Ed25519PublicKey) -> bytes:
    if isinstance(key, Ed25519PublicKey):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if isinstance(key, str):
        text = key.strip()
        if text.startswith("-----BEGIN"):
            loaded = serialization.load_pem_public_key(text.encode())
            if not isinstance(loaded, Ed25519PublicKey):
                raise ValidationError("the public key is not an Ed25519 key")
            return _public_bytes(loaded)
        try:
            key = base64.b64decode(text, validate=True)
        except ValueError:
            raise ValidationError("a public key is base64 of 32 raw bytes, or PEM") from None
    if len(key) != 32:
        raise ValidationError("an Ed25519 public key is 32 bytes")
    Ed25519PublicKey.from_public_bytes(key)
    return bytes(key)


# -- server side -------------------------------------------------------------------------------


class Authenticator:
    """Checks a request's signature headers against the registry."""

    def __init__(self, registry: ClientRegistry, *, clock_skew: int = 300, public_url: str | None = None) -> None:
        self.registry = registry
        self.clock_skew = clock_skew
        self.public_url = public_url.rstrip("/") if public_url else None
        self._last_purge = 0.0
        self._keys: dict[bytes, VerifyKey] = {}

    def _public_key(self, raw: bytes) -> VerifyKey:
        """The verifying key for these 32 bytes, loaded once (keyed by the bytes: a rotated key is another).

        Verification uses libsodium (PyNaCl, from the same PyCA maintainers as ``cryptography``): 80 us a
        signature here against 160 us through OpenSSL, and the signature is most of a partner check's
        cost. Keys are still made, stored and parsed with ``cryptography``; Ed25519 signatures are the same
        bytes whichever library checks them (libsodium additionally refuses small-order keys)."""
        found = self._keys.get(raw)
        if found is None:
            if len(self._keys) >= 10_000:
                self._keys.clear()
            found = self._keys[raw] = VerifyKey(raw)
        return found

    def authenticate(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
        scheme: str = "http",
    ) -> Client:
        """The client that signed this request; its nonce is used up. Raises :class:`Unauthenticated`."""
        now = time.time() if now is None else now
        client, nonce, expires_at = self.verify(method, target, headers, body, now=now, scheme=scheme)
        self.consume_nonce(client.client_id, nonce, expires_at, now=now)
        return client

    def origin(self, scheme: str, headers: Mapping[str, str]) -> str:
        """``scheme://authority`` for ``@target-uri``: the configured public URL (what clients address,
        through any proxy), else the scheme this server was reached by and the request's Host. Forwarded
        headers are never read: a client could set them to match a signature made for another server."""
        return self.public_url or f"{scheme}://{headers.get('host', '').lower()}"

    def verify(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
        scheme: str = "http",
    ) -> tuple[Client, str, int]:
        """Everything :meth:`authenticate` checks but the nonce's single use, with no side effect:
        (client, nonce, when the nonce may be forgotten). :meth:`consume_nonce` completes it."""
        now = time.time() if now is None else now
        signed = httpsig.parse_signature(headers, bool(body))
        httpsig.check_coverage(signed, bool(body))
        httpsig.check_digest(headers, body)
        if abs(signed.created - now) > self.clock_skew:
            raise Unauthenticated(f"the signature's created is outside ±{self.clock_skew} s of the server clock")
        if signed.expires is not None and signed.expires < now:
            raise Unauthenticated("the signature has expired")
        found = self.registry.get(signed.keyid) if _CLIENT_ID.match(signed.keyid) else None
        if found is None or not found[0].active:
            raise Unauthenticated("unknown or inactive client (the signature's keyid)")
        client, key = found
        try:
            base = signature_base(signed.components, signed.params_line, method, target, headers,
                                  origin=self.origin(scheme, headers))
        except ValueError as exc:
            raise Unauthenticated(str(exc)) from None
        try:
            self._public_key(key).verify(base, signed.signature)
        except (BadSignatureError, NaclValueError, ValueError):
            raise Unauthenticated("bad signature") from None
        return client, signed.nonce, signed.created + self.clock_skew + 1

    def consume_nonce(self, client_id: str, nonce: str, expires_at: int, *, now: float | None = None) -> None:
        """Use the nonce up; :class:`Unauthenticated` if it was used already (a replayed request)."""
        if not self.registry.use_nonce(client_id, nonce, expires_at):
            raise Unauthenticated(REPLAYED)
        self.purge_due(now)

    def purge_due(self, now: float | None = None) -> None:
        """Forget expired nonces, at most once a minute."""
        now = time.time() if now is None else now
        if now - self._last_purge > 60:
            self._last_purge = now
            self.registry.purge_nonces(int(now))


# -- command line ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.auth", description="manage the service's API clients")
    parser.add_argument("--data-dir", type=Path, default=Path(".data"))
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="register a client (prints a new private key unless --public-key)")
    add.add_argument("client_id")
    add.add_argument("--kind", choices=KINDS, required=True)
    add.add_argument("--court", type=int)
    add.add_argument("--scopes", help="comma-separated; default by kind")
    add.add_argument("--public-key", help="base64 raw Ed25519 public key (default: generate a key pair)")
    rotate = sub.add_parser("rotate", help="replace a client's key")
    rotate.add_argument("client_id")
    rotate.add_argument("--public-key")
    for name in ("deactivate", "activate"):
        sub.add_parser(name).add_argument("client_id")
    sub.add_parser("list")
    args = parser.parse_args(argv)
    registry = ClientRegistry(args.data_dir / "service.sqlite")
    try:
        if args.command in ("add", "rotate"):
            private = None
            public = args.public_key
            if public is None:
                private = generate_key()
                public = public_key_text(private)
            if args.command == "add":
                scopes = [s.strip() for s in args.scopes.split(",")] if args.scopes else None
                registry.add(args.client_id, args.kind, public, court_id=args.court, scopes=scopes)
            else:
                registry.rotate(args.client_id, public)
            print(
                json.dumps(
                    {
                        "client_id": args.client_id,
                        "public_key": public,
                        **({"private_key": private_key_text(private)} if private else {}),
                    }
                )
            )
        elif args.command in ("deactivate", "activate"):
            registry.set_active(args.client_id, args.command == "activate")
        else:
            for c in registry.clients():
                print(
                    json.dumps(
                        {
                            "client_id": c.client_id,
                            "kind": c.kind,
                            "court_id": c.court_id,
                            "scopes": sorted(c.scopes),
                            "active": c.active,
                        }
                    )
                )
    except (ValidationError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
