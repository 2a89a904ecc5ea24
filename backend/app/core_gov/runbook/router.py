from __future__ import annotations

from fastapi.responses import PlainTextResponse

from ..golive.schemas import GoLiveState, OptionalReason
from ..http import ModuleRouter, StorageDep, responses
from . import service
from .schemas import ConsentWatch, RunbookStatus

router = ModuleRouter()  # enabling go-live is the runbook's, at go-live's paths (and tag)


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"


@router.get("/runbook/status", tags=["runbook"], summary="The pre-go-live checklist: each item ok or not, blockers and warnings", responses=responses())
def runbook_status(db: StorageDep) -> RunbookStatus:
    """`ok_to_enable_go_live` is true when every `blocker` item is ok; `warning` items never
    block. A data file that cannot be read fails its item instead of answering 503."""
    return service.status(db)


@router.get("/runbook/markdown", tags=["runbook"], summary="The checklist as a Markdown document", response_class=MarkdownResponse, responses=responses())
def runbook_markdown(db: StorageDep) -> MarkdownResponse:
    return MarkdownResponse(service.markdown(db))


@router.get("/runbook/consents", tags=["runbook"], summary="Consents lapsing within 30 days and drafts that would be refused for consent", responses=responses())
def runbook_consents(db: StorageDep) -> ConsentWatch:
    """`expiring`: valid consents whose CASL consent or DNCL exemption lapses within 30 days;
    `refused_drafts`: open drafts mark_sent would refuse now with no_consent, consent_expired or
    suppressed (list dncl, no valid exemption)."""
    return service.consent_watch(db)


@router.get("/golive/checklist", tags=["golive"], summary="The runbook's checklist (same as GET /core/runbook/status)", responses=responses())
def get_checklist(db: StorageDep) -> RunbookStatus:
    return service.status(db)


@router.post("/golive/enable", tags=["golive"], summary="Turn go-live on (412 listing the runbook blockers unless it is clear)", responses=responses(412))
def enable(db: StorageDep, body: OptionalReason | None = None) -> GoLiveState:
    """Runs the runbook; any failing blocker refuses with 412
    `{"code": "runbook_blockers", "message", "blockers": [{key, ok, severity, detail}]}`.
    Warnings do not block; `enabled` in the refusal says whether go-live is on already (it then
    stays on). The body `{"reason"}` is optional."""
    return service.enable(db, reason=body.reason if body else None)
