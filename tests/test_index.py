"""ledger.index: events -> SQLite read model; incremental equals rebuilt, restarts, confirmations, reorgs,
partner checks against the chain, statistics.

The memory chain is shared by the whole session and eth-tester's eth_getLogs costs grow with the chain,
so every index here starts at the block where its test began (``start_block``): it then holds exactly
the records the test wrote.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from web3.types import RPCEndpoint

from ledger.client import Ledger
from ledger.errors import ConfigurationError, ValidationError
from ledger.index import Index, Indexer, RestrictionAnswer, _decode, _event_specs
from ledger.records import (
    Action,
    ActionKind,
    Anchor,
    CaseState,
    Extension,
    Filing,
    Ground,
    JudgmentStatus,
    JudgmentStatusChange,
    Listing,
    Record,
    Removal,
    RemovalReason,
    Restriction,
    case_number_digest,
    sha256_digest,
)
from tests.conftest import CASE_KEY, Court, admit_new_court, fund, make_judgment

DAY = 86400
ZERO32 = b"\x00" * 32
R = Restriction


def _now(ledger: Ledger) -> int:
    return int(ledger.w3.eth.get_block("latest")["timestamp"])


def _next_block(ledger: Ledger) -> int:
    return int(ledger.w3.eth.block_number) + 1


class _Writer:
    """Writes a court's records, syncing the incremental index after each one."""

    def __init__(self, ledger: Ledger, court: Court, indexer: Indexer | None) -> None:
        self.ledger, self.court, self.indexer = ledger, court, indexer
        self.sequence: dict[bytes, int] = {}

    def __call__(self, record: Record) -> bytes:
        written = self.ledger.submit(self.court.signer, record)
        if self.indexer is not None:
            self.indexer.sync()
        return written.record_id

    def case(self, judgment_id: bytes, due: int, n: int) -> bytes:
        filing = Filing(court=self.court.id, judgment_id=judgment_id,
                        case_number_digest=case_number_digest(CASE_KEY, f"(2019)京0105执{self.court.id}-{n}号"),
                        amount_due=due, filed_at=date(2019, 1, 1))
        case_id = self(filing)
        self.sequence[case_id] = 0
        return case_id

    def act(self, case_id: bytes, kind: ActionKind, amount: int = 0, detail: int = 0) -> None:
        self(Action(case_id=case_id, sequence=self.sequence[case_id], kind=kind, amount=amount, detail=detail,
                    document_digest=sha256_digest(f"order {case_id.hex()} {kind}".encode())))
        self.sequence[case_id] += 1


@dataclass
class Scenario:
    court: Court
    start: int
    end: int
    path: Path
    now: int
    judgments: list[bytes]
    cases: list[bytes]
    listings: dict[str, bytes]
    listing_records: dict[str, Listing]
    subjects: dict[str, bytes]
    extended_until: int
    root: bytes


