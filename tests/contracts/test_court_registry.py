"""CourtRegistry: admission, suspension, reinstatement, retirement, key rotation, appellate authority,
attached registries, and the writer cache each attached registry keeps (checked after every act)."""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import to_checksum_address
from web3.logs import DISCARD

from ledger.build import load_artifact
from ledger.chain import send_transaction
from ledger.client import jurisdiction_bytes
from ledger.records import JudgmentStatus, JudgmentStatusChange
from tests.contracts.helpers import (
    C_ACTIVE,
    C_NONE,
    C_RETIRED,
    C_SUSPENDED,
    GOVERNOR_ROLE,
    REGISTRIES,
    W_ACTIVE,
    W_COURT_RETIRED,
    W_COURT_SUSPENDED,
    W_NONE,
    W_SIGNER_RETIRED,
    assert_writers_consistent,
    block_time,
    call,
    court_signers,
    events,
    expect_revert,
    governance_batch,
    judgment,
    next_court_id,
    one_event,
    send_batch,
)


def _writer_synced(ledger, receipt) -> set[tuple[str, str, int, int]]:
    """(registry, signer, court, state) of every WriterSynced in a receipt, over the attached registries."""
    out = set()
    for name in REGISTRIES:
        for e in events(ledger, receipt, name, "WriterSynced"):
            out.add((name, e["signer"], e["court"], e["state"]))
    return out


def _synced(signers, court, state) -> set[tuple[str, str, int, int]]:
    return {(name, s, court, state) for name in REGISTRIES for s in signers}


def _admit(ledger, governor, appellate=0, jurisdiction="CN-BJ"):
    """Admit a court with an unfunded signer (enough for governance and view tests)."""
    court, signer = next_court_id(), Account.create()
    receipt = ledger.admit_court(governor, court, jurisdiction, appellate, signer.address)
    return court, signer, receipt


# -- admission -----------------------------------------------------------------------------------


def test_admit_court_stores_court_and_signer_and_pushes_writer(ledger, governor):
    high, _, _ = _admit(ledger, governor)
    court, signer, receipt = _admit(ledger, governor, appellate=high, jurisdiction="CN-BJ1")
    t = block_time(ledger, receipt)

    assert one_event(ledger, receipt, "CourtRegistry", "CourtAdmitted") == {
        "court": court,
        "jurisdiction": jurisdiction_bytes("CN-BJ1"),
        "appellateCourt": high,
    }
    assert one_event(ledger, receipt, "CourtRegistry", "SignerAdded") == {
        "court": court,
        "signer": signer.address,
        "validFrom": t,
    }
    assert _writer_synced(ledger, receipt) == _synced([signer.address], court, W_ACTIVE)

    assert ledger.court(court) == {
        "status": C_ACTIVE,
        "appellate_court": high,
        "jurisdiction": jurisdiction_bytes("CN-BJ1"),
        "admitted_at": t,
        "signer_count": 1,
    }
    assert ledger.signer(signer.address) == {"court": court, "valid_from": t, "valid_until": 0}
    assert court_signers(ledger, court) == [signer.address]
    assert ledger.view("CourtRegistry", "activeCourtOf", signer.address) == court
    assert ledger.is_signer_valid_at(signer.address, court, t)
    assert not ledger.is_signer_valid_at(signer.address, court, t - 1)
    assert not ledger.is_signer_valid_at(signer.address, high, t)
    assert_writers_consistent(ledger, [signer.address])


@pytest.mark.parametrize("code", ["CN-B", "US-CA", "CN-110"])
def test_admit_court_accepts_iso_3166_2_codes(ledger, governor, code):
    court, _, _ = _admit(ledger, governor, jurisdiction=code)
    assert ledger.court(court)["jurisdiction"] == code.encode().ljust(8, b"\x00")


