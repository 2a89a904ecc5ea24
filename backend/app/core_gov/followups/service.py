"""The follow-up ladder: six tasks per lead (SMS +0 min, CALL +30, SMS +180, CALL +1440,
SMS +4320, CALL +10080). Each step is due at the first allowed time (the province's window and
the window where the seller's number rings) no earlier than its nominal time (start + offset)
and no earlier than the previous step's due time plus the gap between their offsets, so steps
moved into a window keep their spacing instead of stacking. Outcomes responded/opted_out/dead end the ladder; opted_out is the
replies process's opt-out rule (replies.service.complete_task suppresses the contact and cancels its open tasks).
A completed task's KPI event is recorded after its commit. The `due` batch is the dispatch: empty while go-live is off or
the kill switch is engaged; it skips what mark_sent would refuse (suppressed contacts, the DNCL
copy and exemption, the CASL consent: comms' send permission, with its reason) and contacts
outside the window at as_of. Recording an outcome is never blocked by go-live."""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Iterable, Sequence

from ..comms import service as comms_service
from ..comms.schemas import Channel
from ..deals import service as deals_service
from ..errors import Conflict, InvalidField
from ..fields import normalize_contact, normalize_email, normalize_phone
from ..golive import service as golive_service
from ..kpi import service as kpi_service
from ..market import service as market_service
from ..regression import service as regression_service
from ..storage import Storage, Transaction, select, new_id
from . import store
from .schemas import (
    ENDING_OUTCOMES, LADDER, Completion, DueBatch, HeldBack, Ladder, LadderCreate, Outcome, Sla, SlaFigures, Task,
    TaskComplete, TaskStatus,
)

SLA_FAST = timedelta(minutes=30)
SLA_OK = timedelta(hours=2)  # also the KPI's success threshold


def _norm(contact: str) -> str:
    try:
        return normalize_contact(contact)
    except ValueError:
        return contact.strip().lower()


def _reaches(task: Task, value: str) -> bool:
    return value == task.contact or (task.email is not None and value == task.email)


# ============================================================================ the ladder


def _deal_contact(db: Storage, deal_id: str) -> tuple[str, str | None]:
    deal = deals_service.require_deal(db, deal_id)
    phone = deal.seller_phone
    if not phone:
        raise InvalidField(("body", "deal_id"), f"deal {deal_id} has no seller phone; the ladder texts and calls it")
    try:
        phone = normalize_phone(phone)
    except ValueError as e:
        raise InvalidField(("body", "deal_id"), f"deal {deal_id}: seller phone {e}") from None
    email = deal.seller_email
    try:
        email = normalize_email(email) if email else None
    except ValueError:
        email = None
    return phone, email


def create_ladder(db: Storage, data: LadderCreate) -> Ladder:
    """Six tasks for the deal's seller. 409 throttled when regression throttles `followups`;
    409 ladder_open when the deal already has open follow-ups; 409 with the policy's reason
    when a step can never be allowed (policy disabled, channel not allowed)."""
    regression_service.require_not_throttled(db, "followups")
    phone, email = _deal_contact(db, data.deal_id)
    start = data.start_at or db.now()
    planned = []
    previous: tuple[datetime, int] | None = None  # the previous step's due time and offset
    for step, channel, minutes in LADDER:
        nominal = start + timedelta(minutes=minutes)
        earliest = nominal if previous is None else max(nominal, previous[0] + timedelta(minutes=minutes - previous[1]))
        c = market_service.can_contact(db, province=data.province, channel=channel.value, market=data.market, at=earliest, to=phone)
        if c.allowed:
            due = earliest
        elif c.next_allowed_at is not None:
            due = c.next_allowed_at
        else:
            refused = market_service.describe(c.refused_by) if c.refused_by else data.province
            raise Conflict(
                c.reason, f"{channel.value} to {data.province} ({data.market}) is never allowed: {c.reason} ({refused})",
                province=data.province, channel=channel.value, refused_by=c.refused_by.model_dump(mode="json") if c.refused_by else None,
            )
        planned.append((step, channel, nominal, due))
        previous = (due, minutes)
    ladder_id = new_id("lad")
    with db.transaction("followups") as tx:
        already = next((t for t in tx.list(store.tasks) if t.deal_id == data.deal_id and t.status is TaskStatus.open), None)
        if already is not None:
            raise Conflict("ladder_open", f"deal {data.deal_id} already has open follow-ups (ladder {already.ladder_id})", ladder_id=already.ladder_id)
        tasks = [
            tx.add(store.tasks, {
                "ladder_id": ladder_id, "deal_id": data.deal_id, "province": data.province, "market": data.market,
                "owner": data.owner, "step": step, "channel": channel, "contact": phone, "email": email,
                "nominal_at": nominal, "due_at": due,
            })
            for step, channel, nominal, due in planned
        ]
    kpi_service.record(db, metric="ladder_created", domain="followups", value=float(len(tasks)), ref=ladder_id)
    return Ladder(ladder_id=ladder_id, deal_id=data.deal_id, contact=phone, email=email, tasks=tasks)


