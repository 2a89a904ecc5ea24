"""Professionals and the work given to them. Every reference (pro, deal, task) must exist (422
naming the field). Retainers (proposed → active ⇄ paused → ended), handoffs (pending →
accepted | declined, accepted → completed once every checklist item is done) and tasks (todo,
in_progress, blocked → done | canceled) move only along their TRANSITIONS (409
`invalid_transition` with `allowed`). Hours are logged on active retainers only; a task is
rated 1–5 only once done. The signal, alignment and scorecard formulas are in their docstrings."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from ..deals import service as deals_service
from ..errors import Conflict, InvalidField, require_start, require_transition
from ..storage import Storage, select
from . import store
from .schemas import (
    HANDOFF_STARTS, RETAINER_STARTS, TASK_STARTS, AlignedPro, Alignment, AlignRequest, Handoff, HandoffCreate, HandoffStatus, HandoffUpdate, HoursInput, Professional,
    ProfessionalCreate, ProfessionalUpdate, ProStatus, Retainer, RetainerCreate, RetainerHours, RetainerStatus, RetainerUpdate, Scorecard,
    Signal, SignalInput, Task, TaskCreate, TaskStatus, TaskUpdate,
)

RS, HS, TS = RetainerStatus, HandoffStatus, TaskStatus
RETAINER_TRANSITIONS = {RS.proposed: (RS.active, RS.ended), RS.active: (RS.paused, RS.ended), RS.paused: (RS.active, RS.ended), RS.ended: ()}
HANDOFF_TRANSITIONS = {HS.pending: (HS.accepted, HS.declined), HS.accepted: (HS.completed,), HS.declined: (), HS.completed: ()}
TASK_TRANSITIONS = {
    TS.todo: (TS.in_progress, TS.blocked, TS.done, TS.canceled),
    TS.in_progress: (TS.todo, TS.blocked, TS.done, TS.canceled),
    TS.blocked: (TS.todo, TS.in_progress, TS.canceled),
    TS.done: (),
    TS.canceled: (),
}
OPEN_TASK = (TS.todo, TS.in_progress, TS.blocked)


def _require_pro(db: Storage, pro_id: str, field: str) -> Professional:
    pro = db.find(store.professionals, pro_id)
    if pro is None:
        raise InvalidField(("body", field), f"no professional {pro_id}")
    return pro


def _require_deal(db: Storage, deal_id: str | None) -> None:
    if deal_id is not None:
        deals_service.require_deal(db, deal_id, field="deal_id")


# ---------------------------------------------------------------------------- professionals


def list_pros(
    db: Storage, *, kind: str | None = None, jurisdiction: str | None = None, specialty: str | None = None, status: str | None = None,
) -> Sequence[Professional]:
    filters = {"kind": kind, "jurisdictions": jurisdiction, "specialties": specialty, "status": status}
    return select(db.list(store.professionals), filters)


def get_pro(db: Storage, pro_id: str) -> Professional:
    return db.get(store.professionals, pro_id)


def create_pro(db: Storage, data: ProfessionalCreate) -> Professional:
    with db.transaction("pros") as tx:
        return tx.add(store.professionals, data)


def update_pro(db: Storage, pro_id: str, data: ProfessionalUpdate, *, expected_version: int | None = None) -> Professional:
    changes = data.model_dump(exclude_unset=True)
    with db.transaction("pros") as tx:
        old = tx.get(store.professionals, pro_id)
        audit = "transition" if changes.get("status", old.status) != old.status else "update"
        return tx.update(store.professionals, old, changes, expected_version=expected_version, audit=audit)


# ---------------------------------------------------------------------------- signals


def signal_score(data: SignalInput) -> tuple[float, float, float]:
    """(score, Q, R). score = clamp(100 × (0.5·Q + 0.25·R + 0.25·L) − 10·complaints, 0, 100),
    rounded to one decimal, where Q = (rating·reviews + 2.5·5) / (5·(reviews + 5)) is the rating
    out of 5 smoothed toward 2.5 by 5 pseudo-reviews (one 5-star review is not "excellent"),
    R = 24 / (24 + response_hours) (1 when immediate, 0.5 at a day) and L = 1 when the licence
    is verified, else 0."""
    q = (data.rating * data.review_count + 2.5 * 5) / (5 * (data.review_count + 5))
    r = 24 / (24 + data.response_hours)
    raw = 100 * (0.5 * q + 0.25 * r + 0.25 * (1 if data.license_verified else 0)) - 10 * data.complaints
    return round(min(100.0, max(0.0, raw)), 1), round(q, 4), round(r, 4)


def record_signal(db: Storage, pro_id: str, data: SignalInput) -> Signal:
    score, q, r = signal_score(data)
    with db.transaction("pros") as tx:
        pro = tx.get(store.professionals, pro_id)
        entry = tx.append(store.signals, {**data.model_dump(), "pro_id": pro.id, "quality": q, "responsiveness": r, "score": score})
        tx.update(store.professionals, pro, signal_score=score, signal_at=entry.at, audit="action")
        return entry


def list_signals(db: Storage, pro_id: str) -> list[Signal]:
    get_pro(db, pro_id)
    return [s for s in db.entries(store.signals) if s.pro_id == pro_id]


# ---------------------------------------------------------------------------- alignment and scorecard


def align(db: Storage, data: AlignRequest) -> Alignment:
    """Active professionals of the kind serving the jurisdiction, ranked by score (then name).
    score = 0.5·S + 0.2·T + 0.3·M (0–100, one decimal): S = the latest signal score (50 when
    never scored), T = 100 × the scorecard's on-time task rate (50 with no judged task), M = 100
    when no specialty is asked or the professional lists it, else 0."""
    matches_: list[AlignedPro] = []
    for pro in list_pros(db, kind=data.kind, jurisdiction=data.jurisdiction, status=ProStatus.active.value):
        card = scorecard(db, pro.id)
        reasons = [f"{pro.kind.value} serving {data.jurisdiction}"]
        s = pro.signal_score if pro.signal_score is not None else 50.0
        reasons.append(f"signal score {s}" if pro.signal_score is not None else "no signal yet (50 assumed)")
        t = 100 * card.on_time_rate if card.on_time_rate is not None else 50.0
        reasons.append(
            f"on time {card.tasks_on_time} of {card.tasks_judged} tasks" if card.on_time_rate is not None else "no task history (50 assumed)"
        )
        has = None if data.specialty is None else data.specialty in pro.specialties
        if has is not None:
            reasons.append(f"specialty {data.specialty}" if has else f"does not list specialty {data.specialty}")
        m = 0.0 if has is False else 100.0
        matches_.append(AlignedPro(pro_id=pro.id, name=pro.name, score=round(0.5 * s + 0.2 * t + 0.3 * m, 1), specialty_match=has, reasons=reasons))
    matches_.sort(key=lambda a: (-a.score, a.name.lower()))
    return Alignment(kind=data.kind, jurisdiction=data.jurisdiction, specialty=data.specialty, matches=matches_)


def _rate(part: int | float, whole: int | float) -> float | None:
    return None if not whole else part / whole


def scorecard(db: Storage, pro_id: str) -> Scorecard:
    """From the live records. on_time_rate = done-by-due_at / judged tasks (judged: done with a
    due_at, or still open past due_at); mean_rating over rated tasks; handoff_acceptance =
    (accepted + completed) / (accepted + completed + declined) of handoffs to this pro;
    retainer_utilisation = hours used / hours included over its active, paused and ended
    retainers; overall = the weighted mean, over the parts that exist, of on-time 100·rate (0.30),
    rating 100·(mean − 1)/4 (0.25), handoffs 100·acceptance (0.15), retainer fit
    100·max(0, 1 − |1 − utilisation|) (0.10) and the signal score (0.20); null when none exist."""
    pro = get_pro(db, pro_id)
    now = db.now()
    tasks = list_tasks(db, pro_id=pro_id)
    judged = [t for t in tasks if t.due_at is not None and (t.status == TS.done or (t.status in OPEN_TASK and t.due_at < now))]
    on_time = [t for t in judged if t.status == TS.done and t.completed_at is not None and t.completed_at <= t.due_at]
    ratings = [t.rating for t in tasks if t.rating is not None]
    decided = [h for h in list_handoffs(db, to=pro_id) if h.status != HS.pending]
    accepted = [h for h in decided if h.status in (HS.accepted, HS.completed)]
    counted = [r for r in list_retainers(db, pro_id=pro_id) if r.status != RS.proposed]
    used, included = sum(r.hours_used for r in counted), sum(r.hours_included for r in counted)
    rate, mean = _rate(len(on_time), len(judged)), (sum(ratings) / len(ratings) if ratings else None)
    acceptance, utilisation = _rate(len(accepted), len(decided)), _rate(used, included)
    parts = [
        (0.30, None if rate is None else 100 * rate),
        (0.25, None if mean is None else 100 * (mean - 1) / 4),
        (0.15, None if acceptance is None else 100 * acceptance),
        (0.10, None if utilisation is None else 100 * max(0.0, 1 - abs(1 - utilisation))),
        (0.20, pro.signal_score),
    ]
    present = [(w, v) for w, v in parts if v is not None]
    overall = round(sum(w * v for w, v in present) / sum(w for w, _ in present), 1) if present else None
    r4 = lambda v: None if v is None else round(v, 4)  # noqa: E731
    return Scorecard(
        pro_id=pro_id, as_of=now, tasks_total=len(tasks), tasks_judged=len(judged), tasks_on_time=len(on_time),
        on_time_rate=r4(rate), ratings_count=len(ratings), mean_rating=None if mean is None else round(mean, 2),
        handoffs_decided=len(decided), handoffs_accepted=len(accepted), handoff_acceptance=r4(acceptance),
        hours_used=round(used, 2), hours_included=round(included, 2), retainer_utilisation=r4(utilisation),
        signal_score=pro.signal_score, overall=overall,
    )


# ---------------------------------------------------------------------------- retainers


def _usage(hours_used: float, hours_included: float) -> dict[str, float]:
    return {
        "hours_used": round(hours_used, 2),
        "utilisation": round(hours_used / hours_included, 4),
        "overage_hours": round(max(0.0, hours_used - hours_included), 2),
    }


def list_retainers(db: Storage, *, pro_id: str | None = None, status: str | None = None) -> Sequence[Retainer]:
    return select(db.list(store.retainers), {"pro_id": pro_id, "status": status})


def get_retainer(db: Storage, retainer_id: str) -> Retainer:
    return db.get(store.retainers, retainer_id)


def create_retainer(db: Storage, data: RetainerCreate) -> Retainer:
    status = require_start("retainer", RETAINER_STARTS, data.status)
    with db.transaction("pros") as tx:
        _require_pro(db, data.pro_id, "pro_id")
        return tx.add(store.retainers, {**data.model_dump(), "status": status, **_usage(0, data.hours_included)})


def update_retainer(db: Storage, retainer_id: str, data: RetainerUpdate, *, expected_version: int | None = None) -> Retainer:
    changes = data.model_dump(exclude_unset=True)
    with db.transaction("pros") as tx:
        old = tx.get(store.retainers, retainer_id)
        audit = require_transition("retainer", RETAINER_TRANSITIONS, old.status, changes.get("status", old.status))
        changes.update(_usage(old.hours_used, changes.get("hours_included", old.hours_included)))
        return tx.update(store.retainers, old, changes, expected_version=expected_version, audit=audit)


def log_hours(db: Storage, retainer_id: str, data: HoursInput) -> Retainer:
    with db.transaction("pros") as tx:
        old = tx.get(store.retainers, retainer_id)
        if old.status != RS.active:
            raise Conflict("retainer_not_active", f"hours are logged on active retainers; {old.id} is {old.status.value}", status=old.status.value)
        tx.append(store.retainer_hours, {**data.model_dump(), "retainer_id": old.id}, audit=None)
        return tx.update(store.retainers, old, _usage(old.hours_used + data.hours, old.hours_included), audit="action")


def list_hours(db: Storage, retainer_id: str) -> list[RetainerHours]:
    get_retainer(db, retainer_id)
    return [h for h in db.entries(store.retainer_hours) if h.retainer_id == retainer_id]


def delete_retainer(db: Storage, retainer_id: str, *, reason: str) -> Retainer:
    with db.transaction("pros") as tx:
        old = tx.get(store.retainers, retainer_id)
        if old.status == RS.active:
            raise Conflict("retainer_active", f"retainer {old.id} is active: pause or end it before deleting it")
        return tx.delete(store.retainers, retainer_id, reason=reason)


# ---------------------------------------------------------------------------- handoffs


def list_handoffs(
    db: Storage, *, from_: str | None = None, to: str | None = None, deal_id: str | None = None, status: str | None = None,
) -> Sequence[Handoff]:
    return select(db.list(store.handoffs), {"from_": from_, "to": to, "deal_id": deal_id, "status": status})


def get_handoff(db: Storage, handoff_id: str) -> Handoff:
    return db.get(store.handoffs, handoff_id)


def create_handoff(db: Storage, data: HandoffCreate) -> Handoff:
    status = require_start("handoff", HANDOFF_STARTS, data.status)
    _require_deal(db, data.deal_id)
    with db.transaction("pros") as tx:
        _require_pro(db, data.from_, "from")
        _require_pro(db, data.to, "to")
        if data.to == data.from_:
            raise InvalidField(("body", "to"), "a handoff goes to another professional")
        for i, task_id in enumerate(data.task_ids):
            if tx.find(store.tasks, task_id) is None:
                raise InvalidField(("body", "task_ids", i), f"no task {task_id}")
        return tx.add(store.handoffs, {**data.model_dump(), "status": status})


def update_handoff(db: Storage, handoff_id: str, data: HandoffUpdate, *, expected_version: int | None = None) -> Handoff:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    with db.transaction("pros") as tx:
        old = tx.get(store.handoffs, handoff_id)
        status = changes.get("status", old.status)
        audit = require_transition("handoff", HANDOFF_TRANSITIONS, old.status, status)
        if audit == "transition":
            if status == HS.completed:
                checklist = data.checklist if "checklist" in changes else old.checklist
                open_items = [c.item for c in checklist if not c.done]
                if open_items:
                    raise Conflict("checklist_incomplete", f"{len(open_items)} checklist item(s) not done", open_items=open_items)
                changes["completed_at"] = tx.now
            else:
                changes["decided_at"] = tx.now
        return tx.update(store.handoffs, old, changes, expected_version=expected_version, audit=audit)


# ---------------------------------------------------------------------------- tasks


def list_tasks(db: Storage, *, pro_id: str | None = None, deal_id: str | None = None, status: str | None = None) -> Sequence[Task]:
    return select(db.list(store.tasks), {"pro_id": pro_id, "deal_id": deal_id, "status": status})


def overdue_tasks(db: Storage, *, as_of: datetime | None = None) -> list[Task]:
    """Tasks neither done nor canceled whose due_at has passed."""
    now = as_of or db.now()
    return [t for t in list_tasks(db) if t.status in OPEN_TASK and t.due_at is not None and t.due_at < now]


def get_task(db: Storage, task_id: str) -> Task:
    return db.get(store.tasks, task_id)


def create_task(db: Storage, data: TaskCreate) -> Task:
    status = require_start("pro task", TASK_STARTS, data.status)
    _require_deal(db, data.deal_id)
    with db.transaction("pros") as tx:
        _require_pro(db, data.pro_id, "pro_id")
        return tx.add(store.tasks, {**data.model_dump(), "status": status})


def update_task(db: Storage, task_id: str, data: TaskUpdate, *, expected_version: int | None = None) -> Task:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    _require_deal(db, changes.get("deal_id"))
    with db.transaction("pros") as tx:
        if "pro_id" in changes:
            _require_pro(db, changes["pro_id"], "pro_id")
        old = tx.get(store.tasks, task_id)
        status = changes.get("status", old.status)
        audit = require_transition("task", TASK_TRANSITIONS, old.status, status)
        if changes.get("rating") is not None and status != TS.done:
            raise Conflict("task_not_done", f"a task is rated once it is done; {old.id} is {status.value}", status=status.value)
        if audit == "transition" and status == TS.done:
            changes["completed_at"] = tx.now
        return tx.update(store.tasks, old, changes, expected_version=expected_version, audit=audit)
