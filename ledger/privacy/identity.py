"""Identifiers of the parties to a case, parsed once into typed, normalised values.

Contract
--------
* ``ResidentId.parse``, ``CreditCode.parse``, ``Passport.parse`` and :func:`parse_subject` accept what a
  clerk types (spaces, lowercase, hyphens in passport numbers) and either return a frozen model in
  canonical form or raise :class:`~ledger.errors.InvalidIdentifierError` with a specific message.
  Constructing a model directly validates the same way (pydantic then wraps the error).
* ``canonical()`` is the one string form per identifier (``resident_id:110105199001011234``,
  ``credit_code:91350100M000100Y43``, ``passport:CN:E12345678``). It is the input of blind indexes and
  commitments, so it must never change for a given identifier: the same person typed two ways must
  give the same string (``CHN`` and ``CN`` both become ``CN``).
* Identifier numbers are personal data. They never appear in an error message, ``repr`` or ``str``;
  those show a masked form (``110105********123X``). Only ``canonical()`` and the fields themselves
  carry the full value, and pydantic is told to keep inputs out of its own error messages.

Rules: resident ID numbers per GB 11643-1999 (ISO 7064 MOD 11-2 check character, birth date between
1900-01-01 and today in China Standard Time, province code from the published list); unified social
credit codes per GB 32100-2015 (31-character alphabet without I, O, Z, S, V; MOD 31 check character);
passports by the issuing state's ISO 3166-1 code (alpha-2 or alpha-3; ICAO-only codes such as ``D``
or ``UNO`` are not accepted) and a 5-20 character number.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger.errors import InvalidIdentifierError

__all__ = [
    "ISO_3166_ALPHA2",
    "CreditCode",
    "Passport",
    "ResidentId",
    "SubjectId",
    "SubjectKind",
    "canonical_identifier",
    "make_credit_code",
    "make_resident_id",
    "parse_subject",
    "subject_from_canonical",
]

SubjectKind = Literal["resident_id", "credit_code", "passport"]

# --- GB 11643-1999 ----------------------------------------------------------------------------------

_DIGITS = frozenset("0123456789")
_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
_PROVINCES = frozenset(
    [
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
        83,
        91,
    ]
)
_CHINA_TZ = _dt.timezone(_dt.timedelta(hours=8), "CST")
_EARLIEST_BIRTH = _dt.date(1900, 1, 1)

# --- GB 32100-2015 ----------------------------------------------------------------------------------

_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {c: i for i, c in enumerate(_CREDIT_ALPHABET)}
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# --- ISO 3166-1 (alpha-2/alpha-3, all 249 officially assigned codes) --------------------------------

_ISO_3166_PAIRS = (
    "AD/AND AE/ARE AF/AFG AG/ATG AI/AIA AL/ALB AM/ARM AO/AGO AQ/ATA AR/ARG AS/ASM AT/AUT AU/AUS "
    "AW/ABW AX/ALA AZ/AZE BA/BIH BB/BRB BD/BGD BE/BEL BF/BFA BG/BGR BH/BHR BI/BDI BJ/BEN BL/BLM "
    "BM/BMU BN/BRN BO/BOL BQ/BES BR/BRA BS/BHS BT/BTN BV/BVT BW/BWA BY/BLR BZ/BLZ CA/CAN CC/CCK "
    "CD/COD CF/CAF CG/COG CH/CHE CI/CIV CK/COK CL/CHL CM/CMR CN/CHN CO/COL CR/CRI CU/CUB CV/CPV "
    "CW/CUW CX/CXR CY/CYP CZ/CZE DE/DEU DJ/DJI DK/DNK DM/DMA DO/DOM DZ/DZA EC/ECU EE/EST EG/EGY "
    "EH/ESH ER/ERI ES/ESP ET/ETH FI/FIN FJ/FJI FK/FLK FM/FSM FO/FRO FR/FRA GA/GAB GB/GBR GD/GRD "
    "GE/GEO GF/GUF GG/GGY GH/GHA GI/GIB GL/GRL GM/GMB GN/GIN GP/GLP GQ/GNQ GR/GRC GS/SGS GT/GTM "
    "GU/GUM GW/GNB GY/GUY HK/HKG HM/HMD HN/HND HR/HRV HT/HTI HU/HUN ID/IDN IE/IRL IL/ISR IM/IMN "
    "IN/IND IO/IOT IQ/IRQ IR/IRN IS/ISL IT/ITA JE/JEY JM/JAM JO/JOR JP/JPN KE/KEN KG/KGZ KH/KHM "
    "KI/KIR KM/COM KN/KNA KP/PRK KR/KOR KW/KWT KY/CYM KZ/KAZ LA/LAO LB/LBN LC/LCA LI/LIE LK/LKA "
    "LR/LBR LS/LSO LT/LTU LU/LUX LV/LVA LY/LBY MA/MAR MC/MCO MD/MDA ME/MNE MF/MAF MG/MDG MH/MHL "
    "MK/MKD ML/MLI MM/MMR MN/MNG MO/MAC MP/MNP MQ/MTQ MR/MRT MS/MSR MT/MLT MU/MUS MV/MDV MW/MWI "
    "MX/MEX MY/MYS MZ/MOZ NA/NAM NC/NCL NE/NER NF/NFK NG/NGA NI/NIC NL/NLD NO/NOR NP/NPL NR/NRU "
    "NU/NIU NZ/NZL OM/OMN PA/PAN PE/PER PF/PYF PG/PNG PH/PHL PK/PAK PL/POL PM/SPM PN/PCN PR/PRI "
    "PS/PSE PT/PRT PW/PLW PY/PRY QA/QAT RE/REU RO/ROU RS/SRB RU/RUS RW/RWA SA/SAU SB/SLB SC/SYC "
    "SD/SDN SE/SWE SG/SGP SH/SHN SI/SVN SJ/SJM SK/SVK SL/SLE SM/SMR SN/SEN SO/SOM SR/SUR SS/SSD "
    "ST/STP SV/SLV SX/SXM SY/SYR SZ/SWZ TC/TCA TD/TCD TF/ATF TG/TGO TH/THA TJ/TJK TK/TKL TL/TLS "
    "TM/TKM TN/TUN TO/TON TR/TUR TT/TTO TV/TUV TW/TWN TZ/TZA UA/UKR UG/UGA UM/UMI US/USA UY/URY "
    "UZ/UZB VA/VAT VC/VCT VE/VEN VG/VGB VI/VIR VN/VNM VU/VUT WF/WLF WS/WSM YE/YEM YT/MYT ZA/ZAF "
    "ZM/ZMB ZW/ZWE"
)
_ALPHA3_TO_ALPHA2 = {pair[3:]: pair[:2] for pair in _ISO_3166_PAIRS.split()}
ISO_3166_ALPHA2: frozenset[str] = frozenset(_ALPHA3_TO_ALPHA2.values())
_ALPHANUMERIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class _Identifier(BaseModel):
    """Shared behaviour: frozen, strict, and never showing the full number."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    def canonical(self) -> str:
        """The unique string form, ``<kind>:<...>``: the input of blind indexes and commitments."""
        raise NotImplementedError

    def masked(self) -> str:
        """A form safe for logs and screens."""
        raise NotImplementedError

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield None, self.masked()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.masked()!r})"

    def __str__(self) -> str:
        return self.masked()


