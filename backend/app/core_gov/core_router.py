"""The single /core router, built from one explicit list of modules (no autodiscovery)."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable, Iterator

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from . import reactions
from .errors import InvalidField

from . import (
    audit, buyers, closing, comms, consent, contracts, deals, dispo, docs, education, followups, golive, governance, heimdall,
    holdings, jv, kpi, market, media, offers, pros, property, regression, replies, risk, runbook, stories, system, ui,
)

PREFIX = "/core"

# Order matters only for /docs; each module owns its prefix and never repeats /core.
MODULES: tuple[ModuleType, ...] = (
    system, audit,
    golive, governance, risk, heimdall, kpi, regression, runbook, market,  # the control plane
    offers, deals, closing, property,  # offers first: /deals/offers/... before /deals/{deal_id}
    comms, consent, followups, replies, buyers, jv, dispo, holdings,
    pros, contracts, docs,
    stories, education, media,
    ui,
)


def module_name(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route declares: its own and its dependencies' (limit, offset, ...)."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return names


# A route's endpoint -> the query parameters it declares (its own and its dependencies').
_KNOWN: dict[Callable[..., Any], frozenset[str]] = {}


async def refuse_unknown_query(request: Request) -> None:
    """A misspelt filter must not be ignored (it would answer every record): 422 naming it."""
    if not request.query_params:
        return
    route: APIRoute = request.scope["route"]
    known = _KNOWN.get(route.endpoint)
    if known is None:
        known = _KNOWN[route.endpoint] = frozenset(query_names(route.dependant))
    unknown = next((name for name in request.query_params if name not in known), None)
    if unknown is not None:
        takes = f"takes: {', '.join(sorted(known))}" if known else "takes no query parameters"
        raise InvalidField(("query", unknown), f"unknown query parameter {unknown!r}; {request.method} {request.url.path} {takes}", "unknown_query_parameter")


def include_core(app: FastAPI) -> None:
    """Mount every module's routes under /core, each with the unknown-query check. A module's
    router is included straight into the app: FastAPI builds each route again at every
    include, and a /core router in between doubled the time the service takes to start."""
    reactions.wire()
    for module in MODULES:
        app.include_router(module.router, prefix=PREFIX, dependencies=[Depends(refuse_unknown_query)])


def core_routes() -> Iterator[tuple[str, str, APIRoute]]:
    """(module, full path, route) for every route mounted under /core, in declaration order."""
    for module in MODULES:
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                yield module_name(module), PREFIX + route.path, route
