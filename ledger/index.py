"""Events -> read model: a SQLite index of the registries, resumable, reorg-safe, with statistics.

Contract of this module:

- :class:`Indexer` follows the five contracts' events into an :class:`Index`. Each :meth:`Indexer.sync`
  runs from the block after the cursor (first time: the earliest deployment block, never block 0) to
  ``head - confirmations``, in ranges of ``batch_blocks``: one ``eth_getLogs`` per range over the five
  addresses, each log decoded by its topic0 with the committed artifacts' ABIs, applied in
  (block, log index) order, and the whole range committed in one SQLite transaction together with the
  cursor. A crash loses at most the range in flight; the next sync resumes at the cursor. Only standard
  ``eth_*`` methods are used.
- Reorganisations: the hashes of recently processed blocks are kept (the last :data:`KEEP_BLOCK_HASHES`
  that the indexer saw: every range's last block and every block with a log). Before each range the
  stored hash of the cursor block is compared with the chain's; on a difference the indexer walks back
  to the highest stored block the chain still agrees with, undoes every event above it, and continues
  from there. Undoing is exact: every derived row carries ``block_number``, and the rows of an entity
  (a case, a listing, a judgment, ...) touched by undone events are dropped and rebuilt by replaying the
  entity's remaining raw events, which the index keeps. A reorganisation deeper than the kept hashes
  rebuilds the index from its start block.
- Applying an event is idempotent: the raw event's primary key is (block_number, log_index) and an event
  already present is not applied again. So an index rebuilt from the chain alone equals one built
  incrementally, whatever the ranges and pauses; :meth:`Index.dump` is the comparable form.
- Durability: WAL journal with ``synchronous=NORMAL``. A power cut may lose the last committed ranges
  (never corrupt the file); the cursor goes back with them, so the next sync simply fetches them again.
  The index is a cache of the chain: deleting the file and syncing again rebuilds it.
- Reads are thread-safe: each reading thread gets its own connection (WAL lets readers run beside the
  writer); writes are serialised by a lock. One indexer per index file. Answers reflect the chain up to
  :meth:`Index.cursor`, so with ``confirmations=N`` a record appears N blocks after its own.
- Partner checks (:meth:`Index.is_restricted`, :meth:`Index.check_many`) follow
  ``DefaulterRegistry.isRestricted`` exactly: a listing covers ``restriction`` when it carries every
  bit of it and ``listed_at <= at < end``, where ``end`` is the removal time if the listing was removed
  before its (possibly extended) ``until``, else ``until``; of several, the one ending last (the latest
  listed on a tie) answers. :meth:`Index.check_many` runs one SQL query per chunk of subjects.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict, cast

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from web3.exceptions import BlockNotFound
from web3.types import RPCEndpoint

from ledger._sqlite import immediate
from ledger.build import load_artifact
from ledger.deployment import CONTRACTS
from ledger.errors import ChainError, ConfigurationError, ValidationError
from ledger.records import ActionKind, CaseState, Ground, JudgmentStatus, RemovalReason, Restriction

if TYPE_CHECKING:
    from ledger.client import Ledger

__all__ = [
    "COERCIVE_ACTIONS",
    "SCHEMA_VERSION",
    "ActionView",
    "AnchorView",
    "CaseView",
    "Index",
    "Indexer",
    "JudgmentView",
    "ListingEventView",
    "ListingView",
    "RestrictionAnswer",
    "Statistics",
    "StatusChangeView",
    "SyncResult",
]

SCHEMA_VERSION = 3  # 2: anchors keyed by (court, root), as NotaryAnchor 2 keys them; 3: status_entries
#: How many processed block hashes are kept for reorganisation detection.
KEEP_BLOCK_HASHES = 256
#: Subjects per SQL query in :meth:`Index.check_many` (well under SQLite's variable limit).
CHECK_CHUNK = 500
#: Enforcement against assets. A concluded case with none of these performed voluntarily.
COERCIVE_ACTIONS = frozenset({
    ActionKind.FREEZE, ActionKind.SEAL, ActionKind.SEIZE, ActionKind.DEDUCTION, ActionKind.VALUATION,
    ActionKind.AUCTION_LISTED, ActionKind.AUCTION_SOLD, ActionKind.AUCTION_FAILED,
})
_PERFORMED = (int(RemovalReason.PERFORMED), int(RemovalReason.SETTLEMENT_FULFILLED))
_INT64_MAX = 2**63 - 1
_MAX_SYNC_RETRIES = 10

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value);
CREATE TABLE blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE events (
    block_number INTEGER NOT NULL, log_index INTEGER NOT NULL, block_hash BLOB NOT NULL,
    block_time INTEGER NOT NULL, tx_hash BLOB NOT NULL, address TEXT NOT NULL, event TEXT, entity TEXT,
    topics BLOB NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (block_number, log_index));
CREATE INDEX events_by_entity ON events (entity, block_number, log_index);
CREATE TABLE courts (
    court INTEGER PRIMARY KEY, jurisdiction TEXT, appellate_court INTEGER, status INTEGER,
    admitted_at INTEGER, status_changed_at INTEGER, block_number INTEGER, log_index INTEGER);
CREATE TABLE signers (
    address TEXT PRIMARY KEY, court INTEGER, valid_from INTEGER, valid_until INTEGER,
    block_number INTEGER, log_index INTEGER);
CREATE INDEX signers_by_court ON signers (court);
CREATE TABLE registries (address TEXT PRIMARY KEY, block_number INTEGER, log_index INTEGER);
CREATE TABLE writers (
    registry TEXT, signer TEXT, court INTEGER, state INTEGER, block_number INTEGER, log_index INTEGER,
    PRIMARY KEY (registry, signer));
CREATE TABLE judgments (
    id BLOB PRIMARY KEY, court INTEGER, case_number_digest BLOB, document_digest BLOB,
    parties_commitment BLOB, amount, currency TEXT, judgment_date INTEGER, effective_date INTEGER,
    status INTEGER, superseded_by BLOB, changes INTEGER, recorded_at INTEGER, status_changed_at INTEGER,
    block_number INTEGER, log_index INTEGER, tx_hash BLOB);
CREATE INDEX judgments_by_case_number ON judgments (case_number_digest, document_digest);
CREATE INDEX judgments_by_court ON judgments (court);
CREATE INDEX judgments_by_document ON judgments (document_digest);
CREATE TABLE judgment_status_changes (
    block_number INTEGER, log_index INTEGER, judgment_id BLOB, sequence INTEGER, by_court INTEGER,
    from_status INTEGER, to_status INTEGER, superseded_by BLOB, changed_at INTEGER, tx_hash BLOB,
    PRIMARY KEY (block_number, log_index));
CREATE INDEX status_changes_by_judgment ON judgment_status_changes (judgment_id, sequence);
CREATE TABLE cases (
    id BLOB PRIMARY KEY, court INTEGER, judgment_id BLOB, case_number_digest BLOB, amount_due,
    filed_at INTEGER, opened_at INTEGER, state INTEGER, actions INTEGER, amount_recovered,
    amount_disbursed, assets_inquired INTEGER, pending_auctions INTEGER, coercive_actions INTEGER,
    history_hash BLOB, updated_at INTEGER, concluded_at INTEGER,
    block_number INTEGER, log_index INTEGER, tx_hash BLOB);
CREATE INDEX cases_by_court ON cases (court, state);
CREATE INDEX cases_by_judgment ON cases (judgment_id);
CREATE INDEX cases_by_case_number ON cases (case_number_digest);
CREATE TABLE case_actions (
    case_id BLOB, sequence INTEGER, kind INTEGER, amount, detail, document_digest BLOB, flags INTEGER,
    state INTEGER, amount_recovered, history_hash BLOB, recorded_at INTEGER,
    block_number INTEGER, log_index INTEGER, tx_hash BLOB,
    PRIMARY KEY (case_id, sequence));
CREATE TABLE listings (
    id BLOB PRIMARY KEY, subject BLOB NOT NULL, court INTEGER, case_id BLOB, ground INTEGER,
    restrictions INTEGER, listed_at INTEGER, until INTEGER, original_until INTEGER, ends_at INTEGER,
    extended_at INTEGER, extended_by INTEGER, removed_at INTEGER, removal_reason INTEGER,
    removed_by INTEGER, changes INTEGER, recorded_at INTEGER,
    block_number INTEGER, log_index INTEGER, tx_hash BLOB);
CREATE INDEX listings_by_subject
    ON listings (subject, listed_at, ends_at, restrictions, block_number, log_index);
CREATE INDEX listings_by_case ON listings (case_id);
CREATE INDEX listings_by_court ON listings (court);
CREATE TABLE listing_events (
    block_number INTEGER, log_index INTEGER, listing_id BLOB, kind TEXT, by_court INTEGER,
    until INTEGER, reason INTEGER, at INTEGER, tx_hash BLOB,
    PRIMARY KEY (block_number, log_index));
CREATE INDEX listing_events_by_listing ON listing_events (listing_id, block_number, log_index);
CREATE TABLE anchors (
    root BLOB NOT NULL, court INTEGER NOT NULL, size INTEGER, metadata_digest BLOB, anchored_at INTEGER,
    block_number INTEGER, log_index INTEGER, tx_hash BLOB, PRIMARY KEY (court, root));
CREATE TABLE status_entries (
    record_id BLOB PRIMARY KEY, kind TEXT NOT NULL, position INTEGER NOT NULL UNIQUE,
    block_number INTEGER NOT NULL, log_index INTEGER NOT NULL);
"""
# Amount columns (amount, amount_due, amount_recovered, amount_disbursed, detail) are declared without a
# type, so SQLite stores what it is given: an INTEGER when the uint128 fits in 64 bits, else its decimal
# TEXT (a typed column would turn such text into a lossy REAL). Sums add the rare text rows in Python.

