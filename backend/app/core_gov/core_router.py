"""The single /core router, built from one explicit list of modules (no autodiscovery)."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Iterator

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.convertors import StringConvertor
from starlette.routing import Match, Mount, Route, Router

from . import reactions
from .http import JSONBytes, LeanRead, by_start, lean_handler, path_start, refuse_unknown_query

from . import (
    audit, buyers, closing, comms, consent, contracts, deals, dispo, docs, education, followups, golive, governance, heimdall,
    holdings, jv, kpi, market, media, offers, pros, property, regression, replies, risk, runbook, stories, system, ui,
)

PREFIX = "/core"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

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


def include_core(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """Mount every module's routes under /core, each with the unknown-query check, each route
    built once, by the first request that reaches it (``ModuleRouter``, ``LazyRoute``: building
    them all took most of the service's start). Returns (module, full path, route) of each, in
    declaration order; also kept as ``app.state.core_routes``."""
    reactions.wire()
    mounted = [
        (module_name(module), route.path, route)
        for module in MODULES
        for route in module.router.mount_on(app, PREFIX, [Depends(refuse_unknown_query)])
    ]
    app.state.core_routes = mounted
    return mounted


def core_routes() -> Iterator[tuple[str, str, APIRoute]]:
    """(module, full path, route) of every module's own copy of its routes, as they are mounted
    under /core, in declaration order (for tests: an app keeps what it mounted)."""
    for module in MODULES:
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                yield module_name(module), PREFIX + route.path, route


def _template(route: Any) -> tuple[str | None, tuple[str, str] | None]:
    """How a route's path is matched without a regex: (its path when it has no parameters,
    (what comes before, the name) when its one parameter is a plain string ending it)."""
    if not isinstance(route, Route):
        return None, None
    if "{" not in route.path:
        return route.path, None
    prefix, brace, rest = route.path.partition("{")
    name = rest[:-1]
    if rest.endswith("}") and "}" not in name and prefix.endswith("/") and type(route.param_convertors.get(name)) is StringConvertor:
        return None, (prefix, name)
    return None, None


def _overlap(start: str, mount: str) -> bool:
    """Whether a mount at ``mount`` (no parameters) may match a path that begins with ``start``."""
    return (start + "/").startswith(mount.rstrip("/") + "/") or (mount.rstrip("/") + "/").startswith(start + "/")


class IndexedRouting:
    """The app's router matched through an index: a request is tried only against the routes
    whose template starts with its first two segments (or is its whole path) and those that
    may match more (a parameter early in the template, a mount), in declaration order; the first full
    match handles it, as Starlette's walk over all ~200 routes would (which costs a GET on a
    late module about half its time). Anything else (405, a slash redirect, 404) is left to
    that walk. A route with a ``lean_handler`` (GET one, lists, JSON creates and changes) is
    handed to it. Installed as the router's ``middleware_stack``; rebuilt when routes are added."""

    def __init__(self, router: Router):
        self.router, self.walk = router, router.app
        self.indexed = -1

    def _index(self) -> None:
        routes = self.router.routes
        self.buckets, self.always = by_start(routes, [route.path if isinstance(route, Route) else None for route in routes])
        # (start or None, method, segments) -> the bucket's routes that may answer that method on
        # a path of that many segments: a route of other methods only ever matches partly, and a
        # template of another length (no `:path` parameter) never, so the first full match is the same.
        # Each with how its path is matched without a regex (``_template``).
        self.by_method: dict[tuple[str | None, str, int], list[tuple[Any, str | None, tuple[str, str] | None]]] = {}
        self.leans: dict[int, Any] = {}  # id(route) -> its lean handler or None, made on first use (routes are built lazily)
        self.indexed = len(routes)

    def _candidates(self, path: str, method: str) -> list[tuple[Any, str | None, tuple[str, str] | None]]:
        start = path_start(path)
        known = start if start in self.buckets else None
        key = (known, method, path.count("/"))
        found = self.by_method.get(key)
        if found is None:
            bucket = self.buckets[start] if known is not None else self.always
            found = [(r, *_template(r)) for r in bucket if (
                (r.methods is None or method in r.methods) and (":path}" in r.path or r.path.count("/") == key[2]) if isinstance(r, Route)
                else known is None or not isinstance(r, Mount) or "{" in r.path or _overlap(known, r.path))]
            if method in METHODS and key[2] <= 8:  # what a client makes up is not kept
                self.by_method[key] = found
        return found

    def match(self, scope: dict) -> tuple[APIRoute | Route, Any, dict] | None:
        """(route, its lean handler or None, child scope) of the first route that fully matches."""
        if self.indexed != len(self.router.routes):
            self._index()
        path = get_route_path(scope)
        for route, fixed, last in self._candidates(path, scope["method"]):
            # A route of this method and path length: what route.matches does, without its second
            # pass over the path (or a regex, for a path without parameters or with one at its end).
            if fixed is not None:
                if fixed != path:
                    continue
                params = {}
            elif last is not None:
                if not path.startswith(last[0]) or len(path) == len(last[0]):
                    continue
                params = {last[1]: path[len(last[0]):]}
            elif isinstance(route, Route):
                found = route.path_regex.match(path)
                if found is None:
                    continue
                params = {k: route.param_convertors[k].convert(v) for k, v in found.groupdict().items()}
            else:
                match, child_scope = route.matches(scope)
                if match is not Match.FULL:
                    continue
                return route, None, child_scope
            child_scope = {"endpoint": route.endpoint, "path_params": {**scope["path_params"], **params} if scope.get("path_params") else params}
            if isinstance(route, APIRoute):
                child_scope["route"] = route
            lean = self.leans.get(id(route), False)
            if lean is False:
                lean = self.leans[id(route)] = lean_handler(route) if isinstance(route, APIRoute) else None
            return route, lean, child_scope
        return None

    async def read(self, scope: dict) -> JSONBytes | None:
        """The answer of a lean read route (GET one, a page) to this GET request, made without
        sending it; None when the request is FastAPI's to answer: another route, a query the
        lean handler leaves to FastAPI, or any error (FastAPI then answers it as it does,
        reading again: a read changes nothing)."""
        found = self.match(scope)
        if found is None or not isinstance(found[1], LeanRead):
            return None
        scope.update(found[2])  # as routing does: FastAPI's stack, if it answers, matches again
        try:
            answer = await found[1].answer(scope)
        except Exception:  # noqa: BLE001  (answered by FastAPI's stack, with its error handlers)
            return None
        return answer if isinstance(answer, JSONBytes) else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        found = self.match(scope) if scope["type"] == "http" else None
        if found is None:
            return await self.walk(scope, receive, send)
        route, lean, child_scope = found
        scope.setdefault("router", self.router)
        scope["route"] = route
        scope.update(child_scope)
        await (lean or route.handle)(scope, receive, send)
