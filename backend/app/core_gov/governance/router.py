from __future__ import annotations

from fastapi import Response

from ..http import ModuleRouter, Page, ReasonBody, StorageDep, one, paginate, responses
from . import service
from .schemas import Decision, DecisionCreate, DecisionKind, DecisionStatus

router = ModuleRouter(prefix="/governance", tags=["governance"])


@router.post("/decisions", status_code=201, summary="Propose a decision", responses=responses())
def propose_decision(db: StorageDep, body: DecisionCreate) -> Decision:
    return service.propose(db, body)


@router.get("/decisions", summary="List decisions (filter by status, kind, subject_ref)", responses=responses())
async def list_decisions(
    db: StorageDep, response: Response, page: Page,
    status: DecisionStatus | None = None, kind: DecisionKind | None = None, subject_ref: str | None = None,
) -> list[Decision]:
    found = service.list_decisions(db, status=status, kind=kind, subject_ref=subject_ref)
    return paginate(response, found, page)


@router.get("/decisions/{decision_id}", summary="Get a decision", responses=responses(404))
async def get_decision(db: StorageDep, decision_id: str) -> Decision:
    return one(service.get_decision(db, decision_id))


@router.post("/decisions/{decision_id}/approve", summary="Approve a proposed decision (reason required)", responses=responses(404, 409))
def approve_decision(db: StorageDep, decision_id: str, body: ReasonBody) -> Decision:
    """Only a `proposed` decision can be approved (else 409 `invalid_transition`). Records
    `decided_by` (the X-Actor), `decided_at` and the reason."""
    return service.approve(db, decision_id, reason=body.reason)


@router.post("/decisions/{decision_id}/reject", summary="Reject a proposed decision (reason required)", responses=responses(404, 409))
def reject_decision(db: StorageDep, decision_id: str, body: ReasonBody) -> Decision:
    """Only a `proposed` decision can be rejected (else 409 `invalid_transition`)."""
    return service.reject(db, decision_id, reason=body.reason)