def test_admit_court_errors(ledger, governor):
    court, signer, _ = _admit(ledger, governor)
    fresh = Account.create().address
    new_id = next_court_id()
    bj = jurisdiction_bytes("CN-BJ")

    def admit(court_id, jurisdiction=bj, appellate=0, first=fresh):
        return lambda: ledger.governance(governor, "admitCourt", court_id, jurisdiction, appellate, first)

    expect_revert(admit(0), "CourtRegistryInvalidCourtId")
    expect_revert(admit(court), "CourtRegistryCourtExists", court=court)
    for bad in (
        b"cn-BJ\x00\x00\x00",
        b"CN_BJ\x00\x00\x00",
        b"CN-\x00\x00\x00\x00\x00",
        b"CN-1234\x00",
        b"C1-BJ\x00\x00\x00",
        b"CN-BJ\x00X\x00",
        b"CN-bj\x00\x00\x00",
        b"\x00" * 8,
    ):
        expect_revert(admit(new_id, jurisdiction=bad), "CourtRegistryInvalidJurisdiction", jurisdiction=bad)
    unknown = next_court_id()
    expect_revert(
        admit(new_id, appellate=unknown),
        "CourtRegistryInvalidAppellateCourt",
        court=new_id,
        appellateCourt=unknown,
    )
    expect_revert(
        admit(new_id, appellate=new_id),
        "CourtRegistryInvalidAppellateCourt",
        court=new_id,
        appellateCourt=new_id,
    )
    expect_revert(admit(new_id, first=signer.address), "CourtRegistrySignerExists", signer=signer.address, court=court)
    expect_revert(admit(new_id, first="0x" + "00" * 20), "CourtRegistryZeroSigner")
    assert ledger.court(new_id)["status"] == C_NONE


# -- lifecycle -------------------------------------------------------------------------------------


def test_suspend_reinstate_retire_sync_every_signer(ledger, governor):
    court, s1, _ = _admit(ledger, governor)
    s2 = Account.create()
    receipt = ledger.governance(governor, "addSigner", court, s2.address)
    assert _writer_synced(ledger, receipt) == _synced([s2.address], court, W_ACTIVE)
    signers = [s1.address, s2.address]
    assert_writers_consistent(ledger, signers)

    receipt = ledger.governance(governor, "suspendCourt", court)
    assert one_event(ledger, receipt, "CourtRegistry", "CourtSuspended") == {"court": court}
    assert _writer_synced(ledger, receipt) == _synced(signers, court, W_COURT_SUSPENDED)
    assert ledger.court(court)["status"] == C_SUSPENDED
    expect_revert(
        lambda: ledger.view("CourtRegistry", "activeCourtOf", s1.address),
        "CourtRegistryCourtNotActive",
        court=court,
        status=C_SUSPENDED,
    )
    assert_writers_consistent(ledger, signers)
    expect_revert(
        lambda: ledger.governance(governor, "suspendCourt", court),
        "CourtRegistryCourtNotActive",
        court=court,
        status=C_SUSPENDED,
    )

    receipt = ledger.governance(governor, "reinstateCourt", court)
    assert one_event(ledger, receipt, "CourtRegistry", "CourtReinstated") == {"court": court}
    assert _writer_synced(ledger, receipt) == _synced(signers, court, W_ACTIVE)
    assert ledger.court(court)["status"] == C_ACTIVE
    assert_writers_consistent(ledger, signers)
    expect_revert(
        lambda: ledger.governance(governor, "reinstateCourt", court),
        "CourtRegistryCourtNotActive",
        court=court,
        status=C_ACTIVE,
    )

    # A suspended court can be retired directly; retirement is final.
    ledger.governance(governor, "suspendCourt", court)
    receipt = ledger.governance(governor, "retireCourt", court)
    assert one_event(ledger, receipt, "CourtRegistry", "CourtRetired") == {"court": court}
    assert _writer_synced(ledger, receipt) == _synced(signers, court, W_COURT_RETIRED)
    assert ledger.court(court)["status"] == C_RETIRED
    assert_writers_consistent(ledger, signers)
    for fn in ("suspendCourt", "reinstateCourt", "retireCourt"):
        expect_revert(
            lambda fn=fn: ledger.governance(governor, fn, court),
            "CourtRegistryCourtNotActive",
            court=court,
            status=C_RETIRED,
        )
    expect_revert(
        lambda: ledger.governance(governor, "addSigner", court, Account.create().address),
        "CourtRegistryCourtNotActive",
        court=court,
        status=C_RETIRED,
    )
    # a signer retired after its court keeps the stronger reason
    ledger.governance(governor, "retireSigner", s2.address)
    assert_writers_consistent(ledger, signers)
    assert tuple(ledger.view("NotaryAnchor", "writerOf", s2.address)) == (court, W_SIGNER_RETIRED)


def test_retire_active_court(ledger, governor):
    court, s1, _ = _admit(ledger, governor)
    ledger.governance(governor, "retireCourt", court)
    assert ledger.court(court)["status"] == C_RETIRED
    assert_writers_consistent(ledger, [s1.address])