#: Derived tables and their order in :meth:`Index.dump`; ``meta`` and ``blocks`` are bookkeeping.
_DERIVED: dict[str, str] = {
    "events": "block_number, log_index",
    "courts": "court",
    "signers": "address",
    "registries": "address",
    "writers": "registry, signer",
    "judgments": "id",
    "judgment_status_changes": "block_number, log_index",
    "cases": "id",
    "case_actions": "case_id, sequence",
    "listings": "id",
    "listing_events": "block_number, log_index",
    "anchors": "court, root",
    "status_entries": "position",
}

#: entity kind -> (table, key column) rows to drop before replaying the entity's events.
_ENTITY_ROWS: dict[str, tuple[tuple[str, str], ...]] = {
    "court": (("courts", "court"),),
    "signer": (("signers", "address"),),
    "registry": (("registries", "address"),),
    "writer": (),  # dropped by (registry, signer), see _purge
    "judgment": (("judgments", "id"), ("judgment_status_changes", "judgment_id")),
    "case": (("cases", "id"), ("case_actions", "case_id")),
    "listing": (("listings", "id"), ("listing_events", "listing_id")),
    "anchor": (),  # dropped by (court, root), see _purge
}


# -- answers -----------------------------------------------------------------------------------


class RestrictionAnswer(NamedTuple):
    """A partner check: restricted or not, until when, and by which listing. Nothing else."""

    restricted: bool
    until: int | None = None
    listing_id: bytes | None = None


_NOT_RESTRICTED = RestrictionAnswer(False)


@dataclass(frozen=True)
class SyncResult:
    """What one :meth:`Indexer.sync` did: blocks ``from_block..to_block`` (empty when from > to)."""

    from_block: int
    to_block: int
    events: int
    rolled_back: int = 0  # blocks undone because of a reorganisation


@dataclass(frozen=True)
class StatusChangeView:
    sequence: int
    by_court: int
    from_status: JudgmentStatus
    to_status: JudgmentStatus
    superseded_by: bytes | None
    changed_at: int
    block_number: int
    transaction_hash: bytes


@dataclass(frozen=True)
class JudgmentView:
    id: bytes
    court: int
    case_number_digest: bytes
    document_digest: bytes
    parties_commitment: bytes
    amount: int
    currency: str
    judgment_date: int
    effective_date: int
    status: JudgmentStatus
    superseded_by: bytes | None
    recorded_at: int
    status_changed_at: int
    block_number: int
    transaction_hash: bytes
    status_history: tuple[StatusChangeView, ...]


@dataclass(frozen=True)
class ActionView:
    sequence: int
    kind: ActionKind
    amount: int
    detail: int
    document_digest: bytes
    flags: int
    state_after: CaseState
    amount_recovered_after: int
    history_hash: bytes
    recorded_at: int
    block_number: int
    transaction_hash: bytes


@dataclass(frozen=True)
class ListingEventView:
    kind: str  # "listed" | "extended" | "removed"
    by_court: int
    at: int  # listedAt for "listed", the block time for "extended", removedAt for "removed"
    until: int | None
    reason: RemovalReason | None
    block_number: int
    transaction_hash: bytes


@dataclass(frozen=True)
class ListingView:
    id: bytes
    subject: bytes
    court: int
    case_id: bytes
    ground: Ground
    restrictions: Restriction
    listed_at: int
    until: int  # after any extension
    original_until: int
    ends_at: int  # when the restrictions stop (or stopped): removal or until, whichever is first
    removed_at: int | None
    removal_reason: RemovalReason | None
    block_number: int
    transaction_hash: bytes
    events: tuple[ListingEventView, ...]


@dataclass(frozen=True)
class CaseView:
    id: bytes
    court: int
    judgment_id: bytes
    case_number_digest: bytes
    amount_due: int
    filed_at: int
    opened_at: int
    state: CaseState
    amount_recovered: int
    amount_disbursed: int
    history_hash: bytes
    updated_at: int
    block_number: int
    transaction_hash: bytes
    actions: tuple[ActionView, ...]
    listings: tuple[ListingView, ...]


@dataclass(frozen=True)
class AnchorView:
    root: bytes
    court: int
    size: int
    metadata_digest: bytes
    anchored_at: int
    block_number: int
    transaction_hash: bytes


class Statistics(TypedDict):
    """Figures over the indexed chain (or the given courts); amounts in minor units."""

    as_of_block: int | None
    judgments_recorded: int
    cases_filed: int
    cases_concluded: int
    cases_terminated: int
    amount_due: int
    amount_recovered: int
    amount_disbursed: int
    voluntary_performance_rate: float | None
    listings: int
    listings_by_ground: dict[str, int]
    removals_by_reason: dict[str, int]
    performed_after_listing: int
    documents_anchored: int


