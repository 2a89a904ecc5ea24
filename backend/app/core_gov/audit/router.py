from __future__ import annotations

from fastapi import APIRouter, Response

from ..http import Page, StorageDep, paginate, responses
from ..storage import UtcDatetime
from . import service
from .schemas import AuditAction, AuditEntry

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", summary="The audit trail of every module, oldest first", responses=responses(503))
def list_audit(
    db: StorageDep,
    response: Response,
    page: Page,
    module: str | None = None,
    entity_id: str | None = None,
    action: AuditAction | None = None,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
) -> list[AuditEntry]:
    """Filters: `module`, `entity_id`, `action`, and `since` (inclusive) / `until` (exclusive),
    both ISO 8601 instants with an offset."""
    found = service.entries(db, module=module, entity_id=entity_id, action=action.value if action else None, since=since, until=until)
    return paginate(response, found, page)
