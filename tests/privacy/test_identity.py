"""Tests for ledger.privacy.identity: checksums, normalisation, messages, and that numbers never leak."""

from __future__ import annotations

import datetime as dt
import json
import re

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.pretty import pretty_repr

from ledger.errors import InvalidIdentifierError
from ledger.privacy.identity import (
    ISO_3166_ALPHA2,
    CreditCode,
    Passport,
    ResidentId,
    SubjectId,
    make_credit_code,
    make_resident_id,
    parse_subject,
    subject_from_canonical,
)

# The worked examples printed in the standards themselves.
GB11643_EXAMPLE = "11010519491231002X"
GB32100_EXAMPLE = "91350100M000100Y43"
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
PROVINCES = [
    11,
    12,
    13,
    14,
    15,
    21,
    22,
    23,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    41,
    42,
    43,
    44,
    45,
    46,
    50,
    51,
    52,
    53,
    54,
    61,
    62,
    63,
    64,
    65,
    71,
    81,
    82,
    83,
    91,
]


def iso7064_mod11_2(body: str) -> str:
    """The check character by the ISO 7064 definition (weights 2^(17-i) mod 11), not the standard's table."""
    value = (12 - sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(body)) % 11) % 11
    return "X" if value == 10 else str(value)


def mod31(body: str) -> str:
    """GB 32100's check character with the weights written as 3^i mod 31."""
    total = sum(CREDIT_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def rejects(raw: str, message: str) -> InvalidIdentifierError:
    with pytest.raises(InvalidIdentifierError, match=f"^{re.escape(message)}$") as info:
        ResidentId.parse(raw)
    return info.value


# --- resident ID ------------------------------------------------------------------------------------


def test_standard_examples_parse() -> None:
    assert ResidentId.parse(GB11643_EXAMPLE).number == GB11643_EXAMPLE
    assert CreditCode.parse(GB32100_EXAMPLE).code == GB32100_EXAMPLE


def test_make_resident_id_computes_the_check_digit() -> None:
    assert make_resident_id("110105", "19491231", "002") == GB11643_EXAMPLE
    assert make_resident_id() == "110105199001011232"
    assert ResidentId.parse(make_resident_id("440305", "20000229", "517")).canonical() == (
        "resident_id:44030520000229517X"
    )
    with pytest.raises(InvalidIdentifierError):
        make_resident_id("11010", "19900101", "123")


def test_resident_id_normalisation() -> None:
    assert ResidentId.parse(" 110105 19491231 002x ").number == GB11643_EXAMPLE
    assert ResidentId.parse("110105\u300019491231002X").number == GB11643_EXAMPLE  # ideographic space
    assert ResidentId(number="11010519491231002x") == ResidentId.parse(GB11643_EXAMPLE)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("11010519491231002", "resident ID must be 18 characters, got 17"),
        ("11010519491231002X1", "resident ID must be 18 characters, got 19"),
        ("1101A519491231002X", "resident ID character 5 must be a digit 0-9"),
        ("１１0105" + "19491231002X", "resident ID character 1 must be a digit 0-9"),  # full-width digits
        ("11010519491231002Y", "resident ID character 18 must be a digit 0-9 or X"),
        (
            make_resident_id("990105", "19900101", "123"),
            "resident ID region code (characters 1-2) is not a province code",
        ),
        ("110105" + "19991332" + "0011", "resident ID birth date (characters 7-14) is not a real date"),
        (make_resident_id("110105", "19990229", "001"), "resident ID birth date (characters 7-14) is not a real date"),
        (make_resident_id("110105", "18991231", "001"), "resident ID birth date (characters 7-14) is before 1900"),
        ("11010519900101003X", "resident ID check digit (character 18) does not match the first 17 characters"),
    ],
)
def test_resident_id_failure_messages(raw: str, message: str) -> None:
    error = rejects(raw, message)
    digits = re.findall(r"\d{2,}", raw)
    assert not any(d in str(error) for d in digits if len(d) >= 2 and d not in message), str(error)
    assert raw[6:14] not in str(error) and raw[:6] not in str(error)  # no birth date, no region


def test_resident_id_birth_date_in_the_future() -> None:
    birth = (dt.date.today() + dt.timedelta(days=400)).strftime("%Y%m%d")
    error = rejects(make_resident_id("110105", birth, "001"),
                    "resident ID birth date (characters 7-14) is in the future")
    assert birth not in str(error)


