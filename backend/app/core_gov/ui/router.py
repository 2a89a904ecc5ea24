from __future__ import annotations

from fastapi.responses import HTMLResponse

from ..http import ModuleRouter
from . import service

router = ModuleRouter(prefix="/ui", tags=["ui"])


@router.get("", summary="The operator's dashboard (an HTML page; its script reads the JSON endpoints)", response_class=HTMLResponse)
def dashboard() -> HTMLResponse:
    """Safety, pipeline, outreach, markets and KPIs at a glance, refreshed every 30 s. The page
    holds no data: its script fetches /core/golive/state, /core/runbook/status, /core/risk/snapshot,
    /core/deals/summary, /core/followups/due, ... with the bearer token it asks for when the server
    has one. A strict Content-Security-Policy with a fresh nonce allows only its own script and style."""
    nonce = service.new_nonce()
    return HTMLResponse(service.page(nonce), headers={"Content-Security-Policy": service.content_security_policy(nonce)})