# ============================================================================ outcomes


def _cancel(tx: Transaction, tasks: Iterable[Task], reason: str) -> list[Task]:
    return [tx.update(store.tasks, t, status=TaskStatus.canceled, cancel_reason=reason, audit="transition") for t in list(tasks)]


def complete_task(db: Storage, task_id: str, data: TaskComplete) -> Completion:
    """Record an outcome (never blocked by go-live). responded/dead cancel the ladder's other
    open tasks; opted_out marks the task only: replies.service.complete_task runs the opt-out rule."""
    with db.transaction("followups") as tx:
        t = tx.get(store.tasks, task_id)
        if t.status is TaskStatus.done:
            raise Conflict("already_completed", f"task {t.id} was completed ({t.outcome.value if t.outcome else 'done'}) at {t.completed_at}", outcome=t.outcome.value if t.outcome else None)
        if t.status is TaskStatus.canceled:
            raise Conflict("task_canceled", f"task {t.id} was canceled ({t.cancel_reason}); nothing to complete", cancel_reason=t.cancel_reason)
        done = tx.update(store.tasks, t, status=TaskStatus.done, outcome=data.outcome, note=data.note, completed_at=tx.now, audit="transition")
        canceled: list[Task] = []
        if data.outcome in ENDING_OUTCOMES and data.outcome is not Outcome.opted_out:
            rest = [x for x in tx.list(store.tasks) if x.ladder_id == t.ladder_id and x.status is TaskStatus.open]
            canceled = _cancel(tx, rest, data.outcome.value)
        tx.after_commit(report_completed, db, (done,))
    return Completion(task=done, canceled=canceled, suppression_ids=[])


def cancel_open_for_contact(db: Storage, *, contact: str, reason: str) -> list[Task]:
    """Cancel every open task that reaches this phone or email (joins an open transaction)."""
    value = _norm(contact)
    with db.transaction("followups") as tx:
        return _cancel(tx, [t for t in tx.list(store.tasks) if t.status is TaskStatus.open and _reaches(t, value)], reason)


def mark_responded(db: Storage, *, contact: str, at: datetime | None = None) -> list[Task]:
    """The contact replied: in each of their ladders the open task with the lowest step is done
    (outcome responded, completed at `at`) and the others are canceled. Answers the changed tasks."""
    value = _norm(contact)
    with db.transaction("followups") as tx:
        ladders: dict[str, list[Task]] = {}
        for t in tx.list(store.tasks):
            if t.status is TaskStatus.open and _reaches(t, value):
                ladders.setdefault(t.ladder_id, []).append(t)
        changed: list[Task] = []
        for open_tasks in ladders.values():
            first, *rest = sorted(open_tasks, key=lambda t: t.step)
            changed.append(tx.update(
                store.tasks, first, status=TaskStatus.done, outcome=Outcome.responded, completed_at=at or tx.now,
                note=first.note or "inbound reply", audit="transition",
            ))
            changed += _cancel(tx, rest, Outcome.responded.value)
        tx.after_commit(report_completed, db, tuple(t for t in changed if t.status is TaskStatus.done))
        return changed


def report_completed(db: Storage, tasks: Iterable[Task]) -> None:
    """Emit `followup_completed` for completed tasks (queued to run after their commit): value =
    minutes late, success = completed within 2 h of due."""
    for t in tasks:
        if t.completed_at is None:
            continue
        late = t.completed_at - t.due_at
        kpi_service.record(
            db, metric="followup_completed", domain="followups", value=round(max(late.total_seconds(), 0) / 60, 1),
            success=late <= SLA_OK, ref=t.id,
        )


