from __future__ import annotations

from datetime import date
from enum import Enum
from pydantic import BaseModel

from ..fields import Currency, Money, Name, Text
from ..storage import Input, Record


class AssetType(str, Enum):
    property = "property"
    resort = "resort"
    note = "note"
    trust_interest = "trust_interest"
    policy = "policy"
    saas_stream = "saas_stream"
    vault = "vault"
    other = "other"


class HoldingCreate(Input):
    name: Name
    asset_type: AssetType
    jurisdiction: Name
    entity: str | None = None
    value_estimate: Money = 0
    currency: Currency = "CAD"
    acquired_at: date | None = None
    notes: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "name": "123 Main St rental", "asset_type": "property", "jurisdiction": "ON",
        "entity": "Valhalla Holdings Inc.", "value_estimate": 485000, "currency": "CAD",
        "acquired_at": "2025-06-30", "notes": "Tenant in place until 2027",
    }]}}


class HoldingUpdate(Input):
    name: Name = None
    asset_type: AssetType = None
    jurisdiction: Name = None
    entity: str | None = None
    value_estimate: Money = None
    currency: Currency = None
    acquired_at: date | None = None
    notes: Text | None = None


class Holding(Record):
    name: str
    asset_type: AssetType
    jurisdiction: str
    entity: str | None = None
    value_estimate: float = 0
    currency: str = "CAD"
    acquired_at: date | None = None
    notes: Text | None = None


class HoldingsSummary(BaseModel):
    count: int
    by_currency: dict[str, float]
    by_asset_type: dict[str, dict[str, float]]
    by_jurisdiction: dict[str, dict[str, float]]
