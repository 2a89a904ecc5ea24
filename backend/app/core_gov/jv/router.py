from __future__ import annotations

from fastapi import Response

from ..http import IfMatch, ModuleRouter, Page, StorageDep, etag, one, paginate, responses
from . import service
from .schemas import (
    Link, LinkCreate, LinkStatus, LinkUpdate, Partner, PartnerCreate, PartnerDashboard, PartnerStatus, PartnerType,
    PartnerUpdate,
)

router = ModuleRouter(prefix="/jv", tags=["jv"])


@router.post("/partners", status_code=201, summary="Add a partner", responses=responses())
def create_partner(db: StorageDep, body: PartnerCreate) -> Partner:
    return service.create_partner(db, body)


@router.get("/partners", summary="List partners", responses=responses())
async def list_partners(
    db: StorageDep, response: Response, page: Page,
    partner_type: PartnerType | None = None, status: PartnerStatus | None = None, tag: str | None = None,
) -> list[Partner]:
    return paginate(response, service.list_partners(db, partner_type=partner_type, status=status, tag=tag), page)


@router.get("/partners/{partner_id}", summary="Get a partner", responses=responses(404))
async def get_partner(db: StorageDep, partner_id: str) -> Partner:
    return one(service.get_partner(db, partner_id))


@router.patch("/partners/{partner_id}", summary="Change a partner (send If-Match to refuse a stale edit)", responses=responses(404, 412))
def update_partner(db: StorageDep, response: Response, partner_id: str, body: PartnerUpdate, if_match: IfMatch = None) -> Partner:
    return etag(response, service.update_partner(db, partner_id, body, expected_version=if_match))


@router.get("/partners/{partner_id}/dashboard", summary="A partner's links by status with each deal's stage, spread and the partner's share", responses=responses(404))
async def partner_dashboard(db: StorageDep, partner_id: str) -> PartnerDashboard:
    """partner_share = split_pct x the deal's expected_spread / 100 (None when the deal has no
    expected spread or no longer exists). Totals are per link status, money per currency."""
    return service.dashboard(db, partner_id)


@router.post("/links", status_code=201, summary="Link a partner to a deal with a split", responses=responses(409))
def create_link(db: StorageDep, body: LinkCreate) -> Link:
    """Unknown partner_id or deal_id is 422 naming the field; an archived partner is 409
    `partner_archived`. The deal's active links may split at most 100 %: 409 `split_exceeds_100`
    with `current_total` (the other active links) otherwise."""
    return service.create_link(db, body)


@router.get("/links", summary="List partner-deal links", responses=responses())
async def list_links(
    db: StorageDep, response: Response, page: Page,
    partner_id: str | None = None, deal_id: str | None = None, status: LinkStatus | None = None,
) -> list[Link]:
    return paginate(response, service.list_links(db, partner_id=partner_id, deal_id=deal_id, status=status), page)


@router.patch("/links/{link_id}", summary="Change a link's role, split, status or notes", responses=responses(404, 409, 412))
def update_link(db: StorageDep, response: Response, link_id: str, body: LinkUpdate, if_match: IfMatch = None) -> Link:
    """Changing an active link's split, or re-activating a closed or canceled link, is checked
    against the deal's 100 % cap (409 `split_exceeds_100` with `current_total`)."""
    return etag(response, service.update_link(db, link_id, body, expected_version=if_match))
