from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from ..fields import Code, Money, SignedMoney
from ..http import NonBlank
from ..storage import Entry, Input, Record, UtcDatetime

Count = Annotated[int, Field(ge=0)]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# The four caps, in the order a reserve checks them after `enabled`; 0 means "no cap".
CAPS = ("max_actions_per_day", "max_daily_exposure", "max_open_risk", "max_daily_loss")


class RiskPolicyUpsert(Input):
    """Create the engine's policy, or change only the fields sent on an existing one."""

    engine: Code
    max_daily_loss: Money = 0
    max_daily_exposure: Money = 0
    max_open_risk: Money = 0
    max_actions_per_day: Count = 0
    enabled: bool = True
    decision_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "engine": "GLOBAL", "max_daily_loss": 5000, "max_daily_exposure": 250000, "max_open_risk": 500000,
        "max_actions_per_day": 50, "enabled": True,
    }]}}


class RiskPolicy(Record):
    engine: str
    max_daily_loss: float = 0
    max_daily_exposure: float = 0
    max_open_risk: float = 0
    max_actions_per_day: int = 0
    enabled: bool = True
    decision_id: str | None = None  # the governance decision cited by the last change


class ReservationStatus(str, Enum):
    open = "open"
    settled = "settled"
    released = "released"


class ReserveInput(Input):
    engine: Code
    amount: Money
    ref: Ref | None = None

    model_config = {"json_schema_extra": {"examples": [{"engine": "WHOLESALE", "amount": 15000, "ref": "dl_01jc9abcde0123456789"}]}}


class SettleInput(Input):
    reservation_id: Ref
    realized_pnl: SignedMoney

    model_config = {"json_schema_extra": {"examples": [{"reservation_id": "rsv_01jc9abcde0123456789", "realized_pnl": -1200}]}}


class ReleaseInput(Input):
    reservation_id: Ref
    reason: NonBlank

    model_config = {"json_schema_extra": {"examples": [{"reservation_id": "rsv_01jc9abcde0123456789", "reason": "the offer was refused by the market policy"}]}}


class Reservation(Record):
    engine: str
    amount: float
    ref: str | None = None
    status: ReservationStatus = ReservationStatus.open
    day: date  # the operator's local day it was booked on
    realized_pnl: float | None = None
    closed_at: UtcDatetime | None = None
    reason: str | None = None  # why it was released


class LedgerDay(Record):
    """What one engine used on one local day (``risk/ledger.json``)."""

    day: date
    engine: str
    actions: int = 0
    exposure: float = 0
    realized_loss: float = 0


class RiskEventKind(str, Enum):
    reserved = "reserved"
    denied = "denied"
    settled = "settled"
    released = "released"
    policy_raised = "policy_raised"


class RiskEvent(Entry):
    kind: RiskEventKind
    engine: str
    day: date | None = None
    amount: float | None = None
    ref: str | None = None
    reservation_id: str | None = None
    code: str | None = None  # a denial: the cap that refused it
    policy: str | None = None  # a denial: the policy (GLOBAL or the engine) whose cap refused it
    message: str | None = None
    used: float | None = None
    cap: float | None = None
    realized_pnl: float | None = None
    decision_id: str | None = None
    raised: dict[str, list[float | bool | None]] | None = None  # policy_raised: field -> [old, new]


class CapValues(BaseModel):
    max_actions_per_day: int = 0
    max_daily_exposure: float = 0
    max_open_risk: float = 0
    max_daily_loss: float = 0


class CapRemaining(BaseModel):
    max_actions_per_day: int | None = None
    max_daily_exposure: float | None = None
    max_open_risk: float | None = None
    max_daily_loss: float | None = None


class EngineSnapshot(BaseModel):
    engine: str
    has_policy: bool
    enabled: bool
    caps: CapValues  # 0 = no cap
    used: CapValues  # actions, exposure booked today, open risk now, realized loss today
    remaining: CapRemaining  # null where there is no cap


class RiskSnapshot(BaseModel):
    day: date
    zone: str
    as_of: UtcDatetime
    engines: list[EngineSnapshot]
