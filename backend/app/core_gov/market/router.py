from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from ..fields import Fraction, Phone, Province
from ..http import ModuleRouter, Page, StorageDep, paginate, responses
from ..storage import UtcDatetime
from . import service
from .schemas import ChannelIn, ContactCheck, Market, MarketPolicy, MarketPolicyUpsert

router = ModuleRouter(prefix="/market", tags=["market"])


@router.get("/policies", summary="List contact policies (the 13 provinces are seeded on first use)", responses=responses())
async def list_policies(db: StorageDep, response: Response, page: Page, province: Province | None = None) -> list[MarketPolicy]:
    return paginate(response, [p for p in service.policies(db) if province is None or p.province == province], page)


@router.post("/policies/upsert", summary="Create or change the policy of a province and market", responses=responses())
def upsert_policy(db: StorageDep, body: MarketPolicyUpsert) -> MarketPolicy:
    """An existing (province, market) row changes only the fields sent; a new row (a city market)
    starts from the province's seeded values. The first upsert writes the whole seeded set.
    A contact window must stay inside the CRTC telemarketing hours (weekdays 09:00-21:30,
    weekends 10:00-18:00, the recipient's local time): else 422 `crtc_telemarketing_hours` on
    that window."""
    return service.upsert_policy(db, body)


@router.get("/effective", summary="The policy that applies: the market's own row, else the province's ALL row", responses=responses(409))
async def effective(db: StorageDep, province: Province, market: Market = "ALL") -> MarketPolicy:
    return service.effective(db, province=province, market=market)


@router.get("/can-contact", summary="May this channel reach this province now (or at `at`)?", responses=responses(409))
async def can_contact(
    db: StorageDep, province: Province, channel: ChannelIn, market: Market = "ALL",
    at: Annotated[UtcDatetime | None, Query(description="An instant with its offset (default now)")] = None,
    lead_score: Fraction | None = None,
    to: Annotated[Phone | None, Query(description="The number to text or call: its area code adds the zones it may ring in")] = None,
) -> ContactCheck:
    """`at` is converted to the policy's zone; windows are local wall-clock times, start
    inclusive, end exclusive, cut to the CRTC telemarketing hours. With `to`, each place its
    Canadian area code may ring in is checked too, on its own clock with that province's ALL
    policy (an area code that spans zones, e.g. 807 or 867, is checked in every one): allowed only
    when every check allows. `checks` lists them, `refused_by` names the one that refused.
    Refusal order per check: policy_disabled, channel_not_allowed, lead_score_below_minimum,
    outside_contact_window (only this one has a next_allowed_at: the first instant every check
    allows). `local_time` is the province's own."""
    return service.can_contact(db, province=province, channel=channel.value, market=market, at=at, lead_score=lead_score, to=to)
