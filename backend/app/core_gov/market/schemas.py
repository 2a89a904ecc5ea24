from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Annotated, Literal
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


# Canadian area codes: the places (province, IANA zone) a number with that code may ring in.
#
# Overlays share their region's places. Where a region spans zones every zone is listed, and
# contact is judged on each: western Ontario's 807 is Eastern (Thunder Bay), Central (Kenora) and
# Eastern without DST (Atikokan); BC outside the Lower Mainland is Pacific, Mountain (the East
# Kootenay) and Mountain without DST (Creston, the Peace, Fort Nelson); eastern Quebec reaches
# Atlantic time (Magdalen Islands, Blanc-Sablon); Labrador is Atlantic; Saskatchewan's border
# towns keep Alberta's (Lloydminster) and Manitoba's (Creighton) time; 867 covers Yukon, the
# Northwest Territories and Nunavut's four zones. 902/782 is both NS and PE. Non-geographic codes
# (600, 622, 633, ...) and US codes are not here: such a number adds no place.
Place = tuple[str, str]  # (province, IANA zone)

_BC_LOWER_MAINLAND = (("BC", "America/Vancouver"),)
_BC = (
    ("BC", "America/Vancouver"), ("BC", "America/Edmonton"), ("BC", "America/Creston"),
    ("BC", "America/Dawson_Creek"), ("BC", "America/Fort_Nelson"),
)
_AB = (("AB", "America/Edmonton"),)
_SK = (("SK", "America/Regina"), ("SK", "America/Edmonton"), ("SK", "America/Winnipeg"))
_MB = (("MB", "America/Winnipeg"),)
_ON = (("ON", "America/Toronto"),)
_ON_NORTHWEST = (("ON", "America/Toronto"), ("ON", "America/Winnipeg"), ("ON", "America/Atikokan"))
_QC = (("QC", "America/Toronto"),)
_QC_EAST = (("QC", "America/Toronto"), ("QC", "America/Halifax"), ("QC", "America/Blanc-Sablon"))
_NB = (("NB", "America/Moncton"),)
_NS_PE = (("NS", "America/Halifax"), ("PE", "America/Halifax"))
_NL = (("NL", "America/St_Johns"), ("NL", "America/Goose_Bay"))
_NORTH = (
    ("YT", "America/Whitehorse"), ("NT", "America/Yellowknife"), ("NT", "America/Inuvik"),
    ("NU", "America/Cambridge_Bay"), ("NU", "America/Rankin_Inlet"), ("NU", "America/Resolute"),
    ("NU", "America/Iqaluit"), ("NU", "America/Atikokan"),  # Coral Harbour: Eastern without DST
)

_REGIONS: dict[tuple[str, ...], tuple[Place, ...]] = {
    ("604",): _BC_LOWER_MAINLAND,
    ("250", "778", "236", "672", "257"): _BC,  # 778, 236, 672 and 257 overlay the whole province
    ("403", "780", "587", "825", "368"): _AB,
    ("306", "639", "474"): _SK,
    ("204", "431", "584"): _MB,
    ("416", "647", "437", "942", "905", "289", "365", "742", "519", "226", "548", "382",
     "613", "343", "753", "705", "249", "683"): _ON,
    ("807",): _ON_NORTHWEST,
    ("514", "438", "263", "450", "579", "354", "819", "873", "468"): _QC,
    ("418", "581", "367", "273"): _QC_EAST,
    ("506", "428"): _NB,
    ("902", "782"): _NS_PE,
    ("709", "879"): _NL,
    ("867",): _NORTH,
}

AREA_CODES: dict[str, tuple[Place, ...]] = {code: places for codes, places in _REGIONS.items() for code in codes}


# The CRTC Unsolicited Telecommunications Rules: telemarketing only weekdays 09:00-21:30 and
# weekends 10:00-18:00, the recipient's local time. Every contact window keeps inside them.
LEGAL_HOURS = {day: ("09:00", "21:30") if day < 5 else ("10:00", "18:00") for day in range(7)}
LEGAL_HOURS_TEXT = "the CRTC telemarketing hours (weekdays 09:00-21:30, weekends 10:00-18:00, the recipient's local time)"


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


class PlaceCheck(BaseModel):
    """One clock the contact was judged on: the province asked about (its market's policy and
    zone), or a place the dialled number's area code may ring in (that province's ALL policy, on
    that zone's clock)."""

    source: Literal["province", "number"]
    province: str
    market: str
    timezone: str
    area_code: str | None = None
    allowed: bool
    reason: str
    local_time: datetime


class ContactCheck(BaseModel):
    allowed: bool
    reason: str  # ok | policy_disabled | channel_not_allowed | lead_score_below_minimum | outside_contact_window
    local_time: datetime  # `at` in the policy's zone, ISO 8601 with its offset
    next_allowed_at: datetime | None  # UTC: the first instant every check allows; null when allowed now or never allowed
    refused_by: PlaceCheck | None = None  # the check that refused (a lasting refusal before a window); null when allowed
    checks: list[PlaceCheck] = []  # the province's own, then each place the number may ring in


def seed_row(province: str) -> dict:
    """The default contact policy of a province (market ALL): inside the CRTC telemarketing hours."""
    return {
        "province": province, "market": "ALL", "timezone": SEED_ZONES[province], "contact_windows": seed_windows(),
        "channels_allowed": list(Channel), "min_lead_score": 0.65, "enabled": True,
    }


def seed_policies() -> list[dict]:
    return [{"id": f"mkt_{p.lower()}_all", **seed_row(p)} for p in SEED_ZONES]
