"""The /core router: one rule for every route, whatever the module."""

from __future__ import annotations

import re
from typing import get_origin

import pytest

from app.core_gov.core_router import core_routes
from app.core_gov.http import query_names
from app.core_gov.http import STREAMED_BODIES

ROUTES = [(next(iter(r.methods)), path, r) for _, path, r in core_routes()]
LISTS = [(path, r) for method, path, r in ROUTES if method == "GET" and get_origin(r.response_model) is list]


def test_an_unknown_filter_is_422_naming_it_and_the_known_ones(client):
    client.post("/core/deals", json={"address": "1 A St", "city": "X", "province": "ON"})
    r = client.get("/core/deals", params={"stag": "lead"})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["query", "stag"] and err["type"] == "unknown_query_parameter"
    assert err["msg"] == "unknown query parameter 'stag'; GET /core/deals takes: city, limit, offset, province, q, stage, tag"
    assert client.get("/core/deals", params={"stage": "lead"}).headers["x-total-count"] == "1"


def test_a_route_without_query_parameters_says_so(client):
    r = client.get("/core/deals/summary", params={"currency": "CAD"})
    assert r.status_code == 422 and r.json()["detail"][0]["msg"].endswith("GET /core/deals/summary takes no query parameters")


@pytest.mark.parametrize("method,path,route", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_core_route_refuses_an_unknown_query_parameter_before_doing_anything(client, data_dir, method, path, route):
    url = re.sub(r"\{[^}]+\}", "x_1", path)
    body = route.body_field
    if path in STREAMED_BODIES or (body is not None and getattr(body.field_info, "media_type", None) == "text/csv"):
        r = client.request(method, url, params={"zz_unknown": "1"}, content=b"address\n", headers={"Content-Type": "text/csv"})
    else:
        r = client.request(method, url, params={"zz_unknown": "1"}, json={})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", "zz_unknown"]
    assert not data_dir.exists()  # refused before anything was written


@pytest.mark.parametrize("path,route", LISTS, ids=[p for p, _ in LISTS])
def test_every_list_pages_and_sends_its_total(client, path, route):
    assert {"limit", "offset"} <= query_names(route.dependant)
    if "{" not in path:  # the others need a parent record first
        r = client.get(path, params={"limit": 1})
        assert r.status_code == 200, r.text
        assert "x-total-count" in r.headers and len(r.json()) <= 1


def test_each_route_is_built_once_and_only_when_first_used(tmp_path):
    """Route building is most of the service's start: a module's routes are not built at import,
    nor when mounted, but by the first request that reaches each (a fresh interpreter, as
    `valhalla serve` starts); the OpenAPI document builds the rest."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    code = (
        "from fastapi.testclient import TestClient\n"
        "from app.main import create_app\n"
        "from app.core_gov.core_router import MODULES\n"
        "app = create_app()\n"
        "built = lambda: sum('_pending' not in r.__dict__ for _, _, r in app.state.core_routes)\n"
        "at_start = built()\n"
        "client = TestClient(app, base_url='http://localhost')\n"
        "assert client.get('/core/deals').status_code == 200\n"
        "assert client.post('/core/deals', json={}).status_code == 422\n"
        "after_two = built()\n"
        "assert client.get('/openapi.json').status_code == 200\n"
        "print(sum(len(m.router._routes) for m in MODULES), len(app.state.core_routes), sum(len(m.router.declared) for m in MODULES), at_start, after_two, built())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=root / "backend", capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "VALHALLA_DATA_DIR": str(tmp_path / "data")}).stdout.split()
    module_copies, mounted, declared, at_start, after_two, after_openapi = map(int, out)
    assert module_copies == 0 and mounted == declared > 200
    assert (at_start, after_two, after_openapi) == (0, 2, mounted)


def _unbuilt(settings, path: str, method: str):
    """(path, endpoint, arguments) of a route of a fresh app, not built yet."""
    from app.main import create_app

    route = next(r for _, p, r in create_app(settings).state.core_routes if p == path and r.methods == {method})
    return route, route.__dict__["_pending"]


def test_a_route_built_lazily_is_the_route_fastapi_builds(settings):
    """Every part of a LazyRoute, once built, is what APIRoute makes of the same arguments."""
    from fastapi.routing import APIRoute

    lazy, (path, endpoint, kwargs) = _unbuilt(settings, "/core/deals/{deal_id}", "PATCH")
    eager = APIRoute(path, endpoint, **kwargs)
    assert lazy.body_field.field_info.annotation is eager.body_field.field_info.annotation
    flat = [p.name for p in lazy._flat_dependant.header_params]
    assert flat == [p.name for p in eager._flat_dependant.header_params] and "if-match" in [p.alias for p in lazy._flat_dependant.header_params]
    assert lazy.response_model is eager.response_model and lazy.unique_id == eager.unique_id and lazy.status_code == eager.status_code
    assert "_pending" not in lazy.__dict__
    with pytest.raises(AttributeError, match="no_such"):
        lazy.no_such


def test_a_route_is_built_once_when_threads_ask_together(settings):
    """A plain-def route (the threadpool) and a request (the event loop) may ask at once."""
    from concurrent.futures import ThreadPoolExecutor

    route, _ = _unbuilt(settings, "/core/holdings/{holding_id}", "GET")
    with ThreadPoolExecutor(8) as pool:
        dependants = list(pool.map(lambda _: route.dependant, range(32)))
    assert "_pending" not in route.__dict__ and all(d is dependants[0] for d in dependants)
