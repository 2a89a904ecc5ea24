from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, Field

from ..fields import Fraction
from ..fields import Key
from ..storage import Entry, Input, Record, UtcDatetime

GATE_REASONS = ("prod_disabled", "confidence_below_threshold", "insufficient_sandbox_trials", "success_rate_below_threshold", "gate_pass")


class HeimdallPolicyUpsert(Input):
    """Create or replace a domain's thresholds. `prod_enabled` is accepted and ignored: it
    changes only through promote/demote."""

    domain: Key
    min_confidence: Fraction = 0.90
    min_sandbox_trials: Annotated[int, Field(ge=0, le=1_000_000)] = 50
    min_success_rate: Fraction = 0.80
    window_days: Annotated[int, Field(ge=1, le=365)] = 30
    prod_enabled: bool | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "domain": "offers", "min_confidence": 0.9, "min_sandbox_trials": 50, "min_success_rate": 0.8, "window_days": 30,
    }]}}


class HeimdallPolicy(Record):
    domain: Key
    min_confidence: Fraction = 0.90
    min_sandbox_trials: int = 50
    min_success_rate: Fraction = 0.80
    window_days: int = 30
    prod_enabled: bool = False


class TrialCreate(Input):
    domain: Key
    success: bool
    confidence: Fraction

    model_config = {"json_schema_extra": {"examples": [{"domain": "offers", "success": True, "confidence": 0.93}]}}


class Trial(Entry):
    domain: Key
    success: bool
    confidence: Fraction


class RecommendCreate(Input):
    domain: Key
    confidence: Fraction
    payload: dict[str, Any] = {}

    model_config = {"json_schema_extra": {"examples": [{
        "domain": "offers", "confidence": 0.94, "payload": {"deal_id": "dl_01jc9example", "offer_amount": 212000},
    }]}}


class Recommendation(Record):
    domain: Key
    confidence: Fraction
    payload: dict[str, Any] = {}
    prod_eligible: bool
    gate_reason: str  # the first failing gate, or gate_pass
    window_trials: int
    window_success_rate: float | None


class DomainBody(Input):
    domain: Key

    model_config = {"json_schema_extra": {"examples": [{"domain": "offers"}]}}


class DayScore(BaseModel):
    day: date  # local day in VALHALLA_TZ
    trials: int
    successes: int
    success_rate: float
    mean_confidence: float


class Scorecard(BaseModel):
    domain: str
    window_days: int
    window_start: UtcDatetime  # now - window_days (exclusive)
    window_end: UtcDatetime  # now (inclusive)
    trials: int
    successes: int
    success_rate: float | None
    mean_confidence: float | None
    prod_enabled: bool
    has_policy: bool
    daily: list[DayScore]
