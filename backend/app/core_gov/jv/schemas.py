from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from ..fields import Email, Name, Percent, Phone, Tags, Text
from ..storage import Input, Record


class PartnerType(str, Enum):
    buyer = "buyer"
    lender = "lender"
    jv = "jv"
    vendor = "vendor"
    agent = "agent"
    other = "other"


class PartnerStatus(str, Enum):
    active = "active"
    paused = "paused"
    archived = "archived"


class LinkStatus(str, Enum):
    active = "active"
    closed = "closed"
    canceled = "canceled"


class PartnerCreate(Input):
    name: Name
    partner_type: PartnerType
    status: PartnerStatus = PartnerStatus.active
    email: Email | None = None
    phone: Phone | None = None
    tags: Tags = []
    notes: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "name": "Maple Capital Partners", "partner_type": "jv", "status": "active",
        "email": "Deals@MapleCap.example", "phone": "(604) 555-0142", "tags": ["Capital", "BC"],
        "notes": "Funds EMD on BC deals, 50/50 splits",
    }]}}


class PartnerUpdate(Input):
    name: Name = None
    partner_type: PartnerType = None
    status: PartnerStatus = None
    email: Email | None = None
    phone: Phone | None = None
    tags: Tags = None
    notes: Text | None = None


class Partner(Record):
    name: str
    partner_type: PartnerType
    status: PartnerStatus = PartnerStatus.active
    email: str | None = None
    phone: str | None = None
    tags: list[str] = []
    notes: Text | None = None


class LinkCreate(Input):
    partner_id: str
    deal_id: str
    role: Name = Field(description="What the partner does on this deal, e.g. capital, co-wholesaler, agent")
    split_pct: Percent = Field(description="The partner's share of the deal's expected spread, 0-100")
    status: LinkStatus = LinkStatus.active
    notes: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "partner_id": "jvp_01jc9x0000abcdefghjk", "deal_id": "dl_01jc9x0000abcdefghjk",
        "role": "capital", "split_pct": 40, "notes": "Funds the deposit",
    }]}}


class LinkUpdate(Input):
    role: Name = None
    split_pct: Percent = None
    status: LinkStatus = None
    notes: Text | None = None


class Link(Record):
    partner_id: str
    deal_id: str
    role: str
    split_pct: float
    status: LinkStatus = LinkStatus.active
    notes: Text | None = None


class DashboardLink(BaseModel):
    link_id: str
    deal_id: str
    role: str
    split_pct: float
    status: LinkStatus
    deal_stage: str | None = Field(description="None when the deal no longer exists")
    deal_address: str | None = None
    currency: str = "CAD"
    expected_spread: float | None
    partner_share: float | None = Field(description="split_pct x expected_spread / 100")


class StatusTotals(BaseModel):
    count: int = 0
    expected_spread: dict[str, float] = Field(default={}, description="Per currency")
    partner_share: dict[str, float] = Field(default={}, description="Per currency")


class PartnerDashboard(BaseModel):
    partner: Partner
    links_by_status: dict[str, list[DashboardLink]]
    totals: dict[str, StatusTotals] = Field(description="Per link status; money per currency, never converted")