def test_resident_id_not_text() -> None:
    with pytest.raises(InvalidIdentifierError, match="resident ID must be text, got int"):
        ResidentId.parse(110105194912310020)  # type: ignore[arg-type]


def test_every_province_code_is_accepted() -> None:
    for code in PROVINCES:
        ResidentId.parse(make_resident_id(f"{code}0101", "19800101", "001"))


# --- masking ----------------------------------------------------------------------------------------


def test_resident_id_is_masked_everywhere_but_canonical() -> None:
    rid = ResidentId.parse(GB11643_EXAMPLE)
    assert repr(rid) == "ResidentId('110105********002X')"
    assert str(rid) == f"{rid}" == "110105********002X"
    shown = [repr(rid), str(rid), repr([rid]), repr({"x": rid}), pretty_repr(rid), rid.masked()]
    assert not any(GB11643_EXAMPLE in s for s in shown)
    assert rid.canonical() == f"resident_id:{GB11643_EXAMPLE}"


def test_other_identifiers_are_masked() -> None:
    code = CreditCode.parse(GB32100_EXAMPLE)
    passport = Passport.parse("E12345678", "CN")
    assert repr(code) == "CreditCode('91350100********43')"
    assert repr(passport) == "Passport('CN:E******78')"
    assert "12345" not in str(passport)


def test_pydantic_errors_do_not_echo_the_number() -> None:
    bad = GB11643_EXAMPLE[:-1] + "7"
    with pytest.raises(pydantic.ValidationError) as info:
        ResidentId(number=bad)
    assert bad not in str(info.value)
    assert "check digit (character 18) does not match" in str(info.value)


# --- credit code ------------------------------------------------------------------------------------


def test_credit_code_normalisation_and_canonical() -> None:
    code = CreditCode.parse(" 91350100m000100y43 ")
    assert code.code == GB32100_EXAMPLE
    assert code.canonical() == f"credit_code:{GB32100_EXAMPLE}"
    assert make_credit_code(GB32100_EXAMPLE[:17].lower()) == GB32100_EXAMPLE


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("91350100M000100Y4", "credit code must be 18 characters, got 17"),
        (
            "91350100M00010OY43",
            "credit code character 15 is not allowed (digits and capital letters except I, O, Z, S, V)",
        ),
        (
            "9135010IM000100Y43",
            "credit code character 8 is not allowed (digits and capital letters except I, O, Z, S, V)",
        ),
        ("91350100M000100Y44", "credit code check character (character 18) does not match the first 17 characters"),
    ],
)
def test_credit_code_failure_messages(raw: str, message: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=f"^{re.escape(message)}$"):
        CreditCode.parse(raw)


# --- passport ---------------------------------------------------------------------------------------


def test_passport_normalisation() -> None:
    a = Passport.parse("e-1234 5678", "chn")
    b = Passport.parse("E12345678", "CN")
    assert a == b
    assert a.canonical() == "passport:CN:E12345678"
    assert Passport.parse("123456789", "GBR").canonical() == "passport:GB:123456789"


def test_iso_list_is_complete() -> None:
    assert len(ISO_3166_ALPHA2) == 249
    assert {"CN", "HK", "MO", "TW", "US", "GB", "DE", "SS", "BQ", "CW", "SX", "AQ"} <= ISO_3166_ALPHA2
    assert not {"UK", "EU", "XK", "YU", "AN"} & ISO_3166_ALPHA2


@pytest.mark.parametrize(
    ("number", "country", "message"),
    [
        ("E1234", "XX", "passport country 'XX' is not an ISO 3166-1 code"),
        ("E1234", "UK", "passport country 'UK' is not an ISO 3166-1 code (use GB for the United Kingdom)"),
        ("E1234", "D", "passport country 'D' is not an ISO 3166-1 code"),
        ("E12", "CN", "passport number must be 5 to 20 characters, got 3"),
        ("E" * 21, "CN", "passport number must be 5 to 20 characters, got 21"),
        ("E1234/56", "CN", "passport number may contain only letters A-Z and digits 0-9"),
    ],
)
def test_passport_failure_messages(number: str, country: str, message: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=f"^{re.escape(message)}$"):
        Passport.parse(number, country)


