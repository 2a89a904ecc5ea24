from __future__ import annotations

from fastapi import Response

from ..http import IfMatch, ModuleRouter, Page, StorageDep, etag, one, paginate, responses
from . import service
from .schemas import AssetType, Holding, HoldingCreate, HoldingsSummary, HoldingUpdate

router = ModuleRouter(prefix="/holdings", tags=["holdings"])


@router.post("", status_code=201, summary="Add a holding", responses=responses())
def create_holding(db: StorageDep, body: HoldingCreate) -> Holding:
    return service.create_holding(db, body)


@router.get("", summary="List holdings", responses=responses())
async def list_holdings(
    db: StorageDep, response: Response, page: Page,
    asset_type: AssetType | None = None, jurisdiction: str | None = None, currency: str | None = None,
) -> list[Holding]:
    found = service.list_holdings(db, asset_type=asset_type, jurisdiction=jurisdiction, currency=currency.upper() if currency else None)
    return paginate(response, found, page)


# Fixed paths before /{holding_id}, so "summary" is never read as an id.
@router.get("/summary", summary="Totals by currency, asset type and jurisdiction (no conversion)", responses=responses(409))
async def holdings_summary(db: StorageDep) -> HoldingsSummary:
    """A total that is not a finite number (a value beyond 1e12 stored by hand) is 409
    `amount_out_of_range` naming the holdings, never null."""
    return service.summary(db)


@router.get("/{holding_id}", summary="Get a holding", responses=responses(404))
async def get_holding(db: StorageDep, holding_id: str) -> Holding:
    return one(service.get_holding(db, holding_id))


@router.patch("/{holding_id}", summary="Change a holding (send If-Match to refuse a stale edit)", responses=responses(404, 412))
def update_holding(db: StorageDep, response: Response, holding_id: str, body: HoldingUpdate, if_match: IfMatch = None) -> Holding:
    return etag(response, service.update_holding(db, holding_id, body, expected_version=if_match))