class ResidentId(_Identifier):
    """A Chinese resident identity number (居民身份证号码, GB 11643-1999)."""

    kind: Literal["resident_id"] = "resident_id"
    number: str

    @field_validator("number", mode="before")
    @classmethod
    def _check(cls, value: object) -> str:
        return _resident_number(value)

    @classmethod
    def parse(cls, raw: str) -> ResidentId:
        """Normalise (drop whitespace, ``x`` -> ``X``) and check; raises InvalidIdentifierError."""
        return cls(number=_resident_number(raw))

    def canonical(self) -> str:
        return f"resident_id:{self.number}"

    def masked(self) -> str:
        return _mask(self.number, 6, 4)


class CreditCode(_Identifier):
    """A unified social credit code of an organisation (统一社会信用代码, GB 32100-2015)."""

    kind: Literal["credit_code"] = "credit_code"
    code: str

    @field_validator("code", mode="before")
    @classmethod
    def _check(cls, value: object) -> str:
        return _credit_code(value)

    @classmethod
    def parse(cls, raw: str) -> CreditCode:
        """Normalise (drop whitespace, uppercase) and check; raises InvalidIdentifierError."""
        return cls(code=_credit_code(raw))

    def canonical(self) -> str:
        return f"credit_code:{self.code}"

    def masked(self) -> str:
        return _mask(self.code, 8, 2)


