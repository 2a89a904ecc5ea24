from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from ..fields import CA_PROVINCES, Money, Name, Province, Region
from ..storage import Input, Record, UtcDatetime

Multiplier = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class OfferPolicyUpsert(Input):
    province: Province
    market: Name = Field("ALL", description="ALL, or a city (matched case-insensitively)")
    arv_multiplier: Multiplier | None = None
    fees_buffer: Money | None = None
    assignment_fee: Money | None = None
    max_offer_pct_of_arv: Multiplier | None = None
    min_offer: Money | None = None
    enabled: bool | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "province": "ON", "market": "ALL", "arv_multiplier": 0.7, "fees_buffer": 2500, "assignment_fee": 10000,
        "max_offer_pct_of_arv": 0.75, "min_offer": 0, "enabled": True,
    }]}}


class OfferPolicy(Record):
    province: Province
    market: str = "ALL"
    arv_multiplier: float = 0.70
    fees_buffer: float = 2500
    assignment_fee: float = 10000
    max_offer_pct_of_arv: float = 0.75
    min_offer: float = 0
    enabled: bool = True


class OfferCompute(Input):
    deal_id: str | None = None
    province: Region
    market: Name = "ALL"
    arv: Money
    repairs: Money
    asking_price: Money | None = None
    comps: list[dict[str, Any]] = Field([], description="The comps behind the ARV, kept as evidence")
    assumptions: dict[str, Any] = Field({}, description="Anything else the number rests on, kept as evidence")

    model_config = {"json_schema_extra": {"examples": [{
        "deal_id": "dl_01J...", "province": "ON", "market": "ALL", "arv": 300000, "repairs": 30000,
        "asking_price": 190000, "comps": [{"address": "40 Oak Ave", "sale_price": 305000}],
        "assumptions": {"hold_days": 30},
    }]}}


class PolicyUsed(BaseModel):
    id: str
    province: str
    market: str
    arv_multiplier: float
    fees_buffer: float
    assignment_fee: float
    max_offer_pct_of_arv: float
    min_offer: float


class Step(BaseModel):
    key: str
    formula: str
    value: float
    applied: bool | None = None  # caps and floors: whether it changed the offer


class OfferEvidence(Record):
    deal_id: str | None = None
    province: str
    market: str
    arv: float
    repairs: float
    asking_price: float | None = None
    comps: list[dict[str, Any]] = []
    assumptions: dict[str, Any] = {}
    policy: PolicyUsed
    steps: list[Step]
    buyer_mao: float
    recommended_offer: float
    currency: str = "CAD"
    issued_at: UtcDatetime | None = None
    reservation_id: str | None = None


class OfferComputation(OfferEvidence):
    evidence_id: str


class OfferIssued(BaseModel):
    evidence: OfferEvidence
    deal_id: str
    offer_amount: float
    mao: float
    stage: str
    reservation_id: str


def seed_policies() -> list[dict]:
    """One enabled policy per province (market ALL) with the model's defaults."""
    return [{"id": f"op_{p.lower()}_all", "province": p, "market": "ALL"} for p in CA_PROVINCES]
