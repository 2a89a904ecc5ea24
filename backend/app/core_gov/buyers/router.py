from __future__ import annotations

from fastapi import Response

from ..fields import Name, Province
from ..http import ModuleRouter, Page, StorageDep, paginate, responses
from . import service
from .schemas import Feedback, FeedbackCreate, Label, LiquidityScore, PropertyType

router = ModuleRouter(prefix="/buyers", tags=["buyers"])


@router.post("/liquidity/feedback", status_code=201, summary="Record a buyer's reaction to a deal sent out", responses=responses())
def record_feedback(db: StorageDep, body: FeedbackCreate) -> Feedback:
    """Appends to buyers/feedback.jsonl and emits the `buyer_feedback` KPI (success = responded or bought)."""
    return service.record_feedback(db, body)


@router.get("/liquidity/nodes", summary="Liquidity per province x market x property type (last 90 days)", responses=responses())
async def nodes(db: StorageDep, response: Response, page: Page, province: Province | None = None, label: Label | None = None) -> list[LiquidityScore]:
    """Best score first. response rate = events other than no_response / all; close rate =
    bought / all; each smoothed (k + 2.5) / (n + 5); score = 100 x (0.4 response + 0.4 close +
    0.2 min(active buyers / 10, 1)); hot >= 70, warm >= 50, else cold."""
    return paginate(response, service.nodes(db, province=province, label=label), page)


@router.get("/liquidity/score", summary="Liquidity score of one province x market x property type", responses=responses())
async def score(db: StorageDep, province: Province, market: Name, property_type: PropertyType) -> LiquidityScore:
    """With no feedback in the last 90 days: 40.0 (both rates smoothed to 0.5, no active buyers), cold."""
    return service.score(db, province=province, market=market, property_type=property_type.value)
