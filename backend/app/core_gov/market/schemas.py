from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from ..fields import Fraction, Province
from ..storage import Input, Record

SEED_ZONES = {
    "BC": "America/Vancouver", "AB": "America/Edmonton", "SK": "America/Regina", "MB": "America/Winnipeg",
    "ON": "America/Toronto", "QC": "America/Toronto", "NB": "America/Moncton", "NS": "America/Halifax",
    "PE": "America/Halifax", "NL": "America/St_Johns", "YT": "America/Whitehorse", "NT": "America/Yellowknife",
    "NU": "America/Iqaluit",
}


class Channel(str, Enum):
    SMS = "SMS"
    CALL = "CALL"
    EMAIL = "EMAIL"


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _market(value: object) -> object:
    if isinstance(value, str):
        value = " ".join(value.split())
        return "ALL" if value.casefold() == "all" else value
    return value


_AREA_LOCATION = re.compile(r"^[A-Za-z]+(/[A-Za-z0-9_+-]+){1,2}$")


def _zone(value: str) -> str:
    """An IANA Area/Location zone that tzdata knows (not "localtime" or "EST")."""
    try:
        if value != "UTC" and not _AREA_LOCATION.match(value):
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. America/Toronto)") from None
    return value


# "ALL" (any case) or a city name, e.g. "Toronto"; compared case-insensitively.
Market = Annotated[str, BeforeValidator(_market), StringConstraints(min_length=1, max_length=100)]
ChannelIn = Annotated[Channel, BeforeValidator(_upper)]
Zone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), AfterValidator(_zone)]
HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]


class ContactWindow(BaseModel):
    """Local days 0=Mon..6=Sun; start inclusive, end exclusive ("24:00" = end of day)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: Annotated[list[Annotated[int, Field(ge=0, le=6)]], Field(min_length=1), AfterValidator(lambda v: sorted(set(v)))]
    start: HHMM
    end: HHMM

    @field_validator("start")
    @classmethod
    def _start_of_day(cls, value: str) -> str:
        if value == "24:00":
            raise ValueError("24:00 is only valid as an end")
        return value

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError(f"end {value} must be after start {start}")
        return value


def seed_windows() -> list[ContactWindow]:
    return [ContactWindow(days=[0, 1, 2, 3, 4], start="09:00", end="20:00"), ContactWindow(days=[5], start="10:00", end="18:00")]


class MarketPolicyUpsert(Input):
    """Create or change the policy of (province, market). On an existing row only the fields
    sent change; a new row starts from the province's seeded values."""

    province: Province
    market: Market = "ALL"
    timezone: Zone | None = None
    contact_windows: list[ContactWindow] | None = None
    channels_allowed: Annotated[list[ChannelIn], AfterValidator(lambda v: list(dict.fromkeys(v)))] | None = None
    min_lead_score: Fraction | None = None
    enabled: bool | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "province": "ON", "market": "Thunder Bay", "timezone": "America/Thunder_Bay",
        "contact_windows": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "20:00"}, {"days": [5], "start": "10:00", "end": "18:00"}],
        "channels_allowed": ["SMS", "CALL", "EMAIL"], "min_lead_score": 0.65, "enabled": True,
    }]}}


class MarketPolicy(Record):
    province: Province
    market: Market = "ALL"
    timezone: Zone
    contact_windows: list[ContactWindow]
    channels_allowed: list[ChannelIn]
    min_lead_score: Fraction = 0.65
    enabled: bool = True


class ContactCheck(BaseModel):
    allowed: bool
    reason: str  # ok | policy_disabled | channel_not_allowed | lead_score_below_minimum | outside_contact_window
    local_time: datetime  # `at` in the policy's zone, ISO 8601 with its offset
    next_allowed_at: datetime | None  # UTC start of the next window; null when allowed now or never allowed


def seed_row(province: str) -> dict:
    """The default contact policy of a province (market ALL): inside the CRTC telemarketing hours."""
    return {
        "province": province, "market": "ALL", "timezone": SEED_ZONES[province], "contact_windows": seed_windows(),
        "channels_allowed": list(Channel), "min_lead_score": 0.65, "enabled": True,
    }


def seed_policies() -> list[dict]:
    return [{"id": f"mkt_{p.lower()}_all", **seed_row(p)} for p in SEED_ZONES]
