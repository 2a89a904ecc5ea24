from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..fields import Fraction
from ..http import NonBlank
from ..fields import Key
from ..storage import Input, Record, UtcDatetime

Count = Annotated[int, Field(ge=1, le=100_000)]


class Action(str, Enum):
    THROTTLE = "THROTTLE"
    KILL_SWITCH = "KILL_SWITCH"


class RegressionPolicyUpsert(Input):
    """One policy per metric: sending a metric that has one replaces it."""

    metric: Key
    domain: Key | None = None  # the domain to throttle; also narrows the events to that domain
    window_events: Count = 50
    baseline_events: Count = 200
    min_events: Count = 50
    max_drop: Fraction = 0.20
    action: Action = Action.THROTTLE
    enabled: bool = True

    model_config = {"json_schema_extra": {"examples": [{
        "metric": "followup_completed", "domain": "followups", "window_events": 50, "baseline_events": 200,
        "min_events": 50, "max_drop": 0.2, "action": "THROTTLE", "enabled": True,
    }]}}


class RegressionPolicy(Record):
    metric: Key
    domain: Key | None = None
    window_events: int = 50
    baseline_events: int = 200
    min_events: int = 50
    max_drop: float = 0.20
    action: Action = Action.THROTTLE
    enabled: bool = True


class Evaluation(BaseModel):
    """One policy's verdict over the newest events of its metric."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    domain: str | None
    action: Action
    evaluated_at: UtcDatetime
    rate_kind: str  # "success_rate" when the events carry `success`, else "mean_value"
    recent_events: int
    baseline_events: int
    recent_rate: float | None
    baseline_rate: float | None
    drop: float | None  # (baseline - recent) / baseline
    max_drop: float
    enforced: bool  # both windows hold at least min_events and the policy is enabled
    fired: bool  # enforced and drop >= max_drop
    detail: str  # why it fired, why nothing is enforced, or that the rate holds


class Throttle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str
    metric: str
    since: UtcDatetime
    reason: str


class ResetNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: UtcDatetime
    reason: str


class RegressionState(BaseModel):
    """regression/state.json: throttled domains, the last evaluation per policy metric, last resets."""

    model_config = ConfigDict(extra="forbid")

    throttled: dict[str, Throttle] = {}
    evaluations: dict[str, Evaluation] = {}
    last_reset: dict[str, ResetNote] = {}


class ResetBody(Input):
    domain: Key
    reason: NonBlank

    model_config = {"json_schema_extra": {"examples": [{"domain": "followups", "reason": "checked the follow-up queue; drop was a holiday"}]}}
