from __future__ import annotations

from enum import Enum

from pydantic import BaseModel

from ..fields import Name, PropertyType, Province
from ..storage import Entry, Input


class FeedbackEvent(str, Enum):
    responded = "responded"
    no_response = "no_response"
    bought = "bought"
    passed = "passed"


class Label(str, Enum):
    hot = "hot"
    warm = "warm"
    cold = "cold"


class FeedbackCreate(Input):
    buyer_id: Name
    province: Province
    market: Name = "ALL"
    property_type: PropertyType
    event: FeedbackEvent

    model_config = {"json_schema_extra": {"examples": [{
        "buyer_id": "bu_01jc9x0000abcdefghjk", "province": "ON", "market": "Hamilton",
        "property_type": "sfr", "event": "responded",
    }]}}


class Feedback(Entry):
    buyer_id: str
    province: str
    market: str
    property_type: PropertyType
    event: FeedbackEvent


class LiquidityScore(BaseModel):
    """One province x market x property_type over the last 90 days. Rates are smoothed
    ((k + 2.5) / (n + 5)); score = 100 x (0.4 response + 0.4 close + 0.2 min(active/10, 1))."""

    province: str
    market: str
    property_type: PropertyType
    events: int
    responses: int
    bought: int
    active_buyers: int
    response_rate: float
    close_rate: float
    score: float
    label: Label
