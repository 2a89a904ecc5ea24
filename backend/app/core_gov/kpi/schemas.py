from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from ..fields import Key
from ..storage import Entry, Input, UtcDatetime


Value = Annotated[float, Field(allow_inf_nan=False)]




class KpiEventCreate(Input):
    metric: Key
    domain: Key
    value: Value = 1.0
    success: bool | None = None
    ref: Annotated[str, StringConstraints(max_length=200)] | None = None
    at: UtcDatetime | None = None  # when it happened (default now); never in the future

    model_config = {"json_schema_extra": {"examples": [{
        "metric": "followup_completed", "domain": "followups", "value": 1, "success": True, "ref": "fu_01jc9example",
    }]}}


class KpiEvent(Entry):
    metric: Key
    domain: Key
    value: Value = 1.0
    success: bool | None = None
    ref: str | None = None


class KpiDay(BaseModel):
    metric: str
    day: date  # local day in VALHALLA_TZ
    count: int
    mean_value: float
    success_events: int  # events that carry `success`
    success_rate: float | None  # successes / success_events; null when none carries it
