from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from ... import __version__
from ..http import ModuleRouter, Page, SettingsDep, StorageDep, paginate, responses
from . import service
from .schemas import Debug, Health, Pack, Ready, RouteInfo, Status, StatusMark, StatusMarkInput, StatusSummary

router = ModuleRouter(tags=["system"])


def _routes(request: Request) -> list:
    return request.app.state.core_routes  # (module, full path, route) as mounted


def _modules():
    from ..core_router import MODULES

    return MODULES


@router.get("/health", summary="Liveness (never needs the token)")
async def health() -> Health:
    return Health(status="ok", version=__version__)


@router.get("/ready", summary="Readiness: every data file valid and the data dir writable", responses={503: {"model": Ready}})
def ready(db: StorageDep) -> Ready:
    result = service.readiness(db)
    if not result.ready:
        return JSONResponse(result.model_dump(mode="json"), status_code=503)  # type: ignore[return-value]
    return result


def _status(request: Request, db) -> Status:
    mark = service.status_mark(db)
    packs = service.packs(_modules(), _routes(request))
    ready = service.readiness(db)
    return Status(
        version=__version__,
        backend_complete=mark.backend_complete,
        packs=packs,
        summary=StatusSummary(
            packs_installed=sum(p.installed for p in packs), backend_complete=mark.backend_complete,
            data_ok=ready.ready, problems=ready.problems,
        ),
        notes=mark.notes, marked_by=mark.marked_by, marked_at=mark.marked_at,
        started_at=request.app.state.started_at, now=db.now(),
    )


@router.get("/system/status", summary="Version, packs, the operator's completion mark and data health", responses=responses())
def system_status(request: Request, db: StorageDep) -> Status:
    return _status(request, db)


@router.get("/system/status/summary", summary="The status in brief", responses=responses())
def system_status_summary(request: Request, db: StorageDep) -> StatusSummary:
    return _status(request, db).summary


@router.post("/system/status/complete", summary="Mark the backend complete (with optional notes and version)", responses=responses())
def mark_complete(db: StorageDep, body: StatusMarkInput | None = None) -> StatusMark:
    body = body or StatusMarkInput()
    return service.mark(db, complete=True, notes=body.notes, version=body.version)


@router.post("/system/status/incomplete", summary="Mark the backend incomplete (with optional notes and version)", responses=responses())
def mark_incomplete(db: StorageDep, body: StatusMarkInput | None = None) -> StatusMark:
    body = body or StatusMarkInput()
    return service.mark(db, complete=False, notes=body.notes, version=body.version)


@router.get("/system/packs", summary="The packs (modules) mounted under /core")
def list_packs(request: Request, response: Response, page: Page) -> list[Pack]:
    return paginate(response, service.packs(_modules(), _routes(request)), page)


@router.get("/system/packs/{pack_id}", summary="One pack by id (case-insensitive)", responses=responses(404))
def get_pack(request: Request, pack_id: str) -> Pack:
    return service.pack(_modules(), _routes(request), pack_id)


def _type_name(annotation: object) -> str | None:
    if annotation is None:
        return None
    if getattr(annotation, "__args__", None):
        return str(annotation).replace("app.core_gov.", "")
    return getattr(annotation, "__name__", None)


@router.get("/system/routes", summary="Every route, grouped by module")
def route_map(request: Request) -> dict[str, list[RouteInfo]]:
    grouped: dict[str, list[RouteInfo]] = {}
    for module, path, r in _routes(request):
        body = _type_name(r.body_field.field_info.annotation) if r.body_field is not None else None
        for method in sorted(r.methods):
            info = RouteInfo(method=method, path=path, summary=r.summary, request_model=body, response_model=_type_name(r.response_model))
            grouped.setdefault(module, []).append(info)
    return grouped


@router.get("/system/debug", summary="Version, uptime, data files and settings (no secrets)", responses=responses())
def debug(request: Request, db: StorageDep, settings: SettingsDep) -> Debug:
    return service.debug(db, settings, __version__, request.app.state.started_at)
