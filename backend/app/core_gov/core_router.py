"""The single /core router, built from one explicit list of modules (no autodiscovery)."""

from __future__ import annotations

from types import ModuleType
from typing import Iterator

from fastapi import APIRouter
from fastapi.routing import APIRoute

from . import (
    audit, buyers, comms, contracts, deals, dispo, docs, education, followups, golive, governance, heimdall,
    holdings, jv, kpi, market, media, offers, pros, property, regression, risk, runbook, stories, system, ui,
)

PREFIX = "/core"

# Order matters only for /docs; each module owns its prefix and never repeats /core.
MODULES: tuple[ModuleType, ...] = (
    system, audit,
    golive, governance, risk, heimdall, kpi, regression, runbook, market,  # the control plane
    offers, deals, property,  # offers first: /deals/offers/... before /deals/{deal_id}
    comms, followups, buyers, jv, dispo, holdings,
    pros, contracts, docs,
    stories, education, media,
    ui,
)


def module_name(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def build_core_router() -> APIRouter:
    core = APIRouter(prefix=PREFIX)
    for module in MODULES:
        core.include_router(module.router)
    return core


def core_routes() -> Iterator[tuple[str, str, APIRoute]]:
    """(module, full path, route) for every route mounted under /core, in declaration order."""
    for module in MODULES:
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                yield module_name(module), PREFIX + route.path, route
