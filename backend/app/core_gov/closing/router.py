"""Closing routes, under the deal they close: /core/deals/{deal_id}/finalization and /finalize."""

from __future__ import annotations

from ..deals.schemas import Deal
from ..http import ModuleRouter, StorageDep, responses
from . import service
from .schemas import Finalization

router = ModuleRouter(prefix="/deals", tags=["deals"])


@router.get("/{deal_id}/finalization", summary="The closing checklist and whether the deal can close", responses=responses(404))
async def finalization(db: StorageDep, deal_id: str) -> Finalization:
    """Items: purchase_contract_signed, assignment_contract_signed (contracts signed, active or
    completed), title_acknowledged (a title document linked to the deal, routed and acknowledged),
    assignment_fee_recorded (the active assignment's fee > 0). can_close also needs stage `assigned`."""
    return service.finalization(db, deal_id)


@router.post("/{deal_id}/finalize", summary="Close the deal and its assignment (execution action)", responses=responses(404, 409, 423))
def finalize(db: StorageDep, deal_id: str) -> Deal:
    """423 while go-live is off or the kill switch is engaged; 409 `finalization_blocked` listing
    every blocker; else the deal and its active assignment close together (the only way either closes)."""
    return service.finalize(db, deal_id)