def test_governance_on_unknown_court_or_signer(ledger, governor):
    unknown = next_court_id()
    nobody = Account.create().address
    for fn in ("suspendCourt", "reinstateCourt", "retireCourt"):
        expect_revert(
            lambda fn=fn: ledger.governance(governor, fn, unknown), "CourtRegistryUnknownCourt", court=unknown
        )
    expect_revert(
        lambda: ledger.governance(governor, "addSigner", unknown, nobody),
        "CourtRegistryUnknownCourt",
        court=unknown,
    )
    expect_revert(
        lambda: ledger.governance(governor, "retireSigner", nobody),
        "CourtRegistryUnknownSigner",
        signer=nobody,
    )
    expect_revert(
        lambda: ledger.view("CourtRegistry", "activeCourtOf", nobody),
        "CourtRegistryUnknownSigner",
        signer=nobody,
    )
    assert ledger.court(unknown) == {
        "status": C_NONE,
        "appellate_court": 0,
        "jurisdiction": b"\x00" * 8,
        "admitted_at": 0,
        "signer_count": 0,
    }
    assert ledger.signer(nobody) == {"court": 0, "valid_from": 0, "valid_until": 0}
    assert court_signers(ledger, unknown) == []
    assert not ledger.is_signer_valid_at(nobody, 0, 0)
    for name in REGISTRIES:
        assert tuple(ledger.view(name, "writerOf", nobody)) == (0, W_NONE)


# -- signers and key rotation ---------------------------------------------------------------------


def test_key_rotation_keeps_old_records_valid(ledger, governor, new_court, funder):
    court = new_court()
    old = court.signer
    first = ledger.submit(old, judgment(court, 1))  # written with the old key
    t_first = first.block_time

    new = Account.create()
    from tests.conftest import fund

    fund(ledger.chain, funder, new.address)
    receipt = ledger.governance(governor, "addSigner", court.id, new.address)
    t_added = block_time(ledger, receipt)
    assert one_event(ledger, receipt, "CourtRegistry", "SignerAdded") == {
        "court": court.id,
        "signer": new.address,
        "validFrom": t_added,
    }
    assert ledger.court(court.id)["signer_count"] == 2
    assert court_signers(ledger, court.id) == [old.address, new.address]
    assert_writers_consistent(ledger, [old.address, new.address])

    receipt = ledger.governance(governor, "retireSigner", old.address)
    valid_until = ledger.signer(old.address)["valid_until"]
    assert one_event(ledger, receipt, "CourtRegistry", "SignerRetired") == {
        "court": court.id,
        "signer": old.address,
        "validUntil": valid_until,
    }
    assert _writer_synced(ledger, receipt) == _synced([old.address], court.id, W_SIGNER_RETIRED)
    # exclusive end one second after the retirement block, so the retirement's own second stays covered
    assert valid_until == block_time(ledger, receipt) + 1
    assert_writers_consistent(ledger, [old.address, new.address])
    expect_revert(
        lambda: ledger.view("CourtRegistry", "activeCourtOf", old.address),
        "CourtRegistrySignerRetired",
        signer=old.address,
        validUntil=valid_until,
    )

    # The old key's record still verifies at its own time, however close to the retirement.
    assert ledger.is_signer_valid_at(old.address, court.id, t_first)
    assert ledger.is_signer_valid_at(old.address, court.id, valid_until - 1)
    assert not ledger.is_signer_valid_at(old.address, court.id, valid_until)
    assert ledger.is_signer_valid_at(new.address, court.id, t_added)
    assert ledger.judgment(first.record_id)["status"] == JudgmentStatus.EFFECTIVE

    # The old key cannot write any more; the new one writes and acts on the old key's record.
    expect_revert(
        lambda: ledger.submit(old, judgment(court, 2)),
        "CourtAuthorizedInactiveWriter",
        signer=old.address,
        court=court.id,
        state=W_SIGNER_RETIRED,
    )
    second = ledger.submit(new, judgment(court, 2))
    assert ledger.is_signer_valid_at(new.address, court.id, second.block_time)
    ledger.submit(new, JudgmentStatusChange(judgment_id=first.record_id, status=JudgmentStatus.SATISFIED, sequence=0))
    assert ledger.judgment(first.record_id)["status"] == JudgmentStatus.SATISFIED

    # Retirement is final and survives a suspension and reinstatement of the court.
    expect_revert(
        lambda: ledger.governance(governor, "retireSigner", old.address),
        "CourtRegistrySignerRetired",
        signer=old.address,
        validUntil=valid_until,
    )
    ledger.governance(governor, "suspendCourt", court.id)
    assert_writers_consistent(ledger, [old.address, new.address])
    ledger.governance(governor, "reinstateCourt", court.id)
    assert_writers_consistent(ledger, [old.address, new.address])
    assert tuple(ledger.view("JudgmentRegistry", "writerOf", old.address)) == (court.id, W_SIGNER_RETIRED)
    assert tuple(ledger.view("JudgmentRegistry", "writerOf", new.address)) == (court.id, W_ACTIVE)


