from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from ..fields import Currency, Email, Money, Name, Phone, Text, starts_in
from ..storage import Input, Record, UtcDatetime


class ContractKind(str, Enum):
    purchase = "purchase"
    assignment = "assignment"
    jv = "jv"
    retainer = "retainer"
    other = "other"


class ContractStatus(str, Enum):
    draft = "draft"
    sent = "sent"
    signed = "signed"
    active = "active"
    completed = "completed"
    terminated = "terminated"
    expired = "expired"


STARTS = (ContractStatus.draft,)


class Party(BaseModel):
    """A party to the contract. A bare string is read as the party's name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    role: Name | None = None
    email: Email | None = None
    phone: Phone | None = None


def _parties(value: Any) -> Any:
    if isinstance(value, list):
        return [{"name": v} if isinstance(v, str) else v for v in value]
    return value


class ContractCreate(Input):
    kind: ContractKind
    title: Name | None = None
    deal_id: str | None = None
    parties: list[Party] = []
    amount: Money | None = None
    currency: Currency = "CAD"
    expires_at: UtcDatetime | None = None
    notes: Text | None = None
    status: ContractStatus | None = starts_in(STARTS)

    _split_parties = field_validator("parties", mode="before")(staticmethod(_parties))

    model_config = {"json_schema_extra": {"examples": [{
        "kind": "purchase", "title": "APS 12 Elm St", "deal_id": "dl_01J0EXAMPLE",
        "parties": [{"name": "Jane Seller", "role": "seller"}, {"name": "Valhalla Holdings Inc.", "role": "buyer"}],
        "amount": 310000, "currency": "CAD", "expires_at": "2026-03-31T21:00:00Z", "notes": "Conditional on inspection",
    }]}}


class ContractUpdate(Input):
    """Every field optional; `status` moves the contract (only valid transitions)."""

    title: Name | None = None
    deal_id: str | None = None
    parties: list[Party] = None
    amount: Money | None = None
    currency: Currency = None
    expires_at: UtcDatetime | None = None
    notes: Text | None = None
    status: ContractStatus = None
    signed_at: UtcDatetime = None

    _split_parties = field_validator("parties", mode="before")(staticmethod(_parties))


class Contract(Record):
    kind: ContractKind
    title: str | None = None
    deal_id: str | None = None
    parties: list[Party] = []
    amount: float | None = None
    currency: str = "CAD"
    status: ContractStatus = ContractStatus.draft
    signed_at: UtcDatetime | None = None
    expires_at: UtcDatetime | None = None
    notes: Text | None = None
