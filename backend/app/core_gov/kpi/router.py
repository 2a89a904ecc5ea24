from __future__ import annotations

from fastapi import Response

from ..http import ModuleRouter, Page, SettingsDep, StorageDep, paginate, responses
from . import service
from ..fields import Key
from ..storage import QueryInstant
from .schemas import KpiDay, KpiEvent, KpiEventCreate

router = ModuleRouter(prefix="/kpi", tags=["kpi"])


@router.post("/events", status_code=201, summary="Record a KPI event (then runs the regression tripwire for its metric)", responses=responses())
def record_event(db: StorageDep, body: KpiEventCreate) -> KpiEvent:
    """`at` defaults to now; it may be back-dated, not future-dated (422)."""
    return service.record(db, **body.model_dump())


@router.get("/events", summary="List KPI events, oldest first by `at`", responses=responses())
async def list_events(
    db: StorageDep, response: Response, page: Page, metric: Key | None = None, domain: Key | None = None,
    since: QueryInstant | None = None, until: QueryInstant | None = None,
) -> list[KpiEvent]:
    """`since` is inclusive, `until` exclusive; both need an offset."""
    return paginate(response, service.events(db, metric=metric, domain=domain, since=since, until=until), page)


@router.get("/summary", summary="Per metric per local day (VALHALLA_TZ): count, mean value, success rate", responses=responses())
async def summary(
    db: StorageDep, settings: SettingsDep, response: Response, page: Page, metric: Key | None = None,
    domain: Key | None = None, since: QueryInstant | None = None, until: QueryInstant | None = None,
) -> list[KpiDay]:
    """The success rate counts only events that carry `success` (`success_events`); null when none do."""
    return paginate(response, service.summary(db, settings.zone, metric=metric, domain=domain, since=since, until=until), page)
