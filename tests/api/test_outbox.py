"""The outbox worker across crashes: a stored transaction is sent again (never signed anew), a taken nonce
is re-signed, a node restart loses nothing, and accepted writes keep their order."""

from __future__ import annotations

import socket
from datetime import date

import pytest

from api.auth import Client
from api.outbox import court_lane
from api.services import Services, WriteContext
from api.worker import OutboxWorker
from ledger._node import ensure_node
from ledger.chain import connect, send_transaction
from ledger.privacy import Party, make_resident_id, parse_subject
from tests.api.conftest import service_settings


class _Crash(Exception):
    """The process died right after the raw transaction was stored."""


def crash(_entry: object) -> bool:
    raise _Crash


def _court(services: Services, court_id: int) -> Client:
    """Admit a court straight through the outbox (no HTTP) and return its client."""
    signer = services.signers.create()
    gov = Client("gov", "governance", None, frozenset({"courts:write"}))
    services.writes.submit_governance(
        gov,
        WriteContext(None, b"g%d" % court_id),
        "admit_court",
        {"court": court_id, "jurisdiction": "CN-SH", "appellate_court": 0, "signer": signer.address},
        signer_key=(court_id, signer.address),
        fund=signer.address,
    )
    return Client(f"court-{court_id}", "court", court_id, frozenset({"judgments:write"}))


def _judgment(services: Services, client: Client, n: int):
    party = Party(
        role="debtor", subject=parse_subject("resident_id", make_resident_id(seq=f"{n:03d}")), name="某人"
    )
    assert client.court_id is not None
    desk = services.desk(client.court_id)
    return services.writes.submit_record(
        client,
        WriteContext(None, b"j%d" % n),
        client.court_id,
        lambda _: desk.judgment(
            case_number=f"(2022)沪0101民初{n}号",
            document_digest=bytes([n]) * 32,
            parties=[party],
            amount=100 + n,
            currency="CNY",
            judgment_date=date(2022, 1, 1),
            effective_date=date(2022, 1, 2),
        ),
    )


def _drain(worker: OutboxWorker, services: Services, ids: list[str], passes: int = 200) -> None:
    for _ in range(passes):
        worker.run_once()
        if all(services.outbox.get(i).finished for i in ids):
            return
    raise AssertionError([services.outbox.get(i).state for i in ids])


@pytest.fixture
def idle_services(tmp_path):
    """A service whose worker is driven by hand (no threads)."""
    svc = Services.open(service_settings(tmp_path))
    yield svc
    svc.close()


def test_crash_after_storing_resends_the_same_transaction(idle_services):
    svc = idle_services
    client = _court(svc, 4242)
    _drain(svc.worker, svc, [e.id for e in svc.outbox.entries("governance", "accepted")])
    entry = _judgment(svc, client, 1)

    crashing = OutboxWorker(svc.ledger, svc.outbox, svc.signers, svc.governor)

    crashing._broadcast = crash
    with pytest.raises(_Crash):
        crashing.run_once()
    stored = svc.outbox.get(entry.id)
    assert stored.state == "submitted" and stored.raw_tx and stored.nonce is not None
    assert svc.chain.w3.eth.get_transaction_count(stored.sender) == stored.nonce  # never reached the node

    restarted = OutboxWorker(svc.ledger, svc.outbox, svc.signers, svc.governor)
    _drain(restarted, svc, [entry.id])
    done = svc.outbox.get(entry.id)
    assert done.state == "confirmed"
    assert (done.tx_hash, done.nonce, done.raw_tx) == (stored.tx_hash, stored.nonce, stored.raw_tx)
    assert svc.ledger.judgment(done.record_id)["court"] == 4242


def test_nonce_taken_by_another_transaction_is_signed_again(idle_services):
    svc = idle_services
    client = _court(svc, 4343)
    _drain(svc.worker, svc, [e.id for e in svc.outbox.entries("governance", "accepted")])
    entry = _judgment(svc, client, 2)
    crashing = OutboxWorker(svc.ledger, svc.outbox, svc.signers, svc.governor)
    crashing._broadcast = crash
    with pytest.raises(_Crash):
        crashing.run_once()
    stored = svc.outbox.get(entry.id)
    signer = svc.signers.account(stored.sender)
    # Someone else sends with the court's key and that nonce.
    send_transaction(svc.chain, signer, {"to": signer.address, "value": 0, "nonce": stored.nonce})
    _drain(OutboxWorker(svc.ledger, svc.outbox, svc.signers, svc.governor), svc, [entry.id])
    done = svc.outbox.get(entry.id)
    assert done.state == "confirmed" and done.nonce == stored.nonce + 1 and done.tx_hash != stored.tx_hash
    assert done.record_id == stored.record_id  # the same record, signed again


