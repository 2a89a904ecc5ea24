"""Field types and normalisers shared by every module's schemas: one definition each."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from enum import Enum
from typing import Annotated, Any, Callable, Iterable, Sequence

import phonenumbers
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from .errors import Conflict

# The 13 provinces and territories, in the order the operator thinks of them (west to east, north).
CA_PROVINCES = ("BC", "AB", "SK", "MB", "ON", "QC", "NB", "NS", "PE", "NL", "YT", "NT", "NU")
US_STATES = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
    "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH",
    "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR",
)


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _province(value: str) -> str:
    if value not in CA_PROVINCES:
        raise ValueError(f"unknown province {value!r}; expected one of {' '.join(CA_PROVINCES)}")
    return value


def _region(value: str) -> str:
    if value not in CA_PROVINCES and value not in US_STATES:
        raise ValueError(f"unknown region {value!r}; expected a Canadian province/territory or a US state code")
    return value


def country_of(region: str) -> str:
    return "CA" if region in CA_PROVINCES else "US"


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class PropertyType(str, Enum):
    sfr = "sfr"
    duplex = "duplex"
    triplex = "triplex"
    fourplex = "fourplex"
    condo = "condo"
    townhouse = "townhouse"
    land = "land"
    small_mf = "small_mf"


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Key = Annotated[str, BeforeValidator(_lower), StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$")]  # a metric or domain name
Text = Annotated[str, StringConstraints(max_length=20_000)]
Code = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,39}$")]
Currency = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z]{3}$")]
Province = Annotated[str, BeforeValidator(_upper), AfterValidator(_province)]  # Canadian only
Region = Annotated[str, BeforeValidator(_upper), AfterValidator(_region)]  # Canadian or US
MAX_MONEY = 1e12  # no amount the business handles comes near it; anything above is a typo
Money = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]  # an amount that cannot be negative
SignedMoney = Annotated[float, Field(ge=-MAX_MONEY, le=MAX_MONEY, allow_inf_nan=False)]  # a P&L, a buyer MAO
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]  # 0..1 (confidence, lead score)
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]  # 0..100 (splits)


def total(amounts: Iterable[tuple[str, float]], what: str) -> float:
    """The sum of (record id, amount) pairs, rounded to cents. Only an amount stored beyond
    MAX_MONEY (before the bound, or by hand) can make it infinite: that is 409 naming the
    records, never a null total."""
    pairs = list(amounts)
    return total_of_parts([Subtotal.of(pairs)], what)


@dataclass
class Subtotal:
    """A sum of amounts not rounded yet, and the records whose amount is beyond MAX_MONEY."""

    value: float = 0.0
    over: list[str] = dc_field(default_factory=list)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, float]]) -> "Subtotal":
        pairs = list(pairs)
        return cls(sum(amount for _, amount in pairs), [rid for rid, amount in pairs if not abs(amount) <= MAX_MONEY])


def total_of_parts(parts: Iterable[Subtotal], what: str) -> float:
    """total() of amounts summed in parts (a large collection's segments, say)."""
    parts = list(parts)
    value = sum(p.value for p in parts)
    if not math.isfinite(value):
        over = [rid for p in parts for rid in p.over]
        raise Conflict(
            "amount_out_of_range", f"the {what} total is not a finite number: {', '.join(over)} hold an amount beyond "
            f"{MAX_MONEY:,.0f}; correct it (PATCH) and ask again", records=over,
        )
    return round(value, 2)


def subtotals_by_currency(records: Iterable[Any], amount: Callable[[Any], float | None]) -> dict[str, Subtotal]:
    """Each currency's Subtotal of the amounts (records with an `id` and a `currency`; None is left out)."""
    pairs: dict[str, list[tuple[str, float]]] = {}
    for r in records:
        value = amount(r)
        if value is not None:
            pairs.setdefault(r.currency, []).append((r.id, value))
    return {currency: Subtotal.of(found) for currency, found in pairs.items()}


def totals_by_currency(records: Iterable[Any], amount: Callable[[Any], float | None], what: str) -> dict[str, float]:
    """total() of each currency's amounts (records with an `id` and a `currency`; None is left out)."""
    return combine_by_currency([subtotals_by_currency(records, amount)], what)


def combine_by_currency(parts: Iterable[dict[str, Subtotal]], what: str) -> dict[str, float]:
    """Totals per currency of per-currency subtotals made in parts."""
    by_currency: dict[str, list[Subtotal]] = {}
    for part in parts:
        for currency, sub in part.items():
            by_currency.setdefault(currency, []).append(sub)
    return {currency: total_of_parts(subs, f"{what} ({currency})") for currency, subs in by_currency.items()}


def starts_in(states: Sequence[Enum]) -> Any:
    """The optional status field of a create whose record has a state machine (errors.require_start)."""
    names = " or ".join(s.value for s in states)
    return Field(None, description=f"The state it starts in: {names} (default {states[0].value}); any other is 409 invalid_transition")


def _tags(value: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in value:
        tag = tag.strip().lower()
        if tag:
            seen[tag] = None
    return list(seen)


Tags = Annotated[list[Annotated[str, StringConstraints(max_length=60)]], AfterValidator(_tags)]  # lower-case, deduplicated


# ---------------------------------------------------------------------------- contacts

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# The common case at a tenth of the cost: a Canadian number written as 10 digits, or 11 with the
# country code 1, in the usual spellings ((416) 555-0199, 416.555.0199, +1 416 555 0199), checked
# against the Canadian patterns phonenumbers itself holds. Whatever is not such a number (a US one,
# an extension, a typo) takes the full parse: the answer is the same either way.
_NANP_SHAPE = re.compile(r" *(?:\+?1[ .-]?)?\(?([2-9]\d\d)\)?[ .-]?([2-9]\d\d)[ .-]?(\d{4}) *", re.ASCII)
_CA = phonenumbers.PhoneMetadata.metadata_for_region("CA")
_CA_KINDS = [  # the kinds of 10-digit number phonenumbers finds valid in Canada
    d.national_number_pattern for d in (
        _CA.fixed_line, _CA.mobile, _CA.toll_free, _CA.premium_rate, _CA.shared_cost, _CA.voip, _CA.personal_number,
        _CA.pager, _CA.uan, _CA.voicemail,
    ) if d is not None and d.national_number_pattern and (not d.possible_length or 10 in d.possible_length)
]
# Valid in Canada: a Canadian number (the general pattern) of one of those kinds.
_CA_VALID = re.compile(f"(?=(?:{_CA.general_desc.national_number_pattern})\\Z)(?:{'|'.join(_CA_KINDS)})", re.ASCII)


def _canadian(raw: str) -> str | None:
    """E.164 of a Canadian number in a common spelling, else None (it may still be valid)."""
    shape = _NANP_SHAPE.fullmatch(raw)
    if shape is None:
        return None
    digits = "".join(shape.groups())
    return "+1" + digits if _CA_VALID.fullmatch(digits) else None


def normalize_phone(raw: str, region: str = "CA") -> str:
    """E.164 (``+14165550199``) for any common spelling; ValueError if it is not a real number."""
    return (_canadian(raw) if region == "CA" else None) or _parsed(raw, region)


def _parsed(raw: str, region: str) -> str:
    """normalize_phone by phonenumbers' full parse and validation, for any spelling."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as e:
        raise ValueError(f"{raw!r} is not a phone number: {e}") from None
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    value = raw.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError(f"{raw!r} is not an email address")
    return value


def normalize_contact(raw: str) -> str:
    """An email (lower-cased) or a phone number (E.164): the one key for do-not-contact checks."""
    return normalize_email(raw) if "@" in raw else normalize_phone(raw)


def _opt(fn):
    return lambda v: fn(v) if isinstance(v, str) else v


Phone = Annotated[str, AfterValidator(_opt(normalize_phone))]
# For stored records: input was normalised with Phone; re-parsing thousands of numbers on every
# load of a file would cost seconds, so a stored number is checked for its E.164 shape only.
E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{6,14}$")]
Email = Annotated[str, AfterValidator(_opt(normalize_email))]
Contact = Annotated[str, AfterValidator(_opt(normalize_contact))]
