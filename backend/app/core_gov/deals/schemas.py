from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from ..fields import E164, Currency, Email, Fraction, Money, Name, Phone, PropertyType, Region, Tags, Text, starts_in
from ..http import NonBlank
from ..storage import Entry, Input, Record, UtcDatetime

Country = Literal["CA", "US"]


class Stage(str, Enum):
    lead = "lead"
    contacted = "contacted"
    offer_made = "offer_made"
    under_contract = "under_contract"
    assigned = "assigned"
    closed = "closed"
    dead = "dead"


DEAL_STARTS = (Stage.lead,)


class ActivityKind(str, Enum):
    call = "call"
    sms = "sms"
    email = "email"
    inspection = "inspection"
    offer = "offer"
    note = "note"
    stage = "stage"  # written by the stage machine only


class DealCreate(Input):
    seller_name: Name | None = None
    seller_phone: Phone | None = None
    seller_email: Email | None = None
    address: Name
    city: Name
    province: Region
    country: Country | None = Field(None, description="CA or US; derived from the province when left out, 422 when it contradicts it")
    property_id: str | None = None
    property_type: PropertyType | None = None
    lead_source: Name | None = None
    lead_score: Fraction | None = None
    arv_estimate: Money | None = None
    repairs_estimate: Money | None = None
    asking_price: Money | None = None
    mao: Money | None = None
    offer_amount: Money | None = None
    assignment_fee_target: Money | None = None
    costs_estimate: Money = 0
    tags: Tags = []
    notes: Text | None = None
    currency: Currency = "CAD"
    stage: Stage | None = starts_in(DEAL_STARTS)

    model_config = {"json_schema_extra": {"examples": [{
        "seller_name": "Jane Roy", "seller_phone": "(416) 555-0199", "seller_email": "Jane.Roy@example.com",
        "address": "12 Elm Street", "city": "Hamilton", "province": "ON", "property_type": "sfr",
        "lead_source": "driving for dollars", "lead_score": 0.8, "arv_estimate": 300000, "repairs_estimate": 30000,
        "asking_price": 190000, "assignment_fee_target": 10000, "costs_estimate": 1500, "tags": ["vacant"],
        "notes": "Inherited; wants a quick close",
    }]}}


class DealUpdate(Input):
    seller_name: Name | None = None
    seller_phone: Phone | None = None
    seller_email: Email | None = None
    address: Name = None
    city: Name = None
    province: Region = None
    country: Country | None = None
    property_id: str | None = None
    property_type: PropertyType | None = None
    lead_source: Name | None = None
    lead_score: Fraction | None = None
    arv_estimate: Money | None = None
    repairs_estimate: Money | None = None
    asking_price: Money | None = None
    mao: Money | None = None
    offer_amount: Money | None = None
    assignment_fee_target: Money | None = None
    costs_estimate: Money = None
    tags: Tags = None
    notes: Text | None = None
    currency: Currency = None
    stage: Stage = Field(None, description="Not changeable here (422): use POST /core/deals/{id}/stage, or finalize to close")


class Deal(Record):
    seller_name: str | None = None
    seller_phone: E164 | None = None
    seller_email: Email | None = None
    address: str
    city: str
    province: Region
    country: Country
    property_id: str | None = None
    property_type: PropertyType | None = None
    lead_source: str | None = None
    lead_score: float | None = None
    arv_estimate: float | None = None
    repairs_estimate: float | None = None
    asking_price: float | None = None
    mao: float | None = None  # a buyer MAO may be negative
    offer_amount: float | None = None
    assignment_fee_target: float | None = None
    costs_estimate: float = 0
    expected_spread: float | None = None
    stage: Stage = Stage.lead
    tags: Tags = []
    notes: Text | None = None
    currency: str = "CAD"
    closed_at: UtcDatetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _spread(cls, data: Any) -> Any:
        """expected_spread is always assignment_fee_target - costs_estimate, never what was sent or typed."""
        if isinstance(data, dict):
            fee = data.get("assignment_fee_target")
            costs = data.get("costs_estimate") or 0
            spread = None
            if isinstance(fee, (int, float)) and isinstance(costs, (int, float)):
                spread = round(fee - costs, 2)
            data = {**data, "expected_spread": spread}
        return data


class StageChange(Input):
    stage: Stage
    reason: NonBlank

    model_config = {"json_schema_extra": {"examples": [{"stage": "contacted", "reason": "Spoke with the seller"}]}}


class ActivityCreate(Input):
    kind: Literal["call", "sms", "email", "inspection", "offer", "note"]
    summary: NonBlank
    details: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{"kind": "call", "summary": "Left a voicemail", "details": "Call back after 5pm"}]}}


class Activity(Entry):
    deal_id: str
    kind: ActivityKind
    summary: str
    details: Text | None = None
    actor: str = "operator"
    from_stage: Stage | None = None
    to_stage: Stage | None = None
    ref: str | None = None


class StageTotals(BaseModel):
    count: int = 0
    value: dict[str, float] = {}
    expected_spread: dict[str, float] = {}


class DealsSummary(BaseModel):
    count: int
    by_stage: dict[str, StageTotals]
    expected_spread_total: dict[str, float]
    open_expected_spread: dict[str, float]


class InvalidRow(BaseModel):
    row: int = Field(description="The file line number (the header is line 1)")
    field: str
    message: str


class DuplicateRow(BaseModel):
    row: int
    address: str
    duplicate_of: str = Field(description="The deal at that address, or `row N` for an earlier row of the file")


class ImportResult(BaseModel):
    added: int
    duplicates: int = Field(description="Rows skipped: the address is on a deal already, or on an earlier row")
    invalid: list[InvalidRow] = Field(description="The problems of the first 100 invalid rows (one per bad field)")
    invalid_count: int = Field(0, description="Invalid rows in all")
    duplicate_rows: list[DuplicateRow] = Field([], description="The first 100 duplicate rows")
    backup: str | None = None  # the safety backup taken before the import wrote anything
