"""The edge's rules for request fields: what the contracts would refuse, and what the domain never holds,
refused by the API first (422, saying which rule) so that nothing it accepts fails on chain for a reason
it could have known.

- :data:`Text`: every free text field (case numbers, names, identifiers) refuses control and invisible
  format characters, surrogates, private-use and unassigned code points (Unicode categories Cc, Cf, Cs, Co,
  Cn), tab and newline included. The message names the position, never the text.
- :data:`RecordDate`: a date a record carries on chain is after 1970-01-01 (unix day 0 is "no date" to
  the contracts: ``JudgmentRegistryInvalidDates`` for a zero effective date; and no date before the
  epoch fits a ``uint40``), which is also after 1949-10-01, the earliest date a court of this network
  can have decided anything.
- :func:`check_not_future`: a record's dates are not after the chain's current time plus one day.
- :func:`check_listing_time`, :func:`check_extension`, :func:`check_removal`: the defaulter registry's
  windows (``CLOCK_SKEW``, ``MAX_BACKDATE``, ``MIN_EXTENSION``/``MAX_EXTENSION``, expiry), with a margin of
  :data:`SUBMIT_MARGIN` for the time a write spends between acceptance and its block.
- :func:`check_action_shape`: the enforcement registry's rules on one action that do not depend on the
  case's state (amounts only on money actions, detail only on asset inquiries and sales, flags only on
  recoveries).

"Now" is :meth:`api.services.Services.now`: the wall clock, or the indexed chain's time if it runs ahead.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator

from ledger.errors import ValidationError
from ledger.records import ActionKind

__all__ = [
    "EARLIEST_DATE",
    "SUBMIT_MARGIN",
    "RecordDate",
    "Text",
    "check_action_shape",
    "check_extension",
    "check_listing_time",
    "check_not_future",
    "check_removal",
    "no_control_characters",
]

#: The earliest date on chain: unix day 0 (1970-01-01) means "none" to the contracts.
EARLIEST_DATE = date(1970, 1, 2)
#: How long a write may take from acceptance to its block, for the windows the chain checks at that block.
SUBMIT_MARGIN = 3600

# DefaulterRegistry's constants (contracts/DefaulterRegistry.sol)
CLOCK_SKEW = 15 * 60
MAX_BACKDATE = 86400
MIN_EXTENSION = 365 * 86400
MAX_EXTENSION = 1095 * 86400

_REFUSED = {"Cc", "Cf", "Cs", "Co", "Cn"}


def no_control_characters(value: str) -> str:
    for position, char in enumerate(value):
        if unicodedata.category(char) in _REFUSED:
            raise ValueError(
                f"character {position + 1} is a control, format, private-use or unassigned character "
                f"(U+{ord(char):04X}); send printable text only"
            )
    return value


def _record_date(value: date) -> date:
    if value < EARLIEST_DATE:
        raise ValueError(f"dates on chain are {EARLIEST_DATE.isoformat()} or later (1970-01-01 means no date)")
    return value


#: Free text of a request: no control, format, surrogate, private-use or unassigned characters.
Text = Annotated[str, AfterValidator(no_control_characters)]
#: A date a record carries on chain: 1970-01-02 or later (see the module docstring).
RecordDate = Annotated[date, AfterValidator(_record_date)]


def _day(unix: int) -> date:
    return datetime.fromtimestamp(unix, UTC).date()


def check_not_future(now: int, **dates: date) -> None:
    """Each named date is at most one day after the chain's current date."""
    latest = _day(now) + timedelta(days=1)
    for name, value in dates.items():
        if value > latest:
            raise ValidationError(
                f"{name} {value.isoformat()} is in the future: the latest acceptable date is "
                f"{latest.isoformat()} (the chain's current date plus one day)"
            )


def check_listing_time(now: int, listed_at: int) -> None:
    """A listing starts now: at most CLOCK_SKEW ahead, and at most MAX_BACKDATE (less the margin) behind."""
    if listed_at > now + CLOCK_SKEW:
        raise ValidationError(
            f"listed_at is more than {CLOCK_SKEW // 60} minutes after the chain's current time ({now})"
        )
    earliest = now - MAX_BACKDATE + SUBMIT_MARGIN
    if listed_at < earliest:
        raise ValidationError(
            f"listed_at is too far in the past: a listing may be backdated by at most "
            f"{(MAX_BACKDATE - SUBMIT_MARGIN) // 3600} hours (earliest now: {earliest})"
        )


def check_extension(now: int, current_until: int, new_until: int) -> None:
    """An extension of a running listing, by 365 to 1,095 days from its current end."""
    if now + SUBMIT_MARGIN >= current_until:
        raise ValidationError(f"the listing ends at {current_until}, before this write would land: too late to extend")
    if not current_until + MIN_EXTENSION <= new_until <= current_until + MAX_EXTENSION:
        raise ValidationError(
            f"the new end must be 365 to 1,095 days after the current end {current_until}: "
            f"between {current_until + MIN_EXTENSION} and {current_until + MAX_EXTENSION}"
        )


def check_removal(now: int, reason: str, current_until: int) -> None:
    """A removal for an expired period only once the period has expired."""
    if reason == "period_expired" and now < current_until:
        raise ValidationError(f"the listing runs until {current_until}: its period has not expired")


_MONEY = {ActionKind.DEDUCTION, ActionKind.VALUATION, ActionKind.AUCTION_LISTED, ActionKind.AUCTION_SOLD,
          ActionKind.PAYMENT_RECEIVED, ActionKind.DISBURSEMENT}
_RECOVERS = {ActionKind.DEDUCTION, ActionKind.PAYMENT_RECEIVED}
_ASSET_CATEGORIES = 0xFFFF


def check_action_shape(kind: ActionKind, amount: int, detail: int, flags: int) -> None:
    """The enforcement registry's rules on one action that do not depend on the case (raise ValueError)."""
    name = kind.name.lower()
    if kind in _MONEY and amount == 0:
        raise ValueError(f"a {name} action carries an amount greater than zero")
    if kind not in _MONEY and amount != 0:
        raise ValueError(f"a {name} action carries no amount")
    if kind == ActionKind.ASSET_INQUIRY and detail & ~_ASSET_CATEGORIES:
        raise ValueError("an asset inquiry's detail is a bitmask of the 16 asset categories (bits 0 to 15)")
    if kind == ActionKind.AUCTION_SOLD and detail >> 32 == 0:
        raise ValueError("an auction sale needs at least one round of bidding (auction.rounds)")
    if kind not in (ActionKind.ASSET_INQUIRY, ActionKind.AUCTION_SOLD) and detail != 0:
        raise ValueError(f"a {name} action carries no detail")
    if flags & ~1 or (flags and kind not in _RECOVERS):
        raise ValueError("flags: only 1 (recovery above the amount due acknowledged), on deductions and payments")
