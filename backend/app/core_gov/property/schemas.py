from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ..fields import Money, Name, Percent, PropertyType, Region, Tags, Text
from ..storage import Input, Record

Country = Literal["CA", "US"]
Beds = Annotated[int, Field(ge=0, le=100)]
Baths = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Sqft = Annotated[int, Field(gt=0, le=1_000_000)]
YearBuilt = Annotated[int, Field(ge=1600, le=2100)]
Months = Annotated[int, Field(ge=1, le=60)]


class Confidence(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"


class PropertyCreate(Input):
    address: Name
    city: Name
    region: Region
    country: Country | None = Field(None, description="CA or US; derived from the region when left out, 422 when it contradicts it")
    postal: str | None = Field(None, description="CA: A1A 1A1 (stored upper-case with a space); US: 12345 or 12345-6789")
    property_type: PropertyType
    beds: Beds | None = None
    baths: Baths | None = None
    sqft: Sqft | None = None
    year_built: YearBuilt | None = None
    deal_id: str | None = None
    last_sale_price: Money | None = None
    last_sale_date: date | None = None
    tags: Tags = []

    model_config = {"json_schema_extra": {"examples": [{
        "address": "12 Elm Street", "city": "Hamilton", "region": "ON", "postal": "l8p 4r5",
        "property_type": "sfr", "beds": 3, "baths": 1.5, "sqft": 1400, "year_built": 1952,
        "last_sale_price": 520000, "last_sale_date": "2025-09-15", "tags": ["bungalow"],
    }]}}


class PropertyUpdate(Input):
    address: Name = None
    city: Name = None
    region: Region = None
    country: Country | None = None
    postal: str | None = None
    property_type: PropertyType = None
    beds: Beds | None = None
    baths: Baths | None = None
    sqft: Sqft | None = None
    year_built: YearBuilt | None = None
    deal_id: str | None = None
    last_sale_price: Money | None = None
    last_sale_date: date | None = None
    tags: Tags = None


class Property(Record):
    address: str
    city: str
    region: Region
    country: Country
    postal: str | None = None
    property_type: PropertyType
    beds: int | None = None
    baths: float | None = None
    sqft: int | None = None
    year_built: int | None = None
    deal_id: str | None = None
    last_sale_price: float | None = None
    last_sale_date: date | None = None
    tags: Tags = []


class RatingInput(Input):
    score: Percent
    factors: dict[str, Any] = {}
    notes: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "score": 72, "factors": {"schools": 8, "transit": "bus 5 min", "crime": "low"}, "notes": "quiet street",
    }]}}


class NeighborhoodRating(Record):
    property_id: str
    score: float
    factors: dict[str, Any] = {}
    notes: Text | None = None


class LineItem(BaseModel):
    model_config = {"extra": "forbid"}

    description: Name
    cost: Money


class RepairRentInput(Input):
    line_items: list[LineItem] = []
    rent_estimate: Money | None = None
    notes: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "line_items": [{"description": "Roof", "cost": 12000}, {"description": "Kitchen", "cost": 18000}],
        "rent_estimate": 2400, "notes": "contractor walk-through 2026-01-04",
    }]}}


class RepairRent(Record):
    property_id: str
    line_items: list[LineItem] = []
    repairs_total: float = 0
    rent_estimate: float | None = None
    notes: Text | None = None


class OperatorComp(Input):
    address: Name
    sale_price: Annotated[Money, Field(gt=0)]
    sale_date: date
    sqft: Sqft | None = None
    beds: Beds | None = None


class CompsRequest(Input):
    property_id: str
    comps: list[OperatorComp] = Field([], description="Sales the operator knows of, used as given (source operator)")
    months: Months = Field(12, description="Stored sales count only when sold within this many months of now")

    model_config = {"json_schema_extra": {"examples": [{
        "property_id": "pr_01J...", "months": 12,
        "comps": [{"address": "40 Oak Ave", "sale_price": 505000, "sale_date": "2025-11-02", "sqft": 1350, "beds": 3}],
    }]}}


class Comp(BaseModel):
    model_config = {"extra": "forbid", "frozen": True}

    address: str
    sale_price: float
    sale_date: date
    sqft: int | None = None
    beds: int | None = None
    price_per_sqft: float | None = None
    source: Literal["stored", "operator"]
    property_id: str | None = None


class CompsSet(Record):
    subject_id: str
    comps: list[Comp] = []
    count: int = 0
    median_price_per_sqft: float | None = None
    arv_estimate: float | None = None
    confidence: Confidence = Confidence.low
    scope: Literal["city", "region"] = "city"
    months: int = 12

