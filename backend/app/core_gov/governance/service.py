"""Governance decisions: proposed, then approved or rejected once (proposed -> approved|rejected;
anything else is 409 invalid_transition). decided_by is the acting X-Actor, decided_at the
commit time. Other modules cite an approved decision by id (kill-switch release, raising a
GLOBAL risk cap): an unknown id is 422 naming the field, one not approved is 409."""

from __future__ import annotations

from typing import Sequence

from ..errors import Conflict, InvalidField, require_start
from ..storage import Storage, actor, select
from . import store
from .schemas import DECISION_STARTS, Decision, DecisionCreate, DecisionStatus


def list_decisions(db: Storage, *, status: str | None = None, kind: str | None = None, subject_ref: str | None = None) -> Sequence[Decision]:
    filters = {"status": status, "kind": kind, "subject_refs": subject_ref}
    return select(db.list(store.decisions), filters)


def get_decision(db: Storage, decision_id: str) -> Decision:
    return db.get(store.decisions, decision_id)


def propose(db: Storage, data: DecisionCreate) -> Decision:
    status = require_start("decision", DECISION_STARTS, data.status)
    with db.transaction("governance") as tx:
        return tx.add(store.decisions, {**data.model_dump(), "status": status, "proposed_by": actor.get()})


def _decide(db: Storage, decision_id: str, status: DecisionStatus, reason: str) -> Decision:
    with db.transaction("governance") as tx:
        decision = tx.get(store.decisions, decision_id)
        if decision.status is not DecisionStatus.proposed:
            raise Conflict(
                "invalid_transition",
                f"decision {decision_id} is already {decision.status.value}; only a proposed decision can be approved or rejected",
                current=decision.status.value,
            )
        return tx.update(
            store.decisions, decision, audit="transition",
            status=status, decided_by=actor.get(), decided_at=tx.now, decision_reason=reason,
        )


def approve(db: Storage, decision_id: str, *, reason: str) -> Decision:
    return _decide(db, decision_id, DecisionStatus.approved, reason)


def reject(db: Storage, decision_id: str, *, reason: str) -> Decision:
    return _decide(db, decision_id, DecisionStatus.rejected, reason)


def require_approved(db: Storage, decision_id: str, *, field: str = "decision_id") -> Decision:
    """The approved decision with this id: unknown -> 422 naming the field, not approved -> 409."""
    decision = db.find(store.decisions, decision_id)
    if decision is None:
        raise InvalidField(("body", field), f"no governance decision {decision_id}; propose one at POST /core/governance/decisions")
    if decision.status is not DecisionStatus.approved:
        raise Conflict(
            "decision_not_approved",
            f"decision {decision_id} is {decision.status.value}; only an approved decision can be cited",
            decision_id=decision_id, status=decision.status.value,
        )
    return decision
