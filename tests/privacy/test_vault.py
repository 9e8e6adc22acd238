"""Tests for ledger.privacy.vault: encryption at rest, erasure, key checks, durability, threads."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import NotFoundError, SubjectErasedError, ValidationError, VaultError
from ledger.privacy.blind import (
    BlindIndexKey,
    Party,
    blind_index,
    commit_parties,
    new_salt,
    verify_commitment,
)
from ledger.privacy.identity import CreditCode, Passport, ResidentId, make_credit_code, make_resident_id
from ledger.privacy.vault import Vault

REPO = Path(__file__).resolve().parents[2]
MASTER = bytes.fromhex("5e" * 32)
INDEX_KEY = BlindIndexKey(bytes(range(32)))
PERSON = ResidentId.parse(make_resident_id("110105", "19900101", "123"))
COMPANY = CreditCode.parse(make_credit_code("91350100M000100Y4"))
PERSON_NAME = "王小明"
COMPANY_NAME = "北京某某网络科技有限公司"
PERSON_BLIND = blind_index(INDEX_KEY, PERSON)
COMPANY_BLIND = blind_index(INDEX_KEY, COMPANY)
RECORD = bytes.fromhex("11" * 32)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "vault.sqlite"


@pytest.fixture
def vault(path: Path) -> Iterator[Vault]:
    with Vault.open(path, MASTER) as v:
        yield v


def wage_claim(vault: Vault) -> tuple[list[Party], bytes, bytes]:
    """Story 1 of the brief: a wage claim by a worker against an internet company."""
    vault.put_subject(PERSON, PERSON_BLIND, PERSON_NAME)
    vault.put_subject(COMPANY, COMPANY_BLIND, COMPANY_NAME)
    parties = [
        Party(role="creditor", subject=PERSON, name=PERSON_NAME),
        Party(role="debtor", subject=COMPANY, name=COMPANY_NAME),
    ]
    salt = new_salt()
    commitment = commit_parties(parties, salt)
    vault.put_record_secret(RECORD, [PERSON_BLIND, COMPANY_BLIND], parties, salt)
    return parties, salt, commitment


def files_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def wrapped_key(path: Path, blind: bytes) -> bytes:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT wrapped_key FROM subject_keys WHERE blind = ?", (blind.hex(),)).fetchone()
    conn.close()
    return bytes(row[0])


# --- subjects ---------------------------------------------------------------------------------------


def test_subject_round_trip_and_reopen(path: Path) -> None:
    with Vault.open(path, MASTER) as vault:
        vault.put_subject(PERSON, PERSON_BLIND, PERSON_NAME)
        passport = Passport.parse("E12345678", "CN")
        vault.put_subject(passport, blind_index(INDEX_KEY, passport), "Zhang San")
    with Vault.open(path, MASTER, create=False) as vault:
        record = vault.get_subject(PERSON_BLIND)
        assert (record.subject, record.display_name, record.blind) == (PERSON, PERSON_NAME, PERSON_BLIND)
        assert vault.get_subject(blind_index(INDEX_KEY, passport)).subject == passport


def test_put_subject_again_updates_the_name_but_not_the_identity(vault: Vault) -> None:
    vault.put_subject(PERSON, PERSON_BLIND, PERSON_NAME)
    vault.put_subject(PERSON, PERSON_BLIND, "王晓明")
    assert vault.get_subject(PERSON_BLIND).display_name == "王晓明"
    with pytest.raises(ValidationError, match="already belongs to another subject"):
        vault.put_subject(COMPANY, PERSON_BLIND, COMPANY_NAME)


def test_unknown_subject(vault: Vault) -> None:
    assert vault.find_by_blind(PERSON_BLIND) is None
    with pytest.raises(NotFoundError):
        vault.get_subject(PERSON_BLIND)
    with pytest.raises(NotFoundError):
        vault.erase_subject(PERSON_BLIND)


def test_subject_record_repr_is_masked(vault: Vault) -> None:
    vault.put_subject(PERSON, PERSON_BLIND, PERSON_NAME)
    text = repr(vault.get_subject(PERSON_BLIND))
    assert PERSON.number not in text and PERSON_NAME not in text


def test_input_refusals(vault: Vault) -> None:
    with pytest.raises(ValidationError, match="blind index must be 32 bytes"):
        vault.put_subject(PERSON, PERSON_BLIND[:31], PERSON_NAME)
    with pytest.raises(ValidationError, match="display name"):
        vault.put_subject(PERSON, PERSON_BLIND, "  ")
    vault.put_subject(PERSON, PERSON_BLIND, PERSON_NAME)
    party = [Party(role="debtor", subject=PERSON, name=PERSON_NAME)]
    with pytest.raises(ValidationError, match="record id"):
        vault.put_record_secret(b"", [PERSON_BLIND], party, new_salt())
    with pytest.raises(ValidationError, match="salt must be 32 bytes"):
        vault.put_record_secret(RECORD, [PERSON_BLIND], party, b"salt")
    with pytest.raises(ValidationError, match="listed twice"):
        vault.put_record_secret(RECORD, [PERSON_BLIND, PERSON_BLIND], party, new_salt())
    with pytest.raises(ValidationError, match="at least one subject"):
        vault.put_record_secret(RECORD, [], party, new_salt())
    with pytest.raises(NotFoundError):
        vault.put_record_secret(RECORD, [PERSON_BLIND, COMPANY_BLIND], party, new_salt())


# --- records ----------------------------------------------------------------------------------------


def test_record_secret_reopens_the_commitment(path: Path) -> None:
    with Vault.open(path, MASTER) as vault:
        parties, salt, commitment = wage_claim(vault)
    with Vault.open(path, MASTER) as vault:
        secret = vault.get_record_secret(RECORD)
        parties_back, salt_back = secret
        assert salt_back == salt and list(parties_back) == parties
        assert verify_commitment(commitment, parties_back, salt_back)
        assert "<secret>" in repr(secret) and salt.hex() not in repr(secret)
        assert vault.record_ids_for(PERSON_BLIND) == vault.record_ids_for(COMPANY_BLIND) == [RECORD]


def test_record_secret_retry_is_idempotent_and_conflicts_are_refused(vault: Vault) -> None:
    parties, salt, _ = wage_claim(vault)
    vault.put_record_secret(RECORD, [COMPANY_BLIND, PERSON_BLIND], list(reversed(parties)), salt)
    with pytest.raises(ValidationError, match="already has a different secret"):
        vault.put_record_secret(RECORD, [PERSON_BLIND, COMPANY_BLIND], parties, new_salt())
    with pytest.raises(NotFoundError):
        vault.get_record_secret(bytes(32))


# --- erasure ----------------------------------------------------------------------------------------


def test_nothing_personal_is_stored_in_plaintext(path: Path, vault: Vault) -> None:
    _, salt, _ = wage_claim(vault)
    raw = files_bytes(path)
    for secret in (
        salt,
        salt.hex().encode(),
        PERSON.number.encode(),
        COMPANY.code.encode(),
        PERSON_NAME.encode(),
        COMPANY_NAME.encode(),
    ):
        assert secret not in raw


def test_erasure_makes_the_commitment_unlinkable(path: Path) -> None:
    """After erasing the worker, nobody can open the on-chain commitment, even with the master key."""
    with Vault.open(path, MASTER) as vault:
        _, salt, commitment = wage_claim(vault)
        assert verify_commitment(commitment, *vault.get_record_secret(RECORD))
    old_key = wrapped_key(path, PERSON_BLIND)
    assert old_key in files_bytes(path)

    with Vault.open(path, MASTER) as vault:
        vault.erase_subject(PERSON_BLIND)
        vault.erase_subject(PERSON_BLIND)  # idempotent
        with pytest.raises(SubjectErasedError):
            vault.get_record_secret(RECORD)
        with pytest.raises(SubjectErasedError):
            vault.get_subject(PERSON_BLIND)
        with pytest.raises(SubjectErasedError):
            vault.find_by_blind(PERSON_BLIND)
        assert vault.get_subject(COMPANY_BLIND).display_name == COMPANY_NAME  # the other party is untouched
        assert vault.record_ids_for(PERSON_BLIND) == [RECORD]
        raw = files_bytes(path)  # while open: main file, WAL and shared memory
        for secret in (old_key, salt, salt.hex().encode(), PERSON.number.encode(), PERSON_NAME.encode()):
            assert secret not in raw

    raw = files_bytes(path)
    for secret in (old_key, salt, salt.hex().encode(), PERSON.number.encode(), PERSON_NAME.encode()):
        assert secret not in raw
    with Vault.open(path, MASTER) as vault, pytest.raises(SubjectErasedError):
        vault.get_record_secret(RECORD)


def test_subject_registered_again_after_erasure_gets_a_new_key(vault: Vault) -> None:
    wage_claim(vault)
    vault.erase_subject(COMPANY_BLIND)
    vault.put_subject(COMPANY, COMPANY_BLIND, "新名称有限公司")
    assert vault.get_subject(COMPANY_BLIND).display_name == "新名称有限公司"
    with pytest.raises(SubjectErasedError):
        vault.get_record_secret(RECORD)


# --- keys and integrity -----------------------------------------------------------------------------


def test_wrong_master_key_is_refused(path: Path) -> None:
    Vault.open(path, MASTER).close()
    with pytest.raises(VaultError, match="wrong master key"):
        Vault.open(path, bytes(32))
    with pytest.raises(VaultError, match="must be 32 bytes"):
        Vault.open(path, MASTER[:16])


def test_not_a_vault(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(VaultError, match="not a usable vault"):
        Vault.open(junk, MASTER)
    with pytest.raises(VaultError, match="no vault at"):
        Vault.open(tmp_path / "missing.sqlite", MASTER, create=False)


def test_swapped_rows_fail_authentication(path: Path) -> None:
    with Vault.open(path, MASTER) as vault:
        vault.put_subject(PERSON, PERSON_BLIND, PERSON_NAME)
        vault.put_subject(COMPANY, COMPANY_BLIND, COMPANY_NAME)
    with sqlite3.connect(path) as conn:
        nonce, ciphertext = conn.execute(
            "SELECT nonce, ciphertext FROM subjects WHERE blind = ?", (PERSON_BLIND.hex(),)
        ).fetchone()
        conn.execute(
            "UPDATE subjects SET nonce = ?, ciphertext = ? WHERE blind = ?",
            (nonce, ciphertext, COMPANY_BLIND.hex()),
        )
    conn.close()
    with Vault.open(path, MASTER) as vault, pytest.raises(VaultError, match="fails authentication"):
        vault.get_subject(COMPANY_BLIND)


def test_closed_vault(path: Path) -> None:
    vault = Vault.open(path, MASTER)
    vault.close()
    vault.close()
    with pytest.raises(VaultError, match="closed"):
        vault.find_by_blind(PERSON_BLIND)


# --- durability and concurrency ---------------------------------------------------------------------


def test_committed_write_survives_a_crash(path: Path) -> None:
    script = (
        "import os, sys\n"
        "from ledger.privacy.identity import ResidentId\n"
        "from ledger.privacy.vault import Vault\n"
        "v = Vault.open(sys.argv[1], bytes.fromhex(sys.argv[2]))\n"
        "v.put_subject(ResidentId.parse(sys.argv[3]), bytes.fromhex(sys.argv[4]), 'crash test')\n"
        "os._exit(0)  # no close, no checkpoint, no atexit\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(path), MASTER.hex(), PERSON.number, PERSON_BLIND.hex()],
        check=True,
        cwd=REPO,
        timeout=60,
    )
    assert Path(f"{path}-wal").stat().st_size > 0  # the write lives only in the WAL
    with Vault.open(path, MASTER) as vault:
        assert vault.get_subject(PERSON_BLIND).display_name == "crash test"


def test_threads_share_one_vault(vault: Vault) -> None:
    subjects = [ResidentId.parse(make_resident_id("110105", "19900101", f"{i:03d}")) for i in range(80)]
    errors: list[BaseException] = []

    def work(chunk: list[ResidentId]) -> None:
        try:
            for subject in chunk:
                blind = blind_index(INDEX_KEY, subject)
                vault.put_subject(subject, blind, f"n{subject.number}")
                assert vault.get_subject(blind).subject == subject
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(subjects[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(vault.find_by_blind(blind_index(INDEX_KEY, s)) is not None for s in subjects)


def test_a_group_commits_its_writes_together_and_a_failed_part_alone_is_undone(path: Path) -> None:
    with Vault.open(path, MASTER) as vault:
        with vault.group():
            with vault.group():  # one accepted write: both parties and the record's secret
                wage_claim(vault)
            with pytest.raises(ValidationError), vault.group():  # a refused write: its subject goes too
                other = ResidentId.parse(make_resident_id("110105", "19800101", "042"))
                vault.put_subject(other, blind_index(INDEX_KEY, other), "某人")
                vault.put_record_secret(RECORD, [PERSON_BLIND], [], new_salt())
            assert vault.find_by_blind(blind_index(INDEX_KEY, other)) is None
        with pytest.raises(RuntimeError), vault.group():  # a group that fails keeps nothing of its own
            vault.put_subject(other, blind_index(INDEX_KEY, other), "某人")
            raise RuntimeError("the outbox transaction failed")
    with Vault.open(path, MASTER) as reopened:
        assert len(reopened.get_record_secret(RECORD).parties) == 2
        assert reopened.find_by_blind(PERSON_BLIND) is not None
        assert reopened.find_by_blind(blind_index(INDEX_KEY, other)) is None
