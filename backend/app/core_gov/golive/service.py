"""The prime law: every execution action calls require_execution_allowed first, which answers 423
kill_switch_engaged (it wins) or go_live_disabled. A fresh install is disabled. Enabling needs
a clear runbook (else 412 runbook_blockers listing them). Engaging is idempotent (the first
reason stays); releasing needs a reason and may cite a governance decision, which must then be
approved; it is recorded in the state. Every change is an audited transition."""

from __future__ import annotations

from ..errors import Conflict, Locked, PreconditionFailed
from ..governance import service as governance_service
from ..runbook.schemas import RunbookStatus
from ..storage import Storage, Transaction, actor
from . import store
from .schemas import GoLiveState


def state(db: Storage) -> GoLiveState:
    return db.read(store.state)


def halt_reason(db: Storage) -> str | None:
    current = state(db)
    if current.kill_switch:
        return "kill_switch_engaged"
    if not current.enabled:
        return "go_live_disabled"
    return None


def require_execution_allowed(db: Storage) -> None:
    current = state(db)
    if current.kill_switch:
        raise Locked(
            "kill_switch_engaged",
            f"the kill switch is engaged ({current.reason or 'no reason recorded'}); release it at POST /core/golive/kill-switch/release",
            reason=current.reason, changed_at=current.changed_at.isoformat() if current.changed_at else None,
        )
    if not current.enabled:
        raise Locked("go_live_disabled", "go-live is off: clear the runbook (GET /core/golive/checklist), then POST /core/golive/enable")


def _write(tx: Transaction, current: GoLiveState, reason: str | None, decision_id: str | None = None, **fields: bool) -> GoLiveState:
    new = current.model_copy(update={**fields, "reason": reason, "changed_by": actor.get(), "changed_at": tx.now, "decision_id": decision_id})
    return tx.write(store.state, new, audit="transition")


def checklist(db: Storage) -> RunbookStatus:
    from ..runbook import service as runbook_service  # the runbook reads the go-live state: import late

    return runbook_service.status(db)


def enable(db: Storage, *, reason: str | None = None) -> GoLiveState:
    result = checklist(db)
    blockers = [item for item in result.items if item.severity == "blocker" and not item.ok]
    if blockers:
        raise PreconditionFailed(
            "runbook_blockers",
            f"go-live stays off: {len(blockers)} runbook blocker(s): {', '.join(b.key for b in blockers)}",
            blockers=[b.model_dump(mode="json") for b in blockers],
        )
    with db.transaction("golive") as tx:
        current = tx.read(store.state)
        if current.kill_switch:  # engaged since the runbook ran
            raise PreconditionFailed(
                "runbook_blockers", "go-live stays off: the kill switch was engaged meanwhile",
                blockers=[{"key": "kill_switch_clear", "ok": False, "severity": "blocker", "detail": f"the kill switch is engaged ({current.reason})"}],
            )
        return _write(tx, current, reason or "runbook clear", enabled=True)


def disable(db: Storage, *, reason: str | None = None) -> GoLiveState:
    with db.transaction("golive") as tx:
        current = tx.read(store.state)
        if not current.enabled:
            return current
        return _write(tx, current, reason or "disabled by the operator", enabled=False)


def engage_kill_switch(db: Storage, *, reason: str) -> GoLiveState:
    with db.transaction("golive") as tx:
        current = tx.read(store.state)
        if current.kill_switch:
            return current
        return _write(tx, current, reason, kill_switch=True)


def release_kill_switch(db: Storage, *, reason: str, decision_id: str | None = None) -> GoLiveState:
    if decision_id is not None:
        governance_service.require_approved(db, decision_id)
    with db.transaction("golive") as tx:
        current = tx.read(store.state)
        if not current.kill_switch:
            raise Conflict("kill_switch_not_engaged", "the kill switch is not engaged; there is nothing to release")
        return _write(tx, current, reason, decision_id, kill_switch=False)
