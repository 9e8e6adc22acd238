"""Who may write: every state-changing registry function (direct and delegated) from every kind of
account that must be refused, governance from non-governors, writer pushes from anyone but the court
registry, and signatures that must not verify (another chain, another contract, forged fields,
malformed bytes).

The refused calls change nothing, so one set of courts and records per backend (module fixture)
serves them all; tests that change state create their own courts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from ledger.client import Ledger, jurisdiction_bytes
from ledger.records import (
    CONTRACT_OF,
    ActionKind,
    Anchor,
    Extension,
    JudgmentStatus,
    JudgmentStatusChange,
    Record,
    Removal,
    sha256_digest,
)
from ledger.signing import Domain, recover_signer, sign_record
from tests.conftest import Court
from tests.contracts.helpers import (
    DEFAULT_ADMIN_ROLE,
    GOVERNOR_ROLE,
    REGISTRIES,
    W_ACTIVE,
    W_COURT_RETIRED,
    W_COURT_SUSPENDED,
    W_SIGNER_RETIRED,
    YEAR,
    action,
    admit,
    assert_writers_consistent,
    call,
    chain_now,
    events,
    expect_revert,
    filing,
    funded_account,
    judgment,
    list_subject,
    listing,
    open_case,
)

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass
class World:
    ledger: Ledger
    a: Court  # owns the records
    other: Court  # an active court without authority over A
    suspended: Court
    retired_court: Court
    retired_key: LocalAccount
    retired_key_court: int
    stranger: LocalAccount  # funded, never registered
    judgment_id: bytes
    case_id: bytes
    listing_id: bytes
    listing_until: int
    now: int


@pytest.fixture(scope="module")
def world(ledger, governor, funder) -> World:
    a = admit(ledger, governor, funder)
    jid, cid = open_case(ledger, a, 1)
    lid, lst = list_subject(ledger, a, cid, "world")
    other = admit(ledger, governor, funder)
    suspended = admit(ledger, governor, funder)
    ledger.governance(governor, "suspendCourt", suspended.id)
    retired_court = admit(ledger, governor, funder)
    ledger.governance(governor, "retireCourt", retired_court.id)
    rk = admit(ledger, governor, funder)
    ledger.governance(governor, "retireSigner", rk.signer.address)
    w = World(
        ledger,
        a,
        other,
        suspended,
        retired_court,
        rk.signer,
        rk.id,
        funded_account(ledger, funder),
        jid,
        cid,
        lid,
        lst.until,
        chain_now(ledger),
    )
    assert_writers_consistent(
        ledger,
        [
            a.signer.address,
            other.signer.address,
            suspended.signer.address,
            retired_court.signer.address,
            rk.signer.address,
            w.stranger.address,
        ],
    )
    return w


# One record of each kind, on A's records; ``n`` varies a field (for forged signatures).
KINDS: dict[str, Callable[[World, int], Record]] = {
    "Judgment": lambda w, n: judgment(w.a, 100 + n),
    "StatusChange": lambda w, n: JudgmentStatusChange(
        judgment_id=w.judgment_id,
        status=(JudgmentStatus.UNDER_APPEAL, JudgmentStatus.SET_ASIDE)[n],
        sequence=0,
    ),
    "Filing": lambda w, n: filing(w.a, w.judgment_id, 100 + n),
    "Action": lambda w, n: action(w.case_id, 0, ActionKind.NOTICE, document=sha256_digest(bytes([n]))),
    "Listing": lambda w, n: listing(w.a, w.case_id, keccak(b"matrix subject"), w.now - 100 - n),
    "Extension": lambda w, n: Extension(listing_id=w.listing_id, until=w.listing_until + YEAR + n, sequence=0),
    "Removal": lambda w, n: Removal(listing_id=w.listing_id, reason=1 + n, sequence=0),
    "Anchor": lambda w, n: Anchor(court=w.a.id, root=keccak(bytes([n]) + b"matrix root"), size=1),
}
CREATES = {"Judgment", "Filing", "Listing", "Anchor"}  # the rest change an existing record of A
ACTORS = ("unregistered", "suspended_court", "retired_key", "retired_court", "other_court")


def _actor(w: World, actor: str) -> tuple[LocalAccount, Callable[[str], tuple[str, dict[str, Any]]]]:
    """The actor's key and, by record kind, the error (name, arguments) the contracts must give."""

    def inactive(key: LocalAccount, court: int, state: int):
        return key, lambda kind: (
            "CourtAuthorizedInactiveWriter",
            {"signer": key.address, "court": court, "state": state},
        )

    if actor == "unregistered":
        return w.stranger, lambda kind: ("CourtAuthorizedUnknownWriter", {"signer": w.stranger.address})
    if actor == "suspended_court":
        return inactive(w.suspended.signer, w.suspended.id, W_COURT_SUSPENDED)
    if actor == "retired_court":
        return inactive(w.retired_court.signer, w.retired_court.id, W_COURT_RETIRED)
    if actor == "retired_key":
        return inactive(w.retired_key, w.retired_key_court, W_SIGNER_RETIRED)
    assert actor == "other_court"

    def other(kind: str):
        if kind in CREATES:
            return "CourtAuthorizedWrongCourt", {"recordCourt": w.a.id, "signerCourt": w.other.id}
        return "CourtAuthorizedNoAuthority", {"actingCourt": w.other.id, "recordCourt": w.a.id}

    return w.other.signer, other


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("delegated", [False, True], ids=["direct", "bySig"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_refused_writer(world, relayer, kind, delegated, actor):
    """Each of the 16 write functions, from each account that may not write A's records."""
    key, expected = _actor(world, actor)
    record = KINDS[kind](world, 0)
    error, arguments = expected(kind)
    expect_revert(lambda: world.ledger.submit(key, record, relayer=relayer if delegated else None), error, **arguments)


@pytest.mark.parametrize("kind", list(KINDS))
def test_refused_signatures(world, relayer, kind):
    """A's own key, but a signature for another chain, another contract, other fields, or malformed."""
    ledger, key = world.ledger, world.a.signer
    record = KINDS[kind](world, 0)
    domain = ledger.domain(record)

    def relay(sig: bytes, rec: Record = record):
        return lambda: ledger.submit(key, rec, relayer=relayer, signature=sig)

    def unknown_writer(sig: bytes, rec: Record = record):
        recovered = recover_signer(domain, rec, sig)  # what the contract recovers: some unrelated address
        assert recovered != key.address
        expect_revert(relay(sig, rec), "CourtAuthorizedUnknownWriter", signer=recovered)

    other_chain = Domain(domain.name, domain.chain_id + 1, domain.verifying_contract)
    unknown_writer(sign_record(key, other_chain, record))
    other_name = next(n for n in REGISTRIES if n != domain.name)
    other_contract = Domain(domain.name, domain.chain_id, ledger.deployment.address(other_name))
    unknown_writer(sign_record(key, other_contract, record))
    other_domain = Domain(other_name, domain.chain_id, ledger.deployment.address(other_name))
    unknown_writer(sign_record(key, other_domain, record))
    # forged: a genuine signature over one record, submitted with other fields
    unknown_writer(sign_record(key, domain, record), KINDS[kind](world, 1))

    good = sign_record(key, domain, record)
    r, s, v = good[:32], int.from_bytes(good[32:64], "big"), good[64]
    expect_revert(relay(good[:64]), "ECDSAInvalidSignatureLength", length=64)
    expect_revert(relay(good + b"\x00"), "ECDSAInvalidSignatureLength", length=66)
    high_s = (SECP256K1_N - s).to_bytes(32, "big")
    expect_revert(relay(r + high_s + bytes([55 - v])), "ECDSAInvalidSignatureS", s=high_s)
    expect_revert(relay(r + good[32:64] + bytes([v + 2])), "ECDSAInvalidSignature")
    expect_revert(relay(b"\x00" * 65), "ECDSAInvalidSignature")


GOVERNANCE: dict[str, Callable[[World], list[Any]]] = {
    "admitCourt": lambda w: [4_294_967_295, jurisdiction_bytes("CN-BJ"), 0, Account.create().address],
    "suspendCourt": lambda w: [w.a.id],
    "reinstateCourt": lambda w: [w.suspended.id],
    "retireCourt": lambda w: [w.a.id],
    "addSigner": lambda w: [w.a.id, Account.create().address],
    "retireSigner": lambda w: [w.a.signer.address],
    "attachRegistry": lambda w: [w.ledger.deployment.address("NotaryAnchor")],
}


@pytest.mark.parametrize("caller", ["court_signer", "relayer"])
@pytest.mark.parametrize("function", list(GOVERNANCE))
def test_governance_needs_governor_role(world, relayer, function, caller):
    account = world.a.signer if caller == "court_signer" else relayer
    expect_revert(
        lambda: call(world.ledger, account, "CourtRegistry", function, *GOVERNANCE[function](world)),
        "AccessControlUnauthorizedAccount",
        account=account.address,
        neededRole=GOVERNOR_ROLE,
    )


@pytest.mark.parametrize("function", ["grantRole", "revokeRole"])
def test_role_admin_needs_admin_role(world, relayer, function):
    expect_revert(
        lambda: call(world.ledger, relayer, "CourtRegistry", function, GOVERNOR_ROLE, relayer.address),
        "AccessControlUnauthorizedAccount",
        account=relayer.address,
        neededRole=DEFAULT_ADMIN_ROLE,
    )


@pytest.mark.parametrize("registry", REGISTRIES)
def test_only_the_court_registry_pushes_writers(world, governor, registry):
    ledger = world.ledger
    for caller in (governor, world.a.signer):
        expect_revert(
            lambda c=caller: call(ledger, c, registry, "syncWriter", c.address, world.a.id, W_ACTIVE),
            "CourtAuthorizedOnlyCourtRegistry",
            caller=caller.address,
        )
    assert tuple(ledger.view(registry, "writerOf", governor.address)) == (0, 0)


@pytest.mark.parametrize("registry", REGISTRIES)
def test_eip712_domain(ledger, registry):
    fields, name, version, chain_id, contract, salt, extensions = ledger.view(registry, "eip712Domain")
    record_type = next(t for t, n in CONTRACT_OF.items() if n == registry)
    domain = ledger.domain(record_type)
    assert fields == b"\x0f" and salt == b"\x00" * 32 and extensions == []
    assert (name, version, chain_id, to_checksum_address(contract)) == (
        registry,
        "1",
        ledger.chain.chain_id,
        ledger.deployment.address(registry),
    )
    assert (domain.name, domain.version, domain.chain_id, domain.verifying_contract) == (
        name,
        version,
        chain_id,
        ledger.deployment.address(registry),
    )


def test_governor_role_can_be_delegated_revoked_and_renounced(ledger, governor, funder):
    deputy = funded_account(ledger, funder)
    receipt = call(ledger, governor, "CourtRegistry", "grantRole", GOVERNOR_ROLE, deputy.address)
    assert events(ledger, receipt, "CourtRegistry", "RoleGranted") == [
        {"role": GOVERNOR_ROLE, "account": deputy.address, "sender": governor.address}
    ]
    court = admit(ledger, deputy, funder, funded=False)
    assert ledger.court(court.id)["status"] == 1
    receipt = call(ledger, governor, "CourtRegistry", "revokeRole", GOVERNOR_ROLE, deputy.address)
    assert events(ledger, receipt, "CourtRegistry", "RoleRevoked") == [
        {"role": GOVERNOR_ROLE, "account": deputy.address, "sender": governor.address}
    ]
    expect_revert(
        lambda: ledger.governance(deputy, "suspendCourt", court.id),
        "AccessControlUnauthorizedAccount",
        account=deputy.address,
        neededRole=GOVERNOR_ROLE,
    )
    assert not ledger.view("CourtRegistry", "hasRole", GOVERNOR_ROLE, deputy.address)
    # granted again, the deputy gives the role up itself
    call(ledger, governor, "CourtRegistry", "grantRole", GOVERNOR_ROLE, deputy.address)
    assert ledger.view("CourtRegistry", "hasRole", GOVERNOR_ROLE, deputy.address)
    receipt = call(ledger, deputy, "CourtRegistry", "renounceRole", GOVERNOR_ROLE, deputy.address)
    assert events(ledger, receipt, "CourtRegistry", "RoleRevoked") == [
        {"role": GOVERNOR_ROLE, "account": deputy.address, "sender": deputy.address}
    ]
    assert not ledger.view("CourtRegistry", "hasRole", GOVERNOR_ROLE, deputy.address)