# -- decoding ----------------------------------------------------------------------------------


def _word_decoder(typ: str) -> Callable[[bytes], Any] | None:
    """A decoder of one ABI word of a static elementary type (strict like eth_abi), else None."""
    if typ.startswith("uint"):
        bits = int(typ[4:] or 256)

        def uint(word: bytes) -> int:
            value = int.from_bytes(word, "big")
            if value >> bits:
                raise ValueError(f"{typ} out of range")
            return value
        return uint
    if typ.startswith("bytes") and typ != "bytes":
        size = int(typ[5:])

        def fixed(word: bytes) -> bytes:
            if any(word[size:]):
                raise ValueError(f"{typ} with non-zero padding")
            return bytes(word[:size])
        return fixed
    if typ == "address":
        def address(word: bytes) -> str:
            if any(word[:12]):
                raise ValueError("address with non-zero padding")
            return to_checksum_address(word[12:])
        return address
    return None


_Decoder = Callable[[bytes], Any]


@dataclass(frozen=True)
class _EventSpec:
    name: str
    indexed: tuple[tuple[str, str], ...]
    plain_names: tuple[str, ...]
    plain_types: tuple[str, ...]
    #: word decoders when every field is a static elementary type (all of ours): ~5x faster than eth_abi
    words: tuple[tuple[_Decoder, ...], tuple[_Decoder, ...]] | None

    def decode(self, topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
        if len(topics) != len(self.indexed) + 1:
            raise ValueError("wrong number of topics")
        pairs = zip(self.indexed, topics[1:], strict=True)
        if self.words is not None:
            topic_words, plain_words = self.words
            if len(data) != 32 * len(plain_words):
                raise ValueError("wrong data length")
            args = {name: dec(topic) for ((name, _), topic), dec in zip(pairs, topic_words, strict=True)}
            for i, (name, dec) in enumerate(zip(self.plain_names, plain_words, strict=True)):
                args[name] = dec(data[32 * i:32 * i + 32])
            return args
        args = {name: abi_decode([typ], topic)[0] for (name, typ), topic in pairs}
        if self.plain_types:
            args.update(zip(self.plain_names, abi_decode(self.plain_types, data), strict=True))
        for name, value in args.items():
            if isinstance(value, bytes):
                args[name] = bytes(value)
            elif isinstance(value, str) and value.startswith("0x"):
                args[name] = to_checksum_address(value)
        return args


@cache
def _event_specs() -> dict[bytes, _EventSpec]:
    """topic0 -> event, over every artifact's ABI (inherited events such as RoleGranted included)."""
    specs: dict[bytes, _EventSpec] = {}
    for name in CONTRACTS:
        for item in load_artifact(name).abi:
            if item["type"] != "event" or item.get("anonymous"):
                continue
            inputs = item["inputs"]
            signature = f"{item['name']}({','.join(i['type'] for i in inputs)})"
            indexed = tuple((i["name"], i["type"]) for i in inputs if i["indexed"])
            plain_types = tuple(i["type"] for i in inputs if not i["indexed"])
            topic_words = [_word_decoder(t) for _, t in indexed]
            plain_words = [_word_decoder(t) for t in plain_types]
            words = None
            if all(d is not None for d in (*topic_words, *plain_words)):
                words = (tuple(cast(_Decoder, d) for d in topic_words),
                         tuple(cast(_Decoder, d) for d in plain_words))
            specs[keccak(signature.encode())] = _EventSpec(
                name=item["name"], indexed=indexed,
                plain_names=tuple(i["name"] for i in inputs if not i["indexed"]), plain_types=plain_types,
                words=words)
    return specs


@dataclass(frozen=True)
class _Event:
    block_number: int
    log_index: int
    block_hash: bytes
    block_time: int
    tx_hash: bytes
    address: str
    name: str | None
    args: dict[str, Any]
    topics: tuple[bytes, ...]
    data: bytes

    @property
    def entity(self) -> str | None:
        a, name = self.args, self.name
        if name in ("CourtAdmitted", "CourtSuspended", "CourtReinstated", "CourtRetired"):
            return f"court:{a['court']}"
        if name in ("SignerAdded", "SignerRetired"):
            return f"signer:{a['signer']}"
        if name == "RegistryAttached":
            return f"registry:{a['registry']}"
        if name == "WriterSynced":
            return f"writer:{self.address}:{a['signer']}"
        if name in ("JudgmentRecorded", "JudgmentStatusChanged"):
            return "judgment:" + a["id"].hex()
        if name in ("CaseOpened", "ActionRecorded"):
            return "case:" + a["caseId"].hex()
        if name in ("DefaulterListed", "ListingExtended", "DefaulterRemoved"):
            return "listing:" + a["listingId"].hex()
        if name == "RootAnchored":
            return f"anchor:{a['court']}:" + a["root"].hex()
        return None


def _decode(block_number: int, log_index: int, block_hash: bytes, block_time: int, tx_hash: bytes,
            address: str, topics: Sequence[bytes], data: bytes) -> _Event:
    spec = _event_specs().get(topics[0]) if topics else None
    name: str | None = None
    args: dict[str, Any] = {}
    if spec is not None:
        try:
            args = spec.decode(topics, data)
            name = spec.name
        except Exception:  # same topic0, other layout (not one of ours): keep it raw
            args = {}
    return _Event(block_number, log_index, block_hash, block_time, tx_hash, address, name, args,
                  tuple(topics), data)


def _split_topics(blob: bytes) -> list[bytes]:
    return [blob[i:i + 32] for i in range(0, len(blob), 32)]


def _num(value: int) -> int | str:
    """An unsigned amount as SQLite can keep it exactly (see the schema note)."""
    return value if value <= _INT64_MAX else str(value)


def _qty(value: Any) -> int:
    """A JSON-RPC quantity ("0x1a") or an int."""
    return int(value, 16) if isinstance(value, str) else int(value)


def _bytes(value: Any) -> bytes:
    """JSON-RPC data ("0x...") or bytes."""
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


# -- the index ---------------------------------------------------------------------------------


class Index:
    """The read model in one SQLite file. ``Index(":memory:")`` keeps it in memory (one shared connection)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._memory = self.path == ":memory:"
        self._lock = threading.RLock()
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._closed = False
        if not self._memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = self._open()
        self._ensure_schema()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        if not self._memory:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # the index is rebuildable from the chain
        return conn

    def _ensure_schema(self) -> None:
        with self._lock:
            row = self._db.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone()
            if row is None:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                return
            version = self._meta("schema_version")
            if version != SCHEMA_VERSION:
                raise ConfigurationError(
                    f"the index at {self.path} has schema version {version}, this library writes "
                    f"{SCHEMA_VERSION}: delete the file and sync again (the index is rebuilt from the chain)"
                )
            # Added within version 1 (the look-up finds every court that recorded a document).
            self._db.execute("CREATE INDEX IF NOT EXISTS judgments_by_document ON judgments (document_digest)")
            # Added within version 3 (the look-up finds every court that opened a case under a case number).
            self._db.execute("CREATE INDEX IF NOT EXISTS cases_by_case_number ON cases (case_number_digest)")

    # -- connections -----------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise ConfigurationError("the index is closed")
        if self._memory:
            with self._lock:
                yield self._db
            return
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        yield conn

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; everything in it commits together or not at all."""
        if self._closed:
            raise ConfigurationError("the index is closed")
        with self._lock, immediate(self._db) as db:
            yield db

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()
            self._db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- bookkeeping -----------------------------------------------------------------------

    def _meta(self, key: str, conn: sqlite3.Connection | None = None) -> Any:
        if conn is None:
            with self._lock:
                return self._meta(key, self._db)
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def cursor(self) -> int | None:
        """The last block indexed (None before the first sync)."""
        with self._reading() as conn:
            value = self._meta("cursor", conn)
        return None if value is None else int(value)

    def _bind(self, chain_id: int, genesis_hash: str, addresses: dict[str, str], start_block: int) -> None:
        """Tie the file to one deployment on one chain; refuse any other."""
        identity = json.dumps({"chain_id": chain_id, "genesis_hash": genesis_hash.lower(),
                               "addresses": {k: v.lower() for k, v in sorted(addresses.items())},
                               "start_block": start_block}, sort_keys=True)
        with self._lock:
            stored = self._meta("deployment")
            if stored is None:
                with self._writing() as conn:
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('deployment', ?)", (identity,))
            elif stored != identity:
                raise ConfigurationError(
                    f"the index at {self.path} was built for another deployment or chain: "
                    "use another file, or delete it to rebuild"
                )

    def reset(self) -> None:
        """Forget everything derived from the chain (the next sync rebuilds from the deployment block)."""
        with self._writing() as conn:
            for table in (*_DERIVED, "blocks"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM meta WHERE key IN ('cursor', 'deployment')")

    def _block_hash(self, number: int) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT hash FROM blocks WHERE number = ?", (number,)).fetchone()
        return bytes(row[0]) if row else None

    def _recent_blocks(self, below: int) -> list[tuple[int, bytes]]:
        with self._lock:
            rows = self._db.execute("SELECT number, hash FROM blocks WHERE number < ? ORDER BY number DESC",
                                    (below,)).fetchall()
        return [(int(n), bytes(h)) for n, h in rows]

    def _commit_range(self, events: list[_Event], hashes: dict[int, bytes], cursor: int) -> int:
        """Apply one range's events, remember its block hashes and move the cursor, atomically."""
        applied = 0
        with self._writing() as conn:
            for event in events:
                applied += self._ingest(conn, event)
            conn.executemany("INSERT OR REPLACE INTO blocks VALUES (?, ?)", sorted(hashes.items()))
            conn.execute(
                "DELETE FROM blocks WHERE number < (SELECT number FROM blocks ORDER BY number DESC "
                "LIMIT 1 OFFSET ?)", (KEEP_BLOCK_HASHES - 1,))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('cursor', ?)", (cursor,))
        return applied

    def _rollback(self, ancestor: int) -> None:
        """Undo every event above block ``ancestor``; the cursor becomes ``ancestor``."""
        with self._writing() as conn:
            entities = [row[0] for row in conn.execute(
                "SELECT DISTINCT entity FROM events WHERE block_number > ? AND entity IS NOT NULL",
                (ancestor,))]
            conn.execute("DELETE FROM events WHERE block_number > ?", (ancestor,))
            conn.execute("DELETE FROM status_entries WHERE block_number > ?", (ancestor,))
            for entity in entities:
                self._purge(conn, entity)
                rows = conn.execute(
                    "SELECT block_number, log_index, block_hash, block_time, tx_hash, address, topics, data "
                    "FROM events WHERE entity = ? ORDER BY block_number, log_index", (entity,)).fetchall()
                for bn, li, bh, bt, th, addr, topics, data in rows:
                    self._apply(conn, _decode(bn, li, bytes(bh), bt, bytes(th), addr,
                                              _split_topics(bytes(topics)), bytes(data)))
            conn.execute("DELETE FROM blocks WHERE number > ?", (ancestor,))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('cursor', ?)", (ancestor,))

    @staticmethod
    def _purge(conn: sqlite3.Connection, entity: str) -> None:
        kind, _, key = entity.partition(":")
        if kind == "writer":
            registry, _, signer = key.partition(":")
            conn.execute("DELETE FROM writers WHERE registry = ? AND signer = ?", (registry, signer))
            return
        if kind == "anchor":
            court, _, root = key.partition(":")
            conn.execute("DELETE FROM anchors WHERE court = ? AND root = ?", (int(court), bytes.fromhex(root)))
            return
        value: Any = key
        if kind == "court":
            value = int(key)
        elif kind in ("judgment", "case", "listing"):
            value = bytes.fromhex(key)
        for table, column in _ENTITY_ROWS[kind]:
            conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (value,))

    # -- applying events -------------------------------------------------------------------

    def _ingest(self, conn: sqlite3.Connection, e: _Event) -> int:
        """Store the raw event and apply it, once: 1 if new, 0 if already there."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (e.block_number, e.log_index, e.block_hash, e.block_time, e.tx_hash, e.address, e.name,
             e.entity, b"".join(e.topics), e.data))
        if cur.rowcount == 0:
            return 0
        self._apply(conn, e)
        return 1

    def _apply(self, conn: sqlite3.Connection, e: _Event) -> None:
        handler = _HANDLERS.get(e.name or "")
        if handler is not None:
            handler(conn, e)

    # -- reading ---------------------------------------------------------------------------

    def judgment(self, judgment_id: bytes) -> JudgmentView | None:
        with self._reading() as conn:
            row = conn.execute(f"SELECT {_JUDGMENT_COLUMNS} FROM judgments WHERE id = ?",
                               (bytes(judgment_id),)).fetchone()
            return None if row is None else self._judgment_view(conn, row)

    def judgment_by_case_number_digest(self, case_number_digest: bytes,
                                       document_digest: bytes) -> JudgmentView | None:
        """The judgment with this case number and document, or None: a verdict, never a list."""
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_JUDGMENT_COLUMNS} FROM judgments WHERE case_number_digest = ? "
                "AND document_digest = ? ORDER BY block_number, log_index LIMIT 1",
                (bytes(case_number_digest), bytes(document_digest))).fetchone()
            return None if row is None else self._judgment_view(conn, row)

    def judgments_claiming(self, case_number_digest: bytes, document_digest: bytes) -> list[JudgmentView]:
        """Every judgment that carries this case number or this document, oldest first (for the look-up,
        which must see every court that recorded either; it answers a verdict, not this list)."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {_JUDGMENT_COLUMNS} FROM judgments WHERE case_number_digest = ? UNION "
                f"SELECT {_JUDGMENT_COLUMNS} FROM judgments WHERE document_digest = ? "
                "ORDER BY block_number LIMIT 100",
                (bytes(case_number_digest), bytes(document_digest))).fetchall()
            return [self._judgment_view(conn, row) for row in rows]

    def cases_claiming(self, case_number_digest: bytes) -> list[CaseView]:
        """Every enforcement case opened under this case number, oldest first (for the look-up)."""
        with self._reading() as conn:
            ids = [bytes(r[0]) for r in conn.execute(
                "SELECT id FROM cases WHERE case_number_digest = ? ORDER BY block_number LIMIT 100",
                (bytes(case_number_digest),))]
        return [v for v in map(self.case_history, ids) if v is not None]

    def page(self, table: str, filters: dict[str, Any], after: tuple[int, int] | None,
             limit: int) -> list[tuple[bytes, int, int]]:
        """(id, block, log index) of a table's records (``judgments`` or ``cases``) matching every filter
        (column = value, None skipped), in chain order after the position ``after``: one page of a list."""
        allowed = _PAGE_FILTERS[table]
        where: list[str] = []
        params: list[Any] = []
        for column, value in filters.items():
            if column not in allowed:
                raise ValueError(f"{table} are not listed by {column}")
            if value is not None:
                where.append(f"{column} = ?")
                params.append(bytes(value) if isinstance(value, (bytes, bytearray)) else value)
        if after is not None:
            where.append("(block_number, log_index) > (?, ?)")
            params.extend(after)
        sql = (f"SELECT id, block_number, log_index FROM {table}" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY block_number, log_index LIMIT ?")
        with self._reading() as conn:
            rows = conn.execute(sql, (*params, limit)).fetchall()
        return [(bytes(i), b, li) for i, b, li in rows]

    def has_authority(self, actor: int, target: int, max_depth: int = 8) -> bool:
        """CourtRegistry.hasAuthority as the index sees the registry: ``actor`` is ``target`` or above it on
        the appellate chain (the chain stays the authority; this answers early)."""
        with self._reading() as conn:
            current = target
            for _ in range(max_depth + 1):
                if current == actor:
                    return actor != 0
                row = conn.execute("SELECT appellate_court FROM courts WHERE court = ?", (current,)).fetchone()
                if row is None or not row[0]:
                    return False
                current = int(row[0])
        return False

    @staticmethod
    def _judgment_view(conn: sqlite3.Connection, row: tuple[Any, ...]) -> JudgmentView:
        jid, court, cnd, dd, pc, amount, currency, jdate, edate, status, sup, recorded, changed, bn, th = row
        history = tuple(
            StatusChangeView(seq, by, JudgmentStatus(fr), JudgmentStatus(to), bytes(s) if s else None, at, b,
                             bytes(t))
            for seq, by, fr, to, s, at, b, t in conn.execute(
                "SELECT sequence, by_court, from_status, to_status, superseded_by, changed_at, block_number, "
                "tx_hash FROM judgment_status_changes WHERE judgment_id = ? ORDER BY sequence", (jid,)))
        return JudgmentView(bytes(jid), court, bytes(cnd), bytes(dd), bytes(pc), _int(amount), currency,
                            jdate, edate, JudgmentStatus(status), bytes(sup) if sup else None, recorded,
                            changed, bn, bytes(th), history)

    def case_history(self, case_id: bytes) -> CaseView | None:
        """A case with every action in order and the listings it led to."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT id, court, judgment_id, case_number_digest, amount_due, filed_at, opened_at, state, "
                "amount_recovered, amount_disbursed, history_hash, updated_at, block_number, tx_hash "
                "FROM cases WHERE id = ?", (bytes(case_id),)).fetchone()
            if row is None:
                return None
            cid, court, jid, cnd, due, filed, opened, state, rec, dis, hh, upd, bn, th = row
            actions = tuple(
                ActionView(seq, ActionKind(kind), _int(amount), _int(detail), bytes(dd), flags, CaseState(st),
                           _int(after), bytes(h), at, b, bytes(t))
                for seq, kind, amount, detail, dd, flags, st, after, h, at, b, t in conn.execute(
                    "SELECT sequence, kind, amount, detail, document_digest, flags, state, amount_recovered, "
                    "history_hash, recorded_at, block_number, tx_hash FROM case_actions WHERE case_id = ? "
                    "ORDER BY sequence", (cid,)))
            listings = self._listings(conn, "case_id = ?", (cid,))
        return CaseView(bytes(cid), court, bytes(jid), bytes(cnd), _int(due), filed, opened, CaseState(state),
                        _int(rec), _int(dis), bytes(hh), upd, bn, bytes(th), actions, listings)

    def listings_of(self, subject: bytes) -> list[ListingView]:
        """Every listing of a subject, oldest first, with its extensions and removal."""
        with self._reading() as conn:
            return list(self._listings(conn, "subject = ?", (bytes(subject),)))

    def listing(self, listing_id: bytes) -> ListingView | None:
        with self._reading() as conn:
            found = self._listings(conn, "id = ?", (bytes(listing_id),))
        return found[0] if found else None

    @staticmethod
    def _listings(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> tuple[ListingView, ...]:
        out = []
        for (lid, subject, court, case_id, ground, restrictions, listed_at, until, original_until, ends_at,
             removed_at, reason, bn, th) in conn.execute(
                "SELECT id, subject, court, case_id, ground, restrictions, listed_at, until, original_until, "
                f"ends_at, removed_at, removal_reason, block_number, tx_hash FROM listings WHERE {where} "
                "ORDER BY block_number, log_index", params).fetchall():
            events = tuple(
                ListingEventView(kind, by, at, u, RemovalReason(r) if r is not None else None, b, bytes(t))
                for kind, by, at, u, r, b, t in conn.execute(
                    "SELECT kind, by_court, at, until, reason, block_number, tx_hash FROM listing_events "
                    "WHERE listing_id = ? ORDER BY block_number, log_index", (lid,)))
            out.append(ListingView(
                bytes(lid), bytes(subject), court, bytes(case_id), Ground(ground), Restriction(restrictions),
                listed_at, until, original_until, ends_at, removed_at,
                RemovalReason(reason) if reason is not None else None, bn, bytes(th), events))
        return tuple(out)

    def anchor(self, court: int, root: bytes) -> AnchorView | None:
        """The anchor of ``root`` by ``court`` (anchors are unique per court and root)."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT root, court, size, metadata_digest, anchored_at, block_number, tx_hash "
                "FROM anchors WHERE court = ? AND root = ?", (court, bytes(root))).fetchone()
        if row is None:
            return None
        r, court, size, md, at, bn, th = row
        return AnchorView(bytes(r), court, size, bytes(md), at, bn, bytes(th))

    # -- partner checks --------------------------------------------------------------------

    def status_position(self, record_id: bytes) -> int | None:
        """The record's position in the status lists (judgments and listings), or None."""
        with self._reading() as conn:
            row = conn.execute("SELECT position FROM status_entries WHERE record_id = ?",
                               (bytes(record_id),)).fetchone()
        return None if row is None else int(row[0])

    def status_bits(self, purpose: str, first: int, count: int) -> list[int]:
        """Positions in ``first .. first + count - 1`` whose status bit is set, from the chain's events.

        revocation: a judgment set aside or superseded, a listing removed; suspension: a judgment under appeal
        or stayed.
        """
        judgment_states = {"revocation": (int(JudgmentStatus.SET_ASIDE), int(JudgmentStatus.SUPERSEDED)),
                           "suspension": (int(JudgmentStatus.UNDER_APPEAL), int(JudgmentStatus.STAYED))}[purpose]
        marks = ",".join("?" * len(judgment_states))
        sql = (f"SELECT s.position FROM status_entries s JOIN judgments j ON j.id = s.record_id "
               f"WHERE s.position >= ? AND s.position < ? AND j.status IN ({marks})")
        params: tuple[Any, ...] = (first, first + count, *judgment_states)
        if purpose == "revocation":
            sql += (" UNION ALL SELECT s.position FROM status_entries s JOIN listings l ON l.id = s.record_id "
                    "WHERE s.position >= ? AND s.position < ? AND l.removed_at IS NOT NULL")
            params += (first, first + count)
        with self._reading() as conn:
            return sorted(int(row[0]) for row in conn.execute(sql, params))

    def is_restricted(self, subject: bytes, restriction: int, at: int) -> RestrictionAnswer:
        """Whether ``subject`` was restricted for every bit of ``restriction`` at unix time ``at``."""
        return self.check_many([subject], restriction, at)[0]

    def check_many(self, subjects: Sequence[bytes], restriction: int, at: int) -> list[RestrictionAnswer]:
        """:meth:`is_restricted` for many subjects, answers in the same order; one query per chunk."""
        restriction = int(restriction)
        if not 0 < restriction <= 0xFF:
            raise ValidationError("restriction must name at least one of the 8 defined restrictions")
        if at < 0:
            raise ValidationError("time must not be negative")
        at = min(int(at), _INT64_MAX)  # listing times are uint40: clamping changes no answer
        found: dict[bytes, RestrictionAnswer] = {}
        with self._reading() as conn:
            for start in range(0, len(subjects), CHECK_CHUNK):
                chunk = subjects[start:start + CHECK_CHUNK]
                for s in chunk:
                    if len(s) != 32:
                        raise ValidationError("a subject is a 32-byte blind index")
                marks = ",".join("?" * len(chunk))
                # Ordered so that, per subject, the last row is the answer: latest end, then latest listed.
                for subject, lid, ends_at in conn.execute(
                        f"SELECT subject, id, ends_at FROM listings WHERE subject IN ({marks}) "
                        "AND restrictions & ? = ? AND listed_at <= ? AND ends_at > ? "
                        "ORDER BY subject, ends_at, block_number, log_index",
                        (*chunk, restriction, restriction, at, at)):
                    found[subject] = RestrictionAnswer(True, ends_at, lid)
        return [found.get(bytes(s), _NOT_RESTRICTED) for s in subjects]

    # -- statistics ------------------------------------------------------------------------

    def statistics(self, courts: Iterable[int] | None = None) -> Statistics:
        """Figures over everything indexed, or over the records of ``courts`` only.

        - ``cases_filed``: cases opened; ``cases_concluded`` / ``cases_terminated``: cases whose state is
          now Concluded / Terminated (终结本次执行程序, may still resume).
        - ``amount_due``, ``amount_recovered``, ``amount_disbursed``: sums over the cases, recovered being
          Deduction plus PaymentReceived.
        - ``voluntary_performance_rate``: among concluded cases, the share that recovered money (more than
          zero) without any coercive action against assets, i.e. none of :data:`COERCIVE_ACTIONS` (Freeze,
          Seal, Seize, Deduction, Valuation, AuctionListed, AuctionSold, AuctionFailed). Notices, orders,
          asset inquiries, consumption restrictions and listing are pressure, not coercion, so a debtor who
          pays after them still performed voluntarily. None when no case is concluded.
        - ``listings_by_ground`` / ``removals_by_reason``: counts of listings by statutory ground and of
          removals by reason (every ground and reason present, zeros included).
        - ``performed_after_listing``: listings removed because the debtor performed or fulfilled the
          settlement (reasons Performed and SettlementFulfilled), the effect of joint punishment.
        - ``documents_anchored``: digests under anchored roots (sum of batch sizes).
        """
        params: tuple[Any, ...] = ()
        where = "1"
        if courts is not None:
            ids = tuple(int(c) for c in courts)
            where = f"court IN ({','.join('?' * len(ids))})" if ids else "0"
            params = ids
        with self._reading() as conn:
            def one(sql: str, extra: tuple[Any, ...] = ()) -> int:
                return int(conn.execute(sql, (*params, *extra)).fetchone()[0] or 0)

            concluded = one(f"SELECT COUNT(*) FROM cases WHERE {where} AND state = ?",
                            (int(CaseState.CONCLUDED),))
            voluntary = one(
                f"SELECT COUNT(*) FROM cases WHERE {where} AND state = ? AND coercive_actions = 0 "
                "AND amount_recovered != 0", (int(CaseState.CONCLUDED),))
            by_ground = {g.name.lower(): 0 for g in Ground if g != Ground.NONE}
            for ground, n in conn.execute(
                    f"SELECT ground, COUNT(*) FROM listings WHERE {where} GROUP BY ground", params):
                by_ground[Ground(ground).name.lower()] = n
            by_reason = {r.name.lower(): 0 for r in RemovalReason if r != RemovalReason.NONE}
            for reason, n in conn.execute(
                    f"SELECT removal_reason, COUNT(*) FROM listings WHERE {where} "
                    "AND removal_reason IS NOT NULL GROUP BY removal_reason", params):
                by_reason[RemovalReason(reason).name.lower()] = n
            return Statistics(
                as_of_block=None if (c := self._meta("cursor", conn)) is None else int(c),
                judgments_recorded=one(f"SELECT COUNT(*) FROM judgments WHERE {where}"),
                cases_filed=one(f"SELECT COUNT(*) FROM cases WHERE {where}"),
                cases_concluded=concluded,
                cases_terminated=one(f"SELECT COUNT(*) FROM cases WHERE {where} AND state = ?",
                                     (int(CaseState.TERMINATED),)),
                amount_due=_sum(conn, "cases", "amount_due", where, params),
                amount_recovered=_sum(conn, "cases", "amount_recovered", where, params),
                amount_disbursed=_sum(conn, "cases", "amount_disbursed", where, params),
                voluntary_performance_rate=voluntary / concluded if concluded else None,
                listings=one(f"SELECT COUNT(*) FROM listings WHERE {where}"),
                listings_by_ground=by_ground,
                removals_by_reason=by_reason,
                performed_after_listing=one(
                    f"SELECT COUNT(*) FROM listings WHERE {where} AND removal_reason IN (?, ?)", _PERFORMED),
                documents_anchored=one(f"SELECT SUM(size) FROM anchors WHERE {where}"),
            )

    # -- comparison ------------------------------------------------------------------------

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every derived row, table by table in key order: equal for equal chains, however indexed."""
        with self._reading() as conn:
            return {table: [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                            for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}")]
                    for table, order in _DERIVED.items()}


#: The columns a list may filter on, per table (each one indexed, or narrowed by an indexed one).
_PAGE_FILTERS = {
    "judgments": frozenset({"court", "case_number_digest", "status"}),
    "cases": frozenset({"court", "case_number_digest", "state", "judgment_id"}),
}
_JUDGMENT_COLUMNS = ("id, court, case_number_digest, document_digest, parties_commitment, amount, currency, "
                     "judgment_date, effective_date, status, superseded_by, recorded_at, status_changed_at, "
                     "block_number, tx_hash")


def _sum(conn: sqlite3.Connection, table: str, column: str, where: str, params: tuple[Any, ...]) -> int:
    """Exact sum of an amount column (64-bit integers in SQL, wider values in Python)."""
    try:
        total = int(conn.execute(f"SELECT SUM({column}) FROM {table} WHERE {where} AND typeof({column}) = "
                                 "'integer'", params).fetchone()[0] or 0)
    except (sqlite3.OperationalError, OverflowError):  # "integer overflow": add in Python
        total = sum(int(v) for (v,) in conn.execute(
            f"SELECT {column} FROM {table} WHERE {where} AND typeof({column}) = 'integer'", params))
    total += sum(int(v) for (v,) in conn.execute(
        f"SELECT {column} FROM {table} WHERE {where} AND typeof({column}) = 'text'", params))
    return total


# -- event handlers: one per event kind, each touching only its own entity's rows -------------------


def _court_admitted(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    jurisdiction = a["jurisdiction"].rstrip(b"\x00").decode("ascii", "replace")
    conn.execute("INSERT OR REPLACE INTO courts VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
                 (a["court"], jurisdiction, a["appellateCourt"], e.block_time, e.block_time, e.block_number,
                  e.log_index))


def _court_status(status: int) -> Any:
    def handler(conn: sqlite3.Connection, e: _Event) -> None:
        conn.execute("UPDATE courts SET status = ?, status_changed_at = ? WHERE court = ?",
                     (status, e.block_time, e.args["court"]))
    return handler


def _signer_added(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    conn.execute("INSERT OR REPLACE INTO signers VALUES (?, ?, ?, NULL, ?, ?)",
                 (a["signer"], a["court"], a["validFrom"], e.block_number, e.log_index))


def _signer_retired(conn: sqlite3.Connection, e: _Event) -> None:
    conn.execute("UPDATE signers SET valid_until = ? WHERE address = ?",
                 (e.args["validUntil"], e.args["signer"]))


def _registry_attached(conn: sqlite3.Connection, e: _Event) -> None:
    conn.execute("INSERT OR REPLACE INTO registries VALUES (?, ?, ?)",
                 (e.args["registry"], e.block_number, e.log_index))


def _writer_synced(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    conn.execute("INSERT OR REPLACE INTO writers VALUES (?, ?, ?, ?, ?, ?)",
                 (e.address, a["signer"], a["court"], a["state"], e.block_number, e.log_index))


def _judgment_recorded(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    conn.execute(
        "INSERT OR REPLACE INTO judgments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?, ?, ?, ?)",
        (a["id"], a["court"], a["caseNumberDigest"], a["documentDigest"], a["partiesCommitment"],
         _num(a["amount"]), a["currency"].decode("ascii", "replace"), a["judgmentDate"], a["effectiveDate"],
         int(JudgmentStatus.EFFECTIVE), e.block_time, e.block_time, e.block_number, e.log_index, e.tx_hash))
    _status_position(conn, a["id"], "judgment", e)


def _status_position(conn: sqlite3.Connection, record_id: bytes, kind: str, e: _Event) -> None:
    """The record's position in the status lists: the next one, in the chain order of creation events.

    Kept when the record's later events are replayed (a reorg above its creation); dropped with its
    creation event, so a rebuilt index assigns every record the same position.
    """
    conn.execute(
        "INSERT OR IGNORE INTO status_entries SELECT ?, ?, COALESCE(MAX(position), -1) + 1, ?, ? "
        "FROM status_entries", (record_id, kind, e.block_number, e.log_index))


def _judgment_status_changed(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    superseded = a["supersededBy"] if any(a["supersededBy"]) else None
    conn.execute("INSERT OR REPLACE INTO judgment_status_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (e.block_number, e.log_index, a["id"], a["sequence"], a["byCourt"], a["from"], a["to"],
                  superseded, e.block_time, e.tx_hash))
    conn.execute(
        "UPDATE judgments SET status = ?, superseded_by = COALESCE(?, superseded_by), changes = ?, "
        "status_changed_at = ? WHERE id = ?",
        (a["to"], superseded, a["sequence"] + 1, e.block_time, a["id"]))


def _case_opened(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    conn.execute(
        "INSERT OR REPLACE INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, ?, ?, NULL, ?, ?, ?)",
        (a["caseId"], a["court"], a["judgmentId"], a["caseNumberDigest"], _num(a["amountDue"]),
         a["filedAt"], e.block_time, int(CaseState.OPEN), a["caseId"], e.block_time, e.block_number,
         e.log_index, e.tx_hash))


def _action_recorded(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    kind = ActionKind(a["kind"])
    conn.execute("INSERT OR REPLACE INTO case_actions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (a["caseId"], a["sequence"], int(kind), _num(a["amount"]), _num(a["detail"]),
                  a["documentDigest"], a["flags"], a["state"], _num(a["amountRecovered"]), a["historyHash"],
                  e.block_time, e.block_number, e.log_index, e.tx_hash))
    row = conn.execute("SELECT amount_disbursed, pending_auctions FROM cases WHERE id = ?",
                       (a["caseId"],)).fetchone()
    if row is None:  # an action without its filing cannot come from the contract; keep the raw event only
        return
    disbursed, pending = _int(row[0]), int(row[1])
    if kind == ActionKind.DISBURSEMENT:
        disbursed += a["amount"]
    elif kind == ActionKind.AUCTION_LISTED:
        pending += 1
    elif kind in (ActionKind.AUCTION_SOLD, ActionKind.AUCTION_FAILED):
        pending = max(pending - 1, 0)
    conn.execute(
        "UPDATE cases SET state = ?, actions = ?, amount_recovered = ?, amount_disbursed = ?, "
        "assets_inquired = assets_inquired OR ?, pending_auctions = ?, "
        "coercive_actions = coercive_actions + ?, history_hash = ?, updated_at = ?, "
        "concluded_at = CASE WHEN ? THEN ? ELSE concluded_at END WHERE id = ?",
        (a["state"], a["sequence"] + 1, _num(a["amountRecovered"]), _num(disbursed),
         kind == ActionKind.ASSET_INQUIRY, pending, int(kind in COERCIVE_ACTIONS), a["historyHash"],
         e.block_time, a["state"] == CaseState.CONCLUDED, e.block_time, a["caseId"]))


def _defaulter_listed(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    conn.execute(
        "INSERT OR REPLACE INTO listings VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL, 0, ?, ?, ?, ?)",
        (a["listingId"], a["subject"], a["court"], a["caseId"], a["ground"], a["restrictions"], a["listedAt"],
         a["until"], a["until"], a["until"], e.block_time, e.block_number, e.log_index, e.tx_hash))
    _status_position(conn, a["listingId"], "defaulter_status", e)
    conn.execute("INSERT OR REPLACE INTO listing_events VALUES (?, ?, ?, 'listed', ?, ?, NULL, ?, ?)",
                 (e.block_number, e.log_index, a["listingId"], a["court"], a["until"], a["listedAt"],
                  e.tx_hash))


def _listing_extended(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    conn.execute(
        "UPDATE listings SET until = ?, ends_at = CASE WHEN removed_at IS NOT NULL AND removed_at < ? "
        "THEN removed_at ELSE ? END, extended_at = ?, extended_by = ?, changes = changes + 1 WHERE id = ?",
        (a["until"], a["until"], a["until"], e.block_time, a["byCourt"], a["listingId"]))
    conn.execute("INSERT OR REPLACE INTO listing_events VALUES (?, ?, ?, 'extended', ?, ?, NULL, ?, ?)",
                 (e.block_number, e.log_index, a["listingId"], a["byCourt"], a["until"], e.block_time,
                  e.tx_hash))


def _defaulter_removed(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    conn.execute(
        "UPDATE listings SET removed_at = ?, removal_reason = ?, removed_by = ?, ends_at = MIN(until, ?), "
        "changes = changes + 1 WHERE id = ?",
        (a["removedAt"], a["reason"], a["byCourt"], a["removedAt"], a["listingId"]))
    conn.execute("INSERT OR REPLACE INTO listing_events VALUES (?, ?, ?, 'removed', ?, NULL, ?, ?, ?)",
                 (e.block_number, e.log_index, a["listingId"], a["byCourt"], a["reason"], a["removedAt"],
                  e.tx_hash))


def _root_anchored(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    conn.execute("INSERT OR REPLACE INTO anchors VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (a["root"], a["court"], a["size"], a["metadataDigest"], e.block_time, e.block_number,
                  e.log_index, e.tx_hash))


_HANDLERS: dict[str, Any] = {
    "CourtAdmitted": _court_admitted,
    "CourtSuspended": _court_status(2),
    "CourtReinstated": _court_status(1),
    "CourtRetired": _court_status(3),
    "SignerAdded": _signer_added,
    "SignerRetired": _signer_retired,
    "RegistryAttached": _registry_attached,
    "WriterSynced": _writer_synced,
    "JudgmentRecorded": _judgment_recorded,
    "JudgmentStatusChanged": _judgment_status_changed,
    "CaseOpened": _case_opened,
    "ActionRecorded": _action_recorded,
    "DefaulterListed": _defaulter_listed,
    "ListingExtended": _listing_extended,
    "DefaulterRemoved": _defaulter_removed,
    "RootAnchored": _root_anchored,
}


# -- the indexer -------------------------------------------------------------------------------


class _Retry(Exception):
    """The chain changed under a range being read; read it again."""


class Indexer:
    """Follows one deployment's events into an :class:`Index`.

    ``start_block`` (default and minimum: the deployment's first block) starts a partial index that
    ignores everything earlier, for tests or an operator who needs only recent history; its answers are
    about the indexed blocks only. An index file keeps the start it was built with.
    """

    def __init__(self, ledger: Ledger, index: Index, *, confirmations: int = 0, batch_blocks: int = 500,
                 start_block: int | None = None) -> None:
        if confirmations < 0:
            raise ValidationError("confirmations must not be negative")
        if batch_blocks < 1:
            raise ValidationError("batch_blocks must be at least 1")
        self.ledger = ledger
        self.index = index
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.w3 = ledger.w3
        deployment = ledger.deployment
        self.addresses = [to_checksum_address(a) for a in deployment.addresses.values()]
        self._checksum = {a.lower(): a for a in self.addresses}
        self.start_block = min(c.block_number for c in deployment.contracts.values())
        if start_block is not None:
            self.start_block = max(self.start_block, start_block)
        self._identity = (deployment.chain_id, deployment.genesis_hash, deployment.addresses,
                          self.start_block)

    def sync(self, to_block: int | None = None) -> SyncResult:
        """Index up to ``min(to_block, head - confirmations)``, resuming at the cursor."""
        self.index._bind(*self._identity)
        cursor = self._cursor()
        first = cursor + 1
        target = self.w3.eth.block_number - self.confirmations
        if to_block is not None:
            target = min(target, to_block)
        events = rolled_back = retries = 0
        while True:
            undone = self._undo_reorg(cursor)
            if undone:
                rolled_back += undone
                cursor -= undone
                first = min(first, cursor + 1)
                target = min(target, self.w3.eth.block_number - self.confirmations)
            if cursor >= target:
                break
            end = min(cursor + self.batch_blocks, target)
            try:
                events += self._sync_range(cursor + 1, end)
            except _Retry:
                retries += 1
                if retries > _MAX_SYNC_RETRIES:
                    raise ChainError("the chain keeps reorganising under the indexer; try later") from None
                target = min(target, self.w3.eth.block_number - self.confirmations)
                continue
            cursor = end
        return SyncResult(first, cursor, events, rolled_back)

    def _cursor(self) -> int:
        stored = self.index._meta("cursor")
        return self.start_block - 1 if stored is None else int(stored)

    def _chain_hash(self, number: int) -> bytes | None:
        try:
            block = self.w3.eth.get_block(number)
        except BlockNotFound:
            return None
        return None if block is None else bytes(block["hash"])

    def _undo_reorg(self, cursor: int) -> int:
        """If the chain no longer holds the cursor block, undo back to the common ancestor; blocks undone."""
        stored = self.index._block_hash(cursor)
        if stored is None or self._chain_hash(cursor) == stored:
            return 0
        ancestor = self.start_block - 1
        for number, known in self.index._recent_blocks(below=cursor):
            if self._chain_hash(number) == known:
                ancestor = number
                break
        if ancestor < self.start_block:  # deeper than the kept hashes: start over
            self.index.reset()
            self.index._bind(*self._identity)
        else:
            self.index._rollback(ancestor)
        return cursor - ancestor

    def _sync_range(self, lo: int, hi: int) -> int:
        try:
            head = self.w3.eth.get_block(hi)
        except BlockNotFound:
            raise _Retry from None
        head_hash = bytes(head["hash"])
        # Through the manager, without web3's result formatters (most of a sync's time otherwise): fields
        # come back as JSON-RPC hex or, from eth-tester, partly as Python values; _qty/_bytes take both.
        logs = self.w3.manager.request_blocking(
            RPCEndpoint("eth_getLogs"),
            [{"fromBlock": hex(lo), "toBlock": hex(hi), "address": self.addresses}])
        hashes: dict[int, bytes] = {hi: head_hash}
        times: dict[int, int] = {hi: int(head["timestamp"])}
        events: list[_Event] = []
        for log in sorted(logs, key=lambda x: (_qty(x["blockNumber"]), _qty(x["logIndex"]))):
            if log.get("removed"):
                raise _Retry
            number = _qty(log["blockNumber"])
            block_hash = _bytes(log["blockHash"])
            if hashes.setdefault(number, block_hash) != block_hash:
                raise _Retry
            if number not in times:
                stamp = log.get("blockTimestamp")  # geth >= 1.14.x and anvil include it; spares a call
                if stamp is not None:
                    times[number] = _qty(stamp)
                else:
                    block = self.w3.eth.get_block(number)
                    if bytes(block["hash"]) != block_hash:
                        raise _Retry
                    times[number] = int(block["timestamp"])
            address = str(log["address"])
            address = self._checksum.get(address.lower(), address)
            events.append(_decode(number, _qty(log["logIndex"]), block_hash, times[number],
                                  _bytes(log["transactionHash"]), address,
                                  [_bytes(t) for t in log["topics"]], _bytes(log["data"])))
        # The range is consistent if its last block and the block before it are still the ones we saw.
        if self._chain_hash(hi) != head_hash:
            raise _Retry
        before = self.index._block_hash(lo - 1)
        if before is not None and self._chain_hash(lo - 1) != before:
            raise _Retry
        return self.index._commit_range(events, hashes, hi)
