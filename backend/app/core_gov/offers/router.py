from __future__ import annotations

from fastapi import Response

from ..http import ModuleRouter, Page, StorageDep, one, paginate, responses
from . import service
from .schemas import OfferComputation, OfferCompute, OfferEvidence, OfferIssued, OfferPolicy, OfferPolicyUpsert

router = ModuleRouter(prefix="/deals/offers", tags=["offers"])


@router.get("/policies", summary="Offer policies (seeded for the 13 provinces on first use)", responses=responses())
async def list_policies(db: StorageDep, response: Response, page: Page) -> list[OfferPolicy]:
    return paginate(response, service.policies(db), page)


@router.post("/policies/upsert", summary="Create or change the policy of a province (and market)", responses=responses())
def upsert_policy(db: StorageDep, body: OfferPolicyUpsert) -> OfferPolicy:
    """Fields left out keep their current value (or the default on a new policy)."""
    return service.upsert_policy(db, body)


@router.post("/compute", status_code=201, summary="Compute a bounded offer and store its evidence", responses=responses(409))
def compute_offer(db: StorageDep, body: OfferCompute) -> OfferComputation:
    """buyer_mao = arv x arv_multiplier - repairs - fees_buffer (may be negative);
    recommended_offer = buyer_mao - assignment_fee, capped at max_offer_pct_of_arv x arv and at
    asking_price when given, floored at min_offer and 0. `steps` shows each step and whether each
    cap applied. With a `deal_id`, `province` must be the deal's (422 naming both). 409
    `no_policy` (e.g. a US state), `policy_disabled`, `throttled`."""
    return service.compute(db, body)


@router.get("/evidence", summary="Stored offer computations (filter: deal_id)", responses=responses())
async def list_evidence(db: StorageDep, response: Response, page: Page, deal_id: str | None = None) -> list[OfferEvidence]:
    return paginate(response, service.list_evidence(db, deal_id=deal_id), page)


@router.get("/evidence/{evidence_id}", summary="One offer computation", responses=responses(404))
async def get_evidence(db: StorageDep, evidence_id: str) -> OfferEvidence:
    return one(service.get_evidence(db, evidence_id))


@router.post("/{evidence_id}/issue", summary="Issue the offer on its deal (execution action)", responses=responses(404, 409, 423))
def issue_offer(db: StorageDep, evidence_id: str) -> OfferIssued:
    """423 while go-live is off or the kill switch is engaged; 409 `already_issued`, `no_deal`,
    `throttled`, `invalid_transition` (the deal is past offer_made) or the risk cap that refused
    the WHOLESALE reserve. Then the deal gets offer_amount and mao (= buyer_mao) and moves to
    offer_made; if that fails the reserve is released."""
    return service.issue(db, evidence_id)
