from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from ..http import IfMatch, ModuleRouter, Page, StorageDep, etag, one, paginate, responses
from . import service
from .schemas import (
    Assignment, AssignmentCreate, AssignmentStatus, AssignmentUpdate, Buyer, BuyerCreate, BuyerUpdate, Matches,
    PropertyType,
)

router = ModuleRouter(prefix="/dispo", tags=["dispo"])


@router.post("/buyers", status_code=201, summary="Add a cash buyer with a buy box", responses=responses())
def create_buyer(db: StorageDep, body: BuyerCreate) -> Buyer:
    return service.create_buyer(db, body)


@router.get("/buyers", summary="List buyers (province / property_type: buy boxes that accept it)", responses=responses())
async def list_buyers(
    db: StorageDep, response: Response, page: Page,
    active: bool | None = None, province: str | None = None, property_type: PropertyType | None = None,
) -> list[Buyer]:
    found = service.list_buyers(db, active=active, province=province, property_type=property_type.value if property_type else None)
    return paginate(response, found, page)


@router.get("/buyers/{buyer_id}", summary="Get a buyer", responses=responses(404))
async def get_buyer(db: StorageDep, buyer_id: str) -> Buyer:
    return one(service.get_buyer(db, buyer_id))


@router.patch("/buyers/{buyer_id}", summary="Change a buyer (buy_box is replaced whole; If-Match refuses a stale edit)", responses=responses(404, 412))
def update_buyer(db: StorageDep, response: Response, buyer_id: str, body: BuyerUpdate, if_match: IfMatch = None) -> Buyer:
    return etag(response, service.update_buyer(db, buyer_id, body, expected_version=if_match))


@router.get("/deals/{deal_id}/matches", summary="Buyers whose buy box fits the deal, ranked, and those excluded with reasons", responses=responses(404))
async def deal_matches(
    db: StorageDep, deal_id: str,
    close_within_days: Annotated[int | None, Query(ge=1, le=365, description="The deal must close within this many days: buyers slower (or of unknown speed) are excluded")] = None,
) -> Matches:
    """A buyer matches when every criterion its buy box sets holds: province, market (the deal's
    city, case-insensitive), property type (an empty list means any), price (buyer price =
    offer_amount, else mao, + assignment_fee_target, within min/max), repairs_estimate <=
    max_repairs, equity % = (arv - buyer price - repairs) / arv x 100 >= min_equity_pct, and
    close_speed_days <= `close_within_days` when given. Inactive buyers and buyers missing a
    criterion are in `excluded` with every failing reason.

    Score 0-100 = 50 x E + 30 x S + 20 x T: E = equity headroom above the box's min_equity_pct
    (0 when unset), full at 20 points; S = (90 - close_speed_days) / 83 clamped to 0..1 (unknown = 0);
    T = how many of province, market, property type the box names explicitly, / 3. Ranked by
    score, then name. Each match carries the market's liquidity (buyers liquidity score for the
    deal's province, city and property type)."""
    return service.deal_matches(db, deal_id, close_within_days=close_within_days)


@router.post("/assignments", status_code=201, summary="Offer a deal to a buyer (one non-fallout assignment per deal)", responses=responses(409))
def create_assignment(db: StorageDep, body: AssignmentCreate) -> Assignment:
    """Starts `offered`. Unknown deal_id / buyer_id are 422 naming the field; an inactive buyer is
    409 `buyer_inactive`, a closed or dead deal 409 `deal_not_open`, a deal that already has an
    offered, assigned or closed assignment 409 `assignment_exists`. price defaults to the deal's
    offer_amount (else mao) + assignment_fee_target, fee to its assignment_fee_target."""
    return service.create_assignment(db, body)


@router.get("/assignments", summary="List assignments", responses=responses())
async def list_assignments(
    db: StorageDep, response: Response, page: Page,
    deal_id: str | None = None, buyer_id: str | None = None, status: AssignmentStatus | None = None,
) -> list[Assignment]:
    return paginate(response, service.list_assignments(db, deal_id=deal_id, buyer_id=buyer_id, status=status), page)


@router.get("/assignments/{assignment_id}", summary="Get an assignment", responses=responses(404))
async def get_assignment(db: StorageDep, assignment_id: str) -> Assignment:
    return one(service.get_assignment(db, assignment_id))


@router.patch("/assignments/{assignment_id}", summary="Change an assignment or move its status (the deal's stage moves with it)", responses=responses(404, 409, 412))
def update_assignment(db: StorageDep, response: Response, assignment_id: str, body: AssignmentUpdate, if_match: IfMatch = None) -> Assignment:
    """Status: offered -> assigned | fallout, assigned -> fallout (else 409 `invalid_transition`).
    `assigned` needs the deal under_contract (409 `deal_not_under_contract`) and moves it to
    `assigned`; `fallout` returns an assigned deal to `under_contract`. An assignment closes only
    with its deal: `closed` is 409 `invalid_transition` naming `finalize`, POST
    /core/deals/{deal_id}/finalize (the closing checklist, an execution action). Closed and
    fallout assignments keep their price and fee (409 `assignment_final`)."""
    return etag(response, service.update_assignment(db, assignment_id, body, expected_version=if_match))