# ============================================================================ reads


def list_tasks(
    db: Storage, *, deal_id: str | None = None, status: str | None = None, owner: str | None = None, ladder_id: str | None = None,
) -> Sequence[Task]:
    filters = {"deal_id": deal_id, "status": status, "owner": owner, "ladder_id": ladder_id}
    return select(db.list(store.tasks), filters)


def get_task(db: Storage, task_id: str) -> Task:
    return db.get(store.tasks, task_id)


def _by_due(records: Sequence[Task]) -> list[Task]:
    return sorted((t for t in records if t.status is TaskStatus.open), key=attrgetter("due_at", "step", "id"))


def _open_by_due(db: Storage) -> list[Task]:
    """Open tasks ordered by (due_at, step, id), kept by the store until the tasks change."""
    return db.derived(store.tasks, _by_due)


def due(db: Storage, *, as_of: datetime | None = None, owner: str | None = None, limit: int = 100) -> DueBatch:
    """Open tasks due at as_of, oldest first; held back with the reason (and mark_sent's refusal
    detail): suppressed contacts, the send permission's refusals at as_of (a stale DNCL copy, a
    DNCL-listed number without a valid exemption, an SMS without a valid CASL consent), and
    contacts outside the window at as_of. Nothing while execution is halted."""
    as_of = as_of or db.now()
    halted = golive_service.halt_reason(db)
    if halted is not None:
        return DueBatch(halted=halted, as_of=as_of)
    queue = _open_by_due(db)
    candidates = queue[: bisect.bisect_right(queue, as_of, key=lambda t: t.due_at)]
    if owner is not None:
        candidates = [t for t in candidates if t.owner == owner]
    suppressed = comms_service.suppressed_values(db)
    checks: dict[tuple[str, str, str, str | None], object] = {}
    refusals: dict[tuple[str, str], Conflict | None] = {}
    ready: list[Task] = []
    held: list[HeldBack] = []
    for t in candidates:
        if len(ready) >= limit:
            break
        if t.contact in suppressed or (t.email is not None and t.email in suppressed):
            held.append(HeldBack(task_id=t.id, reason="suppressed"))
            continue
        who = (t.channel.value, t.contact)
        if who not in refusals:
            refusals[who] = comms_service.send_refusal(db, Channel(t.channel.value.lower()), t.contact, as_of)[0]
        refused = refusals[who]
        if refused is not None:
            held.append(HeldBack(task_id=t.id, reason=refused.code, detail=refused.detail))
            continue
        key = (t.province, t.market, t.channel.value, market_service.area_code(t.contact))
        if key not in checks:
            checks[key] = market_service.can_contact(db, province=t.province, channel=t.channel.value, market=t.market, at=as_of, to=t.contact)
        c = checks[key]
        if not c.allowed:  # type: ignore[attr-defined]
            held.append(HeldBack(task_id=t.id, reason=c.reason))  # type: ignore[attr-defined]
            continue
        ready.append(t)
    return DueBatch(halted=None, as_of=as_of, tasks=ready, held_back=held)


def _figures(tasks: list[Task]) -> SlaFigures:
    n = len(tasks)
    if n == 0:
        return SlaFigures(count=0)
    lateness = [t.completed_at - t.due_at for t in tasks if t.completed_at is not None]
    return SlaFigures(
        count=n,
        within_30m=round(sum(1 for d in lateness if d <= SLA_FAST) / n, 4),
        within_2h=round(sum(1 for d in lateness if d <= SLA_OK) / n, 4),
    )


def sla(db: Storage, *, since: datetime | None = None) -> Sla:
    """Completed (done) tasks, completed at or after `since`: the share done within 30 min and
    within 2 h of due (early counts as on time), overall and per province."""
    done = [
        t for t in db.list(store.tasks)
        if t.status is TaskStatus.done and t.completed_at is not None and (since is None or t.completed_at >= since)
    ]
    provinces = sorted({t.province for t in done})
    overall = _figures(done)
    return Sla(
        since=since, count=overall.count, within_30m=overall.within_30m, within_2h=overall.within_2h,
        by_province={p: _figures([t for t in done if t.province == p]) for p in provinces},
    )
