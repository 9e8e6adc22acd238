"""Tests for ledger.privacy.blind: blind indexes and party commitments, against independent computations."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

import pydantic
import pytest
from Crypto.Hash import keccak as pycryptodome_keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import ValidationError
from ledger.privacy.blind import (
    BLIND_INDEX_TAG,
    COMMITMENT_TAG,
    BlindIndexKey,
    Party,
    blind_index,
    canonical_parties_json,
    commit_parties,
    new_salt,
    verify_commitment,
)
from ledger.privacy.identity import CreditCode, Passport, ResidentId, make_resident_id

KEY = BlindIndexKey(bytes(range(32)))
PERSON = ResidentId.parse("11010519491231002X")
COMPANY = CreditCode.parse("91350100M000100Y43")
SALT = bytes.fromhex("aa" * 32)


def debtor() -> Party:
    return Party(role="debtor", subject=PERSON, name="张三")


def creditor() -> Party:
    return Party(role="creditor", subject=COMPANY, name="某某科技有限公司")


def keccak256(data: bytes) -> bytes:
    return pycryptodome_keccak.new(digest_bits=256, data=data).digest()


# --- keys -------------------------------------------------------------------------------------------


def test_key_never_shows_itself() -> None:
    key = BlindIndexKey.generate()
    assert repr(key) == str(key) == "BlindIndexKey(<secret>)"
    assert key.to_hex() not in repr([key])


def test_key_from_hex() -> None:
    key = BlindIndexKey.generate()
    assert BlindIndexKey.from_hex(key.to_hex()) == key
    assert BlindIndexKey.from_hex("0x" + key.to_hex().upper()) == key
    assert BlindIndexKey.generate() != key
    with pytest.raises(ValidationError, match="64 hex digits, got 62"):
        BlindIndexKey.from_hex("00" * 31)
    with pytest.raises(ValidationError, match="must be hex digits"):
        BlindIndexKey.from_hex("zz" * 32)
    with pytest.raises(ValidationError, match="must be 32 bytes"):
        BlindIndexKey(b"short")


# --- blind index ------------------------------------------------------------------------------------


def test_blind_index_is_hmac_sha256_over_tagged_canonical_form() -> None:
    expected = hmac.new(
        bytes(range(32)), b"jtl.blind-index.v1\x00resident_id:11010519491231002X", hashlib.sha256
    ).digest()
    assert BLIND_INDEX_TAG == b"jtl.blind-index.v1\x00"
    assert blind_index(KEY, PERSON) == expected
    assert len(expected) == 32


def test_blind_index_follows_the_canonical_form_not_the_typing() -> None:
    assert blind_index(KEY, ResidentId.parse("110105 19491231 002x")) == blind_index(KEY, PERSON)
    assert blind_index(KEY, Passport.parse("E1234-5678", "CHN")) == blind_index(
        KEY, Passport.parse("E12345678", "CN")
    )


def test_blind_index_depends_on_key_and_subject() -> None:
    other = ResidentId.parse(make_resident_id("110105", "19491231", "003"))
    assert blind_index(KEY, PERSON) != blind_index(KEY, other)
    assert blind_index(KEY, PERSON) != blind_index(BlindIndexKey.generate(), PERSON)
    assert blind_index(KEY, PERSON) != hashlib.sha256(PERSON.canonical().encode()).digest()


# --- parties and commitments ------------------------------------------------------------------------


def test_canonical_json_is_pinned() -> None:
    expected = (
        '[{"name":"张三","role":"debtor","subject":"resident_id:11010519491231002X"},'
        '{"name":"某某科技有限公司","role":"creditor","subject":"credit_code:91350100M000100Y43"}]'
    ).encode()
    assert canonical_parties_json([creditor(), debtor()]) == expected
    assert canonical_parties_json([debtor(), creditor()]) == expected


def test_commitment_is_tagged_keccak_of_salt_and_canonical_json() -> None:
    parties = [creditor(), debtor()]
    expected = keccak256(b"jtl.parties-commitment.v1\x00" + SALT + canonical_parties_json(parties))
    assert COMMITMENT_TAG == b"jtl.parties-commitment.v1\x00"
    assert commit_parties(parties, SALT) == expected
    assert verify_commitment(expected, list(reversed(parties)), SALT)


def test_any_change_breaks_the_commitment() -> None:
    parties = [creditor(), debtor()]
    commitment = commit_parties(parties, SALT)
    other_person = ResidentId.parse(make_resident_id("110105", "19491231", "003"))
    variants = [
        [creditor(), Party(role="debtor", subject=PERSON, name="张四")],
        [creditor(), Party(role="third_party", subject=PERSON, name="张三")],
        [creditor(), Party(role="debtor", subject=other_person, name="张三")],
        [creditor()],
        [creditor(), debtor(), Party(role="third_party", subject=other_person, name="李四")],
    ]
    for variant in variants:
        assert not verify_commitment(commitment, variant, SALT)
    assert not verify_commitment(commitment, parties, bytes(32))


def test_party_name_is_normalised() -> None:
    composed = Party(role="debtor", subject=PERSON, name="José")
    decomposed = Party(role="debtor", subject=PERSON, name=unicodedata.normalize("NFD", " José "))
    assert composed == decomposed
    assert commit_parties([composed], SALT) == commit_parties([decomposed], SALT)


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "x" * 201, "tab\there"])
def test_party_name_refusals(name: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        Party(role="debtor", subject=PERSON, name=name)


def test_party_refuses_unknown_role_and_extra_fields() -> None:
    with pytest.raises(pydantic.ValidationError):
        Party(role="judge", subject=PERSON, name="x")  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError):
        Party(role="debtor", subject=PERSON, name="x", note="y")  # type: ignore[call-arg]


def test_party_from_json_and_errors_do_not_leak_the_number() -> None:
    party = Party.model_validate(
        {"role": "debtor", "name": "张三", "subject": {"kind": "resident_id", "number": "11010519491231002x"}}
    )
    assert party == debtor()
    bad = "110105194912310027"
    with pytest.raises(pydantic.ValidationError) as info:
        Party.model_validate(
            {"role": "debtor", "name": "张三", "subject": {"kind": "resident_id", "number": bad}}
        )
    assert bad not in str(info.value)


def test_party_repr_masks_name_and_identifier() -> None:
    text = repr(debtor())
    assert "张三" not in text and "11010519491231002X" not in text
    assert "张*" in text and "110105********002X" in text


def test_commitment_refusals() -> None:
    with pytest.raises(ValidationError, match="at least one party"):
        commit_parties([], SALT)
    with pytest.raises(ValidationError, match="listed twice"):
        commit_parties([debtor(), debtor()], SALT)
    with pytest.raises(ValidationError, match="salt must be 32 bytes"):
        commit_parties([debtor()], SALT[:16])
    with pytest.raises(ValidationError, match="commitment must be 32 bytes"):
        verify_commitment(b"\x00", [debtor()], SALT)


def test_new_salt() -> None:
    salts = {new_salt() for _ in range(100)}
    assert len(salts) == 100
    assert all(len(s) == 32 for s in salts)


# --- properties -------------------------------------------------------------------------------------

names = st.text(st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=12).filter(
    lambda s: s.strip()
)
parties_strategy = st.lists(
    st.builds(
        Party,
        role=st.sampled_from(["creditor", "debtor", "third_party"]),
        subject=st.sampled_from([PERSON, COMPANY, Passport.parse("E12345678", "CN")]),
        name=names,
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda p: canonical_parties_json([p]),
)


@settings(max_examples=100, deadline=None)
@given(
    parties_strategy, st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32), st.randoms()
)
def test_property_commitments(parties: list[Party], salt: bytes, other_salt: bytes, rnd: object) -> None:
    commitment = commit_parties(parties, salt)
    shuffled = parties[:]
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert commit_parties(shuffled, salt) == commitment  # a commitment to the set, not the list
    assert verify_commitment(commitment, shuffled, salt)
    if other_salt != salt:
        assert commit_parties(parties, other_salt) != commitment
        assert not verify_commitment(commitment, parties, other_salt)


def test_blind_indexes_of_many_identifiers_match_one_by_one_and_name_a_bad_one_by_position() -> None:
    from ledger.errors import InvalidIdentifierError
    from ledger.privacy import ResidentId, blind_indexes, make_resident_id

    key = BlindIndexKey.generate()
    ids = [make_resident_id("110105", f"1980010{d}", f"{d:03d}") for d in range(1, 8)]
    assert blind_indexes(key, "resident_id", ids) == [blind_index(key, ResidentId.parse(i)) for i in ids]
    bad = ids[3][:6] + "13449219" + ids[3][14:]
    with pytest.raises(InvalidIdentifierError, match=r"^identifier 3: resident ID birth date") as refused:
        blind_indexes(key, "resident_id", [*ids[:3], bad])
    assert "13449219" not in str(refused.value)
