from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from ..fields import Region
from ..http import IfMatch, ModuleRouter, Page, ReasonQuery, StorageDep, etag, one, paginate, responses
from . import service
from .schemas import (
    Alignment, AlignRequest, Handoff, HandoffCreate, HandoffStatus, HandoffUpdate, HoursInput, Professional, ProfessionalCreate,
    ProfessionalUpdate, ProKind, ProStatus, Retainer, RetainerCreate, RetainerHours, RetainerStatus, RetainerUpdate, Scorecard,
    Signal, SignalInput, Task, TaskCreate, TaskStatus, TaskUpdate,
)

router = ModuleRouter(prefix="/pros", tags=["pros"])


@router.post("", status_code=201, summary="Add a professional", responses=responses())
def create_pro(db: StorageDep, body: ProfessionalCreate) -> Professional:
    return service.create_pro(db, body)


@router.get("", summary="List professionals", responses=responses())
async def list_pros(
    db: StorageDep, response: Response, page: Page,
    kind: ProKind | None = None, jurisdiction: Region | None = None, specialty: str | None = None, status: ProStatus | None = None,
) -> list[Professional]:
    found = service.list_pros(db, kind=kind, jurisdiction=jurisdiction, specialty=specialty.strip().lower() if specialty else None, status=status)
    return paginate(response, found, page)


# Fixed paths (/align, /retainers, /handoffs, /tasks) before /{pro_id}.
@router.post("/align", summary="Rank the active professionals for a kind of work in a jurisdiction", responses=responses())
def align(db: StorageDep, body: AlignRequest) -> Alignment:
    """Candidates: active professionals of `kind` whose jurisdictions include `jurisdiction`,
    ranked by score (then name). score = 0.5·S + 0.2·T + 0.3·M (0–100, one decimal), where
    S = the latest signal score (50 when never scored), T = 100 × the on-time task rate from
    the scorecard (50 with no judged task), M = 100 when no specialty is asked or the
    professional lists it, else 0. Each match carries the reasons behind its score."""
    return service.align(db, body)


# ---------------------------------------------------------------------------- retainers


@router.post("/retainers", status_code=201, summary="Propose a retainer with a professional", responses=responses())
def create_retainer(db: StorageDep, body: RetainerCreate) -> Retainer:
    return service.create_retainer(db, body)


@router.get("/retainers", summary="List retainers", responses=responses())
async def list_retainers(db: StorageDep, response: Response, page: Page, pro_id: str | None = None, status: RetainerStatus | None = None) -> list[Retainer]:
    return paginate(response, service.list_retainers(db, pro_id=pro_id, status=status), page)


@router.get("/retainers/{retainer_id}", summary="Get a retainer", responses=responses(404))
async def get_retainer(db: StorageDep, retainer_id: str) -> Retainer:
    return one(service.get_retainer(db, retainer_id))


@router.patch("/retainers/{retainer_id}", summary="Change a retainer or move its status", responses=responses(404, 409, 412))
def update_retainer(db: StorageDep, response: Response, retainer_id: str, body: RetainerUpdate, if_match: IfMatch = None) -> Retainer:
    """Status: proposed → active | ended; active → paused | ended; paused → active | ended;
    ended is final (409 `invalid_transition` with `allowed`). Changing `hours_included`
    recomputes `utilisation` and `overage_hours`."""
    return etag(response, service.update_retainer(db, retainer_id, body, expected_version=if_match))


@router.delete("/retainers/{retainer_id}", summary="Delete a retainer that is not active (reason required)", responses=responses(404, 409))
def delete_retainer(db: StorageDep, retainer_id: str, reason: ReasonQuery) -> Retainer:
    return service.delete_retainer(db, retainer_id, reason=reason)


@router.post("/retainers/{retainer_id}/hours", summary="Log hours worked on an active retainer", responses=responses(404, 409))
def log_hours(db: StorageDep, retainer_id: str, body: HoursInput) -> Retainer:
    """Adds to `hours_used`; `utilisation` = hours_used / hours_included (a fraction, 1.2 = 120%)
    and `overage_hours` = max(0, hours_used − hours_included). Only an active retainer takes
    hours (409 `retainer_not_active`). Answers the updated retainer."""
    return service.log_hours(db, retainer_id, body)


@router.get("/retainers/{retainer_id}/hours", summary="The hours logged on a retainer, oldest first", responses=responses(404))
async def list_hours(db: StorageDep, response: Response, page: Page, retainer_id: str) -> list[RetainerHours]:
    return paginate(response, service.list_hours(db, retainer_id), page)


# ---------------------------------------------------------------------------- handoffs


@router.post("/handoffs", status_code=201, summary="Hand work from one professional to another", responses=responses())
def create_handoff(db: StorageDep, body: HandoffCreate) -> Handoff:
    """`from` and `to` are professional ids (both must exist and differ), `deal_id` and every
    `task_ids` entry must exist; `checklist` items are strings or {item, done}."""
    return service.create_handoff(db, body)


