"""Reply routes, under the modules they join: /core/comms/inbound and /core/followups/tasks/{id}/complete."""

from __future__ import annotations

from ..comms.schemas import InboundCreate, InboundMessage
from ..followups.schemas import Completion, TaskComplete
from ..http import ModuleRouter, StorageDep, responses
from . import service

router = ModuleRouter()  # a process's routes sit at the paths (and under the tags) of the modules it joins


@router.post("/comms/inbound", tags=["comms"], status_code=201, summary="Record an inbound reply", responses=responses())
def record_inbound(db: StorageDep, body: InboundCreate) -> InboundMessage:
    """A body that is only an opt-out keyword (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
    ARRET, ARRÊT; any case; surrounding spaces/punctuation ignored) suppresses the sender and
    cancels their open follow-ups; any other reply completes their ladder as `responded`.
    The answer says what was done (`action`, `suppression_id`, `tasks_responded`, `tasks_canceled`)."""
    return service.receive(db, body)


@router.post("/followups/tasks/{task_id}/complete", tags=["followups"], summary="Record a task's outcome", responses=responses(404, 409))
def complete_task(db: StorageDep, task_id: str, body: TaskComplete) -> Completion:
    """Never blocked by go-live. responded/dead cancel the ladder's other open tasks; opted_out
    adds the contact to the do-not-contact list and cancels all its open tasks (one commit).
    409 already_completed when done twice; 409 task_canceled for a canceled task."""
    return service.complete_task(db, task_id, body)
