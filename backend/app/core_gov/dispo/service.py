"""Dispositions. A deal has at most one non-fallout assignment (409 `assignment_exists`).
Assignment status moves offered -> assigned | fallout and assigned -> closed | fallout (409
`invalid_transition` otherwise). `assigned` needs the deal under_contract and moves it to
`assigned`; `fallout` returns an assigned deal to `under_contract`; both change the assignment and
the deal in one transaction on ("deals", "dispo"). `closed` comes only from the deal's
finalization (closing.service.finalize, POST /core/deals/{id}/finalize), which closes the deal and
the assignment together: a PATCH to `closed` is 409 `invalid_transition` pointing there.

Matching: a buyer fits a deal when every criterion its buy box sets holds (an empty list means
any; a criterion the deal lacks the data for does not hold). Buyer price = offer_amount (else mao)
+ assignment_fee_target; equity % = (arv - buyer price - repairs) / arv x 100.
Score 0-100 (one decimal) = 50 x E + 30 x S + 20 x T, where E = min(max((equity % - the box's
min_equity_pct, 0 when unset) / 20, 0), 1) (equity headroom above the buyer's own floor, full at 20
points), S = min(max((90 - close_speed_days) / 83, 0), 1) (7 days or faster = 1, 90 or slower or
unknown = 0), T = how many of province, market, property type the box names explicitly / 3.
Ranked by score (highest first), then name.
"""

from __future__ import annotations


from ..buyers import service as buyers_service
from ..deals import service as deals_service
from ..deals.schemas import Deal, Stage
from ..errors import Conflict, InvalidField, require_start
from ..storage import Storage, select
from . import store
from .schemas import (
    ASSIGNMENT_STARTS, Assignment, AssignmentCreate, AssignmentStatus, AssignmentUpdate, Buyer, BuyerCreate, BuyerUpdate,
    Excluded, Liquidity, Match, Matches,
)

A = AssignmentStatus
# The status machine; a PATCH makes every move but `closed`, which is the deal's finalization.
TRANSITIONS: dict[AssignmentStatus, tuple[AssignmentStatus, ...]] = {
    A.offered: (A.assigned, A.fallout),
    A.assigned: (A.closed, A.fallout),
    A.closed: (),
    A.fallout: (),
}
OPEN = (A.offered, A.assigned)


# ------------------------------------------------------------------------------ buyers


def list_buyers(db: Storage, *, active: bool | None = None, province: str | None = None, property_type: str | None = None) -> list[Buyer]:
    found = list(select(db.list(store.buyers), {"active": active}))
    if province is not None:
        found = [b for b in found if not b.buy_box.provinces or province.upper() in b.buy_box.provinces]
    if property_type is not None:
        found = [b for b in found if not b.buy_box.property_types or property_type in {t.value for t in b.buy_box.property_types}]
    return found


def get_buyer(db: Storage, buyer_id: str) -> Buyer:
    return db.get(store.buyers, buyer_id)


def create_buyer(db: Storage, data: BuyerCreate) -> Buyer:
    with db.transaction("dispo") as tx:
        return tx.add(store.buyers, data)


def update_buyer(db: Storage, buyer_id: str, data: BuyerUpdate, *, expected_version: int | None = None) -> Buyer:
    with db.transaction("dispo") as tx:
        return tx.update(store.buyers, buyer_id, data.model_dump(exclude_unset=True), expected_version=expected_version)


# ------------------------------------------------------------------------------ matching


def buyer_price(deal: Deal) -> float | None:
    base = deal.offer_amount if deal.offer_amount is not None else deal.mao
    if base is None:
        return None
    return round(base + (deal.assignment_fee_target or 0), 2)


def equity_pct(deal: Deal, price: float | None) -> float | None:
    if price is None or not deal.arv_estimate or deal.repairs_estimate is None:
        return None
    return round((deal.arv_estimate - price - deal.repairs_estimate) / deal.arv_estimate * 100, 2)


