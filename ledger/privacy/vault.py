"""The off-chain vault: personal data encrypted at rest, erasable per subject by destroying a key.

Contract
--------
* One SQLite file (WAL, ``synchronous=FULL``: a write that returned survives a crash;
  ``secure_delete=ON``: deleted content is overwritten with zeros). One connection behind a lock, so a
  :class:`Vault` may be shared by threads; several processes may open the same file.
* **Keys.** The caller passes a 32-byte master key (never defaulted or generated here). Each subject
  has its own random 32-byte *data key*, stored only wrapped (AES-256-GCM) by the master key in
  ``subject_keys``, under the subject's blind index. A key-check value in ``meta`` makes a wrong
  master key fail at :meth:`Vault.open` with :class:`~ledger.errors.VaultError`.
* **Rows.** Every personal value (identifier, display name, a record's parties and salt) is encrypted
  with AES-256-GCM under a fresh 12-byte nonce, with associated data naming the vault, the table and
  the row (and the key generation), so a row copied to another row, table or vault fails to decrypt.
* **Records.** A record's secret (its parties and commitment salt) is encrypted once, under a key
  derived with HKDF-SHA256 from the data keys of *all* its subjects (in blind-index order) and the
  record id. Reading it needs every one of those keys: erasing any party makes the salt unrecoverable,
  so the on-chain commitment can no longer be opened or linked to anyone. (One copy per subject would
  leave the erased person's name and ID readable through the other parties' copies.)
* **Erasure.** :meth:`Vault.erase_subject` deletes the subject's wrapped data key (zeroed on disk by
  ``secure_delete``), records a tombstone, and truncates the WAL so no old page keeps the wrapped key.
  The ciphertexts stay and are useless; reading them raises :class:`~ledger.errors.SubjectErasedError`.
  A subject registered again later gets a new key; records written under the old key stay erased.
* Blind indexes are stored in clear: they are already public on chain and reveal nothing without the
  blind-index key, which the vault never sees.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, TypeAdapter

from ledger._sqlite import savepoint
from ledger.errors import NotFoundError, SubjectErasedError, ValidationError, VaultError
from ledger.privacy.blind import Party, canonical_parties_json
from ledger.privacy.identity import CreditCode, Passport, ResidentId, SubjectId, subject_from_canonical

__all__ = ["RecordSecret", "SubjectRecord", "Vault"]

_SCHEMA_VERSION = b"1"
_KEY_BYTES = 32
_NONCE_BYTES = 12
_KCV_PLAINTEXT = b"jtl.vault.key-check.v1"
_AAD_PREFIX = b"jtl.vault.v1"
_MAX_NAME = 200
_BUSY_TIMEOUT_MS = 10_000
_PARTIES = TypeAdapter(list[Party])
#: (begin, commit, roll back) of a group, and of a group inside one (a savepoint)
_OUTER_GROUP = (["BEGIN IMMEDIATE"], ["COMMIT"], ["ROLLBACK"])
_INNER_GROUP = (["SAVEPOINT vault_group"], ["RELEASE vault_group"], ["ROLLBACK TO vault_group", "RELEASE vault_group"])

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS subject_keys (
    blind TEXT PRIMARY KEY,
    key_id BLOB NOT NULL,
    nonce BLOB NOT NULL,
    wrapped_key BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS subjects (blind TEXT PRIMARY KEY, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS erasures (blind TEXT PRIMARY KEY, erased_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS record_secrets (
    record_id BLOB PRIMARY KEY,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS record_subjects (
    record_id BLOB NOT NULL,
    blind TEXT NOT NULL,
    key_id BLOB NOT NULL,
    PRIMARY KEY (record_id, blind)
);
CREATE INDEX IF NOT EXISTS record_subjects_by_blind ON record_subjects (blind);
"""


class SubjectRecord(BaseModel):
    """A subject as the vault holds it, decrypted. Its ``repr`` masks the identifier and the name."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    blind: bytes
    subject: SubjectId
    display_name: str

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield "blind", "0x" + self.blind.hex()
        yield "subject", self.subject
        yield "display_name", self.display_name[:1] + "*" * (len(self.display_name) - 1)


class RecordSecret(NamedTuple):
    """What opens a record's on-chain party commitment. Its ``repr`` shows neither parties nor salt."""

    parties: tuple[Party, ...]
    salt: bytes

    def __repr__(self) -> str:
        return f"RecordSecret(<{len(self.parties)} parties>, salt=<secret>)"


