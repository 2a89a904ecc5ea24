"""Offers: a bounded offer from a province policy (seeded for the 13 provinces, market ALL).
buyer_mao = arv x arv_multiplier - repairs - fees_buffer (may be negative); recommended_offer =
buyer_mao - assignment_fee, capped at max_offer_pct_of_arv x arv and at the asking price, floored
at min_offer and at 0. An offer for a deal uses the deal's province. Every computation is stored
as evidence and emits `offer_generated`.
Issuing is an execution action: go-live guard, a WHOLESALE risk reserve for the amount, then the
offer lands on the deal (offer_made) - or the reserve is released."""

from __future__ import annotations

from typing import Sequence

from ..deals import service as deals_service
from ..deals.schemas import Stage
from ..errors import Conflict, InvalidField
from ..golive import service as golive_service
from ..kpi import service as kpi_service
from ..regression import service as regression_service
from ..risk import service as risk_service
from ..storage import Storage
from . import store
from .schemas import OfferComputation, OfferCompute, OfferEvidence, OfferIssued, OfferPolicy, OfferPolicyUpsert, PolicyUsed, Step


def _market(value: str) -> str:
    value = value.strip()
    return "ALL" if value.upper() == "ALL" else value


def policies(db: Storage) -> Sequence[OfferPolicy]:
    """The policies: the 13 seeded provinces (written with the first upsert) and any market rows."""
    return db.list(store.policies)


def _find(found: Sequence[OfferPolicy], province: str, market: str) -> OfferPolicy | None:
    key = market.casefold()
    return next((p for p in found if p.province == province and p.market.casefold() == key), None)


def upsert_policy(db: Storage, data: OfferPolicyUpsert) -> OfferPolicy:
    market = _market(data.market)
    changes = {k: v for k, v in data.model_dump(exclude={"province", "market"}).items() if v is not None}
    with db.transaction("offers") as tx:
        current = _find(tx.list(store.policies), data.province, market)
        if current is None:
            return tx.add(store.policies, {"province": data.province, "market": market, **changes})
        return tx.update(store.policies, current, changes)


def effective_policy(db: Storage, *, province: str, market: str = "ALL") -> OfferPolicy:
    """The market's own policy, else the province's ALL; 409 no_policy / policy_disabled."""
    found = policies(db)
    market = _market(market)
    policy = _find(found, province, market) or _find(found, province, "ALL")
    if policy is None:
        raise Conflict("no_policy", f"no offer policy for {province} (market {market}); offers are computed only where a policy exists", province=province, market=market)
    if not policy.enabled:
        raise Conflict("policy_disabled", f"the offer policy for {province} (market {policy.market}) is disabled", province=province, market=policy.market, policy_id=policy.id)
    return policy


def _steps(p: OfferPolicy, arv: float, repairs: float, asking: float | None) -> tuple[list[Step], float, float]:
    buyer_mao = round(arv * p.arv_multiplier - repairs - p.fees_buffer, 2)
    offer = round(buyer_mao - p.assignment_fee, 2)
    steps = [
        Step(key="buyer_mao", formula=f"arv {arv:g} x {p.arv_multiplier:g} - repairs {repairs:g} - fees_buffer {p.fees_buffer:g}", value=buyer_mao),
        Step(key="minus_assignment_fee", formula=f"buyer_mao {buyer_mao:g} - assignment_fee {p.assignment_fee:g}", value=offer),
    ]

    def bound(key: str, formula: str, limit: float, cap: bool) -> None:
        nonlocal offer
        applied = offer > limit if cap else offer < limit
        offer = round(limit, 2) if applied else offer
        steps.append(Step(key=key, formula=f"{formula} = {limit:g}", value=offer, applied=applied))

    bound("cap_max_pct_of_arv", f"max_offer_pct_of_arv {p.max_offer_pct_of_arv:g} x arv {arv:g}", arv * p.max_offer_pct_of_arv, True)
    if asking is not None:
        bound("cap_asking_price", "asking_price", asking, True)
    bound("floor_min_offer", "min_offer", p.min_offer, False)
    bound("floor_zero", "never negative", 0, False)
    return steps, buyer_mao, offer


def compute(db: Storage, data: OfferCompute) -> OfferComputation:
    regression_service.require_not_throttled(db, "offers")
    if data.deal_id is not None:
        deal = deals_service.require_deal(db, data.deal_id)
        if deal.province != data.province:
            raise InvalidField(("body", "province"), f"deal {deal.id} is in {deal.province}, not {data.province}: compute its offer with province {deal.province}")
    policy = effective_policy(db, province=data.province, market=data.market)
    steps, buyer_mao, offer = _steps(policy, data.arv, data.repairs, data.asking_price)
    used = PolicyUsed(**policy.model_dump(include=set(PolicyUsed.model_fields)))
    with db.transaction("offers") as tx:
        ev = tx.add(store.evidence, {
            **data.model_dump(), "market": _market(data.market), "policy": used, "steps": steps,
            "buyer_mao": buyer_mao, "recommended_offer": offer,
        })
    kpi_service.record(db, metric="offer_generated", domain="offers", value=offer, ref=ev.id)
    return OfferComputation(**ev.model_dump(), evidence_id=ev.id)


def list_evidence(db: Storage, *, deal_id: str | None = None) -> list[OfferEvidence]:
    return [e for e in db.list(store.evidence) if deal_id is None or e.deal_id == deal_id]


def get_evidence(db: Storage, evidence_id: str) -> OfferEvidence:
    return db.get(store.evidence, evidence_id)


def issue(db: Storage, evidence_id: str) -> OfferIssued:
    """Guard, checks, reserve, then one transaction on deals+offers; the reserve is released
    if that transaction is refused."""
    ev = get_evidence(db, evidence_id)
    golive_service.require_execution_allowed(db)
    if ev.issued_at is not None:
        raise Conflict("already_issued", f"evidence {ev.id} was issued at {ev.issued_at.isoformat()}", evidence_id=ev.id, reservation_id=ev.reservation_id)
    if ev.deal_id is None:
        raise Conflict("no_deal", f"evidence {ev.id} names no deal; compute again with a deal_id", evidence_id=ev.id)
    regression_service.require_not_throttled(db, "offers")
    if ev.recommended_offer <= 0:
        raise Conflict("no_offer", f"the recommended offer of evidence {ev.id} is 0: nothing to issue", evidence_id=ev.id)
    deals_service.require_system_move(db, ev.deal_id, stage=Stage.offer_made)
    reservation = risk_service.reserve(db, engine="WHOLESALE", amount=ev.recommended_offer, ref=ev.id)
    done = False
    try:
        with db.transaction("deals", "offers") as tx:
            deals_service.record_offer(db, ev.deal_id, offer_amount=ev.recommended_offer, evidence_id=ev.id, mao=ev.buyer_mao)
            deal = deals_service.set_stage_by_system(db, ev.deal_id, stage=Stage.offer_made, reason=f"offer issued from evidence {ev.id}")
            current = tx.get(store.evidence, ev.id)
            if current.issued_at is not None:
                raise Conflict("already_issued", f"evidence {ev.id} was issued at {current.issued_at.isoformat()}", evidence_id=ev.id)
            issued = tx.update(store.evidence, current, {"issued_at": tx.now, "reservation_id": reservation.id}, audit="action")
        done = True
    finally:
        if not done:
            risk_service.release(db, reservation_id=reservation.id, reason=f"offer {ev.id} was refused after the reserve")
    return OfferIssued(evidence=issued, deal_id=deal.id, offer_amount=deal.offer_amount or 0, mao=deal.mao or 0, stage=deal.stage.value, reservation_id=reservation.id)
