from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from ..http import ModuleRouter, Page, StorageDep, one, paginate, responses
from ..storage import QueryInstant
from . import service
from .schemas import DueBatch, Ladder, LadderCreate, Sla, Task, TaskStatus

router = ModuleRouter(prefix="/followups", tags=["followups"])


@router.post("/ladder/create", status_code=201, summary="Create the 6-step follow-up ladder for a deal", responses=responses(409))
def create_ladder(db: StorageDep, body: LadderCreate) -> Ladder:
    """SMS +0 min, CALL +30, SMS +180, CALL +1440, SMS +4320, CALL +10080 after start_at (default
    now). Each step is due at the first time contact is allowed (the province's window and the
    window where the seller's number rings, see `/core/market/can-contact`) that is no earlier
    than its nominal time (start_at + offset) and no earlier than the previous step's due time
    plus the gap between their offsets: a ladder started on a Saturday evening runs Mon 09:00,
    09:30, 12:00, Tue 09:00, Thu 09:00, the next Mon 09:00, not three touches at Mon 09:00. The
    contact is the deal's seller phone (and email). 409 throttled when regression throttles
    `followups`; 409 ladder_open when the deal already has open follow-ups; 409 with the policy's
    reason when a step can never be allowed."""
    return service.create_ladder(db, body)


@router.get("/due", summary="The dispatch batch: open tasks due now that may be contacted", responses=responses())
async def due(
    db: StorageDep, as_of: QueryInstant | None = None, owner: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DueBatch:
    """While go-live is off or the kill switch is engaged: no tasks, `halted` says why. Otherwise
    open tasks with due_at <= as_of (default now), oldest first. What mark_sent would refuse is
    listed in `held_back` with the reason and, for the send permission's refusals, mark_sent's
    `detail`: suppressed contacts; a call's stale DNCL copy or a DNCL-listed number without a valid
    exemption; an SMS without a valid CASL consent (no_consent, consent_expired); contacts outside
    the contact window at as_of (the province's or where the number rings)."""
    return service.due(db, as_of=as_of, owner=owner, limit=limit)


@router.get("/sla", summary="Share of tasks completed within 30 min and 2 h of due", responses=responses())
async def sla(db: StorageDep, since: QueryInstant | None = None) -> Sla:
    return service.sla(db, since=since)


@router.get("/tasks", summary="List follow-up tasks", responses=responses())
async def list_tasks(
    db: StorageDep, response: Response, page: Page, deal_id: str | None = None, status: TaskStatus | None = None,
    owner: str | None = None, ladder_id: str | None = None,
) -> list[Task]:
    return paginate(response, service.list_tasks(db, deal_id=deal_id, status=status, owner=owner, ladder_id=ladder_id), page)


@router.get("/tasks/{task_id}", summary="Get a follow-up task", responses=responses(404))
async def get_task(db: StorageDep, task_id: str) -> Task:
    return one(service.get_task(db, task_id))
