"""Closing a deal, the process above deals, dispo, contracts and docs. The checklist: a signed
(signed, active or completed) purchase contract and assignment contract, a title document
linked to the deal and acknowledged, and an active assignment whose fee is above 0; can_close
also needs the deal at `assigned`. finalize is an execution action (the go-live guard, 423) and
the only way a deal or an assignment closes: one transaction on ("consent", "deals", "dispo")
closes both and records an `implied_transaction` consent for the seller's phone and email
(source: the deal id)."""

from __future__ import annotations

from typing import Sequence

from ..consent import service as consent_service
from ..consent.schemas import ConsentCreate, ConsentKind
from ..contracts import service as contracts_service
from ..deals import service as deals_service
from ..deals.schemas import Deal, Stage
from ..dispo import service as dispo_service
from ..docs import service as docs_service
from ..docs.schemas import RoutingStatus
from ..errors import Conflict
from ..golive import service as golive_service
from ..storage import Storage
from .schemas import Finalization, FinalizationItem


def _signed(db: Storage, deal_id: str, kind: str) -> FinalizationItem:
    found = contracts_service.list_contracts(db, deal_id=deal_id, kind=kind)
    ok = [c for c in found if c.status in contracts_service.SIGNED]
    if ok:
        return FinalizationItem(key=f"{kind}_contract_signed", ok=True, detail=f"{kind} contract {ok[0].id} is {ok[0].status.value}")
    seen = ", ".join(f"{c.id} {c.status.value}" for c in found) or "none on file"
    return FinalizationItem(key=f"{kind}_contract_signed", ok=False, detail=f"no signed {kind} contract for this deal ({seen})")


def _title(db: Storage, deal_id: str) -> FinalizationItem:
    titles = docs_service.documents_for(db, entity_id=deal_id, doc_type="title")
    acked = [d for d in titles if d.routing_status is RoutingStatus.acknowledged]
    if acked:
        return FinalizationItem(key="title_acknowledged", ok=True, detail=f"title document {acked[0].id} acknowledged")
    if not titles:
        return FinalizationItem(key="title_acknowledged", ok=False, detail="no title document linked to this deal")
    seen = ", ".join(f"{d.id} {d.routing_status.value if d.routing_status else 'not routed'}" for d in titles)
    return FinalizationItem(key="title_acknowledged", ok=False, detail=f"title document(s) not acknowledged yet: {seen}")


def _fee(db: Storage, deal_id: str) -> FinalizationItem:
    assignment = dispo_service.active_assignment(db, deal_id)
    if assignment is None:
        return FinalizationItem(key="assignment_fee_recorded", ok=False, detail="no active assignment for this deal")
    fee = assignment.fee or 0
    return FinalizationItem(
        key="assignment_fee_recorded", ok=fee > 0,
        detail=f"assignment {assignment.id} fee {fee:,.2f}" + ("" if fee > 0 else ": must be more than 0"),
    )


def _items(db: Storage, deal_id: str) -> list[FinalizationItem]:
    return [_signed(db, deal_id, "purchase"), _signed(db, deal_id, "assignment"), _title(db, deal_id), _fee(db, deal_id)]


def finalization(db: Storage, deal_id: str) -> Finalization:
    deal = deals_service.get_deal(db, deal_id)
    items = _items(db, deal_id)
    return Finalization(deal_id=deal_id, stage=deal.stage, can_close=deal.stage is Stage.assigned and all(i.ok for i in items), items=items)


def _blockers(deal: Deal, items: Sequence[FinalizationItem]) -> list[dict[str, str]]:
    found = [{"key": i.key, "detail": i.detail} for i in items if not i.ok]
    if deal.stage is not Stage.assigned:
        found.insert(0, {"key": "stage_assigned", "detail": f"the deal is {deal.stage.value}; it closes only from assigned"})
    return found


def finalize(db: Storage, deal_id: str) -> Deal:
    golive_service.require_execution_allowed(db)
    with db.transaction("consent", "deals", "dispo"):
        deal = deals_service.get_deal(db, deal_id)
        if deal.stage in deals_service.FINAL:
            raise Conflict("invalid_transition", f"the deal is already {deal.stage.value}", current=deal.stage.value, requested=Stage.closed.value, allowed=[])
        blockers = _blockers(deal, _items(db, deal_id))
        if blockers:
            raise Conflict("finalization_blocked", f"the deal cannot close yet: {'; '.join(b['detail'] for b in blockers)}", current=deal.stage.value, blockers=blockers)
        assignment = dispo_service.active_assignment(db, deal_id)
        dispo_service.mark_assignment_closed(db, assignment.id)
        closed = deals_service.close(db, deal_id, reason=f"finalized with assignment {assignment.id}")
        for contact in (closed.seller_phone, closed.seller_email):
            if contact:
                consent_service.record_consent(db, ConsentCreate(
                    contact=contact, kind=ConsentKind.implied_transaction, obtained_at=closed.closed_at or db.now(),
                    method="deal closed", source=closed.id, proof=f"deal {closed.id} closed with assignment {assignment.id}",
                ))
        return closed
