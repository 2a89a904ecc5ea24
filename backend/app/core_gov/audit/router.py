from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Response

from ..http import ModuleRouter, Page, StorageDep, paginate, responses
from ..storage import QueryInstant
from . import service
from .schemas import AuditAction, AuditEntry, ScanResult

router = ModuleRouter(prefix="/audit", tags=["audit"])


@router.get("", summary="The audit trail of every module, newest first", responses=responses(503))
async def list_audit(
    db: StorageDep,
    response: Response,
    page: Page,
    module: str | None = None,
    entity_id: str | None = None,
    action: AuditAction | None = None,
    since: QueryInstant | None = None,
    until: QueryInstant | None = None,
    order: Annotated[Literal["desc", "asc"], Query(description="`desc` (default): newest first, so the first page is the latest changes; `asc`: oldest first")] = "desc",
) -> list[AuditEntry]:
    """Filters: `module`, `entity_id`, `action`, and `since` (inclusive) / `until` (exclusive),
    both ISO 8601 instants with an offset. `limit`/`offset` page through the ordered trail."""
    found = service.entries(db, module=module, entity_id=entity_id, action=action.value if action else None, since=since, until=until, newest_first=order == "desc")
    return paginate(response, found, page)


@router.post("/scan", summary="Run the internal auditor: findings across modules", responses=responses(503))
def scan(db: StorageDep) -> ScanResult:
    """Read-only; a clean data set answers no findings. Each finding is {severity, code,
    module, record_id, message}, sorted high → low:
    `sent_outside_window` (comms, medium: a message sent outside the contact window with an
    override), `offer_above_policy` (offers, high: evidence whose recommended offer exceeds
    max_offer_pct_of_arv × ARV or the asking price), `deal_offer_above_policy` (deals, high: a
    deal's offer above the policy cap), `deal_closed_without_contract` (deals, high: closed
    without a signed purchase or assignment contract), `retainer_over_hours` (pros, medium:
    overage_hours > 0), `task_overdue` (pros, low: not done or canceled, past due_at)."""
    return service.scan(db)
