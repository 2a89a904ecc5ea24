"""The hot path: routes found through an index, GET one and list pages answered without
FastAPI's per-request dependency solving, with the very answers FastAPI's own path gives."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import fastapi.routing
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Match, Route

from app.core_gov.core_router import IndexedRouting
from app.core_gov.http import lean_handler
from app.main import create_app
from app.settings import Settings

APP = create_app(Settings(data_dir="unused"))
LEAN = [route for route in APP.router.routes if isinstance(route, APIRoute) and lean_handler(route)]
HOLDING = {"name": "Rental", "asset_type": "property", "jurisdiction": "ON", "value_estimate": 485000}


def _scope(method: str, path: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}


def _walk(scope: dict) -> Route | None:
    return next((route for route in APP.router.routes if route.matches(scope)[0] is Match.FULL), None)


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x_1", template)


PATHS = sorted({_concrete(r.path) for r in APP.router.routes} | {"/", "/core", "/core/", "/core/holdings/", "/docs/", "/nope/a/b", "/static-offline-docs/x.js"})


@pytest.mark.parametrize("path", PATHS)
def test_the_index_finds_the_route_the_walk_over_every_route_finds(path):
    index = IndexedRouting(APP.router)
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        found = index.match(_scope(method, path))
        assert (found and found[0]) is _walk(_scope(method, path)), f"{method} {path}"


def test_get_one_and_list_routes_are_lean_and_every_lean_route_answers_one_or_paginate():
    assert {"/core/holdings", "/core/holdings/{holding_id}", "/core/deals", "/core/deals/{deal_id}"} <= {r.path for r in LEAN}
    assert not lean_handler(next(r for r in APP.router.routes if getattr(r, "path", "") == "/core/holdings/summary"))
    for route in LEAN:
        tree = ast.parse(textwrap.dedent(inspect.getsource(route.endpoint)))
        returns = [node.value for node in ast.walk(tree) if isinstance(node, ast.Return)]
        assert returns and all(isinstance(v, ast.Call) and getattr(v.func, "id", "") in ("one", "paginate") for v in returns), route.path


def test_lean_reads_solve_no_dependency(client, monkeypatch):
    h = client.post("/core/holdings", json=HOLDING).json()

    def refuse(**_):
        raise AssertionError("a lean read went through FastAPI's dependency solving")

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", refuse)
    r = client.get(f"/core/holdings/{h['id']}")
    assert r.status_code == 200 and r.json() == h and r.headers["etag"] == '"1"'
    r = client.get("/core/holdings", params={"limit": 5, "offset": 0})
    assert r.status_code == 200 and r.json() == [h] and r.headers["x-total-count"] == "1"
    assert client.get("/core/holdings/hld_missing").status_code == 404


def _answer(client, url: str) -> tuple:
    r = client.get(url)
    return r.status_code, r.content, sorted(r.headers.items())


@pytest.mark.parametrize("route", LEAN, ids=[r.path for r in LEAN])
def test_a_lean_route_answers_as_fastapi_does(client, app, monkeypatch, route):
    for body in (HOLDING, {**HOLDING, "name": "Second"}, {**HOLDING, "name": "Third", "jurisdiction": "BC"}):
        client.post("/core/holdings", json=body)
    held = client.get("/core/holdings").json()[1]["id"]
    path = route.path.replace("{holding_id}", held)
    urls = [_concrete(path)]
    if "{" not in route.path:
        urls += [path + q for q in ("?limit=2&offset=1", "?offset=0", "?limit=0", "?limit=1001", "?limit=x", "?limit=1&limit=2", "?zz=1", "?limit=")]
    if route.path == "/core/holdings":
        urls += ["/core/holdings?jurisdiction=BC", "/core/holdings?jurisdiction=BC&limit=1"]
    lean = [_answer(client, url) for url in urls]
    monkeypatch.setattr(app.router, "middleware_stack", app.router.app)  # Starlette's walk and FastAPI's handler only
    assert lean == [_answer(client, url) for url in urls]