def test_add_signer_errors(ledger, governor):
    court, s1, _ = _admit(ledger, governor)
    other, s_other, _ = _admit(ledger, governor)
    expect_revert(
        lambda: ledger.governance(governor, "addSigner", court, s1.address),
        "CourtRegistrySignerExists",
        signer=s1.address,
        court=court,
    )
    expect_revert(
        lambda: ledger.governance(governor, "addSigner", court, s_other.address),
        "CourtRegistrySignerExists",
        signer=s_other.address,
        court=other,
    )
    expect_revert(lambda: ledger.governance(governor, "addSigner", court, "0x" + "00" * 20), "CourtRegistryZeroSigner")
    # a retired signer is never reused, for this court or another
    ledger.governance(governor, "retireSigner", s1.address)
    expect_revert(
        lambda: ledger.governance(governor, "addSigner", other, s1.address),
        "CourtRegistrySignerExists",
        signer=s1.address,
        court=court,
    )


def test_too_many_signers(ledger, governor):
    """On a bare court registry of its own (no attached registry: 31 key rotations are cheaper)."""
    cr = ledger.w3.eth.contract(
        address=_deploy(ledger, governor, "CourtRegistry", governor.address),
        abi=load_artifact("CourtRegistry").abi,
    )
    assert cr.functions.MAX_SIGNERS().call() == 32
    court = next_court_id()
    calls = [cr.encode_abi("admitCourt", args=[court, jurisdiction_bytes("CN-BJ"), 0, Account.create().address])]
    calls += [cr.encode_abi("addSigner", args=[court, Account.create().address]) for _ in range(31)]
    send_batch(ledger, [(governor, cr.address, data) for data in calls])
    assert cr.functions.courtInfo(court).call()[4] == 32
    assert len(cr.functions.signersOf(court).call()) == 32
    extra = Account.create().address
    expect_revert(
        lambda: ledger.transact(governor, cr.address, cr.encode_abi("addSigner", args=[court, extra])),
        "CourtRegistryTooManySigners",
        court=court,
    )


# -- appellate authority ---------------------------------------------------------------------------


def test_has_authority_follows_the_appellate_chain(ledger, governor):
    supreme, _, _ = _admit(ledger, governor)
    high, _, _ = _admit(ledger, governor, appellate=supreme)
    basic, _, _ = _admit(ledger, governor, appellate=high)
    sibling, _, _ = _admit(ledger, governor, appellate=high)

    def auth(a, t):
        return ledger.view("CourtRegistry", "hasAuthority", a, t)

    assert auth(basic, basic) and auth(high, basic) and auth(supreme, basic) and auth(supreme, sibling)
    assert not auth(basic, high) and not auth(sibling, basic) and not auth(basic, sibling)
    assert not auth(high, supreme)
    assert not auth(0, basic) and not auth(basic, 0) and not auth(0, 0)
    assert not auth(next_court_id(), basic)


def test_has_authority_walks_at_most_max_depth(ledger, governor):
    depth = ledger.view("CourtRegistry", "MAX_APPELLATE_DEPTH")
    assert depth == 8
    chain = [next_court_id() for _ in range(depth + 2)]
    bj = jurisdiction_bytes("CN-BJ")
    governance_batch(
        ledger,
        governor,
        [("admitCourt", [c, bj, chain[i - 1] if i else 0, Account.create().address]) for i, c in enumerate(chain)],
    )
    assert ledger.court(chain[-1])["appellate_court"] == chain[-2]
    bottom = chain[-1]
    assert ledger.view("CourtRegistry", "hasAuthority", chain[1], bottom)  # depth levels up
    assert not ledger.view("CourtRegistry", "hasAuthority", chain[0], bottom)  # one more


# -- attached registries ---------------------------------------------------------------------------


def _deploy_code(name, *args):
    art = load_artifact(name)
    return art.bytecode + abi_encode(["address"] * len(args), list(args))


def _deploy(ledger, sender, name, *args):
    receipt = send_transaction(ledger.chain, sender, {"data": "0x" + _deploy_code(name, *args).hex()})
    assert receipt["status"] == 1
    return to_checksum_address(receipt["contractAddress"])