# --- parse_subject and the union --------------------------------------------------------------------


def test_parse_subject_dispatches_on_kind() -> None:
    assert parse_subject("resident_id", GB11643_EXAMPLE) == ResidentId.parse(GB11643_EXAMPLE)
    assert parse_subject("credit_code", GB32100_EXAMPLE).kind == "credit_code"
    assert parse_subject("passport", "E12345678", "CHN").canonical() == "passport:CN:E12345678"
    with pytest.raises(InvalidIdentifierError, match="needs its issuing country"):
        parse_subject("passport", "E12345678")
    with pytest.raises(InvalidIdentifierError, match="does not take a country"):
        parse_subject("resident_id", GB11643_EXAMPLE, "CN")
    with pytest.raises(InvalidIdentifierError, match="unknown subject kind; expected"):
        parse_subject("ssn", "123")


def test_canonical_round_trip() -> None:
    for subject in (
        ResidentId.parse(GB11643_EXAMPLE),
        CreditCode.parse(GB32100_EXAMPLE),
        Passport.parse("E12345678", "CN"),
    ):
        assert subject_from_canonical(subject.canonical()) == subject
    with pytest.raises(InvalidIdentifierError, match="not in canonical form"):
        subject_from_canonical("resident_id:11010519491231002x")
    with pytest.raises(InvalidIdentifierError, match="not in canonical form"):
        subject_from_canonical("passport:CHN:E12345678")
    with pytest.raises(InvalidIdentifierError):
        subject_from_canonical("nothing")


def test_union_validates_from_json_by_kind() -> None:
    adapter = pydantic.TypeAdapter(SubjectId)
    for subject in (
        ResidentId.parse(GB11643_EXAMPLE),
        CreditCode.parse(GB32100_EXAMPLE),
        Passport.parse("E12345678", "CN"),
    ):
        data = json.loads(adapter.dump_json(subject))
        assert adapter.validate_python(data) == subject


def test_models_are_frozen_and_hashable() -> None:
    rid = ResidentId.parse(GB11643_EXAMPLE)
    with pytest.raises(pydantic.ValidationError):
        rid.__setattr__("number", "x")  # frozen
    assert len({rid, ResidentId.parse(GB11643_EXAMPLE.lower())}) == 1


# --- properties -------------------------------------------------------------------------------------


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(PROVINCES))
    region = f"{province}{draw(st.integers(0, 9999)):04d}"
    birth = draw(st.dates(dt.date(1900, 1, 1), dt.date.today() - dt.timedelta(days=1)))
    seq = f"{draw(st.integers(0, 999)):03d}"
    return make_resident_id(region, birth.strftime("%Y%m%d"), seq)


@settings(max_examples=150, deadline=None)
@given(resident_ids(), st.data())
def test_property_valid_resident_ids_parse_and_single_changes_are_rejected(
    number: str, data: st.DataObject
) -> None:
    assert ResidentId.parse(number).number == number
    assert number[17] == iso7064_mod11_2(number[:17])
    position = data.draw(st.integers(0, 17))
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != number[position]]))
    with pytest.raises(InvalidIdentifierError):
        ResidentId.parse(number[:position] + replacement + number[position + 1 :])


@settings(max_examples=150, deadline=None)
@given(st.text(CREDIT_ALPHABET, min_size=17, max_size=17), st.data())
def test_property_valid_credit_codes_parse_and_single_changes_are_rejected(
    body: str, data: st.DataObject
) -> None:
    code = make_credit_code(body)
    assert code[17] == mod31(body)
    assert CreditCode.parse(code).code == code
    position = data.draw(st.integers(0, 17))
    replacement = data.draw(st.sampled_from([c for c in CREDIT_ALPHABET if c != code[position]]))
    with pytest.raises(InvalidIdentifierError):
        CreditCode.parse(code[:position] + replacement + code[position + 1 :])


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_resident_check_digit_equals_the_weighted_sum_of_gb_11643(body: str) -> None:
    from ledger.privacy.identity import _RESIDENT_CHECK, _RESIDENT_WEIGHTS, _resident_check

    weighted = sum(int(c) * w for c, w in zip(body, _RESIDENT_WEIGHTS, strict=True))
    assert _resident_check(body) == _RESIDENT_CHECK[weighted % 11]
