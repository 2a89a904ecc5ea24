"""The hot path: routes found through an index; GET one, list pages and JSON creates and
changes answered without FastAPI's per-request dependency solving (and a write with one
threadpool hop, not two), with the very answers FastAPI's own path gives."""

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
from app.core_gov.http import _lean_read, _lean_write, lean_handler
from app.core_gov.storage import Storage
from app.main import create_app
from app.settings import Settings

APP = create_app(Settings(data_dir="unused"))
API = [route for route in APP.router.routes if isinstance(route, APIRoute)]
READS = [route for route in API if _lean_read(route)]
WRITES = [route for route in API if _lean_write(route)]
HOLDING = {"name": "Rental", "asset_type": "property", "jurisdiction": "ON", "value_estimate": 485000}


def _scope(method: str, path: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}


def _walk(scope: dict) -> Route | None:
    return next((route for route in APP.router.routes if route.matches(scope)[0] is Match.FULL), None)


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x_1", template)


PATHS = sorted({_concrete(r.path) for r in APP.router.routes} | {
    "/", "/core", "/core/", "/core/holdings/", "/core/holdings/x_1/", "/core/deals//x_1", "/docs/", "/nope/a/b", "/static-offline-docs/x.js",
    "/static-offline-docs/a/b/c.js"})


@pytest.mark.parametrize("path", PATHS)
def test_the_index_finds_the_route_the_walk_over_every_route_finds(path):
    index = IndexedRouting(APP.router)
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "FOO"):
        found = index.match(_scope(method, path))
        assert (found and found[0]) is _walk(_scope(method, path)), f"{method} {path}"


def test_get_one_list_create_and_change_routes_are_lean_and_every_lean_read_answers_one_or_paginate():
    assert {"/core/holdings", "/core/holdings/{holding_id}", "/core/deals", "/core/deals/{deal_id}"} <= {r.path for r in READS}
    assert {("POST", "/core/holdings"), ("PATCH", "/core/holdings/{holding_id}"), ("POST", "/core/deals")} <= {(next(iter(r.methods)), r.path) for r in WRITES}
    by_name = {(r.path, next(iter(r.methods))): r for r in API}
    assert not lean_handler(by_name[("/core/holdings/summary", "GET")])  # answers a model: FastAPI serialises it
    assert not lean_handler(by_name[("/core/deals/import", "POST")])  # a streamed CSV body
    for route in READS:
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


@pytest.mark.parametrize("route", READS, ids=[r.path for r in READS])
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


def _sent(client, method: str, url: str, **kw) -> tuple:
    """(status, body, headers), a new record's id (new each time) written as <id>."""
    r = client.request(method, url, **kw)
    return r.status_code, re.sub(r"hld_[0-9a-z]{20}", "<id>", r.text), sorted(r.headers.items())


BODIES = [{"json": {}}, {"json": {"zz_unknown": 1}}, {"content": b"null", "headers": {"Content-Type": "application/json"}},
          {"content": b"[1", "headers": {"Content-Type": "application/json"}}, {"content": b"", "headers": {"Content-Type": "application/json"}}]


@pytest.mark.parametrize("route", WRITES, ids=[f"{next(iter(r.methods))} {r.path}" for r in WRITES])
def test_a_lean_write_answers_a_body_it_refuses_as_fastapi_does(client, app, data_dir, clock, tmp_path, monkeypatch, route):
    method, url = next(iter(route.methods)), _concrete(route.path)
    lean = [_sent(client, method, url, **kw) for kw in BODIES]
    monkeypatch.setattr(app.router, "middleware_stack", app.router.app)
    app.state.storage = Storage(tmp_path / "other", clock)
    assert lean == [_sent(client, method, url, **kw) for kw in BODIES]


