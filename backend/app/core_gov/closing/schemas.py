from __future__ import annotations

from pydantic import BaseModel

from ..deals.schemas import Stage


class FinalizationItem(BaseModel):
    key: str
    ok: bool
    detail: str


class Finalization(BaseModel):
    deal_id: str
    stage: Stage
    can_close: bool
    items: list[FinalizationItem]
