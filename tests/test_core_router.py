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


def test_each_route_is_built_once_when_the_app_mounts_it(tmp_path):
    """Route building is most of the service's start: a module's routes are built when mounted,
    not also at import (a fresh interpreter, as `valhalla serve` starts)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    code = (
        "from app.main import create_app\n"
        "from app.core_gov.core_router import MODULES\n"
        "app = create_app()\n"
        "print(sum(len(m.router._routes) for m in MODULES), len(app.state.core_routes), sum(len(m.router.declared) for m in MODULES))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=root / "backend", capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "VALHALLA_DATA_DIR": str(tmp_path / "data")}).stdout.split()
    module_copies, mounted, declared = map(int, out)
    assert module_copies == 0 and mounted == declared > 200