def _money(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def _fit(buyer: Buyer, deal: Deal, price: float | None, equity: float | None, close_within_days: int | None) -> tuple[list[str], list[str], int]:
    """(reasons it fits, reasons it does not, how many list criteria the box names explicitly)."""
    box = buyer.buy_box
    fits: list[str] = []
    fails: list[str] = []
    named = 0
    if not buyer.active:
        fails.append("buyer is inactive")

    province, city, ptype = deal.province, deal.city, deal.property_type.value if deal.property_type else None
    if not box.provinces:
        fits.append("province: any")
    elif province in box.provinces:
        fits.append(f"province {province} in buy box")
        named += 1
    else:
        fails.append(f"province {province or '(none)'} not in buy box ({', '.join(box.provinces)})")

    wanted_markets = {m.casefold() for m in box.markets}
    if not wanted_markets:
        fits.append("market: any")
    elif city and city.strip().casefold() in wanted_markets:
        fits.append(f"market {city} in buy box")
        named += 1
    else:
        fails.append(f"market {city or '(none)'} not in buy box ({', '.join(box.markets)})")

    types = [t.value for t in box.property_types]
    if not types:
        fits.append("property type: any")
    elif ptype in types:
        fits.append(f"property type {ptype} in buy box")
        named += 1
    else:
        fails.append(f"property type {ptype or '(none)'} not in buy box ({', '.join(types)})")

    if box.min_price is not None or box.max_price is not None:
        lo = _money(box.min_price) if box.min_price is not None else "0"
        hi = _money(box.max_price) if box.max_price is not None else "any"
        if price is None:
            fails.append("price unknown: the deal has no offer_amount or mao")
        elif (box.min_price is None or price >= box.min_price) and (box.max_price is None or price <= box.max_price):
            fits.append(f"price {_money(price)} within {lo}-{hi}")
        else:
            fails.append(f"price {_money(price)} outside {lo}-{hi}")

    if box.max_repairs is not None:
        repairs = deal.repairs_estimate
        if repairs is None:
            fails.append("repairs unknown: the deal has no repairs_estimate")
        elif repairs <= box.max_repairs:
            fits.append(f"repairs {_money(repairs)} <= max {_money(box.max_repairs)}")
        else:
            fails.append(f"repairs {_money(repairs)} over max {_money(box.max_repairs)}")

    if box.min_equity_pct is not None:
        if equity is None:
            fails.append("equity unknown: the deal needs arv_estimate, repairs_estimate and offer_amount or mao")
        elif equity >= box.min_equity_pct:
            fits.append(f"equity {equity:g}% >= min {box.min_equity_pct:g}%")
        else:
            fails.append(f"equity {equity:g}% below min {box.min_equity_pct:g}%")

    if close_within_days is not None:
        if box.close_speed_days is None:
            fails.append(f"close speed unknown; the deal must close within {close_within_days} days")
        elif box.close_speed_days <= close_within_days:
            fits.append(f"closes in {box.close_speed_days} days <= {close_within_days}")
        else:
            fails.append(f"closes in {box.close_speed_days} days, more than {close_within_days}")
    elif box.close_speed_days is not None:
        fits.append(f"closes in {box.close_speed_days} days")
    return fits, fails, named


def match_score(buyer: Buyer, equity: float | None, named: int) -> float:
    """50 x equity headroom + 30 x close speed + 20 x targeting (see the module docstring)."""
    box = buyer.buy_box
    e = 0.0 if equity is None else min(max((equity - (box.min_equity_pct or 0)) / 20, 0.0), 1.0)
    s = 0.0 if box.close_speed_days is None else min(max((90 - box.close_speed_days) / 83, 0.0), 1.0)
    t = named / 3
    return round(100 * (0.5 * e + 0.3 * s + 0.2 * t), 1)


def _liquidity(db: Storage, deal: Deal) -> Liquidity | None:
    if not (deal.province and deal.city and deal.property_type):
        return None
    found = buyers_service.score(db, province=deal.province, market=deal.city, property_type=deal.property_type.value)
    return Liquidity.model_validate(found.model_dump(mode="json"))


def deal_matches(db: Storage, deal_id: str, *, close_within_days: int | None = None) -> Matches:
    deal = deals_service.get_deal(db, deal_id)
    price = buyer_price(deal)
    equity = equity_pct(deal, price)
    liquidity: Liquidity | None = None
    liquidity_read = False
    found: list[Match] = []
    excluded: list[Excluded] = []
    for buyer in db.list(store.buyers):
        fits, fails, named = _fit(buyer, deal, price, equity, close_within_days)
        if fails:
            excluded.append(Excluded(buyer_id=buyer.id, name=buyer.name, reasons=fails))
            continue
        if not liquidity_read:
            liquidity, liquidity_read = _liquidity(db, deal), True
        found.append(Match(
            buyer_id=buyer.id, name=buyer.name, score=match_score(buyer, equity, named), reasons=fits,
            email=buyer.email, phone=buyer.phone, close_speed_days=buyer.buy_box.close_speed_days, liquidity=liquidity,
        ))
    found.sort(key=lambda m: (-m.score, m.name.casefold(), m.buyer_id))
    return Matches(deal_id=deal.id, buyer_price=price, equity_pct=equity, matches=found, excluded=excluded)


# ------------------------------------------------------------------------------ assignments


def active_assignment(db: Storage, deal_id: str) -> Assignment | None:
    """The deal's open assignment (offered or assigned), or None. Closed and fallout ones are history."""
    return next((a for a in db.list(store.assignments) if a.deal_id == deal_id and a.status in OPEN), None)


def _current_assignment(db: Storage, deal_id: str) -> Assignment | None:
    """The deal's one non-fallout assignment (open or closed), which blocks a second one."""
    return next((a for a in db.list(store.assignments) if a.deal_id == deal_id and a.status is not A.fallout), None)


def list_assignments(db: Storage, *, deal_id: str | None = None, buyer_id: str | None = None, status: str | None = None) -> list[Assignment]:
    filters = {"deal_id": deal_id, "buyer_id": buyer_id, "status": status}
    return list(select(db.list(store.assignments), filters))


def get_assignment(db: Storage, assignment_id: str) -> Assignment:
    return db.get(store.assignments, assignment_id)


def create_assignment(db: Storage, data: AssignmentCreate) -> Assignment:
    status = require_start("assignment", ASSIGNMENT_STARTS, data.status)
    with db.transaction("dispo") as tx:
        deal = deals_service.require_deal(db, data.deal_id, field="deal_id")
        buyer = tx.find(store.buyers, data.buyer_id)
        if buyer is None:
            raise InvalidField(("body", "buyer_id"), f"no buyer {data.buyer_id}")
        if not buyer.active:
            raise Conflict("buyer_inactive", f"buyer {buyer.id} ({buyer.name}) is inactive; activate it first", buyer_id=buyer.id)
        if deal.stage in deals_service.FINAL:
            raise Conflict("deal_not_open", f"deal {deal.id} is {deal.stage.value}; it cannot be assigned", deal_id=deal.id, stage=deal.stage.value)
        existing = _current_assignment(db, deal.id)
        if existing is not None:
            raise Conflict(
                "assignment_exists",
                f"deal {deal.id} already has assignment {existing.id} ({existing.status.value}); a deal has one non-fallout assignment",
                assignment_id=existing.id, status=existing.status.value,
            )
        price = data.price if data.price is not None else buyer_price(deal)
        fee = data.fee if data.fee is not None else (deal.assignment_fee_target or 0)
        return tx.add(store.assignments, {
            "deal_id": deal.id, "buyer_id": buyer.id, "price": price, "fee": fee,
            "currency": deal.currency, "status": status, "notes": data.notes,
        })


def _check_transition(current: AssignmentStatus, wanted: AssignmentStatus) -> None:
    if wanted not in TRANSITIONS[current]:
        allowed = ", ".join(s.value for s in TRANSITIONS[current]) or "nothing (final)"
        raise Conflict(
            "invalid_transition",
            f"an assignment moves offered -> assigned | fallout and assigned -> closed | fallout; {current.value} -> {wanted.value} is not allowed (allowed: {allowed})",
            current=current.value, requested=wanted.value,
        )


def update_assignment(db: Storage, assignment_id: str, data: AssignmentUpdate, *, expected_version: int | None = None) -> Assignment:
    """Field changes and status transitions; the deal's stage moves with the status."""
    changes = data.model_dump(exclude_unset=True)
    wanted = changes.pop("status", None)
    with db.transaction("deals", "dispo") as tx:
        current = tx.get(store.assignments, assignment_id)
        # Staged first so a stale If-Match is 412 before any rule; a refusal below discards it.
        updated = tx.update(store.assignments, current, changes, expected_version=expected_version)
        if current.status not in OPEN and changes.keys() - {"notes"}:
            raise Conflict(
                "assignment_final",
                f"assignment {current.id} is {current.status.value}; only its notes can change",
                status=current.status.value,
            )
        if wanted is None or wanted is current.status:
            return updated
        _check_transition(current.status, wanted)
        if wanted is A.closed:
            finalize = f"/core/deals/{current.deal_id}/finalize"
            raise Conflict(
                "invalid_transition", f"an assignment closes with its deal: POST {finalize} (the closing checklist, an execution action)",
                current=current.status.value, requested=wanted.value, finalize=finalize,
            )
        if wanted is A.assigned:
            deal = deals_service.get_deal(db, current.deal_id)
            if deal.stage is not Stage.under_contract:
                raise Conflict(
                    "deal_not_under_contract",
                    f"deal {deal.id} is {deal.stage.value}; a buyer is assigned only while the deal is under_contract",
                    deal_id=deal.id, stage=deal.stage.value,
                )
            updated = tx.update(store.assignments, updated, {"status": A.assigned}, audit="transition")
            deals_service.set_stage_by_system(db, deal.id, stage=Stage.assigned, reason=f"assignment {current.id} to buyer {current.buyer_id}")
            return updated
        # fallout: the deal goes back to under_contract if this assignment had moved it on.
        updated = tx.update(store.assignments, updated, {"status": A.fallout}, audit="transition")
        deal = deals_service.find_deal(db, current.deal_id)
        if deal is not None and deal.stage is Stage.assigned:
            deals_service.set_stage_by_system(db, deal.id, stage=Stage.under_contract, reason=f"assignment {current.id} fell out")
        return updated


def mark_assignment_closed(db: Storage, assignment_id: str) -> Assignment:
    """Close an assigned assignment. Called only by closing.service.finalize inside its
    ("deals", "dispo") transaction, so the deal and the assignment close together."""
    with db.transaction("dispo") as tx:
        current = tx.get(store.assignments, assignment_id)
        _check_transition(current.status, A.closed)
        return tx.update(store.assignments, current, {"status": A.closed}, audit="transition")
