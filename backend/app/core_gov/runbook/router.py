from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from ..http import StorageDep, responses
from . import service
from .schemas import RunbookStatus

router = APIRouter(prefix="/runbook", tags=["runbook"])


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"


@router.get("/status", summary="The pre-go-live checklist: each item ok or not, blockers and warnings", responses=responses())
def runbook_status(db: StorageDep) -> RunbookStatus:
    """`ok_to_enable_go_live` is true when every `blocker` item is ok; `warning` items never
    block. A data file that cannot be read fails its item instead of answering 503."""
    return service.status(db)


@router.get("/markdown", summary="The checklist as a Markdown document", response_class=MarkdownResponse, responses=responses())
def runbook_markdown(db: StorageDep) -> MarkdownResponse:
    return MarkdownResponse(service.markdown(db))