def test_lane_order_is_acceptance_order(idle_services):
    svc = idle_services
    client = _court(svc, 4444)
    ids = [_judgment(svc, client, n).id for n in range(3, 9)]
    _drain(svc.worker, svc, ids + [e.id for e in svc.outbox.entries("governance", "accepted")])
    entries = [svc.outbox.get(i) for i in ids]
    assert [e.state for e in entries] == ["confirmed"] * 6
    assert [e.nonce for e in entries] == sorted(e.nonce for e in entries)
    assert [e.block_number for e in entries] == sorted(e.block_number for e in entries)
    assert all(e.lane == court_lane(4444) for e in entries)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.anvil
def test_node_restart_loses_nothing(tmp_path):
    port = _free_port()
    chain = connect("local", data_dir=tmp_path / "chain", port=port)
    svc = Services.open(service_settings(tmp_path, chain="local", worker_interval_seconds=0.05), chain=chain)
    try:
        svc.start()
        client = _court(svc, 4545)
        first = [_judgment(svc, client, n).id for n in range(10, 13)]
        for i in first:
            _wait(svc, i)
        assert chain.node is not None
        chain.node.stop()  # SIGTERM: anvil writes its state
        during = [_judgment(svc, client, n).id for n in range(13, 16)]  # accepted while the node is down
        assert {svc.outbox.get(i).state for i in during} <= {"accepted", "submitted"}
        node = ensure_node(tmp_path / "chain", port=port)
        try:
            for i in first + during:
                _wait(svc, i)
            assert all(
                svc.ledger.judgment(svc.outbox.get(i).record_id)["court"] == 4545 for i in first + during
            )
        finally:
            svc.close()
            node.stop()
    finally:
        chain.close()


def _wait(svc: Services, entry_id: str, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while svc.outbox.get(entry_id).state != "confirmed":
        assert svc.outbox.get(entry_id).state != "failed", svc.outbox.get(entry_id).error
        assert time.monotonic() < deadline, svc.outbox.get(entry_id)
        time.sleep(0.05)


def test_a_data_dir_with_records_is_never_redeployed_silently(tmp_path):
    """A fresh chain behind an existing data dir (reset node, wrong URL): refuse, do not start over."""
    from ledger.errors import ConfigurationError

    first = Services.open(service_settings(tmp_path))
    first.close()
    with pytest.raises(ConfigurationError, match="Refusing to deploy a new suite"):
        Services.open(service_settings(tmp_path))  # a new in-memory chain: none of the contracts exist


def test_an_entry_whose_block_the_chain_lost_is_sent_again(idle_services):
    """The node forgets the block that confirmed an entry (a restart before its state was saved, a
    reorganisation): the worker sends the same stored transaction again and settles it anew."""
    svc = idle_services
    client = _court(svc, 4646)
    _drain(svc.worker, svc, [e.id for e in svc.outbox.entries("governance", "accepted")])
    w3 = svc.chain.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # test-only RPC: forget what follows
    entry = _judgment(svc, client, 20)
    _drain(svc.worker, svc, [entry.id])
    first = svc.outbox.get(entry.id)
    assert first.state == "confirmed"
    w3.provider.make_request("evm_revert", [snapshot])
    assert w3.eth.block_number < int(first.block_number or 0)

    restarted = OutboxWorker(svc.ledger, svc.outbox, svc.signers, svc.governor)
    restarted.run_once()  # its first pass checks the newest settled block: gone; the raw tx goes again
    reopened = svc.outbox.get(entry.id)
    assert reopened.state == "submitted" and reopened.block_hash is None, reopened
    _drain(restarted, svc, [entry.id])
    done = svc.outbox.get(entry.id)
    assert done.state == "confirmed" and done.block_number is not None
    assert (done.tx_hash, done.nonce, done.raw_tx) == (first.tx_hash, first.nonce, first.raw_tx)
    assert svc.ledger.judgment(done.record_id)["court"] == 4646