class Passport(_Identifier):
    """A passport, identified by its issuing state (ISO 3166-1 alpha-2) and its number."""

    kind: Literal["passport"] = "passport"
    country: str
    number: str

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: object) -> object:
        if isinstance(data, dict) and "country" in data and "number" in data:
            return {**data, "country": _country(data["country"]), "number": _passport_number(data["number"])}
        return data

    @classmethod
    def parse(cls, raw: str, country: str) -> Passport:
        """Normalise (uppercase, drop spaces and hyphens; alpha-3 -> alpha-2) and check."""
        return cls(country=_country(country), number=_passport_number(raw))

    def canonical(self) -> str:
        return f"passport:{self.country}:{self.number}"

    def masked(self) -> str:
        return f"{self.country}:{_mask(self.number, 1, 2)}"


SubjectId = Annotated[ResidentId | CreditCode | Passport, Field(discriminator="kind")]
"""Any identifier of a party; pydantic picks the model by its ``kind``."""


def parse_subject(kind: str, value: str, country: str | None = None) -> ResidentId | CreditCode | Passport:
    """Parse an identifier of the given kind; ``country`` is required for, and only for, passports."""
    if kind == "passport":
        if country is None:
            raise InvalidIdentifierError("a passport needs its issuing country")
        return Passport.parse(value, country)
    if kind in ("resident_id", "credit_code"):
        if country is not None:
            raise InvalidIdentifierError(f"a {kind} does not take a country")
        return ResidentId.parse(value) if kind == "resident_id" else CreditCode.parse(value)
    raise InvalidIdentifierError(
        "unknown subject kind; expected resident_id, credit_code or passport"
    )


def subject_from_canonical(text: str) -> ResidentId | CreditCode | Passport:
    """The inverse of ``canonical()``: read back an identifier stored in canonical form."""
    kind, sep, rest = text.partition(":")
    if not sep:
        raise InvalidIdentifierError("a canonical subject identifier has the form '<kind>:<value>'")
    if kind == "passport":
        country, sep, number = rest.partition(":")
        if not sep:
            raise InvalidIdentifierError("a canonical passport has the form 'passport:<country>:<number>'")
        subject: ResidentId | CreditCode | Passport = Passport.parse(number, country)
    else:
        subject = parse_subject(kind, rest)
    if subject.canonical() != text:
        raise InvalidIdentifierError(f"{subject.kind} identifier is not in canonical form")
    return subject


def make_resident_id(region: str = "110105", birth: str = "19900101", seq: str = "123") -> str:
    """A valid resident ID number for tests and demo data: the check character is computed."""
    body = f"{region}{birth}{seq}"
    if len(region) != 6 or len(birth) != 8 or len(seq) != 3 or not set(body) <= _DIGITS:
        raise InvalidIdentifierError("region, birth and seq must be 6, 8 and 3 digits")
    return body + _resident_check(body)


def make_credit_code(body17: str) -> str:
    """A valid credit code for tests and demo data: ``body17`` plus the computed check character."""
    body = body17.upper()
    if len(body) != 17 or not set(body) <= _CREDIT_VALUE.keys():
        raise InvalidIdentifierError("a credit code body must be 17 characters from the GB 32100 alphabet")
    return body + _credit_check(body)


# --- checks -----------------------------------------------------------------------------------------


