"""Group commit of accepts: many writers at once, each answered as if it had been accepted alone.

Writers race on one court: some retry with the same Idempotency-Key, some change one judgment's status
(a sequenced family), one sends a judgment that cannot be built. The first write holds the accept path
until every other writer is queued behind it, so they are all committed as one group: each key makes one
entry, the sequences run on without a gap or a repeat, the bad write fails alone, and every accepted
write (its outbox row and its parties in the vault) is there after the stores are closed and reopened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date

import pytest

from api.auth import Client
from api.outbox import KIND_OF, NewEntry, Outbox, court_lane, family_of
from api.services import Services, WriteContext
from ledger.privacy import Party, Vault, make_resident_id, parse_subject
from ledger.records import JudgmentStatus, JudgmentStatusChange
from tests.api.conftest import service_settings

JUDGMENT = bytes.fromhex("ab" * 32)
FAMILY = "judgment:0x" + JUDGMENT.hex()


@pytest.fixture
def idle_services(tmp_path):
    svc = Services.open(service_settings(tmp_path / "data"))
    yield svc
    svc.close()


def _admit(services: Services, court_id: int) -> Client:
    signer = services.signers.create()
    gov = Client("gov", "governance", None, frozenset({"courts:write"}))
    services.writes.submit_governance(
        gov,
        WriteContext(None, b"admit"),
        "admit_court",
        {"court": court_id, "jurisdiction": "CN-SH", "appellate_court": 0, "signer": signer.address},
        signer_key=(court_id, signer.address),
    )
    return Client(f"court-{court_id}", "court", court_id, frozenset({"judgments:write"}))


def _judgment(services: Services, court: int, n: int, amount: int) -> Callable[[object], object]:
    party = Party(role="debtor", subject=parse_subject("resident_id", make_resident_id(seq=f"{n:03d}")), name="某人")
    desk = services.desk(court)
    return lambda _: desk.judgment(
        case_number=f"(2023)沪0101民初{n}号",
        document_digest=bytes([n + 1]) * 32,
        parties=[party],
        amount=amount,
        currency="CNY",
        judgment_date=date(2023, 1, 1),
        effective_date=date(2023, 1, 2),
    )


def _status_change(court: int):
    def build(sequence):
        record = JudgmentStatusChange(
            judgment_id=JUDGMENT, status=JudgmentStatus.UNDER_APPEAL, sequence=sequence(FAMILY, 0)
        )
        return NewEntry(
            lane=court_lane(court), kind=KIND_OF[type(record)], court=court, record=record, family=family_of(record)
        )

    return build


def test_one_group_of_racing_writes_keeps_keys_sequences_and_a_bad_write_apart(idle_services):
    services = idle_services
    court = 64_000
    client = _admit(services, court)
    writes = services.writes

    requests: list[tuple[str | None, bytes, Callable]] = []
    for k in range(6):  # six judgments, each sent twice under its key (a racing retry)
        build = _judgment(services, court, k, 100 + k)
        requests += [(f"judgment-{k}", b"j%d" % k, lambda s, b=build: writes.submit_record(client, s, court, b))] * 2
    for k in range(4):  # four status changes of one judgment: sequences 0, 1, 2, 3 in acceptance order
        requests.append((f"status-{k}", b"s%d" % k, lambda s: writes.submit(client, s, _status_change(court))))
    bad = _judgment(services, court, 99, -1)  # a negative amount: the build fails
    requests.append(("bad", b"bad", lambda s: writes.submit_record(client, s, court, bad)))

    groups: list[int] = []
    accept_many = services.outbox.accept_many

    def first_waits_for_the_rest(group, **kw):  # the first group holds the path until all others queued
        groups.append(len(group))
        if len(groups) == 1:
            deadline = time.monotonic() + 20
            while len(writes._queue) < len(requests) and time.monotonic() < deadline:
                time.sleep(0.005)
        return accept_many(group, **kw)

    services.outbox.accept_many = first_waits_for_the_rest
    outcomes: dict[int, object] = {}

    def run(i: int, key: str, hash_: bytes, send: Callable) -> None:
        try:
            outcomes[i] = send(WriteContext(key, hash_))
        except Exception as exc:
            outcomes[i] = exc

    first = _judgment(services, court, 50, 150)
    leader = threading.Thread(
        target=run, args=(-1, "first", b"first", lambda s: writes.submit_record(client, s, court, first))
    )
    leader.start()
    while not groups:
        time.sleep(0.005)
    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in [leader, *threads]:
        t.join(60)
    assert groups == [1, len(requests)]  # everyone else was committed in one group

    failed = {requests[i][0] for i, o in outcomes.items() if isinstance(o, Exception)}
    assert failed == {"bad"}, [o for o in outcomes.values() if isinstance(o, Exception)]
    by_key: dict[str, set[str]] = {}
    for i, entry in outcomes.items():
        if not isinstance(entry, Exception):
            by_key.setdefault("first" if i < 0 else requests[i][0], set()).add(entry.id)
    assert all(len(ids) == 1 for ids in by_key.values()), by_key  # a retry got its original's entry
    accepted = {next(iter(ids)) for ids in by_key.values()}
    assert len(accepted) == 1 + 6 + 4

    stored = [e for e in services.outbox.entries(court_lane(court), "accepted")]
    assert {e.id for e in stored} == accepted  # nothing from the bad write, nothing built twice
    assert [e.typed_record().sequence for e in stored if e.family == FAMILY] == [0, 1, 2, 3]
    judgments = {e.id: bytes(e.record_id) for e in stored if e.kind == "judgment"}
    assert len(judgments) == 7

    data_dir, vault_path, vault_key = services.data_dir, services.workspace.vault_path, services.secrets.vault_key
    services.vault.close()
    services.outbox.close()
    reopened = Outbox(data_dir / "outbox.sqlite")
    vault = Vault.open(vault_path, vault_key, create=False)
    try:
        assert {e.id for e in reopened.entries(court_lane(court), "accepted")} == accepted
        for record_id in judgments.values():
            assert len(vault.get_record_secret(record_id).parties) == 1
    finally:
        vault.close()
        reopened.close()


def test_a_group_whose_transaction_is_lost_answers_no_write_accepted(idle_services):
    """A storage fault inside a group (here the transaction rolled back under it, as SQLite does on an I/O
    error) must not leave the writes after it committing one by one, or those before it answered 202."""
    services = idle_services
    court = 64_001
    client = _admit(services, court)
    writes = services.writes
    before = {e.id for e in services.outbox.entries(court_lane(court), "accepted")}
    calls = []
    accept_many = services.outbox.accept_many

    def with_a_fault(group, **kw):
        calls.append(len(group))
        return accept_many(group, **kw)

    services.outbox.accept_many = with_a_fault

    def fault(sequence):
        services.outbox._db.execute("ROLLBACK")  # the transaction is gone, as after a disk error
        raise OSError("disk I/O error")

    gate = threading.Event()

    def slow_first(sequence):
        gate.wait(10)
        return _judgment(services, court, 70, 170)(sequence)

    builds = [slow_first, _judgment(services, court, 71, 171), fault, _judgment(services, court, 72, 172)]
    outcomes: dict[int, object] = {}

    def run(i: int) -> None:
        try:
            outcomes[i] = writes.submit_record(client, WriteContext(f"lost-{i}", b"l%d" % i), court, builds[i])
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(0,))]
    threads[0].start()
    while not calls:
        time.sleep(0.005)
    threads += [threading.Thread(target=run, args=(i,)) for i in (1, 2, 3)]
    for t in threads[1:]:
        t.start()
    while len(writes._queue) < 3:
        time.sleep(0.005)
    gate.set()
    for t in threads:
        t.join(30)

    assert calls == [1, 3]
    assert not isinstance(outcomes[0], Exception)  # the first group was committed before the fault
    assert all(isinstance(outcomes[i], Exception) for i in (1, 2, 3)), outcomes
    after = {e.id for e in services.outbox.entries(court_lane(court), "accepted")}
    assert after - before == {outcomes[0].id}  # nothing of the faulty group was committed