@pytest.fixture(scope="module")
def scenario(ledger: Ledger, governor: LocalAccount, funder: LocalAccount,
             tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """One court's records of every kind, indexed incrementally two blocks at a time as they are written.

    Case 1 recovers by payment only (voluntary), case 2 by freezing and deduction, case 3 ends for lack of
    assets. Subject A is listed on case 2 (later removed, case ended); subject B on case 3 twice: one
    listing extended and running, one removed because the debtor performed.
    """
    start = _next_block(ledger)
    path = tmp_path_factory.mktemp("index") / "incremental.db"
    index = Index(path)
    indexer = Indexer(ledger, index, batch_blocks=2, start_block=start)
    court = admit_new_court(ledger, governor, funder)
    w = _Writer(ledger, court, indexer)
    now = _now(ledger)
    j = [w(make_judgment(court.id, n)) for n in range(3)]
    w(JudgmentStatusChange(judgment_id=j[2], status=JudgmentStatus.UNDER_APPEAL, sequence=0))
    w(JudgmentStatusChange(judgment_id=j[2], status=JudgmentStatus.SUPERSEDED, superseded_by=j[1],
                           sequence=1))

    c1 = w.case(j[0], 100_000, 1)
    w.act(c1, ActionKind.ASSET_INQUIRY, detail=0b101)
    w.act(c1, ActionKind.PAYMENT_RECEIVED, amount=100_000)
    w.act(c1, ActionKind.CONCLUSION)

    subjects = {"a": sha256_digest(f"subject a {court.id}".encode()),
                "b": sha256_digest(f"subject b {court.id}".encode())}
    c2 = w.case(j[1], 200_000, 2)
    w.act(c2, ActionKind.FREEZE)
    records = {
        "a": Listing(court=court.id, subject=subjects["a"], case_id=c2,
                     ground=Ground.VIOLATES_PROPERTY_REPORT, restrictions=R.FLIGHTS | R.RAIL,
                     listed_at=now - 3_000, until=now + 100 * DAY),
    }
    listings = {"a": w(records["a"])}
    w.act(c2, ActionKind.DEDUCTION, amount=150_000)
    w.act(c2, ActionKind.CONCLUSION)
    w(Removal(listing_id=listings["a"], reason=RemovalReason.CASE_ENDED, sequence=0))

    c3 = w.case(j[0], 300_000, 3)
    w.act(c3, ActionKind.ASSET_INQUIRY, detail=0b1)
    records["b1"] = Listing(court=court.id, subject=subjects["b"], case_id=c3,
                            ground=Ground.ABLE_BUT_REFUSES, restrictions=R.all(),
                            listed_at=now - 5_000, until=now + 670 * DAY)
    records["b2"] = Listing(court=court.id, subject=subjects["b"], case_id=c3,
                            ground=Ground.REFUSES_SETTLEMENT, restrictions=R.FLIGHTS,
                            listed_at=now - 1_000, until=now + 50 * DAY)
    listings["b1"] = w(records["b1"])
    listings["b2"] = w(records["b2"])
    w.act(c3, ActionKind.TERMINATION_NO_ASSETS)
    extended_until = records["b1"].until + 400 * DAY
    w(Extension(listing_id=listings["b1"], until=extended_until, sequence=0))
    w(Removal(listing_id=listings["b2"], reason=RemovalReason.PERFORMED, sequence=0))

    root = sha256_digest(f"batch {court.id}".encode())
    w(Anchor(court=court.id, root=root, size=1000, metadata_digest=sha256_digest(b"meta")))
    end = indexer.sync().to_block
    index.close()
    return Scenario(court, start, end, path, now, j, [c1, c2, c3], listings, records, subjects,
                    extended_until, root)


def _rebuild(ledger: Ledger, path: Path | str, start: int, to_block: int | None = None) -> Index:
    index = Index(path)
    Indexer(ledger, index, start_block=start).sync(to_block)
    return index


# -- rebuilt equals incremental ---------------------------------------------------------------


def test_rebuilt_index_equals_incremental(ledger: Ledger, scenario: Scenario, tmp_path: Path) -> None:
    incremental = Index(scenario.path)
    rebuilt = _rebuild(ledger, tmp_path / "rebuilt.db", scenario.start, scenario.end)
    try:
        assert rebuilt.cursor() == incremental.cursor() == scenario.end
        dump = incremental.dump()
        assert rebuilt.dump() == dump
        names = {row[6] for row in dump["events"]}
        assert {"CourtAdmitted", "SignerAdded", "WriterSynced", "JudgmentRecorded", "JudgmentStatusChanged",
                "CaseOpened", "ActionRecorded", "DefaulterListed", "ListingExtended", "DefaulterRemoved",
                "RootAnchored"} <= names
        assert len(dump["judgments"]) == 3 and len(dump["cases"]) == 3 and len(dump["listings"]) == 3
    finally:
        incremental.close()
        rebuilt.close()


def test_views_answer_histories(scenario: Scenario) -> None:
    with Index(scenario.path) as index:
        j0, j1, j2 = scenario.judgments
        judgment = index.judgment(j2)
        assert judgment is not None and judgment.court == scenario.court.id
        assert judgment.status == JudgmentStatus.SUPERSEDED and judgment.superseded_by == j1
        assert [(c.from_status, c.to_status) for c in judgment.status_history] == [
            (JudgmentStatus.EFFECTIVE, JudgmentStatus.UNDER_APPEAL),
            (JudgmentStatus.UNDER_APPEAL, JudgmentStatus.SUPERSEDED)]
        expected = make_judgment(scenario.court.id, 0)
        found = index.judgment_by_case_number_digest(expected.case_number_digest, expected.document_digest)
        assert found is not None and found.id == j0 and found.amount == expected.amount
        assert found.currency == "CNY" and found.status == JudgmentStatus.EFFECTIVE
        assert not found.status_history
        assert index.judgment_by_case_number_digest(expected.case_number_digest, ZERO32) is None
        assert index.judgment(ZERO32) is None

        c1, c2, c3 = (index.case_history(c) for c in scenario.cases)
        assert c1 is not None and c2 is not None and c3 is not None
        assert [a.kind for a in c1.actions] == [ActionKind.ASSET_INQUIRY, ActionKind.PAYMENT_RECEIVED,
                                                ActionKind.CONCLUSION]
        assert [a.sequence for a in c1.actions] == [0, 1, 2]
        assert c1.actions[0].detail == 0b101 and c1.actions[1].amount == 100_000
        assert [a.amount_recovered_after for a in c2.actions] == [0, 150_000, 150_000]
        assert c2.actions[-1].state_after == CaseState.CONCLUDED and c2.state == CaseState.CONCLUDED
        assert c3.state == CaseState.TERMINATED and c3.amount_due == 300_000 and c3.amount_recovered == 0
        assert c1.history_hash == c1.actions[-1].history_hash
        assert [lv.id for lv in c2.listings] == [scenario.listings["a"]]
        assert [lv.id for lv in c3.listings] == [scenario.listings["b1"], scenario.listings["b2"]]
        assert index.case_history(ZERO32) is None

        b1, b2 = index.listings_of(scenario.subjects["b"])
        assert b1.id == scenario.listings["b1"] and b1.ground == Ground.ABLE_BUT_REFUSES
        assert b1.until == b1.ends_at == scenario.extended_until
        assert b1.original_until == scenario.listing_records["b1"].until
        assert [e.kind for e in b1.events] == ["listed", "extended"] and b1.removed_at is None
        assert b2.removal_reason == RemovalReason.PERFORMED and b2.ends_at == b2.removed_at
        assert [e.kind for e in b2.events] == ["listed", "removed"]
        assert b2.restrictions == R.FLIGHTS
        assert index.listings_of(ZERO32) == []

        anchor = index.anchor(scenario.court.id, scenario.root)
        assert anchor is not None and anchor.size == 1000 and anchor.court == scenario.court.id


# -- partner checks -----------------------------------------------------------------------------


def test_restriction_checks_agree_with_the_chain(ledger: Ledger, scenario: Scenario) -> None:
    index = Index(scenario.path)
    try:
        now, recs = scenario.now, scenario.listing_records
        listing_a = index.listings_of(scenario.subjects["a"])[0]
        assert listing_a.removed_at is not None
        times = sorted({now - 60 * DAY, recs["a"].listed_at - 1, recs["a"].listed_at, now - DAY,
                        listing_a.removed_at - 1, listing_a.removed_at, now + 10 * DAY, recs["b1"].until,
                        scenario.extended_until - 1, scenario.extended_until})
        subjects = [scenario.subjects["a"], scenario.subjects["b"]]
        nobody = sha256_digest(b"nobody")
        restricted = 0
        for restriction in (R.FLIGHTS, R.RAIL | R.FLIGHTS, R.COMPANY_OFFICE, R.all()):
            for at in times:
                *batch, unknown = index.check_many([*subjects, nobody], restriction, at)
                assert unknown == RestrictionAnswer(False, None, None)
                for subject, answer in zip(subjects, batch, strict=True):
                    on_chain = ledger.is_restricted(subject, restriction, at)
                    assert (answer.restricted, answer.listing_id or ZERO32, answer.until or 0) == on_chain, (
                        subject.hex(), int(restriction), at)
                    assert index.is_restricted(subject, restriction, at) == answer
                    restricted += answer.restricted
        assert 20 < restricted < 80  # the grid is neither all "yes" nor all "no"
        # Several listings run: the one ending last answers.
        answer = index.is_restricted(scenario.subjects["b"], R.FLIGHTS, now)
        assert answer == RestrictionAnswer(True, scenario.extended_until, scenario.listings["b1"])
    finally:
        index.close()


def test_check_many_is_one_query_per_chunk(scenario: Scenario) -> None:
    with Index(scenario.path) as index:
        subjects = [sha256_digest(str(i).encode()) for i in range(1200)] + [scenario.subjects["b"]]
        index.is_restricted(subjects[0], R.FLIGHTS, scenario.now)  # opens this thread's connection
        statements: list[str] = []
        with index._reading() as conn:
            conn.set_trace_callback(statements.append)
        answers = index.check_many(subjects, R.FLIGHTS, scenario.now)
        assert [a.restricted for a in answers] == [False] * 1200 + [True]
        assert sum(s.lstrip().upper().startswith("SELECT") for s in statements) == 3  # 1201 / 500
        with pytest.raises(ValidationError):
            index.check_many([b"short"], R.FLIGHTS, scenario.now)
        with pytest.raises(ValidationError):
            index.is_restricted(subjects[0], 1 << 16, scenario.now)


# -- statistics ---------------------------------------------------------------------------------


def test_statistics_of_a_known_scenario(scenario: Scenario) -> None:
    with Index(scenario.path) as index:
        stats = index.statistics(courts=[scenario.court.id])
        assert stats["as_of_block"] == scenario.end
        assert stats["judgments_recorded"] == 3
        assert (stats["cases_filed"], stats["cases_concluded"], stats["cases_terminated"]) == (3, 2, 1)
        amounts = (stats["amount_due"], stats["amount_recovered"], stats["amount_disbursed"])
        assert amounts == (600_000, 250_000, 0)
        assert stats["voluntary_performance_rate"] == 0.5  # case 1 of the two concluded
        assert stats["listings"] == 3
        assert stats["listings_by_ground"] == {
            "able_but_refuses": 1, "obstructs_by_forgery_or_violence": 0,
            "evades_by_false_litigation_or_hiding_assets": 0, "violates_property_report": 1,
            "violates_consumption_restriction": 0, "refuses_settlement": 1}
        assert stats["removals_by_reason"] == {
            "performed": 1, "settlement_fulfilled": 0, "applicant_agreed": 0, "case_ended": 1,
            "corrected_wrongly_listed": 0, "period_expired": 0}
        assert stats["performed_after_listing"] == 1
        assert stats["documents_anchored"] == 1000
        # The index holds only this scenario's blocks, so the unfiltered figures are the same.
        assert index.statistics() == stats
        empty = index.statistics(courts=[])
        assert empty["cases_filed"] == 0 and empty["voluntary_performance_rate"] is None


# -- restarts, crashes, confirmations ----------------------------------------------------------------


def test_restart_and_crash_resume_without_duplicates(ledger: Ledger, governor: LocalAccount,
                                                     funder: LocalAccount, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    start = _next_block(ledger)
    court = admit_new_court(ledger, governor, funder)
    w = _Writer(ledger, court, None)
    first = w(make_judgment(court.id, 1))
    path = tmp_path / "index.db"
    index = Index(path)
    result = Indexer(ledger, index, start_block=start).sync()
    assert result.from_block == start and result.events == len(index.dump()["events"]) > 0
    assert index.judgment(first) is not None
    index.close()

    second = w(make_judgment(court.id, 2))
    third = w(make_judgment(court.id, 3))
    index = Index(path)  # a restart: the cursor is where the last sync left it
    assert index.cursor() == result.to_block

    # A crash while committing the second range leaves the first range committed, nothing half-done.
    commits = {"n": 0}
    real_commit = Index._commit_range

    def crash_on_second(self, events, hashes, cursor):
        commits["n"] += 1
        if commits["n"] == 2:
            raise RuntimeError("power cut")
        return real_commit(self, events, hashes, cursor)

    monkeypatch.setattr(Index, "_commit_range", crash_on_second)
    with pytest.raises(RuntimeError, match="power cut"):
        Indexer(ledger, index, batch_blocks=1, start_block=start).sync()
    monkeypatch.undo()
    index.close()

    index = Index(path)
    assert index.judgment(second) is not None and index.judgment(third) is None
    resumed = Indexer(ledger, index, start_block=start).sync()
    assert resumed.events == 1 and index.judgment(third) is not None
    again = Indexer(ledger, index, start_block=start).sync()
    assert again.events == 0 and again.from_block == again.to_block + 1
    rebuilt = _rebuild(ledger, ":memory:", start, index.cursor())
    assert rebuilt.dump() == index.dump()
    assert len(index.dump()["judgments"]) == 3
    index.close()


def test_confirmations_hold_back_recent_blocks(ledger: Ledger, new_court, funder: LocalAccount) -> None:
    start = _next_block(ledger)
    court = new_court()
    judgment_id = _Writer(ledger, court, None)(make_judgment(court.id, 7))
    written_at = int(ledger.w3.eth.block_number)
    index = Index(":memory:")
    indexer = Indexer(ledger, index, confirmations=2, start_block=start)
    assert indexer.sync().to_block == written_at - 2
    assert index.judgment(judgment_id) is None
    fund(ledger.chain, funder, court.signer.address, 1)
    assert indexer.sync().to_block == written_at - 1
    assert index.judgment(judgment_id) is None
    fund(ledger.chain, funder, court.signer.address, 1)
    assert indexer.sync().to_block == written_at
    assert index.judgment(judgment_id) is not None


def test_an_index_serves_one_deployment_and_start(ledger: Ledger, tmp_path: Path) -> None:
    start = _next_block(ledger) - 1
    index = Index(tmp_path / "index.db")
    Indexer(ledger, index, start_block=start).sync(to_block=start - 1)
    with pytest.raises(ConfigurationError, match="another deployment"):
        Indexer(ledger, index, start_block=start - 1).sync(to_block=start - 1)
    index.close()
    db = sqlite3.connect(tmp_path / "index.db")
    with db:
        db.execute("UPDATE meta SET value = 99 WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(ConfigurationError, match="schema version 99"):
        Index(tmp_path / "index.db")


# -- reorganisations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("chain", ["anvil"], indirect=True)  # reorganisations are made with anvil_reorg
def test_reorg_replaces_a_record(ledger: Ledger, new_court, tmp_path: Path) -> None:
    start = _next_block(ledger)
    court = new_court()
    index = Index(tmp_path / "index.db")
    indexer = Indexer(ledger, index, batch_blocks=2, start_block=start)
    w = _Writer(ledger, court, indexer)
    kept = w(make_judgment(court.id, 1))
    gone = w(make_judgment(court.id, 2))
    assert index.judgment(gone) is not None
    reorged_block = int(ledger.w3.eth.block_number)

    # The last block is replaced by one carrying a different judgment, sent with the same nonce.
    replacement = make_judgment(court.id, 3)
    to, data = ledger.call_data(replacement)
    nonce = ledger.w3.eth.get_transaction_count(court.signer.address) - 1
    raw = court.signer.sign_transaction({
        "to": to, "data": data, "nonce": nonce, "chainId": ledger.chain.chain_id, "gas": 1_000_000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9})
    response = ledger.w3.provider.make_request(RPCEndpoint("anvil_reorg"),
                                               [1, [["0x" + raw.raw_transaction.hex(), 0]]])
    assert "error" not in response, response
    assert ledger.judgment(gone)["status"] == 0 and ledger.judgment(replacement.record_id())["status"] == 1

    result = indexer.sync()
    assert result.rolled_back >= 1 and result.from_block <= reorged_block
    assert index.judgment(gone) is None
    assert index.judgment(kept) is not None and index.judgment(replacement.record_id()) is not None
    assert index.dump() == _rebuild(ledger, ":memory:", start, index.cursor()).dump()
    # Deeper than anything kept: the index starts over and still ends equal.
    index._rollback(start + 1)  # simulate a stale index, then lose all kept hashes
    with index._writing() as conn:
        conn.execute("UPDATE blocks SET hash = zeroblob(32)")
    indexer.sync()
    assert index.dump() == _rebuild(ledger, ":memory:", start, index.cursor()).dump()
    index.close()


# -- storage, without a chain ---------------------------------------------------------------------


def _log(name: str, block: int, log_index: int = 0, address: str = "0x" + "11" * 20, **args):
    """A synthetic decoded event, encoded the way the contract would emit it."""
    topic0, spec = next((t, s) for t, s in _event_specs().items() if s.name == name)
    topics = [topic0] + [abi_encode([typ], [args[n]]) for n, typ in spec.indexed]
    data = abi_encode(list(spec.plain_types), [args[n] for n in spec.plain_names])
    return _decode(block, log_index, block.to_bytes(32, "big"), 1_700_000_000 + block, b"\x01" * 32, address,
                   topics, data)


def test_amounts_beyond_64_bits_stay_exact() -> None:
    big = 2**100 + 7
    with Index(":memory:") as index:
        events = []
        for i, due in enumerate((big, 2**63 - 1, 5)):
            case_id = bytes([i + 1]) * 32
            events.append(_log("CaseOpened", 10 + i, caseId=case_id, court=1, judgmentId=ZERO32,
                               caseNumberDigest=ZERO32, amountDue=due, filedAt=1))
            events.append(_log("ActionRecorded", 10 + i, 1, caseId=case_id, sequence=0,
                               kind=int(ActionKind.PAYMENT_RECEIVED), amount=due, detail=2**64 - 1,
                               documentDigest=ZERO32, flags=0, state=int(CaseState.OPEN), amountRecovered=due,
                               historyHash=ZERO32))
        index._commit_range(events, {12: b"\x00" * 32}, 12)
        stats = index.statistics()
        assert stats["amount_due"] == stats["amount_recovered"] == big + 2**63 - 1 + 5
        view = index.case_history(b"\x01" * 32)
        assert view is not None and view.amount_due == big and view.actions[0].detail == 2**64 - 1
        assert index._commit_range(events, {}, 12) == 0  # applying again changes nothing


def test_rollback_replays_what_stays() -> None:
    listing_id, subject = b"\x0a" * 32, b"\x0b" * 32
    listed = _log("DefaulterListed", 10, listingId=listing_id, subject=subject, court=1, caseId=ZERO32,
                  ground=1, restrictions=3, listedAt=100, until=1000)
    extended = _log("ListingExtended", 11, listingId=listing_id, subject=subject, byCourt=1, until=5000)
    removed = _log("DefaulterRemoved", 12, listingId=listing_id, subject=subject, byCourt=1, reason=1,
                   removedAt=700)
    with Index(":memory:") as full, Index(":memory:") as partial:
        full._commit_range([listed, extended, removed], {}, 12)
        assert full.is_restricted(subject, 1, 699) == RestrictionAnswer(True, 700, listing_id)
        assert not full.is_restricted(subject, 1, 700).restricted
        full._rollback(11)
        assert full.cursor() == 11 and full.is_restricted(subject, 1, 4999).restricted
        partial._commit_range([listed, extended], {}, 11)
        assert full.dump() == partial.dump()
        full._rollback(9)
        assert full.dump() == {table: [] for table in full.dump()}


def test_concurrent_readers(scenario: Scenario) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with Index(scenario.path) as index:
        subject = scenario.subjects["b"]

        def check(_: int) -> bool:
            return index.check_many([subject] * 50, R.FLIGHTS, scenario.now)[0].restricted

        with ThreadPoolExecutor(4) as pool:
            assert all(pool.map(check, range(40)))