def test_attach_registry(ledger, governor):
    # The shared deployment: its four registries are attached and each trusts it.
    registry_address = ledger.deployment.address("CourtRegistry")
    attached = [to_checksum_address(a) for a in ledger.view("CourtRegistry", "attachedRegistries")]
    assert attached == [ledger.deployment.address(n) for n in REGISTRIES]
    for name in REGISTRIES:
        assert ledger.view(name, "courtRegistry") == registry_address
        expect_revert(
            lambda name=name: ledger.governance(governor, "attachRegistry", ledger.deployment.address(name)),
            "CourtRegistryInvalidRegistry",
            registry=ledger.deployment.address(name),
        )
    # A registry that trusts another court registry cannot be attached.
    stranger = _deploy(ledger, governor, "NotaryAnchor", governor.address)
    expect_revert(
        lambda: ledger.governance(governor, "attachRegistry", stranger),
        "CourtRegistryInvalidRegistry",
        registry=stranger,
    )

    # A separate court registry: attaching pushes every existing signer, up to MAX_REGISTRIES.
    cr_abi = load_artifact("CourtRegistry").abi
    anchor_abi = load_artifact("NotaryAnchor").abi
    cr = ledger.w3.eth.contract(address=_deploy(ledger, governor, "CourtRegistry", governor.address), abi=cr_abi)
    assert cr.functions.MAX_REGISTRIES().call() == 8

    def gov(fn, *args):
        return ledger.transact(governor, cr.address, cr.encode_abi(fn, args=list(args)))

    court, active, retired = next_court_id(), Account.create(), Account.create()
    gov("admitCourt", court, jurisdiction_bytes("CN-SH"), 0, active.address)
    gov("addSigner", court, retired.address)
    gov("retireSigner", retired.address)

    code = _deploy_code("NotaryAnchor", cr.address)
    deployed = send_batch(ledger, [(governor, None, code)] * 9)
    anchors = [to_checksum_address(r["contractAddress"]) for r in deployed]
    attached = send_batch(
        ledger, [(governor, cr.address, cr.encode_abi("attachRegistry", args=[a])) for a in anchors[:8]]
    )
    for address, receipt in zip(anchors[:8], attached, strict=True):
        anchor = ledger.w3.eth.contract(address=address, abi=anchor_abi)
        assert [dict(e["args"]) for e in cr.events.RegistryAttached().process_receipt(receipt, errors=DISCARD)] == [
            {"registry": address}
        ]
        synced = [dict(e["args"]) for e in anchor.events.WriterSynced().process_receipt(receipt, errors=DISCARD)]
        assert synced == [
            {"signer": active.address, "court": court, "state": W_ACTIVE},
            {"signer": retired.address, "court": court, "state": W_SIGNER_RETIRED},
        ]
        assert tuple(anchor.functions.writerOf(active.address).call()) == (court, W_ACTIVE)
        assert tuple(anchor.functions.writerOf(retired.address).call()) == (court, W_SIGNER_RETIRED)
    assert [to_checksum_address(a) for a in cr.functions.attachedRegistries().call()] == anchors[:8]
    expect_revert(lambda: gov("attachRegistry", anchors[8]), "CourtRegistryTooManyRegistries")
    # later acts reach every attached registry
    gov("suspendCourt", court)
    for address in anchors[:8]:
        anchor = ledger.w3.eth.contract(address=address, abi=anchor_abi)
        assert tuple(anchor.functions.writerOf(active.address).call()) == (court, W_COURT_SUSPENDED)


# -- views -----------------------------------------------------------------------------------------


def test_views_and_roles(ledger, governor):
    assert ledger.view("CourtRegistry", "version") == "1.0.0"
    assert ledger.view("CourtRegistry", "GOVERNOR_ROLE") == GOVERNOR_ROLE
    assert ledger.view("CourtRegistry", "DEFAULT_ADMIN_ROLE") == b"\x00" * 32
    assert ledger.view("CourtRegistry", "MAX_REGISTRIES") == 8
    assert ledger.view("CourtRegistry", "hasRole", GOVERNOR_ROLE, governor.address)
    assert ledger.view("CourtRegistry", "hasRole", b"\x00" * 32, governor.address)
    assert ledger.view("CourtRegistry", "getRoleAdmin", GOVERNOR_ROLE) == b"\x00" * 32
    assert ledger.view("CourtRegistry", "supportsInterface", bytes.fromhex("7965db0b"))  # IAccessControl
    assert ledger.view("CourtRegistry", "supportsInterface", bytes.fromhex("01ffc9a7"))  # IERC165
    assert not ledger.view("CourtRegistry", "supportsInterface", bytes.fromhex("ffffffff"))
    # renounceRole needs the caller's own address as confirmation
    expect_revert(
        lambda: call(ledger, governor, "CourtRegistry", "renounceRole", GOVERNOR_ROLE, Account.create().address),
        "AccessControlBadConfirmation",
    )
