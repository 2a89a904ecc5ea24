"""The application factory. Nothing happens at import: ``create_app(settings)`` builds it all."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from . import __version__
from .core_gov.core_router import IndexedRouting, include_core
from .core_gov.http import CoreMiddleware, add_error_handlers
from .core_gov.storage import Storage
from .core_gov.storage.clock import Clock
from .settings import Settings

DESCRIPTION = """\
The back office of a one-person real-estate wholesaling business across Canada, on local JSON
files: communications and the do-not-contact list, partners, property intel and comps, the deal
pipeline, dispositions, follow-ups, contact policies, buyer liquidity, offers, holdings,
professionals, contracts and content, behind a control plane (go-live, kill switch, risk caps,
AI confidence gates, KPI regression throttle, runbook) and an audit trail of every change.

Bodies are JSON sent with `Content-Type: application/json` (the CSV imports: `text/csv`).
Errors are always JSON `{"detail": ...}`: 400 a Host this service does not answer to, 403 a
write from a foreign web page (`Origin`), 404 missing, 405 (with every allowed method in
`Allow`), 409 refused by a rule (`detail.code`), 412 stale `If-Match`, 413 body too large, 415
a body in the wrong media type (`detail.expected`), 422 invalid input (names the field; strict
types: `0` is no boolean, `"5"` no number), 423 execution halted (go-live off or kill switch),
503 a corrupt data file (names file and position).
Lists take `limit`/`offset` and report the total in `X-Total-Count`. `X-Actor` names who acts.
"""

# GET / and GET /core: where to go from here.
LINKS = {"dashboard": "/core/ui", "docs": "/docs", "redoc": "/redoc", "openapi": "/openapi.json", "health": "/core/health"}


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    # FastAPIOffline: /docs and /redoc with Swagger UI and ReDoc served from the package, not a CDN.
    app = FastAPIOffline(title="Valhalla Core", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.storage = Storage(settings.data_dir, clock, settings.zone)
    app.state.started_at = datetime.now(timezone.utc)
    add_error_handlers(app)
    mounted = include_core(app)
    app.router.middleware_stack = IndexedRouting(app.router)

    @app.get("/", include_in_schema=False)
    @app.get("/core", include_in_schema=False)
    async def index() -> dict:
        return {"name": "Valhalla Core", "version": __version__, "links": LINKS}

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"], allow_headers=["*"])
    app.add_middleware(CoreMiddleware, settings=settings, routes=[(path, route) for _, path, route in mounted], router=app.router)
    return app