@router.get("/handoffs", summary="List handoffs", responses=responses())
async def list_handoffs(
    db: StorageDep, response: Response, page: Page,
    from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None,
    deal_id: str | None = None, status: HandoffStatus | None = None,
) -> list[Handoff]:
    return paginate(response, service.list_handoffs(db, from_=from_, to=to, deal_id=deal_id, status=status), page)


@router.get("/handoffs/{handoff_id}", summary="Get a handoff", responses=responses(404))
async def get_handoff(db: StorageDep, handoff_id: str) -> Handoff:
    return one(service.get_handoff(db, handoff_id))


@router.patch("/handoffs/{handoff_id}", summary="Update a handoff's checklist or move its status", responses=responses(404, 409, 412))
def update_handoff(db: StorageDep, response: Response, handoff_id: str, body: HandoffUpdate, if_match: IfMatch = None) -> Handoff:
    """Status: pending → accepted | declined (sets `decided_at`); accepted → completed (sets
    `completed_at`; 409 `checklist_incomplete` while an item is not done); declined and
    completed are final. Other moves are 409 `invalid_transition` with `allowed`."""
    return etag(response, service.update_handoff(db, handoff_id, body, expected_version=if_match))


# ---------------------------------------------------------------------------- tasks


@router.post("/tasks", status_code=201, summary="Give a professional a task", responses=responses())
def create_task(db: StorageDep, body: TaskCreate) -> Task:
    return service.create_task(db, body)


@router.get("/tasks", summary="List tasks", responses=responses())
async def list_tasks(
    db: StorageDep, response: Response, page: Page, pro_id: str | None = None, deal_id: str | None = None, status: TaskStatus | None = None,
) -> list[Task]:
    return paginate(response, service.list_tasks(db, pro_id=pro_id, deal_id=deal_id, status=status), page)


@router.get("/tasks/{task_id}", summary="Get a task", responses=responses(404))
async def get_task(db: StorageDep, task_id: str) -> Task:
    return one(service.get_task(db, task_id))


@router.patch("/tasks/{task_id}", summary="Change a task, move its status or rate it", responses=responses(404, 409, 412))
def update_task(db: StorageDep, response: Response, task_id: str, body: TaskUpdate, if_match: IfMatch = None) -> Task:
    """Status: todo → in_progress | blocked | done | canceled; in_progress → todo | blocked |
    done | canceled; blocked → todo | in_progress | canceled; done and canceled are final (409
    `invalid_transition` with `allowed`). Entering done sets `completed_at`. `rating` (1–5) is
    accepted only when the task is done, or becomes done in the same request (409
    `task_not_done`)."""
    return etag(response, service.update_task(db, task_id, body, expected_version=if_match))


# ---------------------------------------------------------------------------- one professional


@router.get("/{pro_id}", summary="Get a professional", responses=responses(404))
async def get_pro(db: StorageDep, pro_id: str) -> Professional:
    return one(service.get_pro(db, pro_id))


@router.patch("/{pro_id}", summary="Change a professional", responses=responses(404, 412))
def update_pro(db: StorageDep, response: Response, pro_id: str, body: ProfessionalUpdate, if_match: IfMatch = None) -> Professional:
    return etag(response, service.update_pro(db, pro_id, body, expected_version=if_match))


@router.post("/{pro_id}/signals", status_code=201, summary="Record public signals and score them 0–100", responses=responses(404))
def record_signal(db: StorageDep, pro_id: str, body: SignalInput) -> Signal:
    """score = clamp(100 × (0.5·Q + 0.25·R + 0.25·L) − 10·complaints, 0, 100), one decimal:
    Q = (rating·review_count + 2.5·5) / (5·(review_count + 5)), the rating out of 5 smoothed
    toward 2.5 by 5 pseudo-reviews; R = 24 / (24 + response_hours); L = 1 when
    license_verified, else 0. E.g. rating 4.5 over 20 reviews, 2 h, verified, 1 complaint → 79.1.
    The signal is kept in the history (GET …/signals) and the professional shows the latest
    score as `signal_score`."""
    return service.record_signal(db, pro_id, body)


@router.get("/{pro_id}/signals", summary="A professional's signal history, oldest first", responses=responses(404))
async def list_signals(db: StorageDep, response: Response, page: Page, pro_id: str) -> list[Signal]:
    return paginate(response, service.list_signals(db, pro_id), page)


@router.get("/{pro_id}/scorecard", summary="A professional's scorecard from live tasks, handoffs, retainers and signals", responses=responses(404))
async def scorecard(db: StorageDep, pro_id: str) -> Scorecard:
    """on_time_rate = tasks done by due_at / judged tasks (done with a due_at, or open past it);
    mean_rating over rated tasks; handoff_acceptance = (accepted + completed) / decided handoffs
    to this professional; retainer_utilisation = hours used / hours included over its active,
    paused and ended retainers; overall = weighted mean over the parts that exist of on-time
    100·rate (0.30), rating 100·(mean − 1)/4 (0.25), handoffs 100·acceptance (0.15), retainer
    fit 100·max(0, 1 − |1 − utilisation|) (0.10), signal score (0.20); null when none exist."""
    return service.scorecard(db, pro_id)