def _holdings_session(client) -> list[tuple]:
    made = client.post("/core/holdings", json=HOLDING)
    url = f"/core/holdings/{made.json()['id']}"
    return [
        _sent(client, "POST", "/core/holdings", json={**HOLDING, "name": "Second"}),
        _sent(client, "POST", "/core/holdings", json={**HOLDING, "value_estimate": "5"}),  # strict: no number in a string
        _sent(client, "POST", "/core/holdings", json=HOLDING, params={"zz": "1"}),
        _sent(client, "PATCH", url, json={"name": "Renamed"}, headers={"If-Match": '"1"'}),
        _sent(client, "PATCH", url, json={"name": "Stale"}, headers={"If-Match": '"1"'}),
        _sent(client, "PATCH", url, json={"name": "Bad"}, headers={"If-Match": "one"}),
        _sent(client, "PATCH", url, json={"name": None}),
        _sent(client, "PATCH", url, json={"value_estimate": 1.5}),
        _sent(client, "PATCH", "/core/holdings/hld_missing", json={"name": "X"}),
        _sent(client, "GET", url),
    ]


def test_lean_creates_and_changes_answer_as_fastapi_does(client, app, clock, tmp_path, monkeypatch):
    lean = _holdings_session(client)
    assert [status for status, *_ in lean] == [201, 422, 422, 200, 412, 422, 422, 200, 404, 200]
    monkeypatch.setattr(app.router, "middleware_stack", app.router.app)
    app.state.storage = Storage(tmp_path / "other", clock)
    assert lean == _holdings_session(client)


def test_a_lean_write_solves_no_dependency_and_takes_one_threadpool_hop(client, monkeypatch):
    h = client.post("/core/holdings", json=HOLDING).json()
    hops = []
    real = fastapi.routing.run_in_threadpool

    def refuse(**_):
        raise AssertionError("a lean write went through FastAPI's dependency solving")

    async def counted(fn, *args, **kwargs):
        hops.append(fn)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", refuse)
    monkeypatch.setattr(fastapi.routing, "run_in_threadpool", counted)
    r = client.patch(f"/core/holdings/{h['id']}", json={"name": "Renamed"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["name"] == "Renamed" and r.headers["etag"] == '"2"'
    r = client.post("/core/holdings", json=HOLDING)
    assert r.status_code == 201 and r.json()["name"] == "Rental" and r.json()["version"] == 1
    assert hops == []  # FastAPI's hops (the endpoint's, the answer's validation) are not taken


def test_get_one_and_pages_are_answered_ahead_of_fastapis_stack_and_anything_else_through_it(client, monkeypatch):
    h = client.post("/core/holdings", json=HOLDING).json()
    through = []
    real = IndexedRouting.__call__

    async def counted(self, scope, receive, send):
        through.append((scope["method"], scope["path"], scope["query_string"]))
        return await real(self, scope, receive, send)

    monkeypatch.setattr(IndexedRouting, "__call__", counted)
    one = client.get(f"/core/holdings/{h['id']}")
    page = client.get("/core/holdings", params={"limit": 5})
    assert through == []
    assert one.status_code == 200 and one.json() == h and one.headers["etag"] == '"1"'
    assert page.status_code == 200 and page.json() == [h] and page.headers["x-total-count"] == "1"
    for r in (one, page):
        assert (r.headers["x-content-type-options"], r.headers["cache-control"]) == ("nosniff", "no-store")

    # An error, a filter, a query it does not know, a cross-site read: FastAPI's. A GET with a body: refused as before.
    assert client.get("/core/holdings/hld_missing").json()["detail"] == "Holding hld_missing not found"
    assert client.get("/core/holdings", params={"jurisdiction": "ON"}).json() == [h]
    assert client.get("/core/holdings", params={"zz": "1"}).status_code == 422
    assert client.get(f"/core/holdings/{h['id']}", headers={"Origin": "http://localhost"}).status_code == 200
    assert client.request("GET", f"/core/holdings/{h['id']}", content=b"{}").status_code == 415
    assert [(m, p) for m, p, _ in through] == [("GET", "/core/holdings/hld_missing"), ("GET", "/core/holdings"), ("GET", "/core/holdings"),
                                             ("GET", f"/core/holdings/{h['id']}")]


def test_a_change_is_answered_by_the_next_get_one_not_the_json_answered_before(client):
    h = client.post("/core/holdings", json=HOLDING).json()
    assert client.get(f"/core/holdings/{h['id']}").json()["name"] == "Rental"
    client.patch(f"/core/holdings/{h['id']}", json={"name": "Renamed"})
    r = client.get(f"/core/holdings/{h['id']}")
    assert (r.json()["name"], r.json()["version"], r.headers["etag"]) == ("Renamed", 2, '"2"')
