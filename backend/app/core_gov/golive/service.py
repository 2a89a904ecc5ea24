"""The prime law: every execution action calls require_execution_allowed first, which answers 423
kill_switch_engaged (it wins) or go_live_disabled. A fresh install is disabled. Enabling is the
runbook's (runbook.service.enable: a clear runbook, else 412 runbook_blockers); this module keeps
the switch and the guard. Engaging is idempotent (the first
reason stays); releasing needs a reason and may cite a governance decision, which must then be
approved; it is recorded in the state. Every change is an audited transition. The state keeps
the last change of each flag apart (reason, who, when), so the 423 always names why the switch
was engaged, whatever go-live did since."""

from __future__ import annotations

from ..errors import Conflict, Locked
from ..governance import service as governance_service
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


def engaged_message(current: GoLiveState) -> str:
    """What to tell the operator while the kill switch is engaged: why, by whom, how to release."""
    by = f" by {current.kill_switch_changed_by}" if current.kill_switch_changed_by else ""
    return (f"the kill switch is engaged ({current.kill_switch_reason or 'no reason recorded'}){by}; "
            "release it at POST /core/golive/kill-switch/release")


def require_execution_allowed(db: Storage) -> None:
    current = state(db)
    if current.kill_switch:
        at = current.kill_switch_changed_at
        raise Locked(
            "kill_switch_engaged", engaged_message(current), reason=current.kill_switch_reason,
            changed_by=current.kill_switch_changed_by, changed_at=at.isoformat() if at else None,
        )
    if not current.enabled:
        raise Locked("go_live_disabled", "go-live is off: clear the runbook (GET /core/golive/checklist), then POST /core/golive/enable")


def _write(tx: Transaction, current: GoLiveState, flag: str, reason: str, decision_id: str | None = None, **fields: bool) -> GoLiveState:
    """One flag's change (`flag` is "go_live" or "kill_switch"): the last change and that flag's own."""
    who, now = actor.get(), tx.now
    new = current.model_copy(update={
        **fields, "reason": reason, "changed_by": who, "changed_at": now, "decision_id": decision_id,
        f"{flag}_reason": reason, f"{flag}_changed_by": who, f"{flag}_changed_at": now,
    })
    return tx.write(store.state, new, audit="transition")


def turn_on(db: Storage, *, reason: str) -> GoLiveState:
    """The switch. Only runbook.service.enable calls it, once the runbook is clear."""
    with db.transaction("golive") as tx:
        return _write(tx, tx.read(store.state), "go_live", reason, enabled=True)


def disable(db: Storage, *, reason: str | None = None) -> GoLiveState:
    with db.transaction("golive") as tx:
        current = tx.read(store.state)
        if not current.enabled:
            return current
        return _write(tx, current, "go_live", reason or "disabled by the operator", enabled=False)


def engage_kill_switch(db: Storage, *, reason: str) -> GoLiveState:
    with db.transaction("golive") as tx:
        current = tx.read(store.state)
        if current.kill_switch:
            return current
        return _write(tx, current, "kill_switch", reason, kill_switch=True)


def release_kill_switch(db: Storage, *, reason: str, decision_id: str | None = None) -> GoLiveState:
    if decision_id is not None:
        governance_service.require_approved(db, decision_id)
    with db.transaction("golive") as tx:
        current = tx.read(store.state)
        if not current.kill_switch:
            raise Conflict("kill_switch_not_engaged", "the kill switch is not engaged; there is nothing to release")
        return _write(tx, current, "kill_switch", reason, decision_id, kill_switch=False)