class Vault:
    """The private data store. Open with :meth:`open`; use as a context manager or call :meth:`close`."""

    def __init__(self, conn: sqlite3.Connection, master: AESGCM, vault_id: bytes, path: Path) -> None:
        # Private: Vault.open checks the master key and the schema first.
        self._conn: sqlite3.Connection | None = conn
        self._master = master
        self._vault_id = vault_id
        self._path = path
        self._lock = threading.RLock()
        self._grouped = False  # inside group(): writes join its transaction

    @classmethod
    def open(cls, path: str | os.PathLike[str], master_key: bytes, *, create: bool = True) -> Vault:
        """Open (or, with ``create``, initialise) the vault at ``path`` with its master key."""
        if not isinstance(master_key, bytes) or len(master_key) != _KEY_BYTES:
            raise VaultError(f"the vault master key must be {_KEY_BYTES} bytes")
        where = Path(path)
        if not create and not where.exists():
            raise VaultError(f"no vault at {where}")
        master = AESGCM(master_key)
        try:
            conn = sqlite3.connect(
                where, isolation_level=None, check_same_thread=False, timeout=_BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as exc:
            raise VaultError(f"cannot open the vault at {where}: {exc}") from exc
        try:
            vault_id = _initialise(conn, master, where)
        except BaseException:
            conn.close()
            raise
        return cls(conn, master, vault_id, where)

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close. Idempotent."""
        with self._lock:
            if self._conn is None:
                return
            try:
                self._checkpoint()
            finally:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Vault({str(self._path)!r}, {'closed' if self._conn is None else 'open'})"

    # --- subjects -----------------------------------------------------------------------------------

    def put_subject(
        self, subject: ResidentId | CreditCode | Passport, blind: bytes, display_name: str
    ) -> None:
        """Store (or update the name of) a subject under its blind index, creating its data key.

        The vault cannot recompute the blind index (it never holds that key); it refuses a blind index
        already holding a different identifier, which catches the caller mixing up keys or subjects.
        """
        blind_hex = _blind_hex(blind)
        name = _display_name(display_name)
        with self._tx() as cur:
            row = cur.execute(
                "SELECT key_id, nonce, wrapped_key FROM subject_keys WHERE blind = ?", (blind_hex,)
            ).fetchone()
            if row is None:
                data_key, key_id = secrets.token_bytes(_KEY_BYTES), secrets.token_bytes(16)
                nonce = _nonce()
                wrapped = self._master.encrypt(nonce, data_key, self._aad(b"subject_keys", blind, key_id))
                cur.execute(
                    "INSERT INTO subject_keys VALUES (?, ?, ?, ?)", (blind_hex, key_id, nonce, wrapped)
                )
                cur.execute("DELETE FROM erasures WHERE blind = ?", (blind_hex,))
            else:
                key_id = row[0]
                data_key = self._unwrap(blind, row)
                existing = self._read_subject(cur, blind, data_key, key_id)
                if existing is not None and existing.subject.canonical() != subject.canonical():
                    raise ValidationError("this blind index already belongs to another subject")
            plaintext = json.dumps(
                {"subject": subject.canonical(), "display_name": name}, ensure_ascii=False
            ).encode("utf-8")
            nonce = _nonce()
            ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, self._aad(b"subjects", blind, key_id))
            cur.execute("INSERT OR REPLACE INTO subjects VALUES (?, ?, ?)", (blind_hex, nonce, ciphertext))

    def get_subject(self, blind: bytes) -> SubjectRecord:
        """The decrypted subject; NotFoundError if unknown, SubjectErasedError if erased."""
        found = self.find_by_blind(blind)
        if found is None:
            raise NotFoundError(f"no subject with blind index {_short(blind)} in the vault")
        return found

    def find_by_blind(self, blind: bytes) -> SubjectRecord | None:
        """Like :meth:`get_subject` but ``None`` for a subject the vault has never held."""
        blind_hex = _blind_hex(blind)
        with self._tx(write=False) as cur:
            if cur.execute(
                "SELECT 1 FROM subject_keys WHERE blind = ?", (blind_hex,)
            ).fetchone() is None and not self._is_erased(cur, blind_hex):
                return None
            data_key, key_id = self._data_key(cur, blind)
            return self._read_subject(cur, blind, data_key, key_id)

    def erase_subject(self, blind: bytes) -> None:
        """Destroy the subject's data key, so everything encrypted for them becomes unreadable.

        Idempotent for an already erased subject; NotFoundError for one the vault never held.
        """
        blind_hex = _blind_hex(blind)
        with self._tx() as cur:
            deleted = cur.execute("DELETE FROM subject_keys WHERE blind = ?", (blind_hex,)).rowcount
            if deleted == 0:
                if self._is_erased(cur, blind_hex):
                    return
                raise NotFoundError(f"no subject with blind index {_short(blind)} in the vault")
            cur.execute(
                "INSERT OR REPLACE INTO erasures VALUES (?, ?)",
                (blind_hex, datetime.now(UTC).isoformat(timespec="seconds")),
            )
        # Drop the WAL frames that still hold the page with the wrapped key. If another connection is
        # reading right now the WAL cannot be reset; the next complete checkpoint (every close) does it.
        self._checkpoint()

    # --- records ------------------------------------------------------------------------------------

    def put_record_secret(
        self, record_id: bytes, blind_indexes: Sequence[bytes], parties: Sequence[Party], salt: bytes
    ) -> None:
        """Store the parties and salt behind a record's commitment, readable only while all its subjects are.

        Every blind index must belong to a subject already in the vault. Storing the same secret again
        is a no-op (safe to retry); a different secret for the same record is refused.
        """
        rid = _record_id(record_id)
        blinds = sorted({_blind_hex(b) for b in blind_indexes})
        if not blinds:
            raise ValidationError("a record secret needs at least one subject")
        if len(blinds) != len(blind_indexes):
            raise ValidationError("a blind index is listed twice")
        if not isinstance(salt, bytes) or len(salt) != 32:
            raise ValidationError("a commitment salt must be 32 bytes")
        canonical_parties_json(parties)  # refuses an empty or repeated party list
        secret = RecordSecret(tuple(parties), salt)
        with self._tx() as cur:
            if cur.execute("SELECT 1 FROM record_secrets WHERE record_id = ?", (rid,)).fetchone():
                existing = self._read_record(cur, rid)
                if (canonical_parties_json(existing.parties), existing.salt) != (
                    canonical_parties_json(secret.parties),
                    secret.salt,
                ):
                    raise ValidationError(f"record 0x{rid.hex()} already has a different secret")
                return
            keys = [self._data_key(cur, bytes.fromhex(b)) for b in blinds]
            plaintext = json.dumps(
                {"salt": salt.hex(), "parties": [p.model_dump(mode="json") for p in parties]},
                ensure_ascii=False,
            ).encode("utf-8")
            nonce = _nonce()
            record_key = _record_key(rid, [k for k, _ in keys])
            ciphertext = AESGCM(record_key).encrypt(nonce, plaintext, self._record_aad(rid, blinds))
            cur.execute("INSERT INTO record_secrets VALUES (?, ?, ?)", (rid, nonce, ciphertext))
            cur.executemany(
                "INSERT INTO record_subjects VALUES (?, ?, ?)",
                [(rid, b, key_id) for b, (_, key_id) in zip(blinds, keys, strict=True)],
            )

    def get_record_secret(self, record_id: bytes) -> RecordSecret:
        """The parties and salt of a record; SubjectErasedError once any of its subjects is erased."""
        rid = _record_id(record_id)
        with self._tx(write=False) as cur:
            return self._read_record(cur, rid)

    def record_ids_for(self, blind: bytes) -> list[bytes]:
        """Ids of the records whose secrets involve this subject (erased or not), e.g. to scope an erasure."""
        blind_hex = _blind_hex(blind)
        with self._tx(write=False) as cur:
            rows = cur.execute(
                "SELECT record_id FROM record_subjects WHERE blind = ? ORDER BY record_id", (blind_hex,)
            ).fetchall()
        return [bytes(r[0]) for r in rows]

    # --- grouped writes -----------------------------------------------------------------------------

    @contextmanager
    def group(self) -> Iterator[None]:
        """Every write made inside (by this thread) joins one transaction, committed with one durable sync
        when the block exits, or rolled back as a whole on an exception. A group inside a group, and each
        write in it, is a savepoint: what fails there is undone alone and the rest stays. Other threads wait
        for the vault meanwhile, so nothing slow belongs inside."""
        with self._lock:
            conn = self._connection()
            outer = not self._grouped
            begin, commit, rollback = _OUTER_GROUP if outer else _INNER_GROUP
            _run(conn, begin)
            self._grouped = True
            try:
                yield
                _run(conn, commit)
            except BaseException:
                if conn.in_transaction:
                    _run(conn, rollback)
                raise
            finally:
                self._grouped = not outer

    # --- internals ----------------------------------------------------------------------------------

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            conn = self._connection()
            if self._grouped:
                try:
                    with savepoint(conn, "vault_write"):
                        yield conn.cursor()
                except sqlite3.Error as exc:
                    raise VaultError(f"vault storage error: {exc}") from exc
                return
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn.cursor()
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise VaultError(f"vault storage error: {exc}") from exc

    def _checkpoint(self) -> None:
        with self._lock:
            try:
                self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.Error as exc:
                raise VaultError(f"vault storage error: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise VaultError("the vault is closed")
        return self._conn

    def _aad(self, table: bytes, *parts: bytes) -> bytes:
        return _aad(table, self._vault_id, *parts)

    def _record_aad(self, rid: bytes, blinds: list[str]) -> bytes:
        return self._aad(b"record_secrets", rid, *(bytes.fromhex(b) for b in blinds))

    def _unwrap(self, blind: bytes, row: tuple[bytes, bytes, bytes]) -> bytes:
        key_id, nonce, wrapped = row
        try:
            return self._master.decrypt(nonce, wrapped, self._aad(b"subject_keys", blind, key_id))
        except InvalidTag:
            raise VaultError(f"the data key of subject {_short(blind)} fails authentication") from None

    def _data_key(self, cur: sqlite3.Cursor, blind: bytes) -> tuple[bytes, bytes]:
        blind_hex = _blind_hex(blind)
        row = cur.execute(
            "SELECT key_id, nonce, wrapped_key FROM subject_keys WHERE blind = ?", (blind_hex,)
        ).fetchone()
        if row is None:
            if self._is_erased(cur, blind_hex):
                raise SubjectErasedError(
                    f"subject {_short(blind)} was erased: their data can no longer be read"
                )
            raise NotFoundError(f"no subject with blind index {_short(blind)} in the vault")
        return self._unwrap(blind, row), row[0]

    def _read_subject(
        self, cur: sqlite3.Cursor, blind: bytes, data_key: bytes, key_id: bytes
    ) -> SubjectRecord | None:
        row = cur.execute(
            "SELECT nonce, ciphertext FROM subjects WHERE blind = ?", (_blind_hex(blind),)
        ).fetchone()
        if row is None:
            return None
        try:
            plaintext = AESGCM(data_key).decrypt(row[0], row[1], self._aad(b"subjects", blind, key_id))
        except InvalidTag:
            raise VaultError(f"the row of subject {_short(blind)} fails authentication") from None
        data = json.loads(plaintext)
        return SubjectRecord(
            blind=bytes(blind),
            subject=subject_from_canonical(data["subject"]),
            display_name=data["display_name"],
        )

    def _read_record(self, cur: sqlite3.Cursor, rid: bytes) -> RecordSecret:
        row = cur.execute(
            "SELECT nonce, ciphertext FROM record_secrets WHERE record_id = ?", (rid,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no secret for record 0x{rid.hex()} in the vault")
        links = cur.execute(
            "SELECT blind, key_id FROM record_subjects WHERE record_id = ? ORDER BY blind", (rid,)
        ).fetchall()
        keys: list[bytes] = []
        for blind_hex, key_id in links:
            current = cur.execute(
                "SELECT key_id, nonce, wrapped_key FROM subject_keys WHERE blind = ?", (blind_hex,)
            ).fetchone()
            if current is None or current[0] != key_id:
                raise SubjectErasedError(
                    f"a party to record 0x{rid.hex()} was erased: its parties and salt can no longer be read"
                )
            keys.append(self._unwrap(bytes.fromhex(blind_hex), current))
        try:
            plaintext = AESGCM(_record_key(rid, keys)).decrypt(
                row[0], row[1], self._record_aad(rid, [b for b, _ in links])
            )
        except InvalidTag:
            raise VaultError(f"the secret of record 0x{rid.hex()} fails authentication") from None
        data = json.loads(plaintext)
        return RecordSecret(tuple(_PARTIES.validate_python(data["parties"])), bytes.fromhex(data["salt"]))

    @staticmethod
    def _is_erased(cur: sqlite3.Cursor, blind_hex: str) -> bool:
        return cur.execute("SELECT 1 FROM erasures WHERE blind = ?", (blind_hex,)).fetchone() is not None


def _initialise(conn: sqlite3.Connection, master: AESGCM, where: Path) -> bytes:
    """Set the pragmas, create the schema if missing, and check the master key; returns the vault id."""
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise VaultError(f"the vault at {where} cannot use write-ahead logging (journal mode {mode})")
        for pragma in ("synchronous=FULL", "secure_delete=ON", f"busy_timeout={_BUSY_TIMEOUT_MS}"):
            conn.execute(f"PRAGMA {pragma}")
        conn.executescript(_SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        try:
            meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
            if not meta:
                vault_id, nonce = secrets.token_bytes(16), _nonce()
                kcv = nonce + master.encrypt(nonce, _KCV_PLAINTEXT, _aad(b"meta", vault_id))
                conn.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("schema", _SCHEMA_VERSION), ("vault_id", vault_id), ("key_check", kcv)],
                )
                meta = {"schema": _SCHEMA_VERSION, "vault_id": vault_id, "key_check": kcv}
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise VaultError(f"the file at {where} is not a usable vault: {exc}") from exc
    if bytes(meta.get("schema", b"")) != _SCHEMA_VERSION:
        raise VaultError(f"the vault at {where} has an unsupported schema version")
    vault_id, kcv = bytes(meta["vault_id"]), bytes(meta["key_check"])
    try:
        master.decrypt(kcv[:_NONCE_BYTES], kcv[_NONCE_BYTES:], _aad(b"meta", vault_id))
    except InvalidTag:
        raise VaultError(
            f"wrong master key for the vault at {where}: the key check value does not match"
        ) from None
    return vault_id


def _run(conn: sqlite3.Connection, statements: list[str]) -> None:
    try:
        for statement in statements:
            conn.execute(statement)
    except sqlite3.Error as exc:
        raise VaultError(f"vault storage error: {exc}") from exc


def _record_key(rid: bytes, data_keys: list[bytes]) -> bytes:
    # n-of-n: the record key exists only while every party's data key does.
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=b"jtl.vault.record-key.v1" + _aad(rid)
    )
    return hkdf.derive(b"".join(data_keys))


def _aad(*parts: bytes) -> bytes:
    """Length-prefixed concatenation, so no two different part lists give the same bytes."""
    return _AAD_PREFIX + b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def _nonce() -> bytes:
    return secrets.token_bytes(_NONCE_BYTES)


def _blind_hex(blind: object) -> str:
    if not isinstance(blind, bytes) or len(blind) != 32:
        raise ValidationError("a blind index must be 32 bytes")
    return blind.hex()


def _record_id(record_id: object) -> bytes:
    if not isinstance(record_id, bytes) or not 1 <= len(record_id) <= 64:
        raise ValidationError("a record id must be 1 to 64 bytes")
    return record_id


def _display_name(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("a display name must be text")
    name = unicodedata.normalize("NFC", value).strip()
    if not name or len(name) > _MAX_NAME:
        raise ValidationError(f"a display name must be 1 to {_MAX_NAME} characters")
    return name


def _short(blind: object) -> str:
    return "0x" + blind[:6].hex() + "..." if isinstance(blind, bytes) else "?"