def _resident_check(body17: str) -> str:
    """The GB 11643 check character of 17 ASCII digits. The weights are 2^17 .. 2^1 mod 11, and 13 = 2 mod 11,
    so the weighted sum is 2 * (the digits read in base 13) mod 11: one C-level int() instead of a loop."""
    return _RESIDENT_CHECK[(2 * int(body17, 13)) % 11]


def _credit_check(body17: str) -> str:
    total = sum(_CREDIT_VALUE[c] * w for c, w in zip(body17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def canonical_identifier(kind: Literal["resident_id", "credit_code"], value: object) -> str:
    """The canonical string of a resident ID or credit code (what ``.canonical()`` gives), checked exactly
    as ``parse`` checks it but without building a model: the batch check's fast path."""
    if kind == "resident_id":
        return "resident_id:" + _resident_number(value)
    return "credit_code:" + _credit_code(value)


def _compact(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidIdentifierError(f"{what} must be text, got {type(value).__name__}")
    return "".join(value.split())


def _resident_number(value: object) -> str:
    if isinstance(value, str) and len(value) == 18 and value.isascii() and value[:17].isdigit():
        number = value.upper()  # the common case, already compact and 17 ASCII digits: no per-character loop
    else:
        number = _compact(value, "resident ID").upper()
        if len(number) != 18:
            raise InvalidIdentifierError(f"resident ID must be 18 characters, got {len(number)}")
        for position, char in enumerate(number[:17], start=1):
            if char not in _DIGITS:
                raise InvalidIdentifierError(f"resident ID character {position} must be a digit 0-9")
    if number[17] not in _DIGITS and number[17] != "X":
        raise InvalidIdentifierError("resident ID character 18 must be a digit 0-9 or X")
    if int(number[:2]) not in _PROVINCES:
        raise InvalidIdentifierError("resident ID region code (characters 1-2) is not a province code")
    birth_text = number[6:14]
    try:
        birth = _dt.date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:]))
    except ValueError:
        raise InvalidIdentifierError("resident ID birth date (characters 7-14) is not a real date") from None
    if birth < _EARLIEST_BIRTH:
        raise InvalidIdentifierError("resident ID birth date (characters 7-14) is before 1900")
    if birth > _dt.datetime.now(_CHINA_TZ).date():
        raise InvalidIdentifierError("resident ID birth date (characters 7-14) is in the future")
    expected = _resident_check(number[:17])
    if number[17] != expected:
        raise InvalidIdentifierError("resident ID check digit (character 18) does not match the first 17 characters")
    return number


def _credit_code(value: object) -> str:
    code = _compact(value, "credit code").upper()
    if len(code) != 18:
        raise InvalidIdentifierError(f"credit code must be 18 characters, got {len(code)}")
    for position, char in enumerate(code, start=1):
        if char not in _CREDIT_VALUE:
            raise InvalidIdentifierError(
                f"credit code character {position} is not allowed (digits and capital letters "
                "except I, O, Z, S, V)"
            )
    expected = _credit_check(code[:17])
    if code[17] != expected:
        raise InvalidIdentifierError(
            "credit code check character (character 18) does not match the first 17 characters"
        )
    return code


def _country(value: object) -> str:
    code = _compact(value, "passport country").upper()
    if len(code) == 2 and code in ISO_3166_ALPHA2:
        return code
    if len(code) == 3 and code in _ALPHA3_TO_ALPHA2:
        return _ALPHA3_TO_ALPHA2[code]
    hint = " (use GB for the United Kingdom)" if code == "UK" else ""
    raise InvalidIdentifierError(f"passport country {code[:3]!r} is not an ISO 3166-1 code{hint}")


def _passport_number(value: object) -> str:
    number = _compact(value, "passport number").replace("-", "").upper()
    if not 5 <= len(number) <= 20:
        raise InvalidIdentifierError(f"passport number must be 5 to 20 characters, got {len(number)}")
    if not set(number) <= _ALPHANUMERIC:
        raise InvalidIdentifierError("passport number may contain only letters A-Z and digits 0-9")
    return number


def _mask(text: str, head: int, tail: int) -> str:
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]
