from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ..fields import Currency, Email, Money, Name, Percent, Phone, PropertyType, Region, Text, starts_in
from ..storage import Input, Record

City = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class AssignmentStatus(str, Enum):
    offered = "offered"
    assigned = "assigned"
    closed = "closed"
    fallout = "fallout"


class BuyBox(BaseModel):
    """What a buyer buys. An empty list means "any"; a missing bound means "no bound"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provinces: list[Region] = []
    markets: list[City] = Field(default=[], description="Cities (case-insensitive); empty = any")
    property_types: list[PropertyType] = []
    min_price: Money | None = None
    max_price: Money | None = None
    max_repairs: Money | None = None
    min_equity_pct: Percent | None = None
    close_speed_days: Annotated[int, Field(ge=1, le=365)] | None = Field(default=None, description="How many days the buyer needs to close")

    @model_validator(mode="after")
    def _bounds(self) -> "BuyBox":
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        return self


class BuyerCreate(Input):
    name: Name
    email: Email | None = None
    phone: Phone | None = None
    active: bool = True
    buy_box: BuyBox = BuyBox()
    notes: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "name": "Northside Rentals Ltd.", "email": "deals@northside.example", "phone": "416-555-0199", "active": True,
        "buy_box": {
            "provinces": ["ON"], "markets": ["Hamilton", "Toronto"], "property_types": ["sfr", "duplex"],
            "min_price": 150000, "max_price": 450000, "max_repairs": 60000, "min_equity_pct": 20,
            "close_speed_days": 14,
        },
        "notes": "Pays cash, prefers east end",
    }]}}


class BuyerUpdate(Input):
    name: Name = None
    email: Email | None = None
    phone: Phone | None = None
    active: bool = None
    buy_box: BuyBox = Field(default=None, description="Replaces the whole buy box")
    notes: Text | None = None


class Buyer(Record):
    name: str
    email: str | None = None
    phone: str | None = None
    active: bool = True
    buy_box: BuyBox = BuyBox()
    notes: Text | None = None


class Liquidity(BaseModel):
    """The market's buyer liquidity (buyers.service.score) for the deal's province, city and type."""

    province: str
    market: str
    property_type: str
    events: int
    active_buyers: int
    response_rate: float
    close_rate: float
    score: float
    label: str


class Match(BaseModel):
    buyer_id: str
    name: str
    score: float
    reasons: list[str]
    email: str | None = None
    phone: str | None = None
    close_speed_days: int | None = None
    liquidity: Liquidity | None


class Excluded(BaseModel):
    buyer_id: str
    name: str
    reasons: list[str]


class Matches(BaseModel):
    deal_id: str
    buyer_price: float | None = Field(description="offer_amount (else mao) + assignment_fee_target")
    equity_pct: float | None = Field(description="(arv - buyer price - repairs) / arv x 100")
    matches: list[Match]
    excluded: list[Excluded]


ASSIGNMENT_STARTS = (AssignmentStatus.offered,)


class AssignmentCreate(Input):
    deal_id: str
    buyer_id: str
    price: Money | None = Field(default=None, description="The buyer's price; default offer_amount (else mao) + assignment_fee_target")
    fee: Money | None = Field(default=None, description="The assignment fee; default the deal's assignment_fee_target")
    notes: Text | None = None
    status: AssignmentStatus | None = starts_in(ASSIGNMENT_STARTS)

    model_config = {"json_schema_extra": {"examples": [{
        "deal_id": "dl_01jc9x0000abcdefghjk", "buyer_id": "dbuy_01jc9x0000abcdefghjk",
        "price": 215000, "fee": 12000, "notes": "Verbal yes on the walkthrough",
    }]}}


class AssignmentUpdate(Input):
    price: Money | None = None
    fee: Money = None
    status: AssignmentStatus = None
    notes: Text | None = None


class Assignment(Record):
    deal_id: str
    buyer_id: str
    price: float | None = None  # None: the deal had no offer_amount or mao to price it from
    fee: float = 0
    currency: Currency = "CAD"
    status: AssignmentStatus = AssignmentStatus.offered
    notes: Text | None = None
