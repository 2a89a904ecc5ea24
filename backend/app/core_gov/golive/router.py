from __future__ import annotations

from ..http import ModuleRouter, ReasonBody, StorageDep, responses
from . import service
from .schemas import GoLiveState, KillSwitchRelease, OptionalReason

router = ModuleRouter(prefix="/golive", tags=["golive"])


@router.get("/state", summary="Go-live and kill-switch state", responses=responses())
async def get_state(db: StorageDep) -> GoLiveState:
    """`reason`, `changed_by`, `changed_at` are the last change of either flag; `go_live_*` and
    `kill_switch_*` are each flag's own last change, so the kill switch's reason survives a later
    go-live toggle."""
    return service.state(db)


@router.post("/disable", summary="Turn go-live off (optional reason); execution actions then answer 423", responses=responses())
def disable(db: StorageDep, body: OptionalReason | None = None) -> GoLiveState:
    return service.disable(db, reason=body.reason if body else None)


@router.post("/kill-switch/engage", summary="Engage the kill switch (reason required): every execution action answers 423", responses=responses())
def engage_kill_switch(db: StorageDep, body: ReasonBody) -> GoLiveState:
    """Wins over go-live: while engaged, execution answers 423 `kill_switch_engaged` even when
    go-live is on. Engaging an engaged switch changes nothing (the first reason stays)."""
    return service.engage_kill_switch(db, reason=body.reason)


@router.post("/kill-switch/release", summary="Release the kill switch (reason required; may cite an approved decision)", responses=responses(409))
def release_kill_switch(db: StorageDep, body: KillSwitchRelease) -> GoLiveState:
    """A governance decision is NOT required: the reason alone releases. When `decision_id` is
    given it must name an approved decision (unknown 422, not approved 409
    `decision_not_approved`); it is then recorded in the state and the audit trail. Releasing a
    switch that is not engaged is 409 `kill_switch_not_engaged`. Go-live stays as it was."""
    return service.release_kill_switch(db, reason=body.reason, decision_id=body.decision_id)
